"""HBase's ``StochasticLoadBalancer``, reduced to the costs that decide region counts.

HBase's default balancer (``apache/hbase`` ``hbase-balancer/src/main/java/org/apache/
hadoop/hbase/master/balancer/StochasticLoadBalancer.java``; ``hbase-server`` in 2.x)
searches the space of assignments at random: each step a candidate generator proposes
moving a region (the ``LoadCandidateGenerator`` from the server with the most regions
to the one with the fewest, the ``RandomCandidateGenerator`` anywhere), the step is kept
if the weighted cost falls, undone if not. The search runs ``stepsPerRegion`` x
regions x servers steps at most, capped by ``maxSteps`` (``calculateMaxSteps``).

A run happens (``needsBalance``) when some server holds more than
``ceil(mean x (1 + slop))`` regions or fewer than ``floor(mean x (1 - slop))``
(``BaseLoadBalancer``; the stochastic balancer checks the slop since HBASE-22349,
HBase 2.5), or else when the weighted cost over the sum of weights is at least
``minCostNeedBalance``. A plan is used only if it lowered the cost.

Costs, each scaled to [0, 1] between the best and the worst assignment possible
(``CostFunction.scale``):

- region-count skew (``RegionCountSkewCostFunction`` over ``DoubleArrayCost``, weight
  ``regionCountCost``): ``sqrt(sum((mean - count)^2))`` over servers;
- table skew (``TableSkewCostFunction``, weight ``tableSkewCost``): the same per
  table, summed over tables;
- move cost (``MoveCostFunction``, weight ``moveCost``): regions moved over
  ``min(regions, maxMoves)``, with ``maxMoves = max(regions x maxMovePercent, 600)``;
  a plan moving more is refused (cost 1,000,000).

The total is the weighted sum (``computeCost``). With region counts only, the best
assignment gives every server the floor or the ceiling of the mean: 25 regions on 10
servers stay 2 or 3 per server, and no run changes that. Load-based costs (read and
write requests, memstore, store files, locality) are not modelled.

The search stops early once both skew costs are at their least (every count at the
floor or the ceiling of its mean): what is left to lower is the move cost, which only
undoing moves would. It also gives up after a long run of steps none of which was kept
(:data:`PATIENCE_PER_REGION`), where HBase stops at ``maxRunningTime`` (30 s).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil, floor, sqrt
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import numpy as np

    from fleetsim.scenario.storage import Balancer as BalancerSpec
    from fleetsim.storage.region import Region

FORBIDDEN: Final = 1_000_000.0
"""MoveCostFunction's cost of a plan that moves more regions than allowed."""
LOAD_GENERATOR_SHARE: Final = 0.5
"""Share of steps proposed by the load generator (HBase weighs generators by the costs
that feed them; with region-count costs only, both have their use)."""
SWAP_SHARE: Final = 0.5
"""Share of the random generator's proposals that swap two regions instead of moving one."""
STEP_BLOCK: Final = 4096
MIN_PATIENCE: Final = 20_000
PATIENCE_PER_REGION: Final = 200
"""The search gives up after max(20,000, 200 x regions) steps in a row without a kept
step: a deterministic stand-in for HBase's ``maxRunningTime`` (30 s of wall time)."""
MIN_MAX_MOVES: Final = 600
"""``MoveCostFunction.DEFAULT_MAX_MOVES``: a run may always move this many regions."""


def skew_bounds(regions: int, servers: int) -> tuple[float, float]:
    """The least and the most ``sqrt(sum((mean - count)^2))`` possible: as even as whole
    regions allow, and every region on one server (``DoubleArrayCost``)."""
    mean = regions / servers
    low, extra = divmod(regions, servers)
    least = sqrt(extra * (low + 1 - mean) ** 2 + (servers - extra) * (mean - low) ** 2)
    most = sqrt((regions - mean) ** 2 + (servers - 1) * mean**2)
    return least, most


def scaled(value: float, bounds: tuple[float, float]) -> float:
    """``CostFunction.scale``: ``(value - min) / (max - min)`` clamped to [0, 1]."""
    least, most = bounds
    if most <= least:
        return 0.0
    return min(1.0, max(0.0, (value - least) / (most - least)))


def sloppy(counts: Sequence[int], slop: float) -> bool:
    """``BaseLoadBalancer``: a server is outside ``[floor(mean(1-slop)), ceil(mean(1+slop))]``."""
    if slop < 0:
        return False  # a negative slop turns the check off
    mean = sum(counts) / len(counts)
    return max(counts) > ceil(mean * (1 + slop)) or min(counts) < floor(mean * (1 - slop))


class _Counts:
    """Region counts per server of a set of regions, and their squared deviation."""

    __slots__ = ("bounds", "counts", "mean", "squares")

    def __init__(self, counts: list[int]) -> None:
        self.counts = counts
        total = sum(counts)
        self.mean = total / len(counts)
        self.bounds = skew_bounds(total, len(counts))
        self.squares = sum((count - self.mean) ** 2 for count in counts)

    def move(self, source: int, target: int) -> None:
        counts, mean = self.counts, self.mean
        before = (counts[source] - mean) ** 2 + (counts[target] - mean) ** 2
        counts[source] -= 1
        counts[target] += 1
        self.squares += (counts[source] - mean) ** 2 + (counts[target] - mean) ** 2 - before

    @property
    def cost(self) -> float:
        return scaled(sqrt(max(0.0, self.squares)), self.bounds)


