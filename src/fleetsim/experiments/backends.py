"""Where a sweep's runs execute: local worker processes, or the tasks of a Ray cluster.

Either way a run is a pure function of its task (document, variant, window, seed), so
the backend changes the wall time and nothing else; the parent writes each summary as
it arrives, so an interrupted sweep keeps every run that finished.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from fleetsim.errors import ScenarioError
from fleetsim.experiments.sweep import Done, Task, run_task

RAY_MISSING = 'the ray backend needs Ray: pip install "fleetsim[ray]"'


def run_local(
    tasks: Sequence[Task],
    done: Done,
    workers: int | None = None,
    work: Callable[[Task], Any] = run_task,
) -> None:
    """Run ``tasks`` in a process pool (``workers`` default: the machine's CPUs);
    ``work`` is what a worker does with a task (by default: its summary)."""
    if not tasks:
        return
    count = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    with ProcessPoolExecutor(max_workers=count) as pool:
        pending: dict[Future[Any], Task] = {pool.submit(work, task): task for task in tasks}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    done(pending.pop(future), future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def require_ray() -> Any:
    """The ``ray`` module, or an error (exit 2) saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ScenarioError("--backend ray", "ray", RAY_MISSING) from None
    return ray


def run_ray(tasks: Sequence[Task], done: Done, address: str | None = None) -> None:
    """One remote task per run on the cluster at ``address`` (default ``auto``)."""
    if not tasks:
        return
    ray = require_ray()
    try:
        ray.init(
            address=address or "auto",
            ignore_reinit_error=True,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    except ConnectionError as error:
        raise ScenarioError(
            "--address", address or "auto", f"expected a running Ray cluster: {error}"
        ) from None
    pending: dict[Any, Task] = {}
    try:
        remote = ray.remote(num_cpus=1)(run_task)
        pending.update({remote.remote(task): task for task in tasks})
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                done(pending.pop(ref), ray.get(ref))
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        ray.shutdown()
