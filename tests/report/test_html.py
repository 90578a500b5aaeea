"""The HTML report: which plots it has for which columns, runs overlaid, events drawn,
offline; the ``report`` command; and the page as Chromium renders it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetsim.cli import main
from fleetsim.report.html import ReportInputError, build_report, load_runs, write_report
from fleetsim.report.plots import MAX_EVENT_MARKERS, Run, colour, figures
from tests.fleet_scenarios import scenario

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"
MESH_TOUR = ROOT / "tests" / "golden" / "tours" / "mesh-tour.yaml"


def traffic_rows(failed_from: float = 99.0) -> list[dict[str, Any]]:
    rows = []
    for t in range(1, 11):
        failed = 50 if t >= failed_from else 0
        rows.append(
            {
                "t": float(t),
                "traffic": "users",
                "requests": 1000,
                "succeeded": 1000 - failed,
                "failed": failed,
                "timed_out": failed,
                "rejected": 0,
                "unavailable": 0,
                "p50_ms": 10.0,
                "p99_ms": 50.0 + t,
            }
        )
    return rows


def service_rows(**extra: float) -> list[dict[str, Any]]:
    return [
        {"t": float(t), "service": "app", "replicas": 4, "ready_pods": 4, **extra}
        for t in range(1, 11)
    ]


def a_run(variant: str = "baseline", **columns: float) -> Run:
    summary = {
        "scenario": "demo",
        "variant": variant,
        "requests": {"total": 10000, "failed": 100},
        "latency_ms": {"p50": 10.0, "p99": 55.0},
        "services": {"app": {"zones": {"zone-a": {"share": 0.6}, "zone-b": {"share": 0.4}}}},
    }
    series = {"traffic": traffic_rows(), "services": service_rows(**columns)}
    return Run(summary=summary, series=series)


def titles(runs: list[Run]) -> list[str]:
    return [figure.layout.title.text for figure in figures(runs)]


def test_only_the_plots_the_columns_allow() -> None:
    plain = titles([a_run()])
    assert "Request rate and goodput" in plain
    assert "Errors by cause" in plain
    assert "Client latency (p50, p99)" in plain
    assert "Replicas and ready pods" in plain
    assert "Connections" not in plain and "Proxy memory" not in plain
    assert "DNS queries" not in plain
    meshed = titles([a_run(sidecar_connections=12.0, sidecar_memory_bytes=2.0**25)])
    assert "Connections" in meshed and "Proxy memory" in meshed


def test_goodput_is_succeeded_per_second() -> None:
    run = a_run()
    run.series["traffic"] = traffic_rows(failed_from=5)
    rate = figures([run])[0]
    goodput = next(trace for trace in rate.data if trace.name == "baseline goodput")
    assert list(goodput.y[:4]) == [1000.0] * 4 and list(goodput.y[4:]) == [950.0] * 6


def test_failures_no_cause_column_counts_are_other_failures() -> None:
    run = a_run()
    run.series["traffic"] = traffic_rows(failed_from=5)
    for row in run.series["traffic"]:
        row["timed_out"] = min(row["failed"], 20)
    errors = next(f for f in figures([run]) if f.layout.title.text == "Errors by cause")
    other = next(trace for trace in errors.data if trace.name == "baseline other failures")
    timed_out = next(trace for trace in errors.data if trace.name == "baseline timed_out")
    assert list(other.y) == [0.0] * 4 + [30.0] * 6
    assert list(timed_out.y) == [0.0] * 4 + [20.0] * 6


def test_variants_overlaid_with_one_colour_each_in_every_plot() -> None:
    runs = [a_run("baseline"), a_run("fix")]
    for figure in figures(runs):
        for trace in figure.data:
            if str(trace.legendgroup).startswith("key:"):
                assert trace.x == (None,)  # a legend entry for a dash, no data
                continue
            variant = trace.name.split(" ")[0]
            expected = colour(0) if variant == "baseline" else colour(1)
            used = trace.marker.color if trace.type == "bar" else trace.line.color
            assert used == expected, (figure.layout.title.text, trace.name)
        curves = [t for t in figure.data if not str(t.legendgroup).startswith("key:")]
        names = {trace.name.split(" ")[0] for trace in curves}
        assert names == {"baseline", "fix"}, figure.layout.title.text


def test_fleet_events_are_lines_on_the_timelines_and_every_event_a_marker() -> None:
    run = a_run()
    run.events = [
        {"time_s": 4.0, "kind": "scenario:release", "service": "app", "object": "", "detail": ""},
        {"time_s": 6.5, "kind": "scale_up", "service": "app", "object": "", "detail": "4->6"},
    ]
    drawn = figures([run])
    rate = drawn[0]
    assert [shape.x0 for shape in rate.layout.shapes] == [4.0]
    assert any("scenario:release" in (note.hovertext or "") for note in rate.layout.annotations)
    events = next(f for f in drawn if f.layout.title.text == "Events")
    assert list(events.data[0].x) == [4.0, 6.5]
    assert list(events.data[0].y) == ["scenario:release", "scale_up"]


def test_thousands_of_events_are_counted_per_bin() -> None:
    run = a_run()
    run.events = [
        {"time_s": i / 1000, "kind": "probe_failed", "service": "app", "object": f"p{i}"}
        for i in range(10 * MAX_EVENT_MARKERS)
    ]
    events = next(f for f in figures([run]) if f.layout.title.text == "Events")
    markers = events.data[0]
    assert 0 < len(markers.x) <= 121
    counted = sum(int(text.split(" x ")[0]) for text in markers.text)
    assert counted == 10 * MAX_EVENT_MARKERS


def test_page_is_offline_with_headline_and_description() -> None:
    page = build_report([a_run("baseline"), a_run("fix")], description="A <demo> fleet.")
    assert not re.search(r"<script[^>]*\bsrc=", page)
    assert not re.search(r"<link[^>]*https?://", page)
    assert page.count("Plotly.newPlot") == len(figures([a_run()]))
    assert "A &lt;demo&gt; fleet." in page
    assert re.search(r"<td><span[^>]*></span>fix</td><td>10,000</td><td>1.00</td>", page)


def test_bad_directory_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ReportInputError, match=r"no summary\.json or compare\.json"):
        load_runs(tmp_path)
    (tmp_path / "summary.json").write_text("{not json")
    assert main(["report", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "summary.json" in error and "Traceback" not in error


def test_run_report_option_and_report_command(tmp_path: Path) -> None:
    out, first = tmp_path / "out", tmp_path / "first.html"
    window = ["--duration", "5s", "--warmup", "1s", "--quiet"]
    args = ["run", str(QUICKSTART), *window, "--out", str(out), "--report", str(first)]
    assert main(args) == 0
    assert "Request rate and goodput" in first.read_text()
    assert main(["report", str(out)]) == 0
    page = (out / "report.html").read_text()
    assert page.count("Plotly.newPlot") >= 5


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def need_chromium() -> str:
    """Chromium, or a skip on a workstation; CI (``CI`` or ``FLEETSIM_REQUIRE_CHROMIUM``
    set) fails instead, so that the rendering test cannot silently stop running."""
    found = chromium()
    if found is None:
        if os.environ.get("FLEETSIM_REQUIRE_CHROMIUM") == "1" or os.environ.get("CI"):
            pytest.fail("chromium is required (FLEETSIM_REQUIRE_CHROMIUM=1 or CI) but missing")
        pytest.skip("chromium not installed")
    return found


def headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)


def test_chromium_renders_every_plot(tmp_path: Path) -> None:
    from PIL import Image

    browser = need_chromium()
    runs = [a_run("baseline", sidecar_connections=10.0), a_run("fix", sidecar_connections=8.0)]
    runs[0].events = [{"time_s": 4.0, "kind": "scenario:release", "service": "app"}]
    page = write_report(tmp_path / "report.html", runs)
    url = page.resolve().as_uri()
    dom = headless(browser, tmp_path / "profile", "--dump-dom", url).stdout
    expected = len(figures(runs))
    assert dom.count('class="main-svg"') >= expected
    assert len(re.findall(r'class="[^"]*\bjs-plotly-plot\b', dom)) == expected
    assert dom.count('class="scatterlayer') >= expected - 1  # the zone bars have none
    shot = tmp_path / "shot.png"
    headless(browser, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1000,1400", url)
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # text, axes and coloured lines, not a blank page
    traced = {tuple(int(colour(0)[i : i + 2], 16) for i in (1, 3, 5))}
    assert traced & {rgb for _, rgb in colours}  # the baseline's line colour is drawn


def test_compare_report_overlays_every_variant(tmp_path: Path) -> None:
    document = scenario(rate=300, duration=5, warmup=1)  # type: ignore[arg-type]
    document["spec"]["variants"] = {"more-pods": {"services": [{"name": "app", "replicas": 8}]}}
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(document))
    out, page = tmp_path / "out", tmp_path / "compare.html"
    assert main(["compare", str(path), "--quiet", "--out", str(out), "--report", str(page)]) == 0
    text = page.read_text()
    assert "baseline requests" in text
    assert "more-pods requests" in text
    runs = load_runs(out)
    assert [run.name for run in runs] == ["baseline", "more-pods"]
    assert all(run.series["traffic"] for run in runs)


def test_compare_json_without_summaries_is_refused(tmp_path: Path) -> None:
    for text in ('{"runs": []}', '{"runs": [3]}', "[]"):
        (tmp_path / "compare.json").write_text(text)
        with pytest.raises(ReportInputError, match=r"compare\.json: runs: expected a list"):
            load_runs(tmp_path)
