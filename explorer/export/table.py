"""Tables as CSV: atomic, with every number written so that it reads back exactly."""
from __future__ import annotations

import csv
import numbers
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from explorer.atomic import atomic_open


def format_cell(value: Any) -> str:
    """One CSV cell: floats at repr precision (round-trip exact), other values as text."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _rows(rows: np.ndarray | Iterable[Sequence[Any]]) -> Iterable[Sequence[Any]]:
    """Rows as sequences of plain Python values (numpy scalars unwrapped)."""
    if isinstance(rows, np.ndarray):
        if rows.ndim == 1:
            rows = rows.reshape(-1, 1)
        if rows.ndim != 2:
            raise ValueError(f"rows must be 2-D, not {rows.ndim}-D")
        return rows.tolist()
    return rows


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: np.ndarray | Iterable[Sequence[Any]]) -> None:
    """Write `header` and `rows` as a UTF-8 CSV file atomically (the old file stays if anything fails)."""
    width = len(header)
    try:
        with atomic_open(path, "w", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow([str(h) for h in header])
            for i, row in enumerate(_rows(rows)):
                if width and len(row) != width:
                    raise ValueError(f"row {i} has {len(row)} cells, the header {width}")
                writer.writerow([format_cell(v) for v in row])
    except OSError as exc:
        raise OSError(exc.errno, f"Cannot write {os.fspath(path)}: {exc.strerror or exc}") from exc
