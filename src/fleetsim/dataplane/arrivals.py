"""Arrival times that follow a load profile (the file format is
:mod:`fleetsim.scenario.load_profile`).

A :class:`LoadProfile` answers the rate at a time, an upper bound over an interval and
the expected number of arrivals, and :func:`arrival_times` generates the arrivals: a
non-homogeneous Poisson process by thinning (Lewis and Shedler, 1979) with a bound per
segment, or evenly spread arrivals by inverting the cumulative rate.
"""

from __future__ import annotations

import bisect
import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Final, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from fleetsim.scenario.load_profile import DAY, HOURS, LoadProfileSpec, Spike

__all__ = [
    "LoadProfile",
    "PiecewiseLinearProfile",
    "SinusoidalProfile",
    "arrival_times",
    "build_profile",
]

BLOCK: Final = 4096
"""Random draws per NumPy call; large enough that the per-call overhead vanishes."""
SINUSOID_PIECES: Final = 16
"""Segments per period of a sinusoid; even, so the peak and the trough are both edges."""

FloatArray = NDArray[np.float64]


class _Piece(NamedTuple):
    """A stretch of time on which the rate is simple: linear, or monotone for a sinusoid.

    ``level`` is the rate at ``start``; ``slope`` its derivative when linear; ``bound``
    the maximum on the piece; ``flat`` says the rate is constant there, so thinning
    would accept every candidate and is skipped.
    """

    start: float
    end: float
    level: float
    slope: float
    bound: float
    flat: bool


class LoadProfile(ABC):
    """The arrival rate as a function of simulated time (seconds from the start of the run).

    Profiles are defined from 0 on; an earlier time reads as 0. ``period`` is the length
    after which a periodic profile repeats, None otherwise.
    """

    period: float | None = None

    @abstractmethod
    def rate_at(self, t: float) -> float:
        """Requests per second at time ``t`` (right-continuous at a step)."""

    @abstractmethod
    def rates(self, times: ArrayLike) -> FloatArray:
        """``rate_at`` over an array of times, vectorised."""

    @abstractmethod
    def max_rate(self, start: float, end: float) -> float:
        """An upper bound of the rate over ``[start, end)``; exact for these shapes."""

    @abstractmethod
    def breakpoints(self) -> list[float]:
        """Times where the rate changes level or slope, in order.

        For a periodic profile, those within the first period; they repeat every
        ``period``. :func:`arrival_times` bounds the rate separately between two.
        """

    @abstractmethod
    def integral(self, start: float, end: float) -> float:
        """The expected number of arrivals in ``[start, end)``: the rate integrated."""

    @abstractmethod
    def _pieces(self, start: float) -> Iterator[_Piece]:
        """Consecutive pieces covering ``[start, inf)``; the last may end at infinity."""

    @abstractmethod
    def _piece_rates(self, piece: _Piece, times: FloatArray) -> FloatArray:
        """The rate at ``times``, all within ``piece``."""

    @abstractmethod
    def _piece_integral(self, piece: _Piece) -> float:
        """The rate integrated over ``piece`` (infinite for an endless positive piece)."""

    @abstractmethod
    def _invert(self, piece: _Piece, amounts: FloatArray) -> FloatArray:
        """The times in ``piece`` by which the integral from its start reaches ``amounts``."""

    @abstractmethod
    def _window(self, piece: _Piece, now: float) -> tuple[float, float]:
        """(end, bound): a stretch of ``piece`` from ``now`` and the rate's maximum on it.

        Chosen to hold about ``BLOCK`` candidates, so the bound follows a changing rate
        closely: a ramp from 0 would otherwise be thinned at its final rate throughout.
        """


