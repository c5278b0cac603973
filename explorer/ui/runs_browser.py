"""File > Recorded runs…: a non-modal dialog listing every recorded run (kind, date, device, duration, status, final
figures, a lesson's verdict, size on disk) to open, rename and delete them, and to see and free the disk they use.

A dialog rather than a dock: the table needs the width of a window (ten columns) and is used now and then, not
beside a tab while training; non-modal, so that it stays open while the runs it opens are looked at.
Reading the runs folder (every run.json, the size of every folder) and deleting runs happen in the background."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..training.record import RunError
from ..training.run_index import RunSummary, rename_run, runs_older_than
from .runs_table import (
    COLUMNS,
    RunsFilter,
    RunsModel,
    delete_runs,
    display_name,
    fit_columns,
    format_size,
    one_line,
    read_runs,
    status_line,
)
from .tasks import TaskRunner

ALL_KINDS = "All kinds"
NO_RUNS = "No recorded runs yet: every job trained in the app or with 'main.py train' is recorded here."
_MESSAGE_STYLE = {False: "", True: "color: #c8392b;"}


class RunsBrowser(QDialog):
    """Every recorded run under `root`: open (through `open_run(folder) -> bool`), rename, delete, free space."""

    def __init__(self, root: str | Path, open_run: Callable[[str], bool] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Recorded runs")
        self.setModal(False)
        self.setObjectName("runs_browser")
        self.root = Path(root)
        self.open_callback = open_run
        self.total_bytes = 0
        self._fitted = False
        self._select_after: set[Path] = set()
        self.tasks = TaskRunner(self)
        self.model = RunsModel(self)
        self.proxy = RunsFilter(self)
        self.proxy.setSourceModel(self.model)
        self._build()
        self._size_to_screen(parent)
        self.refresh()

    # -- construction ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.kind_box = QComboBox()
        self.kind_box.addItem(ALL_KINDS)
        self.kind_box.setToolTip("Show the runs of one kind of job only")
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: words in the name, kind, status, configuration, verdict…")
        self.filter_edit.setClearButtonEnabled(True)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(COLUMNS.index("Date"), Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.open_action = self._table_action("&Open", self.open_selected, Qt.Key.Key_Return)
        self.rename_action = self._table_action("&Rename…", self.rename_selected, Qt.Key.Key_F2)
        self.delete_action = self._table_action("&Delete…", self.delete_selected, QKeySequence.StandardKey.Delete)
        self.open_button = self._button("Open", self.open_selected, "Open the run in its tab (or double-click it)")
        self.rename_button = self._button("Rename…", self.rename_selected, "Give the run's folder a new name (F2)")
        self.delete_button = self._button("Delete…", self.delete_selected, "Delete the selected runs (Del)")
        self.older_button = self._button("Delete older than…", self.delete_older,
                                         "Delete every run recorded more than a number of days ago")
        self.refresh_button = self._button("Refresh", self.refresh, "Read the runs folder again")
        self.total_label = QLabel("Reading the runs…")
        self.total_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel("")
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens
        top = QHBoxLayout()
        top.addWidget(self.kind_box)
        top.addWidget(self.filter_edit, 1)
        buttons = QHBoxLayout()
        for b in (self.open_button, self.rename_button, self.delete_button, self.older_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.table, 1)
        lay.addLayout(buttons)
        lay.addWidget(self.total_label)
        lay.addWidget(self.message)
        self.kind_box.currentTextChanged.connect(self._filter_changed)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.table.doubleClicked.connect(lambda _index: self.open_selected())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()

    def _size_to_screen(self, parent: QWidget | None) -> None:
        """Wide enough for every column at once where the screen allows (the table scrolls where it does not)."""
        screen = (parent.screen() if parent is not None else None) or QGuiApplication.primaryScreen()
        room = screen.availableGeometry() if screen is not None else None
        width = 1380 if room is None else min(1380, int(room.width() * 0.92))
        self.resize(width, 520 if room is None else min(520, int(room.height() * 0.8)))

    def _table_action(self, text: str, slot: Callable[[], None], key) -> QAction:
        act = QAction(text, self.table)
        act.setShortcut(QKeySequence(key))
        act.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        act.triggered.connect(lambda _c=False: slot())
        self.table.addAction(act)
        return act

    def _button(self, text: str, slot: Callable[[], None], tip: str) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.setAutoDefault(False)
        button.clicked.connect(lambda _c=False: slot())
        return button

    # -- reading -----------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the runs folder again in the background (the newest request wins)."""
        self._select_after |= {s.folder for s in self.selected()}
        self.tasks.submit("list", read_runs, self.root, on_done=self._show_runs,
                          on_error=lambda msg: self.show_message(f"Could not read {self.root}: {msg}", True))

    def busy(self) -> bool:
        """True while the runs are being read or deleted."""
        return self.tasks.busy()

    def _show_runs(self, result: tuple[list[RunSummary], int, list]) -> None:
        summaries, self.total_bytes, rows = result
        self.model.set_runs(summaries, rows)
        kinds = sorted({s.kind for s in summaries if s.kind})
        current = self.kind_box.currentText()
        self.kind_box.blockSignals(True)
        self.kind_box.clear()
        self.kind_box.addItems([ALL_KINDS, *kinds])
        self.kind_box.setCurrentText(current if current in kinds else ALL_KINDS)
        self.kind_box.blockSignals(False)
        self._filter_changed()
        if summaries and not self._fitted:  # once: later refreshes keep the widths the user may have set
            fit_columns(self.table)
            self._fitted = True
        self._reselect()
        if not summaries and not self.message.text():
            self.show_message(NO_RUNS)
        elif summaries and self.message.text() == NO_RUNS:
            self.show_message("")

    def _reselect(self) -> None:
        wanted, self._select_after = self._select_after, set()
        selection = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in range(self.proxy.rowCount()):
            if self.summary_at(row).folder in wanted:
                selection.select(self.proxy.index(row, 0), flags)
        self._update_buttons()

    def _filter_changed(self, *_args) -> None:
        kind = self.kind_box.currentText()
        self.proxy.set_filter("" if kind == ALL_KINDS else kind, self.filter_edit.text())
        self._update_total()
        self._update_buttons()

    def _update_total(self) -> None:
        n, shown = self.model.rowCount(), self.proxy.rowCount()
        runs = f"{n} run{'s' if n != 1 else ''}"
        home = str(Path.home())
        where = "~" + str(self.root)[len(home):] if str(self.root).startswith(home + "/") else str(self.root)
        text = f"Total on disk: {format_size(self.total_bytes)} ({runs}) in {where}"
        if shown != n:
            text += f" — showing {shown}"
        self.total_label.setText(text)

    def _update_buttons(self) -> None:
        n = len(self.selected())
        for w in (self.open_button, self.open_action, self.rename_button, self.rename_action):
            w.setEnabled(n == 1)
        for w in (self.delete_button, self.delete_action):
            w.setEnabled(n >= 1)
        self.older_button.setEnabled(self.model.rowCount() > 0)

    # -- selection ---------------------------------------------------------------------------------------------
    def summary_at(self, row: int) -> RunSummary:
        """The run on row `row` as shown (sorted and filtered)."""
        return self.model.summaries[self.proxy.mapToSource(self.proxy.index(row, 0)).row()]

    def selected(self) -> list[RunSummary]:
        """The runs selected in the table, top to bottom."""
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.summary_at(r) for r in rows]

    def select_folders(self, folders) -> None:
        """Select the rows of these run folders (and nothing else)."""
        self.table.clearSelection()
        self._select_after = {Path(f) for f in folders}
        self._reselect()

    def show_message(self, text: str, error: bool = False) -> None:
        """One line under the table (errors in red); the full text is its tool tip."""
        line = text.strip().splitlines()[0] if text.strip() else ""
        self.message.setText(line)
        self.message.setToolTip(text)
        self.message.setStyleSheet(_MESSAGE_STYLE[error])

    # -- actions -----------------------------------------------------------------------------------------------
    def open_selected(self) -> bool:
        """Open the selected run in its tab through the window's callback."""
        runs = self.selected()
        if len(runs) != 1:
            return False
        run = runs[0]
        if self.open_callback is None:
            self.show_message("This browser cannot open runs (no window to show them in).", True)
            return False
        if not self.open_callback(str(run.folder)):
            reason = f": {status_line(run)}" if run.problem else "."
            self.show_message(f"Could not open {display_name(run)}{reason}", True)
            return False
        self.show_message(f"Opened {display_name(run)}.")
        return True

    def rename_selected(self) -> Path | None:
        """Ask for a new name for the selected run's folder and rename it."""
        runs = self.selected()
        if len(runs) != 1:
            return None
        run = runs[0]
        old = display_name(run)
        text, ok = QInputDialog.getText(self, "Rename run", f"New name for {old}:", QLineEdit.EchoMode.Normal, old)
        name = text.strip() if ok else ""
        if not name or name == old:
            return None
        try:
            new = Path(rename_run(run.folder, name))
        except (RunError, OSError) as exc:
            self.show_message(f"Could not rename {old}: {one_line(exc, run.folder)}", True)
            return None
        self.show_message(f"Renamed {old} to {name}.")
        self._select_after = {new}
        self.refresh()
        return new

    def delete_selected(self) -> bool:
        """Delete the selected runs after one confirmation that names them and their size."""
        runs = self.selected()
        if not runs:
            return False
        size = sum(s.size_bytes for s in runs)
        names = "\n".join(display_name(s) for s in runs[:8]) + (f"\n… and {len(runs) - 8} more" if len(runs) > 8
                                                               else "")
        what = "this run" if len(runs) == 1 else f"these {len(runs)} runs"
        if not self._confirm("Delete runs", f"Delete {what} ({format_size(size)})?\n\n{names}\n\n"
                                            "This cannot be undone."):
            return False
        self._delete(runs)
        return True

    def delete_older(self) -> None:
        """Ask for a number of days; list the runs older than that in the background, then confirm and delete."""
        days, ok = QInputDialog.getInt(self, "Delete older runs", "Delete the runs recorded more than this many "
                                       "days ago:", 30, 0, 36500)
        if not ok:
            return
        self.show_message(f"Looking for runs older than {days} days…")
        self.tasks.submit("older", runs_older_than, self.root, days, on_done=lambda runs: self._confirm_older(
            days, runs), on_error=lambda msg: self.show_message(f"Could not read {self.root}: {msg}", True))

    def _confirm_older(self, days: int, runs: list[RunSummary]) -> None:
        if not runs:
            self.show_message(f"No run is older than {days} day{'s' if days != 1 else ''}.")
            return
        n, size = len(runs), format_size(sum(s.size_bytes for s in runs))
        if self._confirm("Delete older runs", f"Delete {n} run{'s' if n != 1 else ''} recorded more than {days} "
                                              f"days ago? They take {size} on disk.\n\nThis cannot be undone."):
            self._delete(runs)
        else:
            self.show_message("")

    def _confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def _delete(self, runs: list[RunSummary]) -> None:
        self.show_message(f"Deleting {len(runs)} run{'s' if len(runs) != 1 else ''}…")
        self.tasks.submit("delete", delete_runs, list(runs), on_done=self._deleted,
                          on_error=lambda msg: (self.show_message(f"Could not delete: {msg}", True), self.refresh()))

    def _deleted(self, result: tuple[int, int, list[str]]) -> None:
        deleted, freed, errors = result
        if errors:
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            self.show_message(errors[0] + more, True)
            self.message.setToolTip("\n".join(errors))
        else:
            self.show_message(f"Deleted {deleted} run{'s' if deleted != 1 else ''}, {format_size(freed)} freed.")
        self.refresh()

    # -- life --------------------------------------------------------------------------------------------------
    def present(self) -> None:
        """Show (or raise) the dialog and read the runs again."""
        self.show()
        self.raise_()
        self.activateWindow()
        self.refresh()

    def shutdown(self) -> None:
        """Stop the background reading (the window is closing)."""
        self.tasks.shutdown()
