"""The Attention tab's Generate page: sample a continuation of a prompt from the model on show (in the background,
through the tab's TaskRunner) and draw the next character's odds from the state's figure."""
from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from ...state.attention import AttentionState
from ...state.attention_generation import default_prompt
from ...training.jobs.gpt_job import generate_text, next_token_probs
from ..tasks import TaskRunner
from ..widgets.plot_panel import PlotPanel

MODEL_LOCK = threading.Lock()  # the job module caches one rebuilt model: one worker at a time uses it
TASK = "generate"


def sample(snap, prompt: str, n: int, temperature: float, top_k):
    """(continuation, next-character labels, probabilities) (runs in a worker thread)."""
    with MODEL_LOCK:
        text = generate_text(snap, snap.alphabet, snap.param_vector, prompt, n, temperature, top_k)
        labels, probs = next_token_probs(snap, snap.alphabet, snap.param_vector, prompt, temperature, top_k)
    return text, labels, probs


def short_error(message: str) -> str:
    """A task's error without its exception class ('ValueError: x' -> 'x')."""
    head, _, rest = message.partition(": ")
    return rest if rest and head.isidentifier() and head[:1].isupper() else message


class GeneratePage(QWidget):
    """Prompt, length, temperature, top-k and Generate; the sample as text, the next character's odds as bars."""

    def __init__(self, state: AttentionState, tasks: TaskRunner, banner: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.tasks, self._banner = state, tasks, banner
        self.prompt_edit = QLineEdit()
        self.prompt_edit.setPlaceholderText("prompt")
        self.length_box = QSpinBox()
        self.length_box.setRange(1, 5000)
        self.length_box.setValue(64)
        self.temperature_box = QDoubleSpinBox()
        self.temperature_box.setRange(0.05, 5.0)
        self.temperature_box.setSingleStep(0.1)
        self.temperature_box.setValue(0.8)
        self.temperature_box.setToolTip("Logits are divided by this: low is nearly greedy, high is nearly uniform")
        self.topk_box = QSpinBox()
        self.topk_box.setRange(0, 1000)
        self.topk_box.setSpecialValueText("all")
        self.topk_box.setToolTip("Sample only among the k most likely characters (all: no limit; 1: greedy)")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Sample a continuation of the prompt from the model on the timeline")
        self.sample_view = QTextEdit()
        self.sample_view.setReadOnly(True)
        self.sample_view.setMaximumHeight(130)
        self.sample_view.setPlaceholderText("The sampled text appears here: the prompt in grey, then what the model "
                                            "wrote.")
        self.bars_panel = PlotPanel("Next character after the prompt")
        row = QHBoxLayout()
        row.addWidget(QLabel("Prompt"))
        row.addWidget(self.prompt_edit, 3)
        for text, w in (("Characters", self.length_box), ("Temperature", self.temperature_box),
                        ("Top-k", self.topk_box)):
            row.addWidget(QLabel(text))
            row.addWidget(w)
        row.addWidget(self.generate_button)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.sample_view)
        lay.addWidget(self.bars_panel, 1)
        self.generate_button.clicked.connect(self.generate)
        self.prompt_edit.returnPressed.connect(self.generate)

    def snapshot_shown(self) -> None:
        """A model is on show: offer a prompt from its probe if the user has not typed one."""
        snap = self.state.snapshot
        if snap is not None and not self.prompt_edit.text():
            self.prompt_edit.setText(default_prompt(snap))

    def show_result(self) -> None:
        """Draw the state's sample and bars (or clear them when the run changed)."""
        self.sample_view.setHtml(self.state.generation.sample_html())
        self.bars_panel.show_figure(self.state.figure("next"))

    def generate(self) -> None:
        """Sample a continuation of the prompt and the next character's distribution (in the background)."""
        snap = self.state.snapshot
        if snap is None:
            self._banner("Train (or replay a recorded run) first: the text is sampled from a trained model.")
            return
        if self.tasks.busy(TASK):
            return
        prompt = self.prompt_edit.text() or default_prompt(snap)
        self.prompt_edit.setText(prompt)
        temperature, top_k = self.temperature_box.value(), self.topk_box.value() or None
        self.generate_button.setEnabled(False)
        epoch = self.state.generation.epoch

        def done(result) -> None:
            text, labels, probs = result
            self.generate_button.setEnabled(True)
            self._banner("")
            self.state.generation.set_result(snap.step, prompt, temperature, top_k, text, labels, probs, epoch)

        def failed(message: str) -> None:
            self.generate_button.setEnabled(True)
            self._banner(short_error(message))

        self.tasks.submit(TASK, sample, snap, prompt, self.length_box.value(), temperature, top_k,
                          on_done=done, on_error=failed)
