"""The scenario file format (``apiVersion: fleetsim/v1``) as pydantic models.

Files are written the Kubernetes way (camelCase keys, ``apiVersion``/``kind``/
``metadata``/``spec``) and mesh settings use Istio's own names, so a reader who
knows a VirtualService recognises ``retries.attempts`` or ``perTryTimeout``.
Python code reads the snake_case attributes; units are already parsed
(seconds, requests per second), so the simulation never sees a string.

The Kubernetes parts of a service and of the spec (resources, probes, rollouts,
the HPA, the sidecar, DNS, node pools, events) are defined in
:mod:`fleetsim.scenario.kubernetes`.

Defaults that come from Envoy or Istio say so where they are defined. Rules that
span several fields raise :class:`FieldProblem`, which names the offending field,
so the loader can point at it (``spec.traffic[0].target``) instead of its parent.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from fleetsim.fileformat import FieldPath, FieldProblem, FileModel, format_path, suggest
from fleetsim.scenario.distributions import ServiceTime
from fleetsim.scenario.dns import ClusterDNS
from fleetsim.scenario.fields import (
    BASELINE,
    Count,
    Fraction,
    Name,
    PositiveDuration,
    PositiveRate,
    SummaryPath,
    VariantName,
    ZoneName,
    did_you_mean,
)
from fleetsim.scenario.kubernetes import (
    HPA,
    NODE_LABEL_HINT,
    NODE_LABELS,
    POOL_LABEL,
    ZONE_LABEL,
    Cluster,
    ColdStart,
    DNSConfig,
    Event,
    NodePool,
    NodeSelector,
    Probe,
    Resources,
    Sidecar,
    Startup,
    Strategy,
    TopologySpreadConstraints,
    events_in_order,
)
from fleetsim.scenario.load_profile import LoadProfileSpec
from fleetsim.scenario.mesh import (
    ISTIOD,
    Call,
    ConnectionPool,
    LeastRequestLbConfig,
    LocalityLbSetting,
    Mesh,
    OutlierDetection,
    RetryBudget,
    ZoneAwareLbConfig,
)
from fleetsim.scenario.node import ProcessSpec
from fleetsim.scenario.storage import Storage, StorageRequest
from fleetsim.units import Duration, format_cpu, format_duration

__all__ = [
    "API_VERSION",
    "BASELINE",
    "ENVOY_BASE_RETRY_BACKOFF",
    "ENVOY_RETRY_ON",
    "GRPC_RETRY_ON",
    "HPA",
    "ISTIO_DEFAULT_ATTEMPTS",
    "ISTIO_DEFAULT_RETRIABLE_STATUS_CODES",
    "ISTIO_DEFAULT_RETRY_ON",
    "MAX_BACKOFF_FACTOR",
    "Cluster",
    "ColdStart",
    "DNSConfig",
    "Event",
    "FieldPath",
    "FieldProblem",
    "FileModel",
    "LoadBalancerPolicy",
    "Mesh",
    "Metadata",
    "Metrics",
    "NodePool",
    "Probe",
    "Resources",
    "Retries",
    "Route",
    "Scenario",
    "Service",
    "ServiceTime",
    "Sidecar",
    "Spec",
    "Startup",
    "Strategy",
    "Traffic",
    "format_path",
    "suggest",
]

API_VERSION: Final = "fleetsim/v1"

# Envoy's x-envoy-retry-on values (router filter docs) and its gRPC ones
# (x-envoy-retry-grpc-on); Istio's ``retryOn`` accepts both, comma-separated.
ENVOY_RETRY_ON: Final = (
    "5xx",
    "gateway-error",
    "reset",
    "connect-failure",
    "envoy-ratelimited",
    "retriable-4xx",
    "refused-stream",
    "retriable-status-codes",
    "retriable-headers",
    "http3-post-connect-failure",
)
GRPC_RETRY_ON: Final = (
    "cancelled",
    "deadline-exceeded",
    "internal",
    "resource-exhausted",
    "unavailable",
)

# Istio's default HTTP retry policy (pilot/pkg/networking/core/route/retry/retry.go).
ISTIO_DEFAULT_RETRY_ON: Final = (
    "connect-failure",
    "refused-stream",
    "unavailable",
    "cancelled",
    "retriable-status-codes",
)
ISTIO_DEFAULT_RETRIABLE_STATUS_CODES: Final = (503,)
ISTIO_DEFAULT_ATTEMPTS: Final = 2

ENVOY_BASE_RETRY_BACKOFF: Final = 0.025
"""Envoy's base retry interval (runtime ``upstream.base_retry_backoff_ms`` = 25 ms)."""
MAX_BACKOFF_FACTOR: Final = 10
"""Envoy caps the retry interval at 10 x base; Istio's ``backoff`` sets only the base."""

