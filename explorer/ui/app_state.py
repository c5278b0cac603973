"""State shared by the whole window: the device, the job runner, the corpora the user has opened."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..data.corpus import Corpus
from .job_runner import JobRunner


class AppState(QObject):
    """One device choice and one job runner for the app; tabs read the device and start jobs through it."""

    deviceChanged = Signal(str, str)  # device id, description
    corpusAdded = Signal(str, str)  # spec, display name
    message = Signal(str, int)  # text for the status bar, timeout in ms

    def __init__(self, device_preference: str = "auto", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.device_preference = device_preference
        self.device = "cpu"
        self.device_text = "detecting…"
        self.runner = JobRunner(self)
        self.corpora: dict[str, Corpus] = {}
        self.recent_files: list[str] = []  # text files read in earlier sessions (AppSettings.attach fills it)

    def set_device(self, device: str, text: str) -> None:
        self.device, self.device_text = device, text
        self.deviceChanged.emit(device, text)

    def add_corpus(self, spec: str, corpus: Corpus) -> None:
        """Remember a loaded corpus so that jobs need not read it again."""
        self.corpora[spec] = corpus
        self.corpusAdded.emit(spec, corpus.name)
