"""The service-mesh parts of a scenario: Istio's MeshConfig/ProxyConfig, the
DestinationRule traffic policy of a route, the calls a service makes, the ingress
gateway and the model parameters of one Envoy.

Field names are Istio's (``outlierDetection.consecutive5xxErrors``,
``connectionPool.http.idleTimeout``, ``localityLbSetting.enabled``) or, where Istio
does not expose a setting, Envoy's (``leastRequestLbConfig.choiceCount``, the retry
budget). Each default says where it comes from.

``spec.mesh`` being present puts the fleet in an Istio mesh: every pod gets an Envoy
sidecar on its data path, external traffic enters through an ingress gateway, and a
route without ``retries`` gets Istio's default retry policy.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, Self

from pydantic import Field, model_validator

from fleetsim.fileformat import FieldProblem, FileModel
from fleetsim.scenario.dns import NameLookup
from fleetsim.scenario.fields import Count, Fraction, PositiveDuration
from fleetsim.units import Cpu, Duration, Memory, format_duration

__all__ = [
    "ISTIOD",
    "ISTIO_UNLIMITED",
    "Call",
    "ConnectionPool",
    "HTTPSettings",
    "IngressGateway",
    "Istiod",
    "Keepalive",
    "LeastRequestLbConfig",
    "LocalityLbSetting",
    "Mesh",
    "OtherServices",
    "OutlierDetection",
    "ProxyModel",
    "RetryBudget",
    "TCPSettings",
    "ZoneAwareLbConfig",
]

ISTIO_UNLIMITED: Final = 2**32 - 1
"""Istio's circuit-breaker defaults (``getDefaultCircuitBreakerThresholds``): effectively
no limit, replacing Envoy's 1024/1024/1024/3."""
ISTIO_MAX_CONCURRENT_STREAMS: Final = 2**31 - 1
ENVOY_IDLE_TIMEOUT: Final = 3600.0
"""``HttpProtocolOptions.idle_timeout`` default, 1 h (``core/v3/protocol.proto``)."""

Percent = Annotated[Count, Field(ge=0, le=100)]


class OutlierDetection(FileModel):
    """A DestinationRule ``trafficPolicy.outlierDetection`` (``destination_rule.proto``).

    Its presence turns Envoy's outlier detection on for the route; Istio then also sets
    the panic threshold from ``minHealthPercent`` (default 0: panic off,
    ``applyOutlierDetection`` in ``cluster_traffic_policy.go``) and enables locality
    failover. Success-rate ejection is forced off by Istio and is not modelled.
    """

    consecutive_5xx_errors: Count = Field(default=5, ge=0, alias="consecutive5xxErrors")
    """Envoy ``consecutive_5xx`` (default 5); 0 turns it off."""
    interval: PositiveDuration = 10.0
    """The ejection sweep (Envoy default 10 s)."""
    base_ejection_time: PositiveDuration = 30.0
    """Envoy default 30 s; ejection time = base x times ejected, up to max_ejection_time."""
    max_ejection_percent: Percent = 10
    """Envoy default 10 %; at least one host can always be ejected."""
    min_health_percent: Percent = 0
    """Becomes Envoy's ``healthy_panic_threshold``; Istio's default 0 turns panic off."""
    split_external_local_origin_errors: bool = False
    """False (default): connect failures, resets and timeouts count as 5xx."""
    consecutive_local_origin_failures: Count = Field(default=5, ge=0)
    """Used only with ``splitExternalLocalOriginErrors`` (Envoy default 5)."""


class TCPSettings(FileModel):
    """``connectionPool.tcp`` (Istio defaults: unlimited connections, 10 s connect)."""

    max_connections: Count = Field(default=ISTIO_UNLIMITED, ge=1)
    connect_timeout: PositiveDuration = 10.0
    idle_timeout: Duration = ENVOY_IDLE_TIMEOUT
    """A connection with no traffic for this long is closed; 0 = never."""


