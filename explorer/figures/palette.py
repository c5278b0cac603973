"""The curve colours every figure uses (Okabe-Ito, colour-blind friendly), readable on white and on dark grey."""
from __future__ import annotations

CURVE_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#999999", "#F0E442")


def curve_color(i: int) -> str:
    """The i-th curve colour (cycles)."""
    return CURVE_COLORS[i % len(CURVE_COLORS)]
