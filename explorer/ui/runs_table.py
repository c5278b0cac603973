"""The runs browser's table (one row per recorded run, sortable by value, filtered by kind and text) and the reading
and deleting that it runs in the background."""
from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QTableView

from ..training.record import RunError
from ..training.run_index import RunSummary, delete_run, list_runs, total_size

COLUMNS = ("Name", "Kind", "Date", "Device", "Duration", "Status", "Final figures", "Lesson verdict", "Size",
           "Configuration")
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2
RIGHT = {COLUMNS.index("Duration"), COLUMNS.index("Size")}
MAX_COLUMN_WIDTH = 300
FIT_ROWS = 100  # columns are fitted to the header and this many rows (more rows cost time, not width)
WIDTH_CAP = {"Name": 220, "Kind": 120, "Device": 90, "Status": 280, "Final figures": 190, "Lesson verdict": 110}
_RED, _AMBER, _GREEN, _BLUE = QColor("#c8392b"), QColor("#b7791f"), QColor("#2e8b57"), QColor("#3b7dd8")


def format_size(n: int) -> str:
    """Bytes as a person reads them: 512 B, 14.2 KB, 3.1 MB, 1.25 GB (powers of 1000, as file managers show)."""
    n = max(0, int(n))
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 999.5 or unit == "TB":
            break
    return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"