LoadBalancerPolicy = Literal["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"]


# --- services ----------------------------------------------------------------------


class Service(FileModel):
    """A Deployment behind a Service: ``replicas`` pods, each with ``workers`` and a queue.

    The pod template's Kubernetes fields keep their Kubernetes names and defaults
    (``resources``, the three probes, ``terminationGracePeriodSeconds``, the
    Deployment's ``strategy``); ``hpa`` attaches a HorizontalPodAutoscaler and
    ``sidecar`` an Istio proxy. All of them are optional.
    """

    name: Name
    replicas: Count = Field(ge=1)
    """The Deployment's ``spec.replicas``; an HPA may move it within its bounds."""
    workers: Count = Field(default=1, ge=1)
    queue_limit: Count | None = Field(default=None, ge=0)
    """Waiting requests per pod beyond which new ones are rejected (503); None = unbounded."""
    service_time: ServiceTime
    error_rate: Fraction = Field(default=0.0, ge=0.0, lt=1.0)
    """Fraction of attempts answered with a 503 right away."""
    resources: Resources = Field(default_factory=Resources)
    cpu_per_request: Duration = 0.0
    """CPU time one request costs a warm pod; 0 = CPU is not modelled."""
    startup: Startup = Field(default_factory=Startup)
    cold_start: ColdStart = Field(default_factory=ColdStart)
    readiness_probe: Probe | None = None
    """None = the pod is ready as soon as it has started (Kubernetes: no probe, Success)."""
    liveness_probe: Probe | None = None
    startup_probe: Probe | None = None
    probe_service_time: PositiveDuration = 0.001
    """Time the application spends answering one probe."""
    termination_grace_period_seconds: Duration = 30.0
    """``v1.DefaultTerminationGracePeriodSeconds`` (``SetDefaults_PodSpec``)."""
    pre_stop: Duration | None = None
    """A ``preStop`` hook that sleeps this long; None = no hook."""
    strategy: Strategy = Field(default_factory=Strategy)
    hpa: HPA | None = None
    sidecar: Sidecar | None = None
    process: ProcessSpec | None = None
    """The app's process as its node's co-tenants see it (:mod:`fleetsim.scenario.node`)."""
    """Settings of the pod's Istio sidecar. Without ``spec.mesh`` only its start-up is
    modelled; with ``spec.mesh`` every pod has one on its data path."""
    dns_config: DNSConfig = Field(default_factory=DNSConfig)
    node_selector: NodeSelector = Field(default_factory=dict)
    """The pod's ``nodeSelector``: ``topology.kubernetes.io/zone``,
    ``kubernetes.io/hostname`` or ``cloud.google.com/gke-nodepool`` (the node's pool)."""
    topology_spread_constraints: TopologySpreadConstraints = Field(default_factory=list)
    """The pod's ``topologySpreadConstraints``; none = the scheduler's default spreading
    (zones, then nodes), as Kubernetes' default constraints."""
    calls: list[Call] = Field(default_factory=list)
    """Calls one request makes to other services after ``serviceTime`` (local work)."""
    call_mode: Literal["sequential", "parallel"] = "sequential"
    """sequential: one call after another; parallel: all at once (fan-out)."""
    service_time_after_calls: ServiceTime | None = None
    """Local work after the calls returned; None = none."""

    @model_validator(mode="after")
    def _check_calls(self) -> Self:
        if self.service_time_after_calls is not None and not self.calls:
            raise FieldProblem(
                "serviceTimeAfterCalls",
                "expected calls to be set: serviceTimeAfterCalls is the work after them",
            )
        seen: set[str] = set()
        for index, call in enumerate(self.calls):
            if call.service in seen:
                raise FieldProblem(
                    ("calls", index, "service"),
                    "expected each service once in calls (use count for several calls): "
                    f"duplicate service {call.service!r}",
                    value=call.service,
                    has_value=True,
                )
            seen.add(call.service)
        return self

    @model_validator(mode="after")
    def _check_pod(self) -> Self:
        for field, kind, probe in (
            ("livenessProbe", "liveness", self.liveness_probe),
            ("startupProbe", "startup", self.startup_probe),
        ):
            if probe is not None and probe.success_threshold != 1:
                raise FieldProblem(
                    (field, "successThreshold"),
                    f"expected 1: a {kind} probe's successThreshold must be 1 "
                    "(Kubernetes validation)",
                    value=probe.success_threshold,
                    has_value=True,
                )
        if self.hpa is not None:
            self._check_hpa()
        return self

    def _check_hpa(self) -> None:
        """The HPA computes CPU utilization against the pods' CPU request."""
        request = self.resources.requests.cpu
        if request is None:
            raise FieldProblem(
                "hpa",
                "expected resources.requests.cpu to be set: the HPA measures CPU "
                "utilization against the request (Kubernetes: missing request for cpu)",
            )
        if request == 0:
            raise FieldProblem(
                ("resources", "requests", "cpu"),
                "expected a CPU request > 0 when the service has an hpa",
                value=format_cpu(request),
                has_value=True,
            )
        if self.cpu_per_request == 0:
            raise FieldProblem(
                "cpuPerRequest",
                "expected a CPU time per request > 0 when the service has an hpa",
                value=format_duration(self.cpu_per_request),
                has_value="cpu_per_request" in self.model_fields_set,
            )


