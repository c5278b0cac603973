"""Lessons 11-13: attention's quadratic cost and its remedies, pre-training then fine-tuning, training in parallel
against generation token by token. Each decider is fed other numbers and gives another verdict."""
from __future__ import annotations

import pytest

from explorer.lessons.attention_cost import REMEDIES, decide_quadratic
from explorer.lessons.runner import find_lesson

QUADRATIC = dict(time_full=2.1, memory_full=2.0, full_longest=2048, full_seconds=0.5, time_local=1.05,
                 memory_local=1.0, seconds_local=0.01, time_low_rank=1.1, memory_low_rank=1.0, seconds_low_rank=0.006,
                 time_downsampled=0.9, memory_downsampled=1.0, seconds_downsampled=0.002, longest=16384, repeats=9)


def test_attention_quadratic_holds_on_quadratic_full_and_linear_remedies():
    verdict = decide_quadratic(QUADRATIC)
    assert verdict.holds
    assert "full attention 2.10 (2.00)" in verdict.evidence and "downsampled 0.90 (1.00)" in verdict.evidence
    assert "at T = 2,048 full attention takes 500 ms, the remedies 2.0–10.0 ms" in verdict.evidence


@pytest.mark.parametrize("change", [dict(time_full=1.2), dict(memory_full=1.0), dict(time_local=1.9),
                                    dict(memory_downsampled=2.0), dict(time_low_rank=1.6)])
def test_attention_quadratic_does_not_hold_when_a_slope_says_otherwise(change):
    assert not decide_quadratic({**QUADRATIC, **change}).holds


def test_attention_quadratic_names_the_three_remedies_of_the_lecture():
    lesson = find_lesson("attention-quadratic")
    assert set(REMEDIES.values()) == {"local attention", "low-rank attention", "downsampled attention"}
    assert lesson.tab == "Attention" and lesson.page == "Cost" and lesson.kind == "attention_cost"
    assert lesson.settings()["full_longest"] < max(lesson.settings()["lengths"])
