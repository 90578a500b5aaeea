"""The outcome of one run: its summary and its time series, and how they are written."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from fleetsim.exports.columns import Column, event_columns, series_columns
from fleetsim.exports.openmetrics import EPOCH, write_openmetrics
from fleetsim.exports.tables import data_frame, write_csv, write_parquet

if TYPE_CHECKING:
    import pandas

SERIES_FILES = {"services": "series_services", "traffic": "series_traffic"}
"""Kind of series row -> file name without its extension (.csv, .parquet)."""
EVENTS_FILE = "events"
OPENMETRICS_FILE = "metrics.om"
"""``.om``: the extension the OpenMetrics specification proposes for its text format."""

HEADLINE_METRICS = [
    "requests.total",
    "requests.failed",
    "requests.timed_out",
    "throughput_rps",
    "goodput_rps",
    "retries",
    "latency_ms.p50",
    "latency_ms.p99",
    "latency_ms.p999",
    "latency_ms.max",
]
"""The columns of ``Comparison.compare_frame()`` unless others are asked for."""


@dataclass(repr=False)
class Result:
    """``summary`` is the dict written as summary.json; ``series`` maps a kind of row
    (``services``, ``traffic``) to one dict per metrics interval and subject; ``events``
    is the window's timeline, one dict per event (``time_s``, ``kind``, ``service``,
    ``object``, ``detail``). The rows are kept as the run produced them; the files and
    frames add the run's identity (scenario, variant, seed) in front of every row."""

    summary: dict[str, Any]
    series: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def identity(self) -> dict[str, str | int]:
        """Which run this is: the first columns of every series and events row."""
        return {
            "scenario": str(self.summary.get("scenario", "")),
            "variant": str(self.summary.get("variant", "")),
            "seed": int(self.summary.get("seed", 0)),
        }

    def write(self, out_dir: str | os.PathLike[str], *, epoch: datetime = EPOCH) -> list[Path]:
        """Write summary.json, the series and events as CSV and Parquet, and the series
        as OpenMetrics (``metrics.om``, simulated time 0 at ``epoch``) into ``out_dir``.

        Every file is written to a temporary name and renamed into place, so a run
        that fails leaves the previous results whole; summary.json comes last.
        """
        directory = Path(out_dir)
        directory.mkdir(parents=True, exist_ok=True)
        identity = self.identity
        written: list[Path] = []
        tables = [
            (kind, self.series.get(kind, []), filename) for kind, filename in SERIES_FILES.items()
        ]
        for kind, rows, filename in tables:
            columns = series_columns(kind, rows)
            written += self._write_table(directory / filename, rows, columns)
        written += self._write_table(
            directory / EVENTS_FILE, self.events, event_columns(self.events)
        )
        with atomic_text(directory / OPENMETRICS_FILE) as stream:
            write_openmetrics(
                stream,
                [(kind, rows, series_columns(kind, rows)) for kind, rows, _ in tables],
                identity,
                epoch,
            )
        written.append(directory / OPENMETRICS_FILE)
        # Last: a directory with a summary.json holds a whole run's results.
        written.append(write_atomic(directory / "summary.json", json_text(self.summary)))
        return written

    def _write_table(
        self, stem: Path, rows: list[dict[str, Any]], columns: list[Column]
    ) -> list[Path]:
        csv_path, parquet_path = stem.with_suffix(".csv"), stem.with_suffix(".parquet")
        with atomic_text(csv_path) as stream:
            write_csv(stream, rows, columns, self.identity)
        with atomic_path(parquet_path) as temporary:
            write_parquet(temporary, rows, columns, self.identity)
        return [csv_path, parquet_path]

    def series_frame(self, kind: str = "services") -> pandas.DataFrame:
        """One kind of series rows as a typed DataFrame (identity columns first; units
        in ``frame.attrs["units"]``)."""
        if kind not in self.series:
            raise ValueError(f"no series {kind!r}; expected one of {sorted(self.series)}")
        rows = self.series[kind]
        return data_frame(rows, series_columns(kind, rows), self.identity)

    def events_frame(self) -> pandas.DataFrame:
        """The events as a typed DataFrame (identity columns first)."""
        return data_frame(self.events, event_columns(self.events), self.identity)

    def __repr__(self) -> str:
        """One line for a notebook: who ran, how many requests, how they went."""
        summary = self.summary
        requests = summary.get("requests", {})
        total, failed = requests.get("total", 0), requests.get("failed", 0)
        p99 = summary.get("latency_ms", {}).get("p99")
        return (
            f"Result(scenario={summary.get('scenario')!r}, variant={summary.get('variant')!r}, "
            f"seed={summary.get('seed')!r}, requests={total:,}, "
            f"failed={failed / total if total else 0.0:.2%}, "
            f"p99={'-' if p99 is None else f'{p99:,.1f} ms'}, "
            f"{len(self.series)} series kinds, {len(self.events):,} events)"
        )