def format_duration(seconds: float | None) -> str:
    """0.4 s, 12 s, 3 min 05 s, 1 h 02 min; an em dash when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def format_date(created: str) -> str:
    """An ISO time stamp as 'YYYY-MM-DD HH:MM'; anything else as it is."""
    try:
        return _dt.datetime.fromisoformat(created).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return created or "—"


def format_final(final: dict[str, float]) -> str:
    """The final figures as 'loss 0.0123 · accuracy 0.98' (three significant digits)."""
    return " · ".join(f"{k} {v:.3g}" if isinstance(v, (int, float)) else f"{k} {v}" for k, v in final.items())


def display_name(summary: RunSummary) -> str:
    """The run's folder name; a lesson's run (…/LESSON/run) is named after its lesson folder."""
    return summary.name


def status_line(summary: RunSummary) -> str:
    """How the run stands; for a damaged run, what is wrong with it (its folder named, not its whole path)."""
    if summary.problem:
        return summary.problem.replace(str(summary.folder), summary.folder.name)
    return summary.status_text or summary.status


def short_verdict(verdict: str | None) -> str:
    """'holds', 'does not hold' or 'undecided' from a verdict that goes on with its evidence after a colon."""
    text = (verdict or "").strip()
    head = text.split(":", 1)[0].strip()
    return head if head.lower() in ("holds", "does not hold", "undecided") else text


def verdict_color(verdict: str | None) -> QColor | None:
    text = (verdict or "").strip().lower()
    if text.startswith(("does not", "doesn't", "not ")):
        return _AMBER
    if text.startswith("undecided"):
        return _RED
    return _GREEN if text.startswith("holds") else None


def status_color(summary: RunSummary) -> QColor | None:
    if summary.problem or summary.status in ("failed", "diverged", "damaged"):
        return _RED
    if summary.status in ("interrupted", "stopped"):
        return _AMBER
    return _BLUE if summary.status in ("running", "paused") else None


class RunsModel(QAbstractTableModel):
    """The runs as a table; `summaries` is replaced as a whole on every refresh, with each row's texts, sort keys
    and search text worked out once (in the background by `read_runs`) so that drawing and sorting only look up."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.summaries: list[RunSummary] = []
        self.rows: list[tuple[tuple[str, ...], tuple, str]] = []

    def set_runs(self, summaries: list[RunSummary], rows: list | None = None) -> None:
        self.beginResetModel()
        self.summaries = list(summaries)
        self.rows = list(rows) if rows is not None else table_rows(self.summaries)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.summaries)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        s, (texts, keys, search) = self.summaries[row], self.rows[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return texts[col]
        if role == SORT_ROLE:
            return keys[col]
        if role == SEARCH_ROLE:
            return search
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tooltip(s, col) or texts[col]
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COLUMNS.index("Status"):
                return status_color(s)
            if col == COLUMNS.index("Lesson verdict"):
                return verdict_color(s.verdict)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in RIGHT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def text(s: RunSummary, col: int) -> str:
        name = COLUMNS[col]
        if name == "Status":
            return status_line(s)
        return {
            "Name": lambda: display_name(s),
            "Kind": lambda: s.kind or "—",
            "Date": lambda: format_date(s.created),
            "Device": lambda: s.device or "—",
            "Duration": lambda: format_duration(s.duration_s),
            "Final figures": lambda: format_final(s.final),
            "Lesson verdict": lambda: short_verdict(s.verdict),
            "Size": lambda: format_size(s.size_bytes),
            "Configuration": lambda: s.config_summary,
        }[name]()

    @staticmethod
    def sort_key(s: RunSummary, col: int, text: str):
        name = COLUMNS[col]
        if name == "Duration":
            return -1.0 if s.duration_s is None else float(s.duration_s)
        if name == "Size":
            return float(s.size_bytes)
        if name == "Date":
            return s.created or ""
        if name == "Final figures":
            return float(next(iter(s.final.values()), float("inf"))) if s.final else float("inf")
        return text.lower()

    @staticmethod
    def tooltip(s: RunSummary, col: int) -> str:
        name = COLUMNS[col]
        if name == "Name":
            return str(s.folder)
        if name == "Kind":
            return s.title
        if name == "Status":
            return s.problem or f"{s.status_text or s.status}\n{s.steps:,} of {s.total_steps:,} steps"
        if name == "Size":
            return f"{s.size_bytes:,} bytes"
        if name == "Lesson verdict":
            return s.verdict or "not a lesson's run"
        if name == "Final figures":
            return "\n".join(f"{k} = {v:.6g}" if isinstance(v, (int, float)) else f"{k} = {v}"
                             for k, v in s.final.items())
        return ""


def table_rows(summaries: list[RunSummary]) -> list[tuple[tuple[str, ...], tuple, str]]:
    """For each run: the texts of its cells, their sort keys, and the lower-case text that the filter searches."""
    rows = []
    for s in summaries:
        texts = tuple(RunsModel.text(s, c) for c in range(len(COLUMNS)))
        keys = tuple(RunsModel.sort_key(s, c, texts[c]) for c in range(len(COLUMNS)))
        rows.append((texts, keys, " ".join((*texts, s.title, s.verdict or "")).lower()))
    return rows


def fit_columns(table: QTableView) -> None:
    """Fit every column but the last (which stretches) to its contents, within the column's cap."""
    header = table.horizontalHeader()
    header.setResizeContentsPrecision(FIT_ROWS)  # the cost of fitting stays bounded
    table.resizeColumnsToContents()
    for col, name in enumerate(COLUMNS[:-1]):
        header.resizeSection(col, min(header.sectionSize(col) + 8, WIDTH_CAP.get(name, MAX_COLUMN_WIDTH)))


class RunsFilter(QSortFilterProxyModel):
    """Keeps the rows of one kind (or all) whose text contains every word typed in the filter box."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.kind = ""
        self.words: list[str] = []
        self.setSortRole(SORT_ROLE)

    def set_filter(self, kind: str, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.10: invalidateFilter() is deprecated
            self.beginFilterChange()
            self.kind, self.words = kind, text.lower().split()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover
            self.kind, self.words = kind, text.lower().split()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:
        model = self.sourceModel()
        s = model.summaries[row]
        if self.kind and s.kind != self.kind:
            return False
        if not self.words:
            return True
        haystack = model.data(model.index(row, 0), SEARCH_ROLE)
        return all(w in haystack for w in self.words)


def read_runs(root: Path) -> tuple[list[RunSummary], int, list]:
    """Every run under `root` (newest first), the disk use of the whole folder, and the table's rows for them;
    runs in the background."""
    summaries = list_runs(root)
    return summaries, total_size(root), table_rows(summaries)


def delete_runs(runs: list[RunSummary]) -> tuple[int, int, list[str]]:
    """Delete each run; (how many went, the bytes freed, one message per run that could not be deleted)."""
    deleted, freed, errors = 0, 0, []
    for run in runs:
        try:
            freed += int(delete_run(run.folder) or 0)
        except (RunError, OSError) as exc:
            errors.append(f"Could not delete {display_name(run)}: {one_line(exc, run.folder)}")
            continue
        deleted += 1
    return deleted, freed, errors


def one_line(exc: BaseException, folder: Path | None = None) -> str:
    """The first line of an error's message, with the folders above `folder` left out of the paths it names."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    if folder is not None:
        for above in (folder.parent.parent, folder.parent):
            text = text.replace(f"{above}{os.sep}", "")
    return text