H2UpgradePolicy = Literal["DEFAULT", "DO_NOT_UPGRADE", "UPGRADE"]


class HTTPSettings(FileModel):
    """``connectionPool.http``; the limits default to Istio's 2^32-1."""

    http1_max_pending_requests: Count = Field(default=ISTIO_UNLIMITED, ge=0)
    http2_max_requests: Count = Field(default=ISTIO_UNLIMITED, ge=1)
    max_requests_per_connection: Count = Field(default=0, ge=0)
    """0 = unlimited; 1 turns keep-alive off."""
    max_retries: Count = Field(default=ISTIO_UNLIMITED, ge=0)
    idle_timeout: Duration = ENVOY_IDLE_TIMEOUT
    """Envoy/Istio default 1 h; 0 = never. Applies to the callers' upstream pools and to
    the destination's own sidecar for the connections it accepts."""
    h2_upgrade_policy: H2UpgradePolicy = "DEFAULT"
    """DEFAULT follows MeshConfig ``h2UpgradePolicy`` (DO_NOT_UPGRADE): HTTP/1.1, one
    request per connection at a time. UPGRADE multiplexes on HTTP/2."""
    max_concurrent_streams: Count = Field(default=ISTIO_MAX_CONCURRENT_STREAMS, ge=1)


class ConnectionPool(FileModel):
    """A DestinationRule ``trafficPolicy.connectionPool``."""

    tcp: TCPSettings = Field(default_factory=TCPSettings)
    http: HTTPSettings = Field(default_factory=HTTPSettings)


class LeastRequestLbConfig(FileModel):
    """Envoy ``least_request_lb_config`` (``cluster.proto``).

    ``activeRequestBias`` only matters when hosts carry unequal weights; fleetsim's
    endpoints are equally weighted, so, as in Envoy, it has no effect here.
    """

    choice_count: Count = Field(default=2, ge=2)
    active_request_bias: Fraction = Field(default=1.0, ge=0.0, allow_inf_nan=False)


class LocalityLbSetting(FileModel):
    """Istio ``localityLbSetting`` (MeshConfig, or a DestinationRule's override).

    Enabled by default in MeshConfig; failover between zones takes effect only on
    routes with ``outlierDetection`` (Istio's rule).
    """

    enabled: bool = True


class ZoneAwareLbConfig(FileModel):
    """Envoy zone-aware routing (``CommonLbConfig.zone_aware_lb_config``, ``cluster.proto``;
    ``arch_overview/upstream/load_balancing/zone_aware``), not an Istio setting.

    Envoy routes by zone only when its bootstrap names a local cluster (the callers' own
    service, ``cluster_manager.local_cluster_name``); Istio names none, so its sidecars
    never do (istio/istio#18500, #35102). Setting this on a route gives the calling
    proxies that local cluster: each keeps a pick in its zone as far as the upstream's
    share of healthy hosts there covers its own service's share of hosts there, and
    spills the rest to the zones with spare share (:mod:`fleetsim.envoy.zone_aware`).
    Only priority 0 routes by zone, so Istio's locality failover (with
    ``outlierDetection``) leaves it nothing to do.
    """

    routing_enabled: Annotated[Fraction, Field(ge=0.0, le=100.0)] = 100.0
    """Percent of picks that route by zone (runtime ``upstream.zone_routing.enabled``,
    default 100)."""
    min_cluster_size: Count = Field(default=6, ge=0)
    """No zone routing with fewer healthy upstream hosts (runtime
    ``upstream.zone_routing.min_cluster_size``, default 6)."""


class RetryBudget(FileModel):
    """Envoy ``RetryBudget`` (``circuit_breaker.proto``): replaces ``max_retries``."""

    budget_percent: Annotated[Fraction, Field(ge=0.0, le=100.0)] = 20.0
    """Retries allowed as a percentage of the active requests (default 20 %)."""
    min_retry_concurrency: Count = Field(default=3, ge=0)
    """Retries always allowed regardless of the budget (default 3)."""


