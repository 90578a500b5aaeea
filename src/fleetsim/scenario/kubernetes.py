"""The Kubernetes and Istio parts of a scenario: pods' resources, probes, start-up,
rollouts, autoscaling, the sidecar, DNS, nodes and the run's timeline of events.

Fields keep the names of the Kubernetes or Istio objects they mirror
(``readinessProbe.periodSeconds``, ``strategy.rollingUpdate.maxSurge``,
``hpa.behavior.scaleDown.policies``), so a manifest's values can be copied in.
Each default says where it comes from. Numbers are parsed on the way in:
seconds, cores and bytes.

A few blocks are not Kubernetes objects but parameters of the model
(:class:`Startup`, :class:`ColdStart`, :class:`Cluster`); they say so.

``Service`` (``spec.services[]``) and ``Spec`` in :mod:`fleetsim.scenario.schema`
hold these models and check the references between them (an event's ``service``,
a node pool's ``zone``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Annotated, Final, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from fleetsim.fileformat import FieldProblem, FileModel
from fleetsim.scenario.fields import (
    Count,
    Fraction,
    Name,
    PositiveDuration,
    PositiveRate,
    ZoneName,
    did_you_mean,
)
from fleetsim.scenario.node import Disk, NodeAgents
from fleetsim.units import Cpu, Duration, Memory, format_cpu, format_duration, percent_of

__all__ = [
    "DEFAULT_DNS_SEARCHES",
    "HOSTNAME_LABEL",
    "HPA",
    "NODE_LABELS",
    "POOL_LABEL",
    "ZONE_LABEL",
    "Behavior",
    "Cluster",
    "ColdStart",
    "DNSConfig",
    "DNSOption",
    "Event",
    "EventAction",
    "HPAController",
    "IntOrPercent",
    "NodePool",
    "NodeSelector",
    "Probe",
    "ResourceList",
    "Resources",
    "RollingUpdate",
    "ScalingPolicy",
    "ScalingRules",
    "Sidecar",
    "Startup",
    "Strategy",
    "TopologySpreadConstraint",
    "TopologySpreadConstraints",
    "events_in_order",
]

Factor = Annotated[Fraction, Field(ge=1, allow_inf_nan=False)]
"""A multiplier of at least 1."""
Tolerance = Annotated[Fraction, Field(ge=0, allow_inf_nan=False)]
"""A fraction of the target by which the usage ratio may miss it (0.1 = 10 %)."""
AtLeastASecond = Annotated[Duration, Field(ge=1)]


_BINARY_SUFFIXES: Final = ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki")


def _format_memory(size: int) -> str:
    """Bytes the way Kubernetes prints them: the largest binary suffix that divides evenly."""
    for power, suffix in zip(range(6, 0, -1), _BINARY_SUFFIXES, strict=True):
        if size and size % 1024**power == 0:
            return f"{size // 1024**power}{suffix}"
    return str(size)


# --- resources (core/v1 ResourceRequirements) ---------------------------------------


class ResourceList(FileModel):
    """A container's ``resources.requests`` or ``resources.limits`` (core/v1 ResourceList).

    Only the two resources the model uses: ``cpu`` in cores and ``memory`` in bytes.
    """

    cpu: Cpu | None = None
    memory: Memory | None = None


class Resources(FileModel):
    """The pod's ``resources`` (core/v1 ResourceRequirements), as one container's.

    As in Kubernetes, a resource with a limit but no request gets the limit as its
    request (``pkg/apis/core/v1/defaults.go`` ``SetDefaults_Pod``), and a limit
    below its request is refused (``ValidateResourceRequirements``).
    """

    requests: ResourceList = Field(default_factory=ResourceList)
    limits: ResourceList = Field(default_factory=ResourceList)

    @model_validator(mode="after")
    def _check_limits(self) -> Self:
        formats: dict[str, Callable[[float], str]] = {
            "cpu": format_cpu,
            "memory": lambda size: _format_memory(int(size)),
        }
        defaulted: dict[str, float] = {}
        for name, spell in formats.items():
            request = getattr(self.requests, name)
            limit = getattr(self.limits, name)
            if limit is None:
                continue
            if request is None:
                defaulted[name] = limit
            elif limit < request:
                raise FieldProblem(
                    ("limits", name),
                    f"expected a limit no lower than the request ({spell(request)})",
                    value=spell(limit),
                    has_value=True,
                )
        if defaulted:
            self.requests = self.requests.model_copy(update=defaulted)
        return self


# --- probes (core/v1 Probe) -----------------------------------------------------------


class Probe(FileModel):
    """A container probe's timing (core/v1 Probe; the handler itself is not modelled).

    Defaults are those of ``pkg/apis/core/v1/defaults.go`` ``SetDefaults_Probe``;
    the minimums are those the API documents (Kubernetes would replace a 0 by the
    default; here it is refused). Times may be given as numbers of seconds, as in
    Kubernetes, or as durations (``"10s"``). A liveness or startup
    probe must have ``successThreshold: 1``; the service checks that, since the
    rule depends on which probe this is.
    """

    initial_delay_seconds: Duration = 0.0
    period_seconds: AtLeastASecond = 10.0
    timeout_seconds: AtLeastASecond = 1.0
    success_threshold: Count = Field(default=1, ge=1)
    failure_threshold: Count = Field(default=3, ge=1)


# --- start-up and warm-up (model parameters) -----------------------------------------


class Startup(FileModel):
    """How long each phase of a new pod's start takes. Model parameters, not a Kubernetes object.

    Kubernetes has no default for these: the scheduling SLO (p99 <= 5 s from
    creation to running, ``sig-scalability/slos/pod_startup_latency.md``) excludes
    image pulls, whose time depends on the image and the registry.
    """

    scheduling_delay: Duration = 0.0
    """From the pod's creation until the kubelet admits it (scheduler plus kubelet)."""
    image_pull: Duration = 0.0
    """Pull time, paid only on a node that does not have the image cached."""
    app_start: Duration = 0.0
    """From the main container's start until the application listens."""


