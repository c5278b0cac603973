"""Figures as plain data (no Qt, no torch): what a panel shows, drawn by explorer.render on screen and in files."""
from .figure import (
           Arrow,
           Axis,
           Bars,
           Figure,
           Heatmap,
           Points,
           RefLine,
           Segments,
           Series,
           Table,
           Text,
           empty_like,
)
from .palette import CURVE_COLORS, curve_color

__all__ = ["CURVE_COLORS", "Arrow", "Axis", "Bars", "Figure", "Heatmap", "Points", "RefLine", "Segments", "Series",
           "Table", "Text", "curve_color", "empty_like"]