class Call(FileModel):
    """One call a service's request makes to another service, through the pod's sidecar."""

    service: str
    count: Count = Field(default=1, ge=1)
    """How many such calls one request makes."""
    lookup: NameLookup | None = None
    """The app resolves the destination's name itself before calling (its client
    library's DNS lookup); None = it does not (it calls an address it already has)."""


class IngressGateway(FileModel):
    """The ``istio-ingressgateway`` Deployment that external traffic enters through.

    Its pods are proxies only (no app); they are spread over the zones like services.
    """

    replicas: Count = Field(default=3, ge=1)
    concurrency: Count | None = Field(default=None, ge=1)
    """None = the mesh's ``concurrency``."""


class ProxyModel(FileModel):
    """Model parameters of one Envoy: its memory, CPU and restart time.

    Not Istio settings. Istio publishes per-proxy figures (0.5 vCPU and about 50 MB
    per 1000 requests/s, ``performance-and-scalability``) but no per-connection
    figure; the defaults below are estimates, and a scenario calibrating against its
    own proxies should set them.
    """

    memory_base: Memory = 20 * 1024**2
    """An idle Envoy with a minimal configuration."""
    memory_per_connection: Memory = 32 * 1024
    """Buffers, TLS and HTTP codec state of one open connection (estimate)."""
    memory_per_endpoint: Memory = 16 * 1024
    """Configuration held per endpoint of every service in the proxy's scope (the whole
    mesh without a Sidecar resource)."""
    memory_per_cluster: Memory = 48 * 1024
    """Configuration and stats held per upstream cluster (one per service in scope;
    estimate: Envoy keeps ~100 stats per cluster and its load-balancer state)."""
    cpu_per_request: Duration = 0.0005
    """0.5 vCPU per 1000 requests/s (Istio's performance page)."""
    cpu_per_connect: Duration = 0.001
    """A TCP + mTLS handshake (estimate)."""
    restart_time: Duration = 2.0
    """From the kill (OOM) until the new Envoy listens again."""
    connection_setup_time: Duration = 0.001
    """Added to a request that has to open a connection first (TCP + mTLS handshake)."""


class OtherServices(FileModel):
    """Services of the mesh the scenario does not model: no traffic, but every proxy
    without a ``Sidecar`` scope holds their clusters and endpoints."""

    count: Count = Field(default=0, ge=0)
    endpoints_per_service: Count = Field(default=3, ge=0)


ISTIOD: Final = "istiod"
"""The name of istiod's Deployment (and of its pods, ``istiod-<n>``)."""


class Keepalive(FileModel):
    """TCP keepalive of a proxy's xDS connection: how long a dead istiod goes unnoticed.

    ``time`` is the ``xds-grpc`` cluster's ``tcp_keepalive.keepalive_time`` (300 s in
    ``istio/istio`` ``tools/packaging/common/envoy_bootstrap.json``); the bootstrap
    leaves ``keepalive_interval`` and ``keepalive_probes`` to the kernel, whose
    defaults are ``tcp_keepalive_intvl`` 75 s and ``tcp_keepalive_probes`` 9
    (``torvalds/linux`` ``Documentation/networking/ip-sysctl.rst``). After ``time``
    without receiving anything the kernel probes, ``probes`` times ``interval`` apart,
    and drops the connection when none is answered: ``time + probes x interval`` after
    the last data (975 s with these values).
    """

    time: PositiveDuration = 300.0
    interval: PositiveDuration = 75.0
    probes: Count = Field(default=9, ge=1)


class IstiodRequests(FileModel):
    """``resources.requests`` of istiod's container: what the scheduler places."""

    cpu: Cpu = 0.5
    memory: Memory = 2 * 1024**3


class IstiodResources(FileModel):
    """istiod's ``resources`` (only the requests matter to the model)."""

    requests: IstiodRequests = Field(default_factory=IstiodRequests)