class Traffic(FileModel):
    """A client population sending requests to one service."""

    name: Name
    target: str
    rate: PositiveRate
    arrivals: Literal["poisson", "constant"] = "poisson"
    timeout: PositiveDuration | None = None
    """When the client gives up; None = it waits forever."""
    profile: LoadProfileSpec | None = None
    """How the rate changes over the run; None = constant ``rate``."""
    storage: StorageRequest | None = None
    """The operation on a table of ``spec.storage`` (required when ``target`` is a
    region-server service): an HBase client sends it to the region holding its key."""


# --- routes (Istio VirtualService / Envoy route) -----------------------------------

_RETRY_CONDITIONS: Final = (*ENVOY_RETRY_ON, *GRPC_RETRY_ON)
RETRY_ON_HINT: Final = (
    "expected retry conditions from Envoy's x-envoy-retry-on list ("
    + ", ".join(ENVOY_RETRY_ON)
    + "), gRPC ones ("
    + ", ".join(GRPC_RETRY_ON)
    + ") or HTTP status codes 100-599"
)


def _retry_condition(value: object) -> str:
    """One ``retryOn`` entry; a status code is kept as its digits (``"503"``)."""
    if isinstance(value, bool):
        raise ValueError(RETRY_ON_HINT)
    text = str(value).strip() if isinstance(value, int | str) else None
    if text is None:
        raise ValueError(RETRY_ON_HINT)
    if text.isdigit():
        if not 100 <= int(text) <= 599:
            raise ValueError("expected an HTTP status code from 100 to 599")
        return str(int(text))
    if text not in _RETRY_CONDITIONS:
        raise ValueError(RETRY_ON_HINT + did_you_mean(text, _RETRY_CONDITIONS))
    return text


RetryCondition = Annotated[str, BeforeValidator(_retry_condition)]