class PiecewiseLinearProfile(LoadProfile):
    """A rate linear between breakpoints: constant, steps, ramp, spikes and hourly tables.

    Segment ``i`` starts at ``starts[i]`` at rate ``levels[i]`` with slope ``slopes[i]``
    and lasts until the next start; the last lasts forever (it must then be flat) or,
    with a ``period``, until ``period``, after which the whole pattern repeats.
    """

    def __init__(
        self,
        starts: Sequence[float],
        levels: Sequence[float],
        slopes: Sequence[float],
        period: float | None = None,
    ) -> None:
        if not starts or len(starts) != len(levels) or len(starts) != len(slopes):
            raise ValueError("expected as many levels and slopes as starts, at least one")
        if starts[0] != 0 or any(b <= a for a, b in itertools.pairwise(starts)):
            raise ValueError("expected starts increasing from 0")
        if period is not None and not starts[-1] < period < math.inf:
            raise ValueError("expected a finite period after the last start")
        if period is None and slopes[-1] != 0:
            raise ValueError("expected the last segment flat when the profile does not repeat")
        self.period = period
        self._starts = [float(s) for s in starts]
        self._levels = [float(v) for v in levels]
        self._slopes = [float(s) for s in slopes]
        stops = [*self._starts[1:], math.inf if period is None else period]
        self._stops = stops
        self._end_levels = [
            level if slope == 0 else level + slope * (stop - start)
            for start, stop, level, slope in zip(
                self._starts, stops, self._levels, self._slopes, strict=True
            )
        ]
        values = [*self._levels, *self._end_levels]
        if not all(math.isfinite(v) and v >= -1e-9 * max(1.0, max(values)) for v in values):
            raise ValueError("expected finite rates of at least 0 everywhere")
        self._end_levels = [max(0.0, v) for v in self._end_levels]
        self._peak = max(values)
        self._cycle_integral = (
            0.0
            if period is None
            else sum(
                0.5 * (level + end) * (stop - start)
                for start, stop, level, end in zip(
                    self._starts, stops, self._levels, self._end_levels, strict=True
                )
            )
        )
        self._starts_array = np.array(self._starts)
        self._levels_array = np.array(self._levels)
        self._slopes_array = np.array(self._slopes)

    @classmethod
    def constant(cls, rate: float) -> PiecewiseLinearProfile:
        """The same ``rate`` forever: what a traffic source without a profile sends."""
        return cls([0.0], [rate], [0.0])

    def _locate(self, t: float) -> tuple[int, float]:
        """(segment index, time within the period) of absolute time ``t``."""
        t = max(t, 0.0)
        if self.period is not None:
            t %= self.period
            if t >= self.period:  # -1e-20 % p rounds up to p
                t = 0.0
        return bisect.bisect_right(self._starts, t) - 1, t

    def rate_at(self, t: float) -> float:
        index, local = self._locate(t)
        slope = self._slopes[index]
        level = self._levels[index]
        if slope == 0:
            return level
        return max(0.0, level + slope * (local - self._starts[index]))

    def rates(self, times: ArrayLike) -> FloatArray:
        local = np.maximum(np.asarray(times, dtype=np.float64), 0.0)
        if self.period is not None:
            local = np.mod(local, self.period)
        index = np.searchsorted(self._starts_array, local, side="right") - 1
        index = np.maximum(index, 0)
        values: FloatArray = self._levels_array[index] + self._slopes_array[index] * (
            local - self._starts_array[index]
        )
        return np.maximum(values, 0.0)

    def max_rate(self, start: float, end: float) -> float:
        if end <= start:
            return self.rate_at(start)
        if self.period is not None and end - start >= self.period:
            return self._peak
        best = 0.0
        for piece in self._pieces(start):
            if piece.end >= end:
                last = piece.level + piece.slope * (end - piece.start) if piece.slope else 0.0
                return max(best, piece.level, last)
            best = max(best, piece.bound)
        raise AssertionError("unreachable: pieces cover all time")  # pragma: no cover

    def breakpoints(self) -> list[float]:
        return list(self._starts)

    def integral(self, start: float, end: float) -> float:
        start, end = max(start, 0.0), max(end, 0.0)
        if end <= start:
            return 0.0
        total = 0.0
        if self.period is not None:
            cycles = math.floor((end - start) / self.period)
            total = cycles * self._cycle_integral
            start += cycles * self.period
        for piece in self._pieces(start):
            if piece.end >= end:
                return total + self._piece_integral(piece._replace(end=end))
            total += self._piece_integral(piece)
        raise AssertionError("unreachable: pieces cover all time")  # pragma: no cover

    def _pieces(self, start: float) -> Iterator[_Piece]:
        index, local = self._locate(start)
        within = local - self._starts[index]
        count = len(self._starts)
        if self.period is None:
            yield self._piece(index, start, within, 0.0)
            for i in range(index + 1, count):
                yield self._piece(i, self._starts[i], 0.0, 0.0)
            return
        period = self.period
        cycle = round((start - local) / period)
        piece = self._piece(index, start, within, cycle * period)
        while True:
            # The last segment ends where the next cycle begins, computed the same way,
            # so that consecutive pieces meet exactly.
            if index == count - 1:
                piece = piece._replace(end=(cycle + 1) * period)
                index, cycle = 0, cycle + 1
            else:
                index += 1
            yield piece
            offset = cycle * period
            piece = self._piece(index, offset + self._starts[index], 0.0, offset)

    def _piece(self, index: int, begin: float, within: float, offset: float) -> _Piece:
        """Segment ``index`` from absolute time ``begin``, ``within`` seconds into it."""
        slope = self._slopes[index]
        level = self._levels[index]
        if slope != 0 and within > 0:
            level = max(0.0, level + slope * within)
        end = offset + self._stops[index]
        return _Piece(begin, end, level, slope, max(level, self._end_levels[index]), slope == 0)

    def _piece_rates(self, piece: _Piece, times: FloatArray) -> FloatArray:
        return np.maximum(piece.level + piece.slope * (times - piece.start), 0.0)

    def _piece_integral(self, piece: _Piece) -> float:
        length = piece.end - piece.start
        if piece.slope == 0:
            return 0.0 if piece.level == 0 else piece.level * length
        end_level = max(0.0, piece.level + piece.slope * length)
        return 0.5 * (piece.level + end_level) * length

    def _window(self, piece: _Piece, now: float) -> tuple[float, float]:
        level = max(0.0, piece.level + piece.slope * (now - piece.start))
        if piece.slope <= 0:
            if level <= 0:
                return piece.end, 0.0
            return min(piece.end, now + BLOCK / level), level
        # The length h with (level + slope h) h = BLOCK: about BLOCK candidates at the
        # rate reached at the window's end, which is the maximum on a rising stretch.
        length = 2.0 * BLOCK / (level + math.sqrt(level * level + 4.0 * piece.slope * BLOCK))
        stop = min(piece.end, now + length)
        return stop, piece.level + piece.slope * (stop - piece.start)

    def _invert(self, piece: _Piece, amounts: FloatArray) -> FloatArray:
        if piece.slope == 0:
            return piece.start + amounts / piece.level
        # Solve level*x + slope*x^2/2 = y for x in the form that does not cancel
        # when the slope is small: x = 2y / (level + sqrt(level^2 + 2 slope y)).
        root = np.sqrt(np.maximum(piece.level**2 + 2.0 * piece.slope * amounts, 0.0))
        denominator = piece.level + root
        safe = np.where(denominator > 0, denominator, 1.0)
        offsets = np.where(denominator > 0, 2.0 * amounts / safe, 0.0)
        return np.clip(piece.start + offsets, piece.start, piece.end)


