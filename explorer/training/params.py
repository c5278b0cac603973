"""Declarative hyper-parameters: a dataclass field that carries its label, range and help for the UI and CLI."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any


def param(
    default: Any,
    *,
    label: str,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    choices: Sequence[Any] | None = None,
    live: bool = False,
    log: bool = False,
    unit: str = "",
) -> Any:
    """A config field with UI metadata.

    `live` fields may change while a job runs (the learning rate); the others are fixed once it starts.
    `log` asks the form for a logarithmic step (rates, thresholds).
    """
    meta = {
        "label": label,
        "help": help,
        "min": min,
        "max": max,
        "choices": tuple(choices) if choices is not None else None,
        "live": live,
        "log": log,
        "unit": unit,
    }
    return dataclasses.field(default=default, metadata={"param": meta})


def param_meta(field: dataclasses.Field) -> dict | None:
    """The UI metadata of a config field, or None for a plain field."""
    return field.metadata.get("param")


def check_field(field: dataclasses.Field, value: Any) -> str | None:
    """A message saying why `value` is not valid for `field`, or None when it is."""
    meta = param_meta(field) or {}
    label = meta.get("label") or field.name
    choices = meta.get("choices")
    if choices is not None:
        return None if value in choices else f"{label} must be one of {', '.join(map(str, choices))}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return f"{label} must be a finite number"
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and value < lo:
        return f"{label} must be at least {lo:g}"
    if hi is not None and value > hi:
        return f"{label} must be at most {hi:g}"
    return None


def validate_config(config: Any) -> dict[str, str]:
    """All problems of a config dataclass, field name -> message ('' key for cross-field checks)."""
    problems: dict[str, str] = {}
    for f in dataclasses.fields(config):
        msg = check_field(f, getattr(config, f.name))
        if msg:
            problems[f.name] = msg
    extra = getattr(config, "check", None)
    if callable(extra) and not problems:
        for key, msg in (extra() or {}).items():
            problems[key] = msg
    return problems