class ColdStart(FileModel):
    """The application's warm-up after it starts (a JIT or code cache, such as HHVM's).

    Not a Kubernetes object. The warm-up runs between ``Startup.app_start`` and the
    first passing readiness probe; after it the pod serves, slower and costlier at
    first: ``cpuFactor`` and ``latencyFactor`` fall linearly to 1 over ``decay``.
    """

    warmup_duration: Duration = 0.0
    """After the application starts, before it can pass its readiness probe."""
    warmup_cpu: Cpu = 0.0
    """Cores the pod burns while it warms up."""
    cpu_factor: Factor = 1.0
    """Per-request CPU multiplier when the pod starts serving."""
    latency_factor: Factor = 1.0
    """Service-time multiplier when the pod starts serving."""
    decay: Duration = 0.0
    """Time after the warm-up over which both factors fall linearly to 1."""

    @model_validator(mode="after")
    def _check_decay(self) -> Self:
        if (self.cpu_factor > 1 or self.latency_factor > 1) and self.decay == 0:
            raise FieldProblem(
                "decay",
                "expected a decay time > 0 when cpuFactor or latencyFactor is above 1",
                value=format_duration(self.decay),
                has_value="decay" in self.model_fields_set,
            )
        return self


# --- rollouts (apps/v1 DeploymentStrategy) -------------------------------------------

INT_OR_PERCENT_HINT: Final = "expected a whole number of pods or a percentage such as '25%'"
_PERCENT = re.compile(r"(\d+)%")  # as units.percent_of reads it


def _int_or_percent(value: object) -> int | str:
    """A k8s ``IntOrString`` as rolling updates take it: a count >= 0 or ``"N%"``."""
    if isinstance(value, bool):
        raise ValueError(INT_OR_PERCENT_HINT)
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{INT_OR_PERCENT_HINT}, not negative")
        return value
    if isinstance(value, str) and _PERCENT.fullmatch(value.strip()):
        return value.strip()
    raise ValueError(INT_OR_PERCENT_HINT)


IntOrPercent = Annotated[int | str, BeforeValidator(_int_or_percent)]
"""A number of pods, or a percentage of the replicas as ``"25%"`` (kept as written)."""


