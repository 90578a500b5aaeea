"""Which build of the hot path runs: the mypyc-compiled modules, or their Python sources.

The per-request modules listed in :data:`HOT_MODULES` are compiled with mypyc when the
project is installed on a machine with a C compiler (``setup.py``); their ``.py`` files
stay the reference, and the pure-Python build runs them as they are. The choice is made
once, when ``fleetsim`` is first imported, before any hot module is:

- ``FLEETSIM_PURE=1`` in the environment: pure Python, whatever is installed;
- a hot module whose ``.py`` no longer matches the source it was compiled from (an
  edited file next to an old build): a warning, and pure Python for all of them, so
  that an edit is never silently ignored (``pip install -e .`` again recompiles);
- otherwise the compiled modules when they are there, else pure Python.

Pure Python is forced by a finder placed first on ``sys.meta_path`` that loads the hot
modules from their ``.py`` files; every module then runs one build, never a mix. This
mirrors black and mypy, which are built with mypyc from their own sources and say
``(compiled: yes)`` in their version.

``status()`` tells which build runs and why; ``fleetsim --version`` and the
``run.build`` block of ``summary.json`` print it.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

HOT_MODULES: tuple[str, ...] = (
    "fleetsim.engine.environment",
    "fleetsim.engine.timers",
    "fleetsim.metrics.histogram",
    "fleetsim.metrics.extremes",
    "fleetsim.dataplane.protocols",
    "fleetsim.dataplane.request",
    "fleetsim.dataplane.service",
    "fleetsim.dataplane.container",
    "fleetsim.dataplane.calls",
    "fleetsim.dataplane.traffic",
    "fleetsim.envoy.circuit_breaker",
    "fleetsim.envoy.connection_pool",
    "fleetsim.envoy.load_balancer",
    "fleetsim.envoy.locality",
    "fleetsim.envoy.outlier_detection",
    "fleetsim.envoy.proxy",
    "fleetsim.envoy.retry",
    "fleetsim.envoy.router",
    "fleetsim.envoy.upstream_cluster",
    "fleetsim.envoy.zone_aware",
    "fleetsim.kubernetes.probes",
    "fleetsim.istio.ingress_gateway",
    "fleetsim.node.mmap_lock",
    "fleetsim.node.process",
    "fleetsim.node.stalls",
    "fleetsim.cluster.dns",
    "fleetsim.cluster.coredns",
    "fleetsim.cluster.name_lookup",
    "fleetsim.storage.region",
    "fleetsim.storage.store",
    "fleetsim.storage.block_cache",
    "fleetsim.storage.client",
    "fleetsim.storage.region_server",
)
"""The modules compiled with mypyc: the engine's clock and timers, the data plane's seams,
requests, containers, calls, service counters, traffic sources, the latency histogram,
Envoy's upstream mechanisms and the ingress gateway's entry, the kubelet's probes (a probe
is a request to the app), the node's per-request hooks (the process and its mmap lock,
stall records), name lookups and CoreDNS (a query is a request), and the storage client,
regions, stores, block caches and region servers (an operation is a request). A subclass
of one of their classes must be listed too (mypyc cannot let an interpreted class inherit
from a compiled one)."""

SOURCES_FILE = "compiled_sources.json"
"""Written by the build next to this file: ``{module: sha256 of the source compiled}``."""

PURE_VARIABLE = "FLEETSIM_PURE"

_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BuildStatus:
    """Which build of the hot modules runs, and why."""

    compiled: bool
    reason: str
    modules: tuple[str, ...]

    @property
    def name(self) -> str:
        return "compiled" if self.compiled else "pure"

    def describe(self) -> str:
        """For ``--version``: ``compiled: yes, 20 modules`` or ``compiled: no, <why>``."""
        if self.compiled:
            return f"compiled: yes, {len(self.modules)} modules"
        return f"compiled: no, {self.reason}"


def source_digest(path: Path) -> str:
    """sha256 of a source file's bytes, as the build records it."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_path(module: str, package_dir: Path = _PACKAGE_DIR) -> Path:
    """The ``.py`` file of a hot module under ``package_dir`` (the ``fleetsim`` folder)."""
    return package_dir.joinpath(*module.split(".")[1:]).with_suffix(".py")


def _extension_path(module: str, package_dir: Path) -> Path | None:
    base = source_path(module, package_dir).with_suffix("")
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = base.with_name(base.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def stale_modules(package_dir: Path = _PACKAGE_DIR) -> list[str]:
    """Hot modules whose ``.py`` differs from the source their extension was built from
    (or that have an extension the build did not record)."""
    built = _recorded_sources(package_dir)
    stale = []
    for module in HOT_MODULES:
        if _extension_path(module, package_dir) is None:
            continue
        path = source_path(module, package_dir)
        if built.get(module) != (source_digest(path) if path.is_file() else None):
            stale.append(module)
    return stale


def _recorded_sources(package_dir: Path) -> dict[str, str]:
    try:
        recorded = json.loads((package_dir / SOURCES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in recorded.items()} if isinstance(recorded, dict) else {}


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Loads the hot modules from their ``.py`` files, never from an extension."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in HOT_MODULES:
            return None
        name = fullname.rpartition(".")[2] + ".py"
        for entry in path or ():
            candidate = Path(entry) / name
            if candidate.is_file():
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None


def _choose() -> tuple[bool, str]:
    if os.environ.get(PURE_VARIABLE, "") not in ("", "0"):
        return False, f"{PURE_VARIABLE} is set"
    missing = [m for m in HOT_MODULES if _extension_path(m, _PACKAGE_DIR) is None]
    if len(missing) == len(HOT_MODULES):
        return False, "not compiled in this installation"
    if missing:
        return False, f"{len(missing)} of {len(HOT_MODULES)} hot modules have no compiled build"
    stale = stale_modules()
    if stale:
        warnings.warn(
            f"fleetsim: {', '.join(stale)} changed since it was compiled; running pure "
            "Python (reinstall, e.g. `pip install -e .`, to compile it again)",
            RuntimeWarning,
            stacklevel=3,
        )
        return False, f"{len(stale)} source(s) changed since compiled"
    return True, "mypyc"


def _install() -> None:
    compiled, reason = _choose()
    if not compiled and not any(isinstance(f, _SourceFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFinder())
    global _CHOSEN
    _CHOSEN = (compiled, reason)


_CHOSEN: tuple[bool, str] = (False, "not chosen yet")


def loaded_compiled() -> tuple[str, ...]:
    """The hot modules imported so far whose code is a compiled extension."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    return tuple(
        module
        for module in HOT_MODULES
        if str(getattr(sys.modules.get(module), "__file__", "")).endswith(suffixes)
    )


def status() -> BuildStatus:
    """Which build runs. Imports every hot module, so the answer is what actually loaded."""
    for module in HOT_MODULES:
        importlib.import_module(module)
    loaded = loaded_compiled()
    compiled, reason = _CHOSEN
    if compiled and len(loaded) != len(HOT_MODULES):
        compiled, reason = (
            False,
            f"only {len(loaded)} of {len(HOT_MODULES)} hot modules loaded compiled",
        )
    return BuildStatus(compiled, reason, loaded)
