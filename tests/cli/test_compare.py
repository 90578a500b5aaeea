"""``fleetsim compare``: --variants, watched paths, the description, flat memory."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetsim.cli import main
from tests.fleet_scenarios import scenario

LEAST_REQUEST = {"routes": [{"destination": "app", "loadBalancer": "LEAST_REQUEST"}]}


def _file(tmp_path: Path, variants: dict[str, Any], rate: float = 300, **metadata: Any) -> Path:
    document = scenario(rate=rate, duration=2, warmup=1)
    document["metadata"].update(metadata)
    document["spec"]["variants"] = variants
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _two(tmp_path: Path, **metadata: Any) -> Path:
    more_pods = {"services": [{"name": "app", "replicas": 8}]}
    return _file(tmp_path, {"least-request": LEAST_REQUEST, "more-pods": more_pods}, **metadata)


def test_variants_runs_only_those_after_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(_two(tmp_path)), "--variants", "more-pods", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [run["variant"] for run in runs] == ["baseline", "more-pods"]


def test_unknown_variant_exits_2_naming_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", str(_two(tmp_path)), "--variants", "more-pod,least-request"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "--variants" in err and "'more-pod'" in err and "did you mean 'more-pods'" in err
    assert "least-request, more-pods" in err


def test_description_first_and_unresolved_watch_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _two(tmp_path, description="four pods", watch=["latency_ms.p99", "latency_ms.p42"])
    assert main(["compare", str(path), "--variants", "least-request"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "test: four pods"
    assert "metadata.watch[1]" in captured.err and "latency_ms.p42" in captured.err
    assert "latency_ms.p99" in captured.out and "latency_ms.p42" not in captured.out


def test_json_has_no_description(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _two(tmp_path, description="four pods")
    assert main(["run", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["variant"] == "baseline"


def _peak_bytes(tmp_path: Path, copies: int) -> int:
    variants = {f"copy-{index}": LEAST_REQUEST for index in range(copies)}
    path = _file(tmp_path, variants, rate=3000)
    tracemalloc.start()
    try:
        assert main(["compare", str(path), "--quiet", "--json"]) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_variants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The peak is one run's simulation (about 2.3 MB here); compare keeps only each
    run's summary (about 4 kB, so 4 more add under 1 %, with the bigger JSON printed at
    the end about 2 %). A run left for the garbage collector (its cycles) or a kept result
    adds a whole run's worth: 6 copies then peaked at 3.5 times 2 copies. Hence 10 %."""
    _peak_bytes(tmp_path, 1)  # imports and caches, outside the comparison
    two = _peak_bytes(tmp_path, 2)
    six = _peak_bytes(tmp_path, 6)
    capsys.readouterr()
    assert six <= two * 1.10, (two, six)
