"""A lesson: a claim of the lecture, the run that decides it, and a verdict computed from that run's own numbers.

No Qt and no torch here: a lesson names a job kind and its settings; `measure` reads numbers from the recorded
run (its config, metrics and snapshots) and `decide` turns those numbers, and only those, into a verdict. Tests
feed `decide` other numbers and get another verdict, so nothing is written in advance.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

TOPICS = ("Word embeddings", "Recurrent networks", "Convolutions", "Attention", "GPT")


class Undecided(ValueError):
    """The run does not hold what the verdict needs (stopped early, diverged, too few snapshots); says what."""


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Holds or not, the deciding figure in one line, and the numbers it came from."""

    holds: bool
    evidence: str
    numbers: Mapping[str, float] = dataclasses.field(default_factory=dict)

    @property
    def line(self) -> str:
        """'holds: …' or 'does not hold: …', as the app and the command line print it."""
        return f"{'holds' if self.holds else 'does not hold'}: {self.evidence}"


class LessonRun:
    """A recorded run as a lesson reads it: config, metric columns and snapshots by position."""

    def __init__(self, config: Any, metrics: Mapping[str, Any], steps: list[int], load: Callable[[int], Any],
                 info: Mapping[str, Any] | None = None) -> None:
        self.config, self.metrics, self.steps, self._load = config, metrics, list(steps), load
        self.info = dict(info or {})
        self._cache: dict[int, Any] = {}

    def snapshot(self, index: int) -> Any:
        """Snapshot `index` (negative counts from the end); Undecided if the run has none."""
        if not self.steps:
            raise Undecided("the run recorded no snapshot")
        index = index % len(self.steps)
        if index not in self._cache:
            self._cache[index] = self._load(index)
        return self._cache[index]

    @property
    def final(self) -> Any:
        """The last snapshot (after the last step)."""
        return self.snapshot(-1)

    @property
    def first(self) -> Any:
        """The first snapshot (before any training)."""
        return self.snapshot(0)

    def finished(self) -> None:
        """Undecided unless the run trained to its end."""
        status = self.info.get("status", "finished")
        if status != "finished":
            message = self.info.get("message") or status
            raise Undecided(f"the run did not finish ({message})")


@dataclasses.dataclass(frozen=True)
class Lesson:
    """One claim of the lecture made into an experiment.

    `config` sets the job's fields for the default run (every other field keeps the job's default), `quick`
    overrides them for a run of seconds (the tests, `--quick`). `figures` names the figures of the kind's state
    that show the claim, first the one that decides it.
    """

    name: str
    topic: str
    claim: str
    tab: str
    kind: str
    measure: Callable[[LessonRun], dict[str, float]]
    decide: Callable[[Mapping[str, float]], Verdict]
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    quick: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    figures: tuple[str, ...] = ()
    page: str = ""  # the page of the tab that shows the run, where the tab has pages

    def settings(self, quick: bool = False) -> dict[str, Any]:
        """The job's field values for this lesson's run."""
        return {**self.config, **(self.quick if quick else {})}

    def verdict(self, run: LessonRun) -> Verdict:
        """The verdict of a recorded run: measured, then decided (an undecided run does not hold, and says why)."""
        try:
            numbers = self.measure(run)
        except Undecided as exc:
            return Verdict(False, f"undecided: {exc}")
        return self.decide(numbers)


LESSONS: dict[str, Lesson] = {}


def register(lesson: Lesson) -> Lesson:
    """Make a lesson known by name (the app's menu, `main.py lessons`)."""
    if lesson.topic not in TOPICS:
        raise ValueError(f"unknown topic {lesson.topic!r}")
    LESSONS[lesson.name] = lesson
    return lesson


def num(x: float, digits: int = 2) -> str:
    """A number as a verdict prints it: plain for everyday sizes, scientific for tiny or huge ones."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        text = f"{x:.{digits}f}" if abs(x) < 100 else f"{x:,.0f}"
        return text
    return f"{x:.{digits - 1 if digits > 1 else 1}e}"


def pct(x: float) -> str:
    """A share as a percentage, e.g. 0.934 -> '93%'."""
    return f"{100 * float(x):.0f}%"
