"""A progress bar for long runs: simulated time done, events per second, elapsed and
remaining wall time. It goes to stderr, so it shows when stdout is a file or a pipe."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from fleetsim.simulation import ProgressCallback


@contextmanager
def progress_bar(console: Console, label: str, enabled: bool) -> Iterator[ProgressCallback | None]:
    """Yields a progress callback, or None when ``enabled`` is false."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[sim]}"),
        TextColumn("{task.fields[rate]}"),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        TextColumn("remaining"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=1.0, sim="", rate="")
        import time

        started = time.perf_counter()

        def update(done: float, total: float, events: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            bar.update(
                task,
                completed=done / total if total else 1.0,
                sim=f"{done:,.0f}/{total:,.0f} s simulated",
                rate=f"{events / elapsed:,.0f} events/s",
            )

        yield update