class RollingUpdate(FileModel):
    """``strategy.rollingUpdate`` of a Deployment (apps/v1 RollingUpdateDeployment).

    Both default to 25 % (``pkg/apis/apps/v1/defaults.go`` ``SetDefaults_Deployment``).
    As in ``ValidateRollingUpdateDeployment``, they may not both be 0 and
    ``maxUnavailable`` may not exceed 100 %.
    """

    max_surge: IntOrPercent = "25%"
    max_unavailable: IntOrPercent = "25%"

    @model_validator(mode="after")
    def _check_progress(self) -> Self:
        unavailable = percent_of(self.max_unavailable)
        if unavailable is not None and unavailable > 100:
            raise FieldProblem(
                "maxUnavailable",
                "expected a percentage of at most 100%",
                value=self.max_unavailable,
                has_value=True,
            )
        if _resolves_to_zero(self.max_surge) and _resolves_to_zero(self.max_unavailable):
            raise FieldProblem(
                "maxUnavailable",
                "may not be 0 when maxSurge is 0 (the rollout could never replace a pod)",
                value=self.max_unavailable,
                has_value=True,
            )
        return self


def _resolves_to_zero(value: int | str) -> bool:
    return value == 0 or percent_of(value) == 0


class Strategy(FileModel):
    """A Deployment's ``strategy`` (apps/v1 DeploymentStrategy); RollingUpdate by default."""

    type: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    rolling_update: RollingUpdate = Field(default_factory=RollingUpdate)
    """Used only by the RollingUpdate type."""

    @model_validator(mode="after")
    def _check_type(self) -> Self:
        if self.type == "Recreate" and "rolling_update" in self.model_fields_set:
            raise FieldProblem(
                "rollingUpdate",
                "may not be specified when type is 'Recreate' (only RollingUpdate takes it)",
            )
        return self


# --- autoscaling (autoscaling/v2 HorizontalPodAutoscaler) ----------------------------


class ScalingPolicy(FileModel):
    """One rate limit of a scaling direction (autoscaling/v2 HPAScalingPolicy).

    ``periodSeconds`` is at most 1800, as ``validateScalingPolicy`` requires.
    """

    type: Literal["Pods", "Percent"]
    value: Count = Field(ge=1)
    period_seconds: Annotated[Duration, Field(gt=0, le=1800)]


class ScalingRules(FileModel):
    """``behavior.scaleUp`` or ``behavior.scaleDown`` (autoscaling/v2 HPAScalingRules).

    Fields left out take the defaults of ``pkg/apis/autoscaling/v2/defaults.go``
    (``GenerateHPAScaleUpRules`` and ``GenerateHPAScaleDownRules``); None keeps
    that "left out" visible to the controller model. ``tolerance`` is KEP-4951's
    per-direction tolerance (None = the controller's ``--horizontal-pod-autoscaler-tolerance``).
    """

    stabilization_window_seconds: Annotated[Duration, Field(le=3600)] | None = None
    select_policy: Literal["Max", "Min", "Disabled"] | None = None
    policies: list[ScalingPolicy] | None = Field(default=None, min_length=1)
    tolerance: Tolerance | None = None


class Behavior(FileModel):
    """``spec.behavior`` of an HPA (autoscaling/v2 HorizontalPodAutoscalerBehavior)."""

    scale_up: ScalingRules | None = None
    scale_down: ScalingRules | None = None


class HPAController(FileModel):
    """The HPA controller's kube-controller-manager flags that shape its decisions.

    Defaults from ``pkg/controller/podautoscaler/config/v1alpha1/defaults.go``:
    ``--horizontal-pod-autoscaler-sync-period`` 15 s, ``-tolerance`` 0.1,
    ``-downscale-stabilization`` 5 min, ``-cpu-initialization-period`` 5 min and
    ``-initial-readiness-delay`` 30 s.
    """

    sync_period: PositiveDuration = 15.0
    tolerance: Tolerance = 0.1
    downscale_stabilization: Duration = 300.0
    cpu_initialization_period: Duration = 300.0
    initial_readiness_delay: Duration = 30.0