class SinusoidalProfile(LoadProfile):
    """``mean * (1 + amplitude * cos(2 pi (t - peak_at) / period))``: a smooth day."""

    def __init__(self, mean: float, amplitude: float, period: float, peak_at: float) -> None:
        if not (math.isfinite(mean) and mean >= 0 and 0 <= amplitude <= 1):
            raise ValueError("expected a finite mean of at least 0 and an amplitude from 0 to 1")
        if not 0 < period < math.inf:
            raise ValueError("expected a finite period longer than 0")
        self.mean = mean
        self.amplitude = amplitude
        self.period = period
        self._cycle = period
        self.peak_at = peak_at % period
        self._omega = 2.0 * math.pi / period
        self._step = period / SINUSOID_PIECES

    def _phase(self, t: float) -> float:
        return self._omega * ((t - self.peak_at) % self._cycle)

    def rate_at(self, t: float) -> float:
        t = max(t, 0.0)
        return max(0.0, self.mean * (1.0 + self.amplitude * math.cos(self._phase(t))))

    def rates(self, times: ArrayLike) -> FloatArray:
        local = np.maximum(np.asarray(times, dtype=np.float64), 0.0)
        phase = self._omega * np.mod(local - self.peak_at, self._cycle)
        return np.maximum(self.mean * (1.0 + self.amplitude * np.cos(phase)), 0.0)

    def max_rate(self, start: float, end: float) -> float:
        start, end = max(start, 0.0), max(end, 0.0)
        if end - start >= self._cycle:
            return self.mean * (1.0 + self.amplitude)
        # The only local maximum is the peak; without one inside, an end point is highest.
        next_peak = self.peak_at + math.ceil((start - self.peak_at) / self._cycle) * self._cycle
        if start <= next_peak < end:
            return self.mean * (1.0 + self.amplitude)
        return max(self.rate_at(start), self.rate_at(end))

    def breakpoints(self) -> list[float]:
        return sorted((self.peak_at + k * self._step) % self._cycle for k in range(SINUSOID_PIECES))

    def integral(self, start: float, end: float) -> float:
        start, end = max(start, 0.0), max(end, 0.0)
        if end <= start:
            return 0.0
        cycles = math.floor((end - start) / self._cycle)
        total = cycles * self.mean * self._cycle
        start += cycles * self._cycle
        # sin(w(end - p)) - sin(w(start - p)) on reduced phases keeps precision for large t.
        swing = math.sin(self._phase(end)) - math.sin(self._phase(start))
        return total + self.mean * ((end - start) + self.amplitude / self._omega * swing)

    def _pieces(self, start: float) -> Iterator[_Piece]:
        if self.mean == 0:
            return
        k = math.floor((start - self.peak_at) / self._step) + 1
        begin = start
        while True:
            end = self.peak_at + k * self._step
            if end > begin:
                low, high = self.rate_at(begin), self.rate_at(end)
                flat = self.amplitude == 0
                yield _Piece(begin, end, low, 0.0, max(low, high), flat)
                begin = end
            k += 1

    def _piece_rates(self, piece: _Piece, times: FloatArray) -> FloatArray:
        return self.rates(times)

    def _piece_integral(self, piece: _Piece) -> float:
        return self.integral(piece.start, piece.end)

    def _window(self, piece: _Piece, now: float) -> tuple[float, float]:
        # The rate is monotone on a piece, so its maximum is at one end.
        stop = min(piece.end, now + BLOCK / piece.bound)
        return stop, max(self.rate_at(now), self.rate_at(stop))

    def _invert(self, piece: _Piece, amounts: FloatArray) -> FloatArray:
        """Safeguarded Newton: the rate is monotone on a piece, so bisection backs it up."""
        if piece.flat:
            return piece.start + amounts / piece.level
        total = self._piece_integral(piece)
        low = np.full_like(amounts, piece.start)
        high = np.full_like(amounts, piece.end)
        times = piece.start + (piece.end - piece.start) * np.clip(amounts / total, 0.0, 1.0)
        for _ in range(100):
            excess = self._integral_from(piece.start, times) - amounts
            high = np.where(excess > 0, times, high)
            low = np.where(excess <= 0, times, low)
            rate = self.rates(times)
            newton = times - excess / np.where(rate > 0, rate, 1.0)
            bad = (rate <= 0) | (newton < low) | (newton > high)
            updated = np.where(bad, 0.5 * (low + high), newton)
            moved = np.abs(updated - times)
            times = updated
            if np.all(moved <= 1e-12 * np.maximum(1.0, np.abs(times))):
                break
        return np.clip(times, piece.start, piece.end)

    def _integral_from(self, start: float, times: FloatArray) -> FloatArray:
        """The rate integrated from ``start`` to each of ``times`` (vectorised)."""
        phase_start = self._phase(start)
        phases = self._omega * np.mod(times - self.peak_at, self._cycle)
        swing = np.sin(phases) - math.sin(phase_start)
        return self.mean * ((times - start) + self.amplitude / self._omega * swing)


