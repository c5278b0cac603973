"""Each tab's Qt-free state: selection, run history, and its figures as plain data (no Qt, no torch)."""
from __future__ import annotations

from .base import MetricHistory, RunSource, TabState

STATES: dict[str, type[TabState]] = {}


def register_state(cls: type[TabState]) -> type[TabState]:
    """Make a state class the one that shows runs of its `kinds`."""
    for kind in cls.kinds:
        STATES[kind] = cls
    return cls


def state_for_kind(kind: str) -> TabState:
    """A new state that can show a run of `kind`; KeyError with the known kinds if none can."""
    from . import all_states  # noqa: F401 - registers every tab's state

    try:
        return STATES[kind]()
    except KeyError:
        raise KeyError(f"no figures for runs of kind '{kind}' (known: {', '.join(sorted(STATES))})") from None


__all__ = ["STATES", "MetricHistory", "RunSource", "TabState", "register_state", "state_for_kind"]