class HPA(FileModel):
    """A HorizontalPodAutoscaler on the service's Deployment, with one metric: CPU utilization.

    Mirrors autoscaling/v2 ``spec`` with the target given the autoscaling/v1 way,
    ``targetCPUUtilizationPercentage`` (80 by default, as v2 defaults an HPA
    without metrics to CPU at 80 %). Without ``behavior`` the controller takes its
    legacy path (downscale stabilization by the flag, scale-up capped at
    max(2 x current, 4)); with it, the v2 defaults fill what is left out.
    ``controller`` holds the controller's flags.
    """

    min_replicas: Count = Field(default=1, ge=1)
    max_replicas: Count = Field(ge=1)
    target_cpu_utilization_percentage: Count = Field(
        default=80, ge=1, alias="targetCPUUtilizationPercentage"
    )
    behavior: Behavior | None = None
    controller: HPAController = Field(default_factory=HPAController)

    @model_validator(mode="after")
    def _check_range(self) -> Self:
        if self.max_replicas < self.min_replicas:
            raise FieldProblem(
                "maxReplicas",
                f"expected maxReplicas no lower than minReplicas ({self.min_replicas})",
                value=self.max_replicas,
                has_value=True,
            )
        return self


# --- the Istio sidecar ----------------------------------------------------------------

_HOST_PORT = re.compile(
    r"\s*(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[-A-Za-z0-9.]*[A-Za-z0-9])?)(?::\d+)?\s*"
)
DISCOVERY_ADDRESS_HINT: Final = (
    "expected a host name, optionally with ':port', such as 'istiod.istio-system.svc:15012'"
)


class Sidecar(FileModel):
    """The ``istio-proxy`` container injected into each pod: pilot-agent and Envoy.

    ``discoveryAddress`` is MeshConfig ``defaultConfig.discoveryAddress`` (Istio's
    default ``istiod.istio-system.svc:15012``, ``pkg/config/mesh/mesh.go``); only
    the host matters here, so a ``:port`` is dropped. ``dnsRefreshRate`` is
    MeshConfig ``dnsRefreshRate``, 60 s in current ``mesh.go`` (Helm values of
    2019 set 300 s; Envoy's own default is 5 s).
    """

    start: Duration = 1.0
    """From the container's start until pilot-agent asks istiod for configuration."""
    discovery_address: str = "istiod.istio-system.svc"
    dns_refresh_rate: PositiveDuration = 60.0
    concurrency: Count | None = Field(default=None, ge=1)
    """Envoy worker threads of this pod's proxy (``proxy.istio.io/config``); None = the
    mesh's ``concurrency``."""
    resources: Resources = Field(default_factory=lambda: _istio_proxy_resources())
    """Istio's chart defaults: requests 100m / 128Mi, limits 2 CPU / 1Gi. Exceeding the
    memory limit kills the proxy (OOM) and the kubelet restarts it."""
    unclosed_connections_on_exit: Fraction = Field(default=0.0, ge=0.0, le=1.0)
    """Share of this proxy's upstream connections that vanish without a close when the
    pod goes away (a FIN or RST that never reaches the peer); the peer keeps them until
    its idle timeout."""

    @field_validator("discovery_address", mode="after")
    @classmethod
    def _host_only(cls, value: str) -> str:
        match = _HOST_PORT.fullmatch(value)
        if match is None:
            raise ValueError(DISCOVERY_ADDRESS_HINT)
        return match.group(1)