def build_profile(spec: LoadProfileSpec | None, base_rate: float) -> LoadProfile:
    """The runtime profile of a traffic source whose ``rate`` is ``base_rate``.

    ``spec`` None (no ``profile`` in the file) is the constant ``base_rate``, so every
    source can go through the same arrival generator.
    """
    if not (math.isfinite(base_rate) and base_rate >= 0):
        raise ValueError(f"expected a finite base rate of at least 0, got {base_rate!r}")
    if spec is None or spec.type == "constant":
        return PiecewiseLinearProfile.constant(base_rate)
    if spec.type == "steps" and spec.steps is not None:
        levels = [point.level(base_rate) for point in spec.steps]
        return PiecewiseLinearProfile([p.at for p in spec.steps], levels, [0.0] * len(levels))
    if spec.type == "ramp" and spec.points is not None:
        starts = [point.at for point in spec.points]
        levels = [point.level(base_rate) for point in spec.points]
        slopes = [
            (levels[i + 1] - levels[i]) / (starts[i + 1] - starts[i])
            for i in range(len(starts) - 1)
        ]
        return PiecewiseLinearProfile(starts, levels, [*slopes, 0.0])
    if spec.type == "diurnal":
        period = DAY if spec.period is None else spec.period
        if spec.hourly is not None:
            return _hourly(spec.hourly, period)
        amplitude = spec.amplitude or 0.0
        mean = base_rate if spec.mean is None else spec.mean
        if amplitude == 0:
            return PiecewiseLinearProfile.constant(mean)
        return SinusoidalProfile(mean, amplitude, period, spec.peak_at or 0.0)
    if spec.type == "spikes" and spec.spikes is not None:
        return _spikes(spec.spikes, base_rate)
    raise ValueError(f"incomplete {spec.type} profile; validate it with LoadProfileSpec")