class StochasticLoadBalancer:
    """Plans region moves for one cluster of region servers."""

    def __init__(self, spec: BalancerSpec, generator: np.random.Generator) -> None:
        self.spec = spec
        self.generator = generator
        self.runs = 0

    def plan(self, assignment: Sequence[Sequence[Region]]) -> list[tuple[Region, int]]:
        """Moves ``(region, index of the target server)`` for ``assignment`` (the regions
        each live server holds); empty when the cluster needs no balancing."""
        servers = len(assignment)
        regions = [region for held in assignment for region in held]
        if servers < 2 or not regions:
            return []
        search = _Search(self.spec, assignment)
        initial = search.cost()
        if not sloppy(search.overall.counts, self.spec.slop) and (
            initial / search.weights < self.spec.min_cost_need_balance
        ):
            return []
        self.runs += 1
        steps = min(self.spec.max_steps, self.spec.steps_per_region * len(regions) * servers)
        patience = max(MIN_PATIENCE, PATIENCE_PER_REGION * len(regions))
        since_kept = 0
        block: list[list[float]] = []
        for step in range(steps):
            if not search.skewed or since_kept >= patience:
                break
            if step % STEP_BLOCK == 0:
                block = self.generator.random((STEP_BLOCK, 4)).tolist()
            row = block[step % STEP_BLOCK]
            kept = search.try_step(row[0], row[1], row[2], row[3])
            since_kept = 0 if kept else since_kept + 1
        return search.moves() if search.cost() < initial else []


class _Search:
    """The assignment under search, its costs kept up to date move by move."""

    def __init__(self, spec: BalancerSpec, assignment: Sequence[Sequence[Region]]) -> None:
        self.spec = spec
        self.servers = len(assignment)
        self.home: list[int] = []
        self.where: list[int] = []
        self.regions: list[Region] = []
        self.held: list[list[int]] = [[] for _ in assignment]
        table_index: dict[object, int] = {}
        table_counts: list[list[int]] = []
        self.table_of: list[int] = []
        for server, regions in enumerate(assignment):
            for region in regions:
                number = len(self.regions)
                self.regions.append(region)
                self.home.append(server)
                self.where.append(server)
                self.held[server].append(number)
                if region.table not in table_index:
                    table_index[region.table] = len(table_counts)
                    table_counts.append([0] * self.servers)
                table = table_index[region.table]
                table_counts[table][server] += 1
                self.table_of.append(table)
        self.overall = _Counts([len(regions) for regions in assignment])
        self.tables = [_Counts(counts) for counts in table_counts]
        self.table_costs = [counts.cost for counts in self.tables]
        self.table_total = sum(self.table_costs)
        self.overall_cost = self.overall.cost
        self.moved = 0
        self.max_moves = max(int(len(self.regions) * spec.max_move_percent), MIN_MAX_MOVES)
        self.move_scale = min(len(self.regions), self.max_moves)
        weights = spec.region_count_cost + spec.table_skew_cost + spec.move_cost
        self.weights = weights if weights > 0 else 1.0

    def cost(self) -> float:
        spec = self.spec
        if self.moved > self.max_moves:
            return FORBIDDEN
        return (
            spec.region_count_cost * self.overall_cost
            + spec.table_skew_cost * self.table_total
            + spec.move_cost * self.moved / self.move_scale
        )

    def try_step(self, kind: float, pick: float, target: float, other: float) -> bool:
        """One step: the load generator proposes a move, the random one a move or a swap
        (``LoadCandidateGenerator``, ``RandomCandidateGenerator``). True if it was kept."""
        counts = self.overall.counts
        swap_with = -1
        if kind < LOAD_GENERATOR_SHARE:
            source = counts.index(max(counts))
            destination = counts.index(min(counts))
            if source == destination:
                return False
            candidates = self.held[source]
            region = candidates[int(pick * len(candidates))]
        else:
            region = int(pick * len(self.regions))
            destination = int(target * (self.servers - 1))
            if destination >= self.where[region]:
                destination += 1
            there = self.held[destination]
            if other < SWAP_SHARE and there:
                swap_with = there[int(other / SWAP_SHARE * len(there))]
        before = self.cost()
        origin = self.where[region]
        self._move(region, destination)
        if swap_with >= 0:
            self._move(swap_with, origin)
        if self.cost() < before:
            return True
        self._move(region, origin)
        if swap_with >= 0:
            self._move(swap_with, destination)
        return False

    @property
    def skewed(self) -> bool:
        """Whether a count could still be evened out (a skew cost above its least)."""
        return self.overall_cost > 0.0 or self.table_total > 1e-12

    def _move(self, region: int, destination: int) -> None:
        source = self.where[region]
        home = self.home[region]
        self.moved += (destination != home) - (source != home)
        self.where[region] = destination
        self.held[source].remove(region)
        self.held[destination].append(region)
        self.overall.move(source, destination)
        self.overall_cost = self.overall.cost
        table = self.table_of[region]
        counts = self.tables[table]
        counts.move(source, destination)
        cost = counts.cost
        self.table_total += cost - self.table_costs[table]
        self.table_costs[table] = cost

    def moves(self) -> list[tuple[Region, int]]:
        return [
            (region, self.where[index])
            for index, region in enumerate(self.regions)
            if self.where[index] != self.home[index]
        ]