def _istio_proxy_resources() -> Resources:
    """``global.proxy.resources`` of Istio's chart (``istio-discovery/values.yaml``)."""
    return Resources.model_validate(
        {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": 2, "memory": "1Gi"}}
    )


# --- DNS (pod dnsConfig and the resolv.conf the kubelet writes) ------------------------

DEFAULT_DNS_SEARCHES: Final = ("default.svc.cluster.local", "svc.cluster.local", "cluster.local")
"""The search list the kubelet writes for dnsPolicy ClusterFirst in namespace ``default``."""

_DNS_SUBDOMAIN = re.compile(
    r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*"
)
SEARCH_HINT: Final = (
    "expected a DNS domain of lowercase letters, digits, '-' and '.' such as "
    "'svc.cluster.local', at most 253 characters (a Kubernetes DNS-1123 subdomain)"
)

# Lowest accepted value of each option, and the cap above which glibc silently uses
# the cap instead (resolv.conf(5); RES_MAXNDOTS, RES_MAXRETRANS, RES_MAXRETRY).
_DNS_OPTION_RANGES: Final[dict[str, tuple[int, int]]] = {
    "ndots": (0, 15),
    "timeout": (1, 30),
    "attempts": (1, 5),
}
DNSOptionName = Literal["ndots", "timeout", "attempts"]


def _search_domain(value: str) -> str:
    domain = value.removesuffix(".")
    if len(domain) > 253 or _DNS_SUBDOMAIN.fullmatch(domain) is None:
        raise ValueError(SEARCH_HINT)
    return domain


SearchDomain = Annotated[str, AfterValidator(_search_domain)]
"""A search suffix; a trailing dot is dropped, as Kubernetes validation ignores it."""


def _whole_number_text(value: object) -> object:
    """resolv.conf options are text in a pod spec (``value: "2"``); accept both spellings."""
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


class DNSOption(FileModel):
    """One ``dnsConfig.options`` entry (core/v1 PodDNSConfigOption) that the model uses.

    ``value`` is read as a whole number (Kubernetes keeps it as text): ``ndots``
    at least 0, ``timeout`` (seconds) and ``attempts`` at least 1.
    """

    name: DNSOptionName
    value: Annotated[int, BeforeValidator(_whole_number_text)]

    @model_validator(mode="after")
    def _check_value(self) -> Self:
        lowest = _DNS_OPTION_RANGES[self.name][0]
        if self.value < lowest:
            raise FieldProblem(
                "value",
                f"expected a whole number of at least {lowest} for {self.name}",
                value=self.value,
                has_value=True,
            )
        return self


class DNSConfig(FileModel):
    """The pod's resolver settings: what the kubelet writes to ``/etc/resolv.conf``.

    Mirrors core/v1 PodDNSConfig for dnsPolicy ClusterFirst, but ``searches`` is
    the whole search list in order (the cluster suffixes by default; to add a
    cloud suffix such as ``ec2.internal``, list all of them). Options left out
    take the kubelet's ``ndots:5`` (``pkg/kubelet/network/dns/dns.go``
    ``defaultDNSOptions``) and resolv.conf(5)'s ``timeout:5`` and ``attempts:2``;
    when an option appears twice the later one wins, as in resolv.conf, and values
    above glibc's caps (ndots 15, timeout 30, attempts 5) read as the cap.
    """

    searches: list[SearchDomain] = Field(default_factory=lambda: list(DEFAULT_DNS_SEARCHES))
    options: list[DNSOption] = Field(default_factory=list)

    def _option(self, name: str, default: int) -> int:
        """The option's last value, capped as glibc caps it (ndots 15, timeout 30, attempts 5)."""
        given = [option.value for option in self.options if option.name == name]
        value = given[-1] if given else default
        return min(value, _DNS_OPTION_RANGES[name][1])

    @property
    def ndots(self) -> int:
        """Dots below which a name is tried with the search suffixes first (default 5)."""
        return self._option("ndots", 5)

    @property
    def timeout(self) -> float:
        """Seconds the resolver waits for an answer before it retries (default 5)."""
        return float(self._option("timeout", 5))

    @property
    def attempts(self) -> int:
        """Times the resolver sends each query before it gives up (default 2)."""
        return self._option("attempts", 2)


# --- nodes -----------------------------------------------------------------------------


class NodePool(FileModel):
    """A group of identical nodes, like a cloud node group; not a Kubernetes object.

    Nodes are named ``<name>-<index>`` from 0, and those that ``add-nodes`` events
    add continue the numbering. ``cpu`` and ``memory`` are each node's allocatable
    amounts (node ``status.allocatable``), against which pod requests are scheduled;
    ``maxPods`` is the kubelet's ``--max-pods`` (default 110).
    """

    name: Name
    zone: ZoneName | None = None
    """None = the pool's nodes are spread round-robin over ``spec.zones``."""
    count: Count = Field(ge=0)
    """Nodes at the start of the run."""
    cpu: Annotated[Cpu, Field(gt=0)]
    memory: Annotated[Memory, Field(gt=0)]
    max_pods: Count = Field(default=110, ge=1)
    boot_time: Duration = 0.0
    """For nodes added during the run: from creation until the kubelet is Ready."""
    dns_ready_delay: Duration = 0.0
    """After the kubelet is Ready, until DNS answers on the node."""
    agents: NodeAgents = Field(default_factory=NodeAgents)
    """What runs beside the pods on each node (see :mod:`fleetsim.scenario.node`)."""
    disks: list[Disk] = Field(default_factory=list)

    @field_validator("disks")
    @classmethod
    def _unique_disks(cls, disks: list[Disk]) -> list[Disk]:
        seen: set[str] = set()
        for index, disk in enumerate(disks):
            if disk.name in seen:
                raise FieldProblem(
                    (index, "name"),
                    "expected a disk name not used before in this pool",
                    value=disk.name,
                    has_value=True,
                )
            seen.add(disk.name)
        return disks


# --- where pods may go (core/v1 PodSpec nodeSelector, topologySpreadConstraints) -------

ZONE_LABEL: Final = "topology.kubernetes.io/zone"
"""The well-known label of a node's zone (``k8s.io/api/core/v1`` ``LabelTopologyZone``)."""
HOSTNAME_LABEL: Final = "kubernetes.io/hostname"
"""The well-known label of a node's name (``LabelHostname``); a node here is named
``<pool>-<index>``, or after its zone when the scenario has no node pools."""
POOL_LABEL: Final = "cloud.google.com/gke-nodepool"
"""The label that names a node's pool. Kubernetes has no vendor-neutral one; GKE's is
taken because a GKE node pool is what ``spec.nodePools`` models: a fixed number of
identical machines in one zone or spread over the zones (the pool of the unbounded
nodes of a scenario without pools is ``default``)."""
NODE_LABELS: Final = (ZONE_LABEL, HOSTNAME_LABEL, POOL_LABEL)
NODE_LABEL_HINT: Final = "expected a node label the model sets (" + ", ".join(NODE_LABELS) + ")"


def _node_selector(selector: dict[str, str]) -> dict[str, str]:
    for key in selector:
        if key not in NODE_LABELS:
            raise FieldProblem(key, NODE_LABEL_HINT + did_you_mean(key, NODE_LABELS))
    return selector


NodeSelector = Annotated[dict[str, str], AfterValidator(_node_selector)]
"""A pod's ``nodeSelector``: labels a node must carry, among :data:`NODE_LABELS`. Which
values exist (zones, pools, node names) the spec checks."""


class TopologySpreadConstraint(FileModel):
    """One ``topologySpreadConstraints`` entry (core/v1 TopologySpreadConstraint).

    The ``labelSelector`` is implicit: the service's own pods (every revision, as with
    no ``matchLabelKeys``). ``whenUnsatisfiable`` defaults to ``DoNotSchedule``, the
    default the API documents (kubernetes/kubernetes
    ``staging/src/k8s.io/api/core/v1/types.go``), and ``nodeTaintsPolicy`` to
    ``Ignore``, what the scheduler does when it is unset
    (``pkg/scheduler/framework/plugins/podtopologyspread/common.go``). With ``Ignore``,
    a domain whose nodes are all NotReady (booting, or in a failed zone once the
    control plane noticed) or cordoned still counts in the skew; ``Honor`` leaves such
    nodes out (the pod does not tolerate their ``node.kubernetes.io/...:NoSchedule``
    taints). ``nodeAffinityPolicy`` is always its default ``Honor`` (only nodes that
    match the pod's ``nodeSelector`` form domains); ``minDomains`` is not modelled.
    """

    max_skew: Count = Field(ge=1)
    topology_key: Literal["topology.kubernetes.io/zone", "kubernetes.io/hostname"]
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = "DoNotSchedule"
    node_taints_policy: Literal["Ignore", "Honor"] = "Ignore"


def _one_per_key_and_action(
    constraints: list[TopologySpreadConstraint],
) -> list[TopologySpreadConstraint]:
    """``validateTopologySpreadConstraints`` refuses a repeated (topologyKey,
    whenUnsatisfiable) pair (``pkg/apis/core/validation/validation.go``)."""
    seen: set[tuple[str, str]] = set()
    for index, constraint in enumerate(constraints):
        pair = (constraint.topology_key, constraint.when_unsatisfiable)
        if pair in seen:
            raise FieldProblem(
                (index, "topologyKey"),
                "expected each pair of topologyKey and whenUnsatisfiable once "
                f"(Kubernetes validation): {pair[0]} with {pair[1]} is repeated",
                value=constraint.topology_key,
                has_value=True,
            )
        seen.add(pair)
    return constraints


TopologySpreadConstraints = Annotated[
    list[TopologySpreadConstraint], AfterValidator(_one_per_key_and_action)
]


# --- the timeline ------------------------------------------------------------------------

EventAction = Literal[
    "terminate-node",
    "add-nodes",
    "release",
    "set-rate",
    "scale",
    "fail-zone",
    "restore-zone",
    "rolling-restart",
    "fail-node",
]

# For each action: the fields it requires and those it may take besides.
_EVENT_FIELDS: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "terminate-node": ((), ("node", "pool", "count")),
    "add-nodes": (("pool", "count"), ()),
    "release": (("service",), ()),
    "scale": (("service", "replicas"), ()),
    "set-rate": (("traffic", "rate"), ()),
    "fail-zone": (("zone",), ()),
    "restore-zone": (("zone",), ()),
    "rolling-restart": (("service", "method"), ("cooldown", "max_threads")),
    "fail-node": ((), ("node", "pool", "count", "service")),
}
_EVENT_TAKES: Final[dict[str, str]] = {
    "terminate-node": "takes node, or pool with an optional count (default 1)",
    "add-nodes": "takes pool and count",
    "release": "takes service",
    "scale": "takes service and replicas",
    "set-rate": "takes traffic and rate",
    "fail-zone": "takes zone",
    "restore-zone": "takes zone",
    "rolling-restart": "takes service (region servers) and method, optionally cooldown "
    "and maxThreads",
    "fail-node": "takes node, or pool with an optional count (default 1), or service (the "
    "node of its first live pod)",
}
_EVENT_PARAMETERS: Final = (
    "node",
    "pool",
    "count",
    "service",
    "replicas",
    "traffic",
    "rate",
    "zone",
    "method",
    "cooldown",
    "max_threads",
)


