"""Lessons in the app: the menu lists every lesson by topic; choosing one switches to its tab, runs it, and the
verdict measured from the run appears in the dock and in the tab, with the run's figures."""
from __future__ import annotations

import json

from explorer.lessons import TOPICS, all_lessons
from explorer.lessons.runner import read_verdict


def _menu_entries(window) -> dict[str, list[str]]:
    menu = window.lessons.menu
    menu.aboutToShow.emit()
    out = {}
    for action in menu.actions():
        sub = action.menu()
        if sub is not None:
            out[sub.title()] = [a.text() for a in sub.actions()]
    return out


def test_the_lessons_menu_lists_every_lesson_under_its_topic(app_window):
    entries = _menu_entries(app_window)
    assert list(entries) == list(TOPICS)
    for lesson in all_lessons():
        assert lesson.name in entries[lesson.topic]


def test_choosing_a_lesson_runs_it_and_shows_the_verdict_in_its_tab(qtbot, app_window):
    win = app_window
    assert win.lessons.run("similar-contexts", quick=True)
    dock = win.lessons.dock
    assert dock.isVisible() and win.tabs.currentWidget() is win.embeddings
    assert dock.current_lesson().name == "similar-contexts" and "similar contexts" in dock.claim.text()
    qtbot.waitUntil(lambda: dock.verdict is not None, timeout=60000)
    verdict = dock.verdict
    assert not verdict.evidence.startswith("undecided"), verdict.evidence
    # the dock and the tab say the same, with the deciding numbers of this run
    assert verdict.evidence in dock.verdict_label.text()
    assert ("Holds" if verdict.holds else "Does not hold") in dock.verdict_label.text()
    qtbot.waitUntil(lambda: win.embeddings.banner.isVisible(), timeout=5000)
    assert verdict.evidence in win.embeddings.banner.text()
    assert dock.panels[0].isVisible() and dock.panels[0].figure.title == dock.view.figure("map").title
    # the lesson folder holds the run and a verdict.json that reading the run back confirms
    saved = json.loads((dock.folder / "verdict.json").read_text())
    assert saved["evidence"] == verdict.evidence and saved["holds"] == verdict.holds
    assert read_verdict(dock.folder)[1] == verdict
    # a new run of the tab's own clears the verdict away
    win.embeddings.show_banner("")
    assert not win.embeddings.banner.isVisible()


def test_the_dock_switches_between_the_lessons_figures(qtbot, app_window):
    win = app_window
    assert win.lessons.run("similar-contexts", quick=True)
    dock = win.lessons.dock
    qtbot.waitUntil(lambda: dock.verdict is not None, timeout=60000)
    names = [dock.figure_box.itemData(i) for i in range(dock.figure_box.count())]
    assert names == ["map", "loss"] and dock.figure_box.isVisible()
    dock.figure_box.setCurrentIndex(1)
    assert dock.panels[0].figure.title == dock.view.figure("loss").title


def test_a_measurement_lesson_keeps_its_figures_in_the_dock_and_its_verdict_in_the_tab(qtbot, app_window):
    win = app_window
    assert win.lessons.run("causal-dilated", quick=True)
    dock = win.lessons.dock
    qtbot.waitUntil(lambda: dock.verdict is not None, timeout=60000)
    assert win.tabs.currentWidget() is win.convolution
    assert dock.verdict.evidence in win.convolution.banner.text()
    assert "No tab can show" not in win.statusBar().currentMessage()
    assert win.statusBar().currentMessage().startswith("Lesson causal-dilated: ")
    assert dock.panels[0].figure.title == dock.view.figure("leak").title
