"""Unit parsing: what each parser accepts, and that it refuses the rest clearly."""

from __future__ import annotations

import math

import pytest
from pydantic import BaseModel, ValidationError

from fleetsim.units import (
    Cpu,
    Duration,
    Memory,
    Rate,
    format_cpu,
    format_duration,
    parse_cpu,
    parse_duration,
    parse_memory,
    parse_rate,
)

GOOD_DURATIONS = [
    ("250us", 250e-6),
    ("250\u00b5s", 250e-6),
    ("250\u03bcs", 250e-6),
    ("100ns", 100e-9),
    ("10ms", 0.01),
    ("1.5s", 1.5),
    ("2m", 120.0),
    ("1h", 3600.0),
    ("1d", 86400.0),
    ("1m30s", 90.0),
    ("10 ms", 0.01),
    (".5s", 0.5),
    ("1e-3s", 0.001),
    ("0s", 0.0),
    ("7", 7.0),
    (7, 7.0),
    (0.25, 0.25),
    (0, 0.0),
]

BAD_DURATIONS = [
    "fast",
    "",
    "10 parsecs",
    "10sec",
    "ms",
    "1.5.s",
    "-5ms",
    -1,
    "1m-30s",
    float("nan"),
    float("inf"),
    "inf",
    True,
    None,
    [1],
]


@pytest.mark.parametrize(("text", "seconds"), GOOD_DURATIONS)
def test_good_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("value", BAD_DURATIONS)
def test_bad_durations_say_what_is_expected(value: object) -> None:
    with pytest.raises(ValueError, match=r"expected a duration such as '10ms', '1.5s', '2m'"):
        parse_duration(value)


@pytest.mark.parametrize("value", ["-5ms", -1, "1m-30s"])
def test_negative_duration_message(value: object) -> None:
    with pytest.raises(ValueError, match="not negative"):
        parse_duration(value)


GOOD_RATES = [
    ("1800/s", 1800.0),
    ("6000/m", 100.0),
    ("3600/h", 1.0),
    ("86400/d", 1.0),
    ("5/ms", 5000.0),
    ("100/10s", 10.0),
    ("17920/s", 17920.0),
    ("1800 / s", 1800.0),
    ("1800rps", 1800.0),
    ("0.5/s", 0.5),
    (250, 250.0),
    (2.5, 2.5),
    ("40", 40.0),
]

BAD_RATES = ["fast", "100/fortnight", "100/", "/s", "-5/s", -3, "5/0s", True, None, "1e400/s"]


@pytest.mark.parametrize(("text", "per_second"), GOOD_RATES)
def test_good_rates(text: object, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("value", BAD_RATES)
def test_bad_rates_say_what_is_expected(value: object) -> None:
    with pytest.raises(ValueError, match=r"expected a rate such as '1800/s', '6000/m'"):
        parse_rate(value)


GOOD_MEMORY = [
    ("512Mi", 512 * 2**20),
    ("2Gi", 2 * 2**30),
    ("1Ki", 1024),
    ("1Ti", 2**40),
    ("300MB", 300_000_000),
    ("300M", 300_000_000),
    ("500k", 500_000),
    ("500K", 500_000),
    ("1G", 10**9),
    ("1GB", 10**9),
    ("1T", 10**12),
    ("2GiB", 2 * 2**30),
    ("1.5Gi", 3 * 2**29),
    ("0.5Ki", 512),
    ("1e3", 1000),
    ("100B", 100),
    ("1E", 10**18),
    (4096, 4096),
    (1.5, 2),
    ("0", 0),
]

BAD_MEMORY = ["512mi", "lots", "2Gb", "Mi", "-1Gi", -5, True, None, "1.5.Gi", "10 Mx"]


@pytest.mark.parametrize(("text", "size"), GOOD_MEMORY)
def test_good_memory(text: object, size: int) -> None:
    result = parse_memory(text)
    assert (result, type(result)) == (size, int)


@pytest.mark.parametrize("value", BAD_MEMORY)
def test_bad_memory_says_what_is_expected(value: object) -> None:
    with pytest.raises(ValueError, match=r"expected a memory size such as '512Mi', '2Gi', '300MB'"):
        parse_memory(value)


GOOD_CPU = [
    ("500m", 0.5),
    ("250m", 0.25),
    ("1m", 0.001),
    ("1500m", 1.5),
    ("0.5m", 0.0005),
    ("2", 2.0),
    ("1.5", 1.5),
    (" 100 m ", 0.1),
    ("0", 0.0),
    ("0m", 0.0),
    (4, 4.0),
    (0.25, 0.25),
]

BAD_CPU = [
    "250u",
    "1k",
    "2M",
    "500 millicores",
    "m",
    "",
    "cores",
    "-1",
    "-500m",
    -2,
    float("nan"),
    float("inf"),
    "1e400m",
    True,
    None,
    ["1"],
]


@pytest.mark.parametrize(("text", "cores"), GOOD_CPU)
def test_good_cpu(text: object, cores: float) -> None:
    result = parse_cpu(text)
    assert result == pytest.approx(cores)
    assert type(result) is float


@pytest.mark.parametrize("value", BAD_CPU)
def test_bad_cpu_says_what_is_expected(value: object) -> None:
    with pytest.raises(
        ValueError, match=r"expected a CPU quantity such as '500m' or '2' \(cores\)"
    ):
        parse_cpu(value)


@pytest.mark.parametrize("value", ["-1", "-500m", -2])
def test_negative_cpu_message(value: object) -> None:
    with pytest.raises(ValueError, match="not negative"):
        parse_cpu(value)


@pytest.mark.parametrize(
    ("cores", "text"),
    [(0.5, "500m"), (0.1, "100m"), (2, "2"), (2.0, "2"), (1.5, "1500m"), (0, "0")],
)
def test_format_cpu(cores: float, text: str) -> None:
    assert format_cpu(cores) == text
    assert parse_cpu(text) == pytest.approx(cores)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (250e-6, "250us"),
        (0.01, "10ms"),
        (1.5, "1.5s"),
        (120, "2m"),
        (7200, "2h"),
        (90, "90s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


class _Model(BaseModel):
    wait: Duration
    rate: Rate
    memory: Memory
    cpu: Cpu = 0.0


def test_annotated_types_give_numbers() -> None:
    model = _Model.model_validate(
        {"wait": "10ms", "rate": "6000/m", "memory": "1Ki", "cpu": "250m"}
    )
    assert (model.wait, model.rate, model.memory, model.cpu) == (0.01, 100.0, 1024, 0.25)
    assert math.isclose(model.wait, 0.01)


def test_cpu_type_reports_the_parser_message() -> None:
    with pytest.raises(ValidationError) as caught:
        _Model.model_validate({"wait": 1, "rate": 1, "memory": 1, "cpu": "2 cores"})
    (error,) = caught.value.errors()
    assert error["loc"] == ("cpu",)
    assert "expected a CPU quantity" in str(error["ctx"]["error"])


def test_annotated_types_report_the_parser_message() -> None:
    with pytest.raises(ValidationError) as caught:
        _Model.model_validate({"wait": "soon", "rate": 1, "memory": 1})
    (error,) = caught.value.errors()
    assert error["loc"] == ("wait",)
    assert "expected a duration" in str(error["ctx"]["error"])