class Retries(FileModel):
    """An Istio ``HTTPRetry``, as it reaches Envoy's ``RetryPolicy``.

    As in Istio: ``attempts: 0`` turns retries off; integers in ``retryOn`` become
    retriable status codes (and imply ``retriable-status-codes``); with ``retryOn``
    left out (or empty) Istio's default conditions apply, including a retry on 503.
    """

    attempts: Count = Field(ge=0)
    per_try_timeout: PositiveDuration | None = None
    retry_on: list[RetryCondition] = Field(default_factory=lambda: list(ISTIO_DEFAULT_RETRY_ON))
    backoff: PositiveDuration = ENVOY_BASE_RETRY_BACKOFF
    retry_budget: RetryBudget | None = None
    """Envoy's retry budget; None = none (Istio sets none, and no max_retries limit)."""
    retry_host_selection_attempts: Count = Field(default=5, ge=1)
    """Envoy ``host_selection_retry_max_attempts`` with the ``previous_hosts`` predicate:
    Istio sets 5 picks to find a host not tried before."""
    _retriable_status_codes: list[int] = PrivateAttr(default_factory=list)

    @field_validator("retry_on", mode="before")
    @classmethod
    def _split_retry_on(cls, value: object) -> object:
        """Accept Istio's comma-separated string as well as a YAML list."""
        if isinstance(value, str):
            return [part for part in (p.strip() for p in value.split(",")) if part]
        if isinstance(value, int) and not isinstance(value, bool):
            return [value]
        return value

    @model_validator(mode="after")
    def _split_status_codes(self) -> Self:
        if "retry_on" not in self.model_fields_set or not self.retry_on:
            self.retry_on = list(ISTIO_DEFAULT_RETRY_ON)
            self._retriable_status_codes = list(ISTIO_DEFAULT_RETRIABLE_STATUS_CODES)
            return self
        codes = [int(entry) for entry in self.retry_on if entry.isdigit()]
        conditions = [entry for entry in self.retry_on if not entry.isdigit()]
        if codes and "retriable-status-codes" not in conditions:
            conditions.append("retriable-status-codes")
        self.retry_on = list(dict.fromkeys(conditions))
        self._retriable_status_codes = list(dict.fromkeys(codes))
        return self

    @property
    def retriable_status_codes(self) -> list[int]:
        """Status codes retried under ``retriable-status-codes`` (Istio: [503] by default)."""
        return list(self._retriable_status_codes)

    @property
    def max_backoff(self) -> float:
        """Envoy's cap on the back-off interval: 10 x the base."""
        return MAX_BACKOFF_FACTOR * self.backoff

    @classmethod
    def istio_default(cls) -> Retries:
        """The policy Istio installs on a route whose VirtualService has no ``retries``."""
        return cls(attempts=ISTIO_DEFAULT_ATTEMPTS)


class Route(FileModel):
    """Client-side routing to one service, as a VirtualService + DestinationRule set it."""

    destination: str
    load_balancer: LoadBalancerPolicy = "ROUND_ROBIN"
    """Envoy's default load-balancing policy is round robin."""
    retries: Retries | None = None
    """None = no retries (Envoy without a retry policy does not retry); in a mesh, Istio's
    default policy (2 attempts) instead."""
    timeout: PositiveDuration | None = None
    """VirtualService ``timeout``: the whole request, retries included, answered 504 when
    it runs out. None = no timeout (Istio turns Envoy's 15 s route timeout off)."""
    outlier_detection: OutlierDetection | None = None
    """None = no outlier detection (Istio configures none by default)."""
    connection_pool: ConnectionPool = Field(default_factory=ConnectionPool)
    least_request_lb_config: LeastRequestLbConfig = Field(default_factory=LeastRequestLbConfig)
    locality_lb_setting: LocalityLbSetting | None = None
    """None = the mesh's ``localityLbSetting``."""
    zone_aware_lb_config: ZoneAwareLbConfig | None = None
    """None = no zone-aware routing (Istio sets no local cluster); see
    :class:`~fleetsim.scenario.mesh.ZoneAwareLbConfig`."""


# --- the scenario ------------------------------------------------------------------


class Metrics(FileModel):
    """What is recorded besides the summary."""

    interval: PositiveDuration = 1.0
    """Width of one time-series interval, in simulated seconds."""


class Metadata(FileModel):
    """Kubernetes-style object metadata."""

    name: Name
    description: str | None = None
    """Shown at the top of ``run`` and ``compare`` output."""
    watch: list[SummaryPath] = Field(default_factory=list)
    """The incident's key metrics (dotted summary paths), shown first by ``compare``."""


def _default_zones() -> list[str]:
    return ["default"]