class Event(FileModel):
    """One entry of ``spec.events``: something that happens to the fleet at time ``at``.

    Not a Kubernetes object; each action stands for an operator's or the cloud's act:

    - ``terminate-node``: a node dies, by ``node`` name, or ``count`` nodes (default 1)
      of ``pool``; its pods are rescheduled elsewhere.
    - ``add-nodes``: ``count`` new nodes join ``pool`` (each after its ``bootTime``).
    - ``release``: a new version of ``service`` rolls out by its ``strategy``.
    - ``scale``: ``service``'s Deployment is set to ``replicas`` (an HPA may move it again).
    - ``set-rate``: ``traffic`` switches to ``rate``.
    - ``fail-zone``: every node of ``zone`` loses power and network at once; the control
      plane notices after ``spec.cluster.nodeMonitorGracePeriod`` and evicts the pods
      after ``defaultUnreachableTolerationSeconds`` (see :class:`Cluster`).
    - ``restore-zone``: ``zone``'s nodes are back (each after its pool's ``bootTime``).
    - ``fail-node``: one node loses power and network, as ``fail-zone`` does for a zone:
      by ``node`` name, ``count`` nodes (default 1) of ``pool``, or ``service``: the node
      of that service's first live pod (``istiod`` names the mesh's istiod pods when
      ``spec.mesh.istiod`` is set). Nothing is drained; the control plane notices after
      the grace period and evicts after the toleration (see :class:`Cluster`).
    - ``rolling-restart``: every region server of ``service`` (a table's
      ``regionServers``) is restarted in turn, ``cooldown`` apart. ``method: naive``
      kills and restarts each; ``graceful`` is ``graceful_stop.sh``: the balancer off,
      the regions moved off by the region mover (``maxThreads`` at a time, each
      acknowledged open before the next), a clean stop and start, the regions moved
      back (see :mod:`fleetsim.storage.rolling_restart`).

    ``at`` counts from the start of the run, warm-up included, like load profiles.
    """

    at: Duration
    action: EventAction
    node: str | None = None
    pool: str | None = None
    count: Count | None = Field(default=None, ge=1)
    service: str | None = None
    replicas: Count | None = Field(default=None, ge=0)
    traffic: str | None = None
    rate: PositiveRate | None = None
    zone: ZoneName | None = None
    method: Literal["naive", "graceful"] | None = None
    cooldown: Duration | None = None
    """rolling-restart: the wait after one server is back before the next (default 0)."""
    max_threads: Count | None = Field(default=None, ge=1, le=1000)
    """rolling-restart: the region mover's ``--maxthreads`` (default 1)."""

    @model_validator(mode="after")
    def _check_fields(self) -> Self:
        required, optional = _EVENT_FIELDS[self.action]
        takes = _EVENT_TAKES[self.action]
        for name in _EVENT_PARAMETERS:
            if getattr(self, name) is not None and name not in required + optional:
                raise FieldProblem(name, f"not a field of {self.action}: it {takes}")
        for name in required:
            if getattr(self, name) is None:
                raise FieldProblem(name, f"required field is missing: {self.action} {takes}")
        if self.action == "terminate-node":
            self._check_terminate(takes)
        if self.action == "fail-node":
            self._check_fail_node(takes)
        return self

    def _check_fail_node(self, takes: str) -> None:
        given = [name for name in ("node", "pool", "service") if getattr(self, name) is not None]
        if not given:
            raise FieldProblem("node", f"required field is missing: fail-node {takes}")
        if len(given) > 1:
            raise FieldProblem(
                given[1], f"expected one of node, pool or service, not both: fail-node {takes}"
            )
        if self.pool is None and self.count is not None:
            raise FieldProblem("count", f"not a field of fail-node with a {given[0]}: it {takes}")
        if self.pool is not None and self.count is None:
            self.count = 1

    def _check_terminate(self, takes: str) -> None:
        if self.node is None and self.pool is None:
            raise FieldProblem("node", f"required field is missing: terminate-node {takes}")
        if self.node is not None and self.pool is not None:
            raise FieldProblem("pool", f"expected node or pool, not both: terminate-node {takes}")
        if self.node is not None and self.count is not None:
            raise FieldProblem("count", f"not a field of terminate-node with a node: it {takes}")
        if self.pool is not None and self.count is None:
            self.count = 1


