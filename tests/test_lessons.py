"""Lessons: every lesson runs at its quick size and decides from its own recorded run; the command line lists,
runs and reports them. Each topic's tests (test_lessons_*.py) feed the deciders other numbers."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.lessons import TOPICS, all_lessons
from explorer.lessons.embeddings import decide_contexts
from explorer.lessons.runner import (
    LessonError,
    find_lesson,
    lesson_config,
    read_verdict,
    run_lesson,
)
from explorer.state import state_for_kind

ROOT = Path(__file__).resolve().parents[1]
LESSON_NAMES = [lesson.name for lesson in all_lessons()]


def _main(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300, check=False)


def test_every_lesson_is_well_formed():
    names = set()
    for lesson in all_lessons():
        assert lesson.name not in names and " " not in lesson.name
        names.add(lesson.name)
        assert lesson.topic in TOPICS and lesson.claim.endswith(".")
        lesson_config(lesson), lesson_config(lesson, quick=True)  # both sizes validate
        figures = state_for_kind(lesson.kind).figure_names
        assert lesson.figures and set(lesson.figures) <= set(figures), (lesson.name, figures)


@pytest.mark.parametrize("name", LESSON_NAMES)
def test_every_lesson_decides_from_its_own_run_at_quick_size(name, tmp_path):
    lesson = find_lesson(name)
    outcome = run_lesson(lesson, tmp_path / name, quick=True)
    assert outcome.final.status == "finished", outcome.final.message
    assert not outcome.verdict.evidence.startswith("undecided"), outcome.verdict.evidence
    assert outcome.verdict.numbers and all(math.isfinite(float(x)) for x in outcome.verdict.numbers.values())
    # the verdict is a function of the run's numbers: deciding them again gives the same, reading the run back too
    assert lesson.decide(outcome.verdict.numbers) == outcome.verdict
    again, verdict, saved = read_verdict(tmp_path / name)
    assert again is lesson and verdict == outcome.verdict
    assert saved["holds"] == outcome.verdict.holds and saved["evidence"] == outcome.verdict.evidence


@pytest.mark.slow
@pytest.mark.parametrize("name", LESSON_NAMES)
def test_every_lesson_holds_at_its_default_size(name, tmp_path):
    outcome = run_lesson(find_lesson(name), tmp_path / name)
    assert outcome.verdict.holds, outcome.verdict.line
    assert outcome.seconds < 120


def test_a_stopped_or_mismatched_run_is_undecided_and_does_not_hold(tmp_path):
    lesson = find_lesson("similar-contexts")
    from explorer.lessons.runner import verdict_of_run

    verdict = verdict_of_run(lesson, tmp_path / "missing")
    assert not verdict.holds and verdict.evidence.startswith("undecided")
    with pytest.raises(LessonError, match="no lesson named"):
        find_lesson("no-such-lesson")


def test_a_lesson_run_whose_writer_was_killed_is_undecided_and_says_interrupted(tmp_path):
    import json

    from explorer.lessons.runner import run_lesson, verdict_of_run

    lesson = find_lesson("similar-contexts")
    run_lesson(lesson, tmp_path / "lesson", quick=True, device="cpu")
    run_json = tmp_path / "lesson" / "run" / "run.json"
    info = json.loads(run_json.read_text())
    info.update(status="running", pid=2**22 + 4321)  # as a killed writer leaves it
    info.pop("finished", None)
    run_json.write_text(json.dumps(info))
    verdict = verdict_of_run(lesson, tmp_path / "lesson" / "run")
    assert not verdict.holds and "interrupted after step" in verdict.evidence


def test_similar_contexts_verdict_follows_the_numbers():
    good = dict(trained=0.9, untrained=0.1, random=0.08, chance=0.07, words=99, step=100)
    assert decide_contexts(good).holds
    assert "0.90 after training" in decide_contexts(good).evidence
    assert not decide_contexts({**good, "trained": 0.15}).holds
    assert not decide_contexts({**good, "untrained": 0.8}).holds


def test_the_command_line_lists_runs_and_reports_a_lesson(tmp_path):
    listing = _main("lessons")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert [line.split()[0] for line in lines] == LESSON_NAMES
    out = tmp_path / "lesson"
    done = _main("lesson", "similar-contexts", "--quick", "--out", str(out))
    assert done.returncode == 0, done.stderr
    saved = json.loads((out / "verdict.json").read_text())
    assert saved["lesson"] == "similar-contexts" and isinstance(saved["holds"], bool)
    assert f"verdict: {'holds' if saved['holds'] else 'does not hold'}: {saved['evidence']}" in done.stdout
    assert (out / saved["figures"]["map"]["png"]).is_file() and (out / saved["figures"]["map"]["csv"]).is_file()
    report = _main("runs", str(out))
    assert report.returncode == 0 and saved["evidence"] in report.stdout
    assert _main("runs", str(out / "run")).stdout.count(saved["evidence"]) == 1
    unknown = _main("lesson", "nope")
    assert unknown.returncode == 2 and unknown.stderr.startswith("error: no lesson named 'nope'")
    again = _main("lesson", "similar-contexts", "--quick", "--out", str(out))
    assert again.returncode == 2 and "already holds a lesson run" in again.stderr


def test_exported_lesson_figures_carry_the_verdict_in_their_caption(tmp_path, monkeypatch, qapp):
    from explorer.render import run_export
    from explorer.render.canvas import FigureCanvas

    outcome = run_lesson(find_lesson("similar-contexts"), tmp_path / "l", quick=True)
    state = run_export.open_state(outcome.run_folder)
    captions = []
    original = FigureCanvas.show_figure
    monkeypatch.setattr(FigureCanvas, "show_figure", lambda self, fig: (captions.append(fig.caption),
                                                                         original(self, fig)))
    run_export.export_figures(state, tmp_path / "f", "png", ["map"], note=outcome.verdict.line)
    assert captions and captions[-1].endswith(outcome.verdict.line)
    assert state.figure("map").caption and outcome.verdict.line not in state.figure("map").caption