class Spec(FileModel):
    """The fleet, its traffic, and how clients route to it."""

    duration: PositiveDuration
    """Measured simulated time."""
    warmup: Duration = 0.0
    """Simulated time before the measured window, excluded from statistics."""
    seed: Count = Field(default=1, ge=0)
    zones: list[ZoneName] = Field(default_factory=_default_zones, min_length=1)
    services: list[Service] = Field(min_length=1)
    traffic: list[Traffic] = Field(min_length=1)
    routes: list[Route] = Field(default_factory=list)
    metrics: Metrics = Field(default_factory=Metrics)
    node_pools: list[NodePool] = Field(default_factory=list)
    """The cluster's nodes; empty = no node model (every pod fits at once)."""
    events: list[Event] = Field(default_factory=list)
    """The run's timeline, applied in ``at`` order (file order among equal times)."""
    cluster: Cluster = Field(default_factory=Cluster)
    mesh: Mesh | None = None
    """None = no service mesh on the data path (clients call pods directly)."""
    storage: Storage | None = None
    """A sharded storage tier (HBase tables over region-server services); None = none."""
    cluster_dns: ClusterDNS | None = Field(default=None, alias="clusterDNS")
    """The cluster's DNS (a CoreDNS service of ``services``); None = an ideal resolver
    on each node (see :mod:`fleetsim.scenario.dns`)."""
    variants: dict[VariantName, dict[str, Any]] = Field(default_factory=dict)
    """Named patches merged onto ``spec`` (see :mod:`fleetsim.scenario.variants`)."""

    @model_validator(mode="after")
    def _check_references(self) -> Self:
        _check_unique("zones", list(self.zones), None)
        _check_unique("services", [s.name for s in self.services], "name")
        _check_unique("traffic", [t.name for t in self.traffic], "name")
        _check_unique("routes", [r.destination for r in self.routes], "destination")
        services = [s.name for s in self.services]
        for index, traffic in enumerate(self.traffic):
            _check_service(("traffic", index, "target"), traffic.target, services)
        for index, route in enumerate(self.routes):
            _check_service(("routes", index, "destination"), route.destination, services)
        for index, service in enumerate(self.services):
            for call_index, call in enumerate(service.calls):
                _check_service(
                    ("services", index, "calls", call_index, "service"), call.service, services
                )
        _check_call_graph(self.services)
        if self.mesh is None:
            for index, route in enumerate(self.routes):
                _check_mesh_only(index, route)
        if self.metrics.interval > self.duration:
            raise FieldProblem(
                ("metrics", "interval"),
                "expected an interval no longer than spec.duration "
                f"({format_duration(self.duration)})",
                value=format_duration(self.metrics.interval),
                has_value=True,
            )
        _check_unique("nodePools", [p.name for p in self.node_pools], "name")
        for index, pool in enumerate(self.node_pools):
            if pool.zone is not None:
                _check_name(("nodePools", index, "zone"), pool.zone, list(self.zones), "spec.zones")
        for index, event in enumerate(self.events):
            self._check_event(index, event)
        self._check_zone_order()
        for index, service in enumerate(self.services):
            if service.process is not None:
                self._check_disks(index, service.process)
            self._check_node_selector(index, service.node_selector)
        self._check_istiod()
        self._check_storage()
        self._check_cluster_dns()
        return self

    def _check_cluster_dns(self) -> None:
        """CoreDNS serves queries only; a Sidecar's egress hosts name services."""
        services = [s.name for s in self.services]
        for index, service in enumerate(self.services):
            egress = service.sidecar.egress if service.sidecar is not None else None
            for listener_index, listener in enumerate(egress or []):
                for host_index, host in enumerate(listener.hosts):
                    if host != "*":
                        path: FieldPath = (
                            "services", index, "sidecar", "egress", listener_index, "hosts",
                            host_index,
                        )  # fmt: skip
                        _check_service(path, host, services)
            scope = service.sidecar.egress_scope() if service.sidecar is not None else None
            for call_index, call in enumerate(service.calls if scope is not None else []):
                if scope is not None and call.service not in scope:
                    raise FieldProblem(
                        ("services", index, "calls", call_index, "service"),
                        f"expected a service in the pod's Sidecar egress hosts "
                        f"({', '.join(sorted(scope))}): its proxy has no route to "
                        f"{call.service!r}",
                        value=call.service,
                        has_value=True,
                    )
        dns = self.cluster_dns
        if dns is None:
            return
        _check_service(("clusterDNS", "service"), dns.service, services)
        index = services.index(dns.service)
        spec = self.services[index]
        if spec.calls or spec.sidecar is not None:
            field = "calls" if spec.calls else "sidecar"
            raise FieldProblem(
                ("services", index, field),
                f"expected no {field} on the cluster DNS service {dns.service!r}: its pods "
                "answer queries (CoreDNS runs without an Istio sidecar)",
            )
        for traffic_index, traffic in enumerate(self.traffic):
            if traffic.target == dns.service:
                raise FieldProblem(
                    ("traffic", traffic_index, "target"),
                    f"expected a service other than the cluster DNS {dns.service!r}: "
                    "queries come from the pods' resolvers (and clusterDNS.otherQueries)",
                    value=traffic.target,
                    has_value=True,
                )

    def _check_storage(self) -> None:
        """Tables name region-server services; traffic to those names a table."""
        services = [s.name for s in self.services]
        tables: dict[str, str] = {}
        if self.storage is not None:
            _check_unique("storage", [t.name for t in self.storage.tables], "name")
            for index, table in enumerate(self.storage.tables):
                path: FieldPath = ("storage", "tables", index, "regionServers")
                _check_service(path, table.region_servers, services)
                tables[table.name] = table.region_servers
        region_servers = set(tables.values())
        self._check_region_server_processes(region_servers)
        for index, traffic in enumerate(self.traffic):
            self._check_storage_traffic(index, traffic, tables, region_servers)
        for index, service in enumerate(self.services):
            for call_index, call in enumerate(service.calls):
                if call.service in region_servers:
                    raise FieldProblem(
                        ("services", index, "calls", call_index, "service"),
                        "expected a service that is not a region server: calls carry no "
                        "table or row key (send traffic with a storage block instead)",
                        value=call.service,
                        has_value=True,
                    )

    def _check_region_server_processes(self, region_servers: set[str]) -> None:
        """A region-server memory model reads and writes a disk of each server's node;
        a compaction scheduler compacts a region-server service's regions."""
        storage = self.storage
        if storage is None:
            return
        scheduler = storage.compaction_scheduler
        if scheduler is not None:
            path: FieldPath = ("storage", "compactionScheduler", "regionServers")
            _check_name(path, scheduler.region_servers, sorted(region_servers), "region servers")
            if storage.region_server is None:
                raise FieldProblem(
                    ("storage", "compactionScheduler"),
                    "expected spec.storage.regionServer as well: compactions need the "
                    "region servers' stores (set regionServer: {} for HBase's defaults)",
                )
        if storage.region_server is None:
            return
        for index, service in enumerate(self.services):
            if service.name in region_servers and (
                service.process is None or service.process.disk is None
            ):
                raise FieldProblem(
                    ("services", index, "process", "disk"),
                    f"required field is missing: region server {service.name!r} needs a "
                    "disk of its node (process: {disk: <a nodePools[].disks name>}): "
                    "spec.storage.regionServer reads cache misses from it and writes "
                    "flushes and compactions to it",
                )

    @staticmethod
    def _check_storage_traffic(
        index: int, traffic: Traffic, tables: dict[str, str], region_servers: set[str]
    ) -> None:
        request = traffic.storage
        if request is None:
            if traffic.target in region_servers:
                raise FieldProblem(
                    ("traffic", index, "storage"),
                    f"required field is missing: traffic to the region servers "
                    f"{traffic.target!r} needs storage (table, operation, keys)",
                )
            return
        if request.table not in tables:
            listed = ", ".join(tables) if tables else "none: spec.storage is not set"
            raise FieldProblem(
                ("traffic", index, "storage", "table"),
                f"expected a table in spec.storage.tables ({listed})"
                + did_you_mean(request.table, tables),
                value=request.table,
                has_value=True,
            )
        if traffic.target != tables[request.table]:
            raise FieldProblem(
                ("traffic", index, "target"),
                f"expected {tables[request.table]!r}, the region servers of table "
                f"{request.table!r}",
                value=traffic.target,
                has_value=True,
            )

    def _check_disks(self, index: int, process: ProcessSpec) -> None:
        """A process writes to a disk by name: every node pool must have that disk."""
        uses = [("disk",), ("pauses", "gcLogDisk")]
        names = [process.disk, process.pauses.gc_log_disk if process.pauses else None]
        for at, disk in zip(uses, names, strict=True):
            if disk is None:
                continue
            path: FieldPath = ("services", index, "process", *at)
            if not self.node_pools:
                raise FieldProblem(
                    path,
                    "expected spec.nodePools with disks: a disk belongs to a node pool",
                    value=disk,
                    has_value=True,
                )
            for pool in self.node_pools:
                _check_name(
                    path, disk, [d.name for d in pool.disks], f"nodePools {pool.name!r} disks"
                )

    def _check_event(self, index: int, event: Event) -> None:
        pools = [pool.name for pool in self.node_pools]
        if event.pool is not None:
            _check_name(("events", index, "pool"), event.pool, pools, "spec.nodePools")
        if event.service is not None:
            services = [s.name for s in self.services]
            istiod = self.mesh.istiod if self.mesh is not None else None
            if event.action == "fail-node" and istiod is not None:
                services.append(ISTIOD)  # the node of an istiod pod
            _check_service(("events", index, "service"), event.service, services)
        if event.action == "rolling-restart":
            self._check_rolling_restart(index, event)
        if event.traffic is not None:
            traffic = {t.name: t for t in self.traffic}
            _check_name(("events", index, "traffic"), event.traffic, list(traffic), "spec.traffic")
            profile = traffic[event.traffic].profile
            if event.action == "set-rate" and profile is not None and profile.type != "constant":
                raise FieldProblem(
                    ("events", index, "traffic"),
                    f"set-rate needs a traffic without a load profile (this one has a "
                    f"{profile.type} profile, which sets the rate itself)",
                    value=event.traffic,
                    has_value=True,
                )
        if event.node is not None:
            self._check_node(("events", index, "node"), event.node)
        if event.zone is not None:
            _check_name(("events", index, "zone"), event.zone, list(self.zones), "spec.zones")

    def _check_zone_order(self) -> None:
        """In ``at`` order, a zone fails only while up and is restored only while down."""
        down: dict[str, float] = {}
        position = {id(event): index for index, event in enumerate(self.events)}
        for event in events_in_order(self.events):
            zone = event.zone
            if zone is None:
                continue
            index = position[id(event)]
            if event.action == "fail-zone" and zone in down:
                raise FieldProblem(
                    ("events", index, "zone"),
                    f"expected a zone that is up: fail-zone at {format_duration(event.at)} "
                    f"fails {zone!r} again, already failed at {format_duration(down[zone])} "
                    "(restore-zone it first)",
                    value=zone,
                    has_value=True,
                )
            if event.action == "restore-zone" and zone not in down:
                raise FieldProblem(
                    ("events", index, "zone"),
                    f"expected a zone that an earlier fail-zone failed: {zone!r} is up at "
                    f"{format_duration(event.at)} (no fail-zone of it before, by at)",
                    value=zone,
                    has_value=True,
                )
            if event.action == "fail-zone":
                down[zone] = event.at
            else:
                down.pop(zone)

    def _check_istiod(self) -> None:
        """istiod's Deployment takes the name ``istiod``; its nodeSelector must match."""
        if self.mesh is None or self.mesh.istiod is None:
            return
        for index, service in enumerate(self.services):
            if service.name == ISTIOD:
                raise FieldProblem(
                    ("services", index, "name"),
                    f"expected another name: {ISTIOD!r} is istiod's own Deployment when "
                    "spec.mesh.istiod is set",
                    value=service.name,
                    has_value=True,
                )
        selector = self.mesh.istiod.node_selector
        for key in selector:
            if key not in NODE_LABELS:
                raise FieldProblem(
                    ("mesh", "istiod", "nodeSelector", key),
                    NODE_LABEL_HINT + did_you_mean(key, NODE_LABELS),
                )
        self._check_node_selector(0, selector, ("mesh", "istiod", "nodeSelector"))

    def _check_node_selector(
        self, index: int, selector: dict[str, str], at: FieldPath | None = None
    ) -> None:
        """Each value must name a zone, a pool or a node that the scenario has."""
        for key, value in selector.items():
            path: FieldPath = ("services", index, "nodeSelector", key) if at is None else (*at, key)
            if key == ZONE_LABEL:
                _check_name(path, value, list(self.zones), "spec.zones")
            elif key == POOL_LABEL:
                _check_name(path, value, [p.name for p in self.node_pools], "spec.nodePools")
            elif self.node_pools:
                self._check_node(path, value)
            else:
                where = "spec.zones, the nodes' names without spec.nodePools"
                _check_name(path, value, list(self.zones), where)

    def _check_rolling_restart(self, index: int, event: Event) -> None:
        """A rolling restart moves regions: its service must serve a table."""
        servers = (
            list(dict.fromkeys(t.region_servers for t in self.storage.tables))
            if self.storage is not None
            else []
        )
        if event.service is not None and event.service not in servers:
            listed = ", ".join(servers) if servers else "none: spec.storage is not set"
            raise FieldProblem(
                ("events", index, "service"),
                f"expected the region servers of a table in spec.storage ({listed})"
                + did_you_mean(event.service, servers),
                value=event.service,
                has_value=True,
            )

    def _check_node(self, path: FieldPath, node: str) -> None:
        """A node is ``<pool>-<index>``: one present at the start, or one add-nodes adds."""
        pool, _, number = node.rpartition("-")
        nodes = {p.name: p.count for p in self.node_pools}
        for event in self.events:
            if event.action == "add-nodes" and event.pool in nodes:
                nodes[event.pool] += event.count or 0
        is_index = number.isdigit() and str(int(number)) == number
        if pool not in nodes or not is_index:
            pools = ", ".join(nodes) or "none: spec.nodePools is empty"
            match = suggest(pool, nodes) if is_index else None
            hint = f"; did you mean '{match}-{number}'?" if match is not None else ""
            raise FieldProblem(
                path,
                f"expected a node name <pool>-<index> for a pool in spec.nodePools ({pools})"
                + hint,
                value=node,
                has_value=True,
            )
        if int(number) >= nodes[pool]:
            raise FieldProblem(
                path,
                f"expected an index below {nodes[pool]}: pool {pool!r} has {nodes[pool]} "
                "node(s), counting those add-nodes events add",
                value=node,
                has_value=True,
            )


