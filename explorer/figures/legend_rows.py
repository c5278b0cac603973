"""How a legend's entries are arranged in rows under a plot (Qt-free: widths in pixels in, rows of indices out).

A grid of equal columns is what a legend usually is, but one long name ("dashed: at initialisation") forces a
one-column grid on every entry and a narrow panel's plot is then squeezed by a tall legend. Here long names may
take a row of their own, spanning all columns, while the short ones share rows: the arrangement with the fewest
rows that keeps the figure's order and never needs more than the width available.
"""
from __future__ import annotations

from collections.abc import Sequence


def _placed(n: int, columns: int, alone: set[int]) -> list[list[int]]:
    """Entries in order, `columns` to a row; an entry in `alone` ends the row before it and has a row of its own."""
    rows: list[list[int]] = []
    row: list[int] = []
    for i in range(n):
        if i in alone:
            if row:
                rows.append(row)
                row = []
            rows.append([i])
            continue
        row.append(i)
        if len(row) == columns:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    return rows


def _shared_rows(widths: Sequence[float], columns: int, available: float) -> list[list[int]]:
    """A grid of `columns` in which the widest names, one by one, move to rows of their own until it fits."""
    alone: set[int] = set()
    while True:
        rows = _placed(len(widths), columns, alone)
        if sum(columns_in_use(widths, columns, rows)) <= available:
            return rows
        alone.add(max((i for i in range(len(widths)) if i not in alone), key=lambda i: widths[i]))


def legend_rows(widths: Sequence[float], available: float, max_columns: int = 6) -> tuple[int, list[list[int]]]:
    """(columns, rows) for legend entries of these widths: every index once, in order; a row holds at most
    `columns` entries, and a row of one entry may span the whole width. Fewest rows first, then most columns."""
    n = len(widths)
    if n == 0:
        return 1, []
    best: tuple[int, list[list[int]]] = (1, [[i] for i in range(n)])
    for columns in range(min(n, max_columns), 1, -1):
        rows = _shared_rows(widths, columns, available)
        if len(rows) < len(best[1]):
            best = (max(len(row) for row in rows), rows)  # the columns in use (a short last row uses fewer)
    return best


def columns_in_use(widths: Sequence[float], columns: int, rows: Sequence[Sequence[int]]) -> list[float]:
    """The width each column needs: the widest entry placed in it, counting only rows of more than one entry
    (a row of one spans every column)."""
    needed = [0.0] * columns
    for row in rows:
        if len(row) > 1:
            for c, i in enumerate(row):
                needed[c] = max(needed[c], widths[i])
    return needed
