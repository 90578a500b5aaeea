"""The StochasticLoadBalancer's costs, its run condition and its plans."""

from __future__ import annotations

from math import sqrt

import numpy as np
import pytest

from fleetsim.scenario.storage import Balancer
from fleetsim.scenario.storage import Table as TableSpec
from fleetsim.storage.balancer import StochasticLoadBalancer, skew_bounds, sloppy
from fleetsim.storage.region import Region
from fleetsim.storage.table import Table


def regions(count: int, name: str = "t") -> list[Region]:
    return Table(TableSpec(name=name, region_servers="rs", regions=count)).regions


def layout(counts: list[int], name: str = "t") -> list[list[Region]]:
    pool = regions(sum(counts), name)
    held, at = [], 0
    for count in counts:
        held.append(pool[at : at + count])
        at += count
    return held


def balancer(**fields: float) -> StochasticLoadBalancer:
    return StochasticLoadBalancer(Balancer.model_validate(fields), np.random.default_rng(1))


def after(assignment: list[list[Region]], plan: list[tuple[Region, int]]) -> list[int]:
    where = {region: index for index, held in enumerate(assignment) for region in held}
    for region, target in plan:
        where[region] = target
    return [sum(1 for at in where.values() if at == i) for i in range(len(assignment))]


def test_skew_bounds_are_the_even_and_the_all_on_one_assignments() -> None:
    least, most = skew_bounds(25, 10)
    assert least == pytest.approx(sqrt(10 * 0.5**2))
    assert most == pytest.approx(sqrt(22.5**2 + 9 * 2.5**2))
    assert skew_bounds(30, 10)[0] == 0.0


def test_slop_rule_of_the_base_load_balancer() -> None:
    assert not sloppy([3, 3, 3, 3, 3, 2, 2, 2, 2, 2], 0.2)
    assert sloppy([4, 3, 3, 3, 3, 2, 2, 2, 2, 1], 0.2)
    assert not sloppy([9, 1, 1, 1, 1, 1, 1, 1, 1, 1], -0.5)  # negative: the check is off


def test_two_or_three_regions_per_server_is_already_balanced() -> None:
    assignment = layout([3, 3, 3, 3, 3, 2, 2, 2, 2, 2])
    assert balancer().plan(assignment) == []


def test_a_split_storm_on_one_server_is_spread_to_floor_or_ceiling_of_the_mean() -> None:
    assignment = layout([16, 2, 2, 2, 3])  # 25 regions, mean 5
    plan = balancer().plan(assignment)
    assert sorted(after(assignment, plan)) == [5, 5, 5, 5, 5]
    assert len(plan) == 11  # the fewest moves that get there: the move cost counts


def test_a_plan_never_moves_more_than_max_moves() -> None:
    assignment = layout([700, 0])
    plan = balancer(max_move_percent=0.1).plan(assignment)
    assert 0 < len(plan) <= 600  # max(700 x 0.1, 600)
    assert sorted(after(assignment, plan)) == [350, 350]


def test_per_table_skew_moves_one_tables_regions_apart() -> None:
    first = layout([4, 0], "a")
    second = layout([0, 4], "b")
    assignment = [first[0] + second[0], first[1] + second[1]]  # 4 and 4, tables apart
    plan = balancer().plan(assignment)
    final = {region: index for index, held in enumerate(assignment) for region in held}
    final.update(dict(plan))
    for table in ("a", "b"):
        on = [
            sum(1 for r, at in final.items() if r.table.name == table and at == i) for i in (0, 1)
        ]
        assert on == [2, 2]


def test_with_table_skew_off_a_count_balanced_layout_stays() -> None:
    first = layout([4, 0], "a")
    second = layout([0, 4], "b")
    assignment = [first[0] + second[0], first[1] + second[1]]
    assert balancer(table_skew_cost=0).plan(assignment) == []
