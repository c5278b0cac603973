"""Ticks of a log axis that read on a slide: as many as the axis has room for, never crowded, one notation.

pyqtgraph's own log ticks add every 2..9 x 10^n below three decades whatever the axis length (0.2..3 gets eleven
labels, nine of them packed under 1) and mix notations on one axis ("10²", "1", "0.01", "10⁻⁶"; "3·10¹" for 30).
Here: at least three powers of ten in view -> powers of ten only, every 1, 2, 3, 5, ... decades to fit; fewer ->
the sparsest of 1 / 1-2-5 / 1-2-3-5 / 1..9 times 10^n that gives three ticks within the room; a range inside one
decade (0.9..1.1) -> four or more evenly spaced round values (0.9, 0.95, 1, ...). Positions are log10 of the
values, as on a pyqtgraph log axis. Labels: powers of ten as 10ⁿ when any lies outside 10⁻⁴..10⁵, plain decimals
otherwise (0.0002, 0.5, 30), and m·10ⁿ for other values outside that span.
"""
from __future__ import annotations

import math

MANTISSAS = ((1,), (1, 2, 5), (1, 2, 3, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9))
DECADE_STEPS = (1, 2, 3, 5, 10, 20, 50, 100)
PLAIN_RANGE = (1e-4, 1e5)  # values written as plain decimals
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
_EPS = 1e-9


def log_ticks(lo: float, hi: float, max_ticks: int) -> list[float]:
    """Tick positions (log10 of the values) for a log axis showing log10 values lo..hi, at most max_ticks of them
    (at least 2 are allowed)."""
    lo, hi = sorted((float(lo), float(hi)))
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi - lo < 1e-12:
        return []
    room = max(2, int(max_ticks))
    first, last = math.ceil(lo - _EPS), math.floor(hi + _EPS)
    decades = last - first + 1
    if decades >= 3:
        for step in DECADE_STEPS:  # powers at multiples of the step (10⁰, 10⁵, 10¹⁰), else from the first one
            for start in (math.ceil(first / step) * step, first):
                ticks = [float(d) for d in range(start, last + 1, step)]
                if 2 <= len(ticks) <= room:
                    return ticks
        return [float(first), float(last)]
    best: list[float] = []
    overflow: list[float] = []
    for mantissas in MANTISSAS:
        ticks = [math.log10(m) + d for d in range(math.floor(lo) - 1, math.ceil(hi) + 1) for m in mantissas]
        ticks = [t for t in ticks if lo - _EPS <= t <= hi + _EPS]
        if len(ticks) > room:
            overflow = ticks
            break
        best = ticks
        if len(ticks) >= 3:
            return best
    candidates = [best]
    if overflow:  # a short axis: every other (third, ...) tick of the next denser set
        candidates.append(overflow[::math.ceil(len(overflow) / room)])
    if hi - lo < 1:  # inside about one decade round linear steps read best (0.9, 0.95, 1, 1.05)
        candidates.append(_linear_ticks(10 ** lo, 10 ** hi, room))
    return max(candidates, key=len)  # the first of the longest


def _linear_ticks(lo: float, hi: float, room: int) -> list[float]:
    """log10 of evenly spaced round values (1, 2, 2.5 or 5 x 10^n apart) in lo..hi: the sparsest spacing that
    gives four ticks (or `room`, if less), else the densest that fits."""
    span = hi - lo
    found: list[float] = []
    top = math.floor(math.log10(span)) + 1
    for exponent in range(top, top - 5, -1):
        for mult in (5, 2.5, 2, 1):
            step = mult * 10.0 ** exponent
            start = math.ceil(lo / step - _EPS)
            count = math.floor(hi / step + _EPS) - start + 1
            if count > room:
                return found
            if count >= 2:
                found = [math.log10(float(f"{(start + i) * step:.12g}")) for i in range(count) if start + i > 0]
            if len(found) >= min(4, room):
                return found
    return found


def log_tick_labels(positions: list[float]) -> list[str]:
    """Labels for tick positions (log10 of the values), in one notation for the whole axis."""
    values = [10.0 ** p for p in positions]
    if not values:
        return []
    decades = all(abs(p - round(p)) < _EPS for p in positions)
    plain = all(PLAIN_RANGE[0] - _EPS <= v < PLAIN_RANGE[1] for v in values)
    if decades and not plain:
        return [_power(round(p)) for p in positions]
    if plain:
        return [_plain(v) for v in values]
    labels = []
    for p in positions:
        exponent = math.floor(p + _EPS)
        mantissa = _plain(10.0 ** (p - exponent))
        labels.append(_power(exponent) if mantissa == "1" else f"{mantissa}·{_power(exponent)}")
    return labels


def _power(exponent: int) -> str:
    return "10" + str(exponent).translate(_SUPERSCRIPT)


def _plain(value: float) -> str:
    """The shortest decimal that writes value to 6 significant digits (0.05, 30, 1.25)."""
    text = f"{float(f'{value:.6g}'):.10f}".rstrip("0").rstrip(".")
    return text or "0"