_MESH_ONLY_ROUTE_FIELDS: Final = (
    ("timeout", "timeout"),
    ("outlier_detection", "outlierDetection"),
    ("connection_pool", "connectionPool"),
    ("least_request_lb_config", "leastRequestLbConfig"),
    ("locality_lb_setting", "localityLbSetting"),
    ("zone_aware_lb_config", "zoneAwareLbConfig"),
)


def _check_mesh_only(index: int, route: Route) -> None:
    """Envoy settings that only a sidecar applies: refused without ``spec.mesh``."""
    fields = [
        (name, key) for name, key in _MESH_ONLY_ROUTE_FIELDS if name in route.model_fields_set
    ]
    retries = route.retries
    if retries is not None:
        fields += [
            (name, f"retries.{key}")
            for name, key in (
                ("retry_budget", "retryBudget"),
                ("retry_host_selection_attempts", "retryHostSelectionAttempts"),
            )
            if name in retries.model_fields_set
        ]
    if fields:
        key = fields[0][1]
        raise FieldProblem(
            ("routes", index, *key.split(".")),
            f"expected spec.mesh to be set: {key} is applied by the mesh's Envoy proxies",
        )


def _check_call_graph(services: list[Service]) -> None:
    """Calls must not loop back: a request calling itself again would never end."""
    calls = {service.name: [call.service for call in service.calls] for service in services}
    position = {service.name: index for index, service in enumerate(services)}
    finished: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        for call_index, callee in enumerate(calls.get(name, [])):
            if callee in path:
                loop = " -> ".join([*path[path.index(callee) :], callee])
                raise FieldProblem(
                    ("services", position[name], "calls", call_index, "service"),
                    f"expected calls without a loop (found {loop})",
                    value=callee,
                    has_value=True,
                )
            if callee not in finished:
                visit(callee, [*path, callee])
        finished.add(name)

    for service in services:
        if service.name not in finished:
            visit(service.name, [service.name])