def events_in_order(events: Iterable[Event]) -> list[Event]:
    """The events in the order they happen: by ``at``, file order among equal times."""
    return sorted(events, key=lambda event: event.at)


# --- the cluster -------------------------------------------------------------------------


class Cluster(FileModel):
    """Cluster-wide parameters (``spec.cluster``) of the control plane's timing.

    Model parameters rather than one Kubernetes object; each says what it stands for.
    """

    endpoint_propagation_delay: Duration = 1.0
    """From a pod's readiness change until clients' endpoint lists reflect it.

    The EndpointSlice controller, then kube-proxy or istiod's push to the sidecars
    (istiod debounces 100 ms to 10 s: ``PILOT_DEBOUNCE_AFTER``/``PILOT_DEBOUNCE_MAX``).
    The 1 s default is an estimate, not a documented figure.
    """
    metrics_resolution: PositiveDuration = 15.0
    """metrics-server ``--metric-resolution`` (15 s since v0.6): how often pod CPU is
    scraped; the usage it reports is the rate over this window."""
    image_cached_on_initial_nodes: bool = True
    """Whether the nodes present at the start already hold every service's image."""
    node_monitor_grace_period: Duration = 50.0
    """kube-controller-manager ``--node-monitor-grace-period``: how long a node may stop
    reporting (status or lease) before the node lifecycle controller marks it NotReady
    (``Ready=Unknown``) and its pods not Ready. 50 s since Kubernetes v1.32 (40 s
    before; kubernetes/kubernetes PR #126287,
    ``pkg/controller/nodelifecycle/config/v1alpha1/defaults.go``). The kubelet's last
    heartbeat is taken as the instant of the failure, and the controller's 5 s
    ``--node-monitor-period`` is not modelled."""
    default_unreachable_toleration_seconds: Duration = 300.0
    """kube-apiserver ``--default-unreachable-toleration-seconds`` (the
    DefaultTolerationSeconds admission plugin,
    ``plugin/pkg/admission/defaulttolerationseconds/admission.go``): every pod
    tolerates the ``node.kubernetes.io/unreachable:NoExecute`` taint this long, so the
    taint eviction controller (``pkg/controller/tainteviction/taint_eviction.go``)
    deletes the pods of a node that long after the node was tainted."""
    node_eviction_rate: PositiveRate = 0.1
    """kube-controller-manager ``--node-eviction-rate`` (0.1 nodes per second): the
    nodes of a zone that went NotReady are tainted one after another at this rate
    (``pkg/controller/nodelifecycle/node_lifecycle_controller.go``, a token bucket
    of burst 1 per zone). When every zone with nodes is NotReady the controller stops
    tainting and evicting altogether, as Kubernetes does."""