@dataclass(repr=False)
class Comparison:
    """The summaries of several variants of one scenario (their series are not kept, so
    memory does not grow with the runs), with a DataFrame to put them side by side."""

    summaries: list[dict[str, Any]]

    @property
    def variants(self) -> list[str]:
        return [str(summary.get("variant")) for summary in self.summaries]

    def values(self, path: str) -> dict[str, Any]:
        """Variant -> the summary value at dotted ``path`` (``latency_ms.p99``), None where
        a variant lacks it; KeyError naming the keys there when no variant has it."""
        found = self._values(path)
        if self.summaries and all(value is None for value in found.values()):
            summary_value(self.summaries[0], path, strict=True)
        return found

    def _values(self, path: str) -> dict[str, Any]:
        return {
            variant: summary_value(summary, path)
            for variant, summary in zip(self.variants, self.summaries, strict=True)
        }

    def compare_frame(self, metrics: Sequence[str] | None = None) -> pandas.DataFrame:
        """One row per variant, one column per dotted path: the headline figures the
        summaries have, or ``metrics`` (KeyError for a path no summary has)."""
        import pandas as pd

        if metrics is None:
            headline = {path: self._values(path) for path in HEADLINE_METRICS}
            columns = {p: v for p, v in headline.items() if any(x is not None for x in v.values())}
        else:
            columns = {path: self.values(path) for path in metrics}
        index = pd.Index(self.variants, name="variant")
        return pd.DataFrame({path: list(v.values()) for path, v in columns.items()}, index=index)

    def __repr__(self) -> str:
        scenario = self.summaries[0].get("scenario") if self.summaries else None
        seed = self.summaries[0].get("seed") if self.summaries else None
        return f"Comparison(scenario={scenario!r}, seed={seed!r}, variants={self.variants!r})"


def summary_value(summary: dict[str, Any], path: str, *, strict: bool = False) -> Any:
    """The value at dotted ``path``; None when it is not there (KeyError if ``strict``)."""
    value: Any = summary
    walked: list[str] = []
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            if not strict:
                return None
            where = ".".join(walked) or "the summary"
            keys = sorted(value) if isinstance(value, dict) else []
            raise KeyError(f"{path}: no {key!r} in {where}; keys there: {', '.join(keys)}")
        value = value[key]
        walked.append(key)
    return value


def spec_hash(document: Any) -> str:
    """sha256 of ``document`` as canonical JSON (sorted keys, no spaces, UTF-8)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def json_text(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


def csv_text(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """The rows as CSV text as the run produced them (no identity columns): a stable
    fingerprint of a run's series for the golden tests."""
    if not rows and columns is None:
        return ""
    fieldnames = columns or list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    with atomic_text(path) as stream:
        stream.write(text)
    return path


@contextlib.contextmanager
def atomic_text(path: Path) -> Iterator[IO[str]]:
    """A UTF-8 text stream to a temporary file renamed to ``path`` when the block ends
    without an exception, so the text can be streamed rather than built whole."""
    with atomic_path(path) as temporary, temporary.open("w", encoding="utf-8") as stream:
        yield stream


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path`` to write, renamed to ``path`` on success and
    removed on failure. It has the mode a new file would have (0644 under umask 022):
    ``mkstemp`` creates it 0600, which would keep others from reading the results."""
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    temporary = Path(name)
    try:
        os.fchmod(handle, 0o666 & ~current_umask())
        os.close(handle)
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def current_umask() -> int:
    """The process's umask: from /proc on Linux, else by setting it and straight back
    (reading it that way changes it for an instant, for every thread)."""
    with contextlib.suppress(OSError, ValueError, StopIteration):
        status = Path("/proc/self/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("Umask:")).split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