class Istiod(FileModel):
    """``spec.mesh.istiod``: istiod as pods on the cluster's nodes, and its push path.

    Without it istiod is not modelled as pods: every endpoint update reaches every proxy
    at once. With it, istiod is a Deployment of ``replicas`` pods (no sidecar), placed
    by the scheduler like any pod (they take their ``resources`` on a node and die with
    it), and every proxy holds an xDS stream to one of them; see
    :mod:`fleetsim.istio.xds`.

    Defaults: ``replicas`` 1 and requests 500m / 2Gi are the ``istio-discovery`` chart's
    (``istio/istio`` ``manifests/charts/istio-control/istio-discovery/values.yaml``:
    ``replicaCount``/``autoscaleMin`` 1, ``resources.requests``); ``debounceAfter`` /
    ``debounceMax`` are ``PILOT_DEBOUNCE_AFTER`` / ``PILOT_DEBOUNCE_MAX`` and
    ``pushThrottle`` is ``PILOT_PUSH_THROTTLE`` (``pilot/pkg/features/pilot.go``);
    ``maxServerConnectionAge`` is the chart's ``keepaliveMaxServerConnectionAge`` (30m).
    """

    replicas: Count = Field(default=1, ge=1)
    resources: IstiodResources = Field(default_factory=IstiodResources)
    node_selector: dict[str, str] = Field(default_factory=dict)
    """Where istiod's pods may run: labels as a service's ``nodeSelector`` (the spec
    checks them)."""
    debounce_after: PositiveDuration = 0.1
    """A push waits for this long without a new change (``PILOT_DEBOUNCE_AFTER``)."""
    debounce_max: PositiveDuration = 10.0
    """...but never longer than this after the first change (``PILOT_DEBOUNCE_MAX``)."""
    push_time: PositiveDuration = 0.005
    """istiod's work to push one proxy its update (an estimate, not a documented
    figure: generating and sending the EDS of a small mesh)."""
    push_throttle: Count = Field(default=100, ge=1)
    """Pushes one istiod runs at once (``PILOT_PUSH_THROTTLE``)."""
    max_server_connection_age: Duration = 1800.0
    """istiod closes each xDS stream after this age, +/- 10 % (gRPC-Go's
    ``MaxConnectionAge`` jitter), and the proxy reconnects: a rebalance; 0 = never."""
    keepalive: Keepalive = Field(default_factory=Keepalive)
    reconnect_delay: Duration = 0.5
    """From a closed or dead stream until the proxy's next connection attempt: the
    500 ms base of Envoy's xDS retry back-off (``envoyproxy/envoy``
    ``source/common/config/grpc_stream.h``, ``RetryInitialDelayMs``; the jitter and the
    doubling up to 30 s for repeated failures are not modelled)."""

    @model_validator(mode="after")
    def _check_debounce(self) -> Self:
        if self.debounce_max < self.debounce_after:
            raise FieldProblem(
                "debounceMax",
                "expected a debounceMax no shorter than debounceAfter "
                f"({format_duration(self.debounce_after)})",
                value=format_duration(self.debounce_max),
                has_value=True,
            )
        return self


class Mesh(FileModel):
    """``spec.mesh``: the fleet runs in an Istio mesh (MeshConfig and ProxyConfig)."""

    concurrency: Count = Field(default=2, ge=1)
    """ProxyConfig ``concurrency``: Envoy worker threads (Istio default 2, ``mesh.go``)."""
    locality_lb_setting: LocalityLbSetting = Field(default_factory=LocalityLbSetting)
    ingress_gateway: IngressGateway = Field(default_factory=IngressGateway)
    proxy: ProxyModel = Field(default_factory=ProxyModel)
    other_services: OtherServices = Field(default_factory=OtherServices)
    istiod: Istiod | None = None
    """None = istiod is not modelled as pods: endpoint updates reach every proxy at once."""
