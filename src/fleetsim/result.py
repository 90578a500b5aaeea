"""The outcome of one run: its summary and its time series, and how they are written."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SERIES_FILES = {"services": "series_services.csv", "traffic": "series_traffic.csv"}
EVENTS_FILE = "events.csv"


@dataclass
class Result:
    """``summary`` is the dict written as summary.json; ``series`` maps a kind of row
    (``services``, ``traffic``) to one dict per metrics interval and subject; ``events``
    is the window's timeline, one dict per event (``time_s``, ``kind``, ``service``,
    ``object``, ``detail``)."""

    summary: dict[str, Any]
    series: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    def write(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write summary.json, the series CSV files and events.csv into ``out_dir``.

        Every file is written to a temporary name and renamed into place, so a run
        that fails leaves the previous results whole.
        """
        directory = Path(out_dir)
        directory.mkdir(parents=True, exist_ok=True)
        written = [write_atomic(directory / "summary.json", json_text(self.summary))]
        for kind, filename in SERIES_FILES.items():
            written.append(write_atomic(directory / filename, csv_text(self.series.get(kind, []))))
        written.append(write_atomic(directory / EVENTS_FILE, csv_text(self.events, EVENT_COLUMNS)))
        return written


def json_text(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=False) + "\n"


EVENT_COLUMNS = ["time_s", "kind", "service", "object", "detail"]


def csv_text(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    if not rows and columns is None:
        return ""
    import io

    # Rows of different kinds (a service outside the mesh has no proxy columns) may
    # carry different columns: the header is their union, in order of appearance.
    fieldnames = columns or list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