def _hourly(table: Sequence[float], period: float) -> PiecewiseLinearProfile:
    """Linear between hour marks; the last hour ramps back to hour 0 of the next day."""
    hour = period / HOURS
    starts = [i * period / HOURS for i in range(HOURS)]
    slopes = [(table[(i + 1) % HOURS] - table[i]) / hour for i in range(HOURS)]
    return PiecewiseLinearProfile(starts, list(table), slopes, period)


def _spikes(spikes: Sequence[Spike], base_rate: float) -> PiecewiseLinearProfile:
    """The base rate, with each spike's level over its interval (spikes are apart, in order)."""
    starts = [0.0]
    levels = [base_rate]
    for spike in spikes:
        if spike.at == starts[-1]:  # at 0s, or right where the previous spike ends
            levels[-1] = spike.level(base_rate)
        else:
            starts.append(spike.at)
            levels.append(spike.level(base_rate))
        starts.append(spike.end)
        levels.append(base_rate)
    return PiecewiseLinearProfile(starts, levels, [0.0] * len(levels))


# --- arrivals -----------------------------------------------------------------------


def arrival_times(
    profile: LoadProfile,
    rng: np.random.Generator,
    *,
    poisson: bool = True,
    start: float = 0.0,
) -> Iterator[float]:
    """Absolute arrival times after ``start``, in order, for as long as the rate allows.

    With ``poisson`` the arrivals are a non-homogeneous Poisson process with intensity
    ``profile.rate_at``, generated by thinning (P. A. W. Lewis and G. S. Shedler,
    "Simulation of nonhomogeneous Poisson processes by thinning", Naval Research
    Logistics Quarterly 26(3), 1979): candidates from a homogeneous process at a bound
    of the rate, each kept with probability rate/bound. The bound is piecewise
    constant: per segment between breakpoints, so a short 100x spike costs extra
    draws only while it lasts, and where the rate slopes per window of about
    ``BLOCK`` candidates, so a ramp from 0 is not thinned at its final rate. On a
    flat segment the bound is the rate and every candidate is kept, so no
    acceptance draw is made. Candidates come from NumPy in blocks.

    Without ``poisson`` (``arrivals: constant``) arrivals are as even as the rate
    allows: arrival k (k = 1, 2, ...) comes when the rate integrated from ``start``
    reaches k, which for a constant rate is every 1/rate, as before profiles.

    The iterator ends once the rate is 0 for good (a last step at 0); within a
    zero-rate stretch it skips to the next breakpoint.
    """
    if not (math.isfinite(start) and start >= 0):
        raise ValueError(f"expected a finite start time of at least 0, got {start!r}")
    if profile.max_rate(start, math.inf) <= 0:
        # Zero for good; a periodic profile that is zero throughout would otherwise
        # be skipped through one empty period after another.
        return iter(())
    if poisson:
        return _poisson_arrivals(profile, rng, start)
    return _even_arrivals(profile, start)


