"""Lessons of the attention part of the lecture (registered by explorer.lessons.catalog)."""
from __future__ import annotations


# --- cost ---
def _register_cost_lessons() -> None:
    """Lesson 11 (attention-quadratic) lives in lessons/attention_cost.py; importing it registers it here, after
    the lessons above."""
    from . import attention_cost  # noqa: F401


_register_cost_lessons()
