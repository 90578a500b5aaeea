"""One self-contained HTML report of one or more runs: headline figures and plots.

The file embeds plotly.js once (no network when it is viewed: reports are read on
laptops, in CI artifacts, offline) and overlays the runs in every plot, so the incident
and its fix show side by side.
"""

from __future__ import annotations

import csv
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from plotly.offline import get_plotlyjs

from fleetsim.errors import FleetsimError
from fleetsim.report.plots import Run, colour, figures
from fleetsim.result import EVENTS_FILE, SERIES_FILES, write_atomic

__all__ = ["ReportInputError", "Run", "build_report", "load_runs", "write_report"]

PLOT_CONFIG = {"displaylogo": False, "responsive": True}


class ReportInputError(FleetsimError):
    """A results directory that cannot be reported on (the CLI exits 2 with it)."""


def build_report(runs: Sequence[Run], description: str | None = None) -> str:
    """The report's HTML text; ``description`` when the summaries carry none."""
    if not runs:
        raise ValueError("a report needs at least one run")
    first = runs[0].summary
    scenario = str(first.get("scenario", "fleetsim run"))
    about = first.get("description") or description or ""
    plots = [
        figure.to_html(full_html=False, include_plotlyjs=False, config=PLOT_CONFIG)
        for figure in figures(runs)
    ]
    return PAGE.format(
        title=html.escape(f"fleetsim report: {scenario}"),
        heading=html.escape(scenario),
        description=html.escape(str(about)),
        headline=headline_table(runs),
        plotly=get_plotlyjs(),
        plots="\n".join(f'<div class="plot">{plot}</div>' for plot in plots),
    )


def write_report(path: str | Path, runs: Sequence[Run], description: str | None = None) -> Path:
    """Write the report atomically (a failed write leaves the previous report whole)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(target, build_report(runs, description))


HEADLINE_COLUMNS = ("requests", "failed %", "p50 ms", "p95 ms", "p99 ms", "goodput/s", "req/s")


def headline_row(summary: dict[str, Any]) -> list[str]:
    requests = summary.get("requests") or {}
    total = requests.get("total") or 0
    failed = requests.get("failed") or 0
    latency = summary.get("latency_ms") or {}
    return [
        _cell(total),
        _cell(100.0 * failed / total if total else None),
        _cell(latency.get("p50")),
        _cell(latency.get("p95")),
        _cell(latency.get("p99")),
        _cell(summary.get("goodput_rps")),
        _cell(summary.get("throughput_rps")),
    ]


def headline_table(runs: Sequence[Run]) -> str:
    """One row per run: the figures an engineer reads first."""
    head = "".join(f"<th>{name}</th>" for name in ("variant", *HEADLINE_COLUMNS))
    rows = []
    for index, run in enumerate(runs):
        swatch = f'<span class="swatch" style="background:{colour(index)}"></span>'
        cells = "".join(f"<td>{cell}</td>" for cell in headline_row(run.summary))
        rows.append(f"<tr><td>{swatch}{html.escape(run.name)}</td>{cells}</tr>")
    warnings = [
        f"<li>{html.escape(run.name)}: {html.escape(str(warning))}</li>"
        for run in runs
        for warning in run.summary.get("warnings") or []
    ]
    notes = f'<ul class="warnings">{"".join(warnings)}</ul>' if warnings else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{notes}"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):,.2f}"


# --- reading a results directory -----------------------------------------------------


def load_runs(directory: str | Path) -> list[Run]:
    """The runs written by ``run --out DIR`` (DIR/summary.json) or ``compare --out DIR``
    (DIR/compare.json and DIR/<variant>/); a variant without its directory keeps its
    summary only."""
    root = Path(directory)
    if not root.is_dir():
        raise ReportInputError(f"{root}: not a directory (expected a results directory)")
    if (root / "compare.json").is_file():
        document = _read_json(root / "compare.json")
        summaries = document.get("runs") if isinstance(document, dict) else None
        if not isinstance(summaries, list) or not summaries:
            summaries = [None]
        if not all(isinstance(summary, dict) for summary in summaries):
            raise ReportInputError(f"{root / 'compare.json'}: runs: expected a list of summaries")
        return [_read_run(root / str(s.get("variant", "")), s) for s in summaries]
    if (root / "summary.json").is_file():
        summary = _read_json(root / "summary.json")
        if not isinstance(summary, dict):
            raise ReportInputError(f"{root / 'summary.json'}: expected a summary object")
        return [_read_run(root, summary)]
    raise ReportInputError(
        f"{root}: no summary.json or compare.json (expected a directory written by "
        "'fleetsim run --out' or 'fleetsim compare --out')"
    )


def _read_run(directory: Path, summary: dict[str, Any]) -> Run:
    series = {kind: _read_csv(directory / f"{stem}.csv") for kind, stem in SERIES_FILES.items()}
    return Run(summary=summary, series=series, events=_read_csv(directory / f"{EVENTS_FILE}.csv"))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportInputError(f"{path}: cannot be read as JSON ({error})") from None


def _read_csv(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        with path.open(encoding="utf-8", newline="") as stream:
            return list(csv.DictReader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ReportInputError(f"{path}: cannot be read as CSV ({error})") from None


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
p.description {{ max-width: 70em; line-height: 1.4; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.swatch {{ display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.4em; }}
.plot {{ margin: 0.5em 0 1.5em 0; }}
</style>
<script type="text/javascript">{plotly}</script>
</head>
<body>
<h1>{heading}</h1>
<p class="description">{description}</p>
{headline}
{plots}
</body>
</html>
"""