def _check_unique(field: str, values: list[str], key: str | None) -> None:
    """Names are keys (traffic targets, variant merges), so a repeat is ambiguous."""
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            path: FieldPath = (field, index) if key is None else (field, index, key)
            noun = "entry" if key is None else key
            raise FieldProblem(
                path,
                f"duplicate {noun}: expected each {noun} in spec.{field} to appear only once",
                value=value,
                has_value=True,
            )
        seen.add(value)


def _check_service(path: FieldPath, name: str, services: list[str]) -> None:
    if name not in services:
        raise FieldProblem(
            path,
            f"expected the name of a service in spec.services ({', '.join(services)})"
            + did_you_mean(name, services),
            value=name,
            has_value=True,
        )


def _check_name(path: FieldPath, name: str, names: list[str], where: str) -> None:
    """``name`` must be one of ``names``, the entries of ``where`` (``spec.nodePools``)."""
    if name not in names:
        listed = ", ".join(names) if names else f"none: {where} is empty"
        raise FieldProblem(
            path,
            f"expected a name in {where} ({listed})" + did_you_mean(name, names),
            value=name,
            has_value=True,
        )


class Scenario(FileModel):
    """A whole scenario file."""

    api_version: Literal["fleetsim/v1"]
    kind: Literal["Scenario"]
    metadata: Metadata
    spec: Spec
