"""Lessons: each claim of the lecture as a run whose own numbers decide a verdict. No Qt, no torch at import."""
from .lesson import LESSONS, TOPICS, Lesson, LessonRun, Undecided, Verdict, register

__all__ = ["LESSONS", "TOPICS", "Lesson", "LessonRun", "Undecided", "Verdict", "all_lessons", "register"]


def all_lessons() -> list[Lesson]:
    """Every lesson, in the lecture's order (topics in order, lessons as registered)."""
    from . import catalog  # noqa: F401 - registers them

    return sorted(LESSONS.values(), key=lambda lesson: TOPICS.index(lesson.topic))