def _block_size(expected: float) -> int:
    """Candidates to draw when ``expected`` are due before the piece ends.

    Enough that one block almost always finishes the piece (mean + 4 sigma), so a
    short piece costs one NumPy call, without drawing thousands for a handful.
    """
    if expected >= BLOCK:
        return BLOCK
    return min(BLOCK, int(expected + 4.0 * math.sqrt(expected)) + 16)


def _poisson_arrivals(
    profile: LoadProfile, rng: np.random.Generator, start: float
) -> Iterator[float]:
    for piece in profile._pieces(start):
        if piece.bound <= 0:
            if piece.end == math.inf:
                return
            continue
        now = piece.start
        while now < piece.end:
            if piece.flat:
                stop, bound = piece.end, piece.bound
            else:
                stop, bound = profile._window(piece, now)
                if bound <= 0:
                    now = stop
                    continue
            # Candidates: a homogeneous Poisson process at ``bound``, restarted at ``now``
            # (memoryless, so restarting at a window's edge or a block's end is exact).
            times = rng.standard_exponential(_block_size(bound * (stop - now)))
            times *= 1.0 / bound
            np.cumsum(times, out=times)
            times += now
            last = float(times[-1])
            if last >= stop:
                times = times[: int(np.searchsorted(times, stop))]
            if not piece.flat and times.size:
                keep = rng.random(times.size) * bound < profile._piece_rates(piece, times)
                times = times[keep]
            yield from times.tolist()
            now = stop if last >= stop else last


def _even_arrivals(profile: LoadProfile, start: float) -> Iterator[float]:
    # ``owed``: how much rate must still be integrated before the next arrival, in (0, 1].
    owed = 1.0
    for piece in profile._pieces(start):
        if piece.bound <= 0:
            if piece.end == math.inf:
                return
            continue
        total = profile._piece_integral(piece)
        # Arrivals at integrals owed, owed + 1, ... below the piece's total.
        count = math.inf if total == math.inf else max(0, math.ceil(total - owed))
        done = 0
        while done < count:
            size = int(min(BLOCK, count - done))
            amounts = owed + np.arange(done, done + size, dtype=np.float64)
            yield from profile._invert(piece, amounts).tolist()
            done += size
        # In (0, 1] exactly; clamped because ``total`` carries rounding.
        owed = min(1.0, max(0.0, owed + count - total))
