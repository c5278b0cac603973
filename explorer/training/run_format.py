"""The files of a run folder read back and checked for shape and type: run.json, config.json, metrics.jsonl and
the snapshot file names. Anything wrong is a RunError whose one-line message names the file and the field."""
from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from pathlib import Path
from typing import Any

import numpy as np

from .params import check_field

RUN_FILE, CONFIG_FILE, METRICS_FILE, SNAPSHOT_DIR = "run.json", "config.json", "metrics.jsonl", "snapshots"
STATUSES = ("running", "paused", "finished", "stopped", "diverged", "failed", "interrupted")
_SNAPSHOT_NAME = re.compile(r"step_(\d{1,18})\.npz")
_BIG_INT = 2**63  # whole numbers beyond this fit no widget, tensor or array: a config holding one is damaged
_TAIL_BYTES = 65536  # the end of metrics.jsonl that a quick look reads

# run.json: field -> (expected type(s), what it should be, required, smallest value)
_INFO_FIELDS: dict[str, tuple[tuple[type, ...], str, bool, float | None]] = {
    "kind": ((str,), "text", True, None),
    "status": ((str,), "text", True, None),
    "title": ((str,), "text", False, None),
    "device": ((str,), "text", False, None),
    "created": ((str,), "text", False, None),
    "updated": ((str,), "text", False, None),
    "finished": ((str,), "text", False, None),
    "app_version": ((str,), "text", False, None),
    "message": ((str,), "text", False, None),
    "host": ((str,), "text", False, None),
    "steps": ((int,), "a whole number", False, 0),
    "total_steps": ((int,), "a whole number", False, 0),
    "snapshots": ((int,), "a whole number", False, 0),
    "pid": ((int,), "a whole number", False, 1),
    "elapsed_s": ((int, float), "a number", False, 0),
}


class RunError(ValueError):
    """A run folder that is missing or cannot be read; the message says which and why."""


def describe(value: Any) -> str:
    """A short, one-line description of a JSON value for a message: 'abc', 12, a list, an object, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = repr(value)
        return text if len(text) <= 40 else text[:36] + "…'"
    if isinstance(value, (int, float)):
        text = str(value)
        return text if len(text) <= 24 else text[:20] + "…"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def read_json_object(folder: Path, name: str, what: str) -> dict:
    """The JSON object in `folder`/`name` (RunError naming the file if it is missing, not JSON or not an object)."""
    path = folder / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{folder} is not a recorded run: {name} is missing.") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{name} in {folder} cannot be read: {_one_line(exc)}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise RunError(f"{name} in {folder} is damaged: it is not valid JSON ({_one_line(exc)})") from None
    if not isinstance(data, dict):
        raise RunError(f"{name} in {folder} is not {what} (expected a JSON object, found {describe(data)})")
    return data


def check_info(info: dict, folder: Path, kinds: typing.Container[str]) -> dict:
    """run.json's object checked field by field; a copy with steps and total_steps filled in."""
    for key, (kinds_ok, should, required, low) in _INFO_FIELDS.items():
        if key not in info:
            if required:
                raise RunError(f"run.json in {folder} has no '{key}'")
            continue
        value = info[key]
        if isinstance(value, bool) or not isinstance(value, kinds_ok):
            raise RunError(f"run.json in {folder}: '{key}' should be {should}, found {describe(value)}")
        if low is not None and not (value >= low and (isinstance(value, int) or math.isfinite(value))):
            raise RunError(f"run.json in {folder}: '{key}' should be at least {low:g}, found {describe(value)}")
    if info["kind"] not in kinds:
        raise RunError(f"run.json in {folder}: 'kind' is an unknown kind of job ({describe(info['kind'])})")
    if info["status"] not in STATUSES:
        raise RunError(f"run.json in {folder}: 'status' should be one of {', '.join(STATUSES)}, "
                       f"found {describe(info['status'])}")
    out = dict(info)
    out.setdefault("steps", 0)
    out.setdefault("total_steps", 0)
    return out


def config_from_data(cls: type, data: dict, folder: Path) -> Any:
    """The config dataclass `cls` from config.json's object: unknown keys ignored, missing ones default; a value
    of the wrong type or out of its field's range is a RunError naming the field."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        ok, value, should = _convert(hints.get(f.name, Any), data[f.name])
        if not ok:
            raise RunError(f"config.json in {folder}: '{f.name}' should be {should}, found {describe(data[f.name])}")
        problem = check_field(f, value)
        if problem:
            raise RunError(f"config.json in {folder}: '{f.name}' is out of range ({problem}), "
                           f"found {describe(data[f.name])}")
        values[f.name] = value
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise RunError(f"config.json in {folder} is damaged: {_one_line(exc)}") from None


def _convert(hint: Any, value: Any) -> tuple[bool, Any, str]:
    """(ok, value as the field holds it, what the field should be) for a JSON value and a field's type hint."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        shoulds = []
        for member in typing.get_args(hint):
            ok, out, should = _convert(member, value)
            if ok:
                return True, out, should
            shoulds.append(should)
        return False, value, " or ".join(shoulds)
    if hint is type(None):
        return value is None, value, "null"
    if hint is bool:
        return isinstance(value, bool), value, "true or false"
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and abs(value) < _BIG_INT
        return ok, value, "a whole number"
    if hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and _fits_float(value)
        return ok, float(value) if ok else value, "a number"
    if hint is str:
        return isinstance(value, str), value, "text"
    if origin is tuple:
        args = typing.get_args(hint)
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        if not isinstance(value, list):
            return False, value, f"a list of {_plural(item)}"
        converted = [_convert(item, v) for v in value]
        if not all(ok for ok, _, _ in converted):
            return False, value, f"a list of {_plural(item)}"
        return True, tuple(v for _, v, _ in converted), ""
    return True, value, ""  # a type this reader does not know: passed on as it is


def _plural(hint: Any) -> str:
    return {int: "whole numbers", float: "numbers", str: "texts", bool: "true/false values"}.get(hint, "values")


def _fits_float(value: float) -> bool:
    try:
        float(value)
    except OverflowError:
        return False
    return True


def read_metrics(folder: Path) -> dict[str, np.ndarray]:
    """metrics.jsonl as columns (NaN where a row lacks a key); a torn last line is skipped, anything else that is
    not a row of numbers is a RunError naming the line."""
    path = folder / METRICS_FILE
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise RunError(f"{METRICS_FILE} in {folder} cannot be read: {_one_line(exc)}") from None
    lines = text.splitlines()
    cols: dict[str, list[float]] = {}
    n = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            if not any(rest.strip() for rest in lines[number:]):
                continue  # a torn last line from an interrupted run
            raise RunError(f"{METRICS_FILE} in {folder}: line {number} is not valid JSON") from None
        values = _row_values(row)
        if values is None:
            raise RunError(f"{METRICS_FILE} in {folder}: line {number} is not a row of numbers "
                           f"(found {describe(row)})")
        for key, value in values.items():
            cols.setdefault(key, [math.nan] * n).append(value)
        n += 1
        for col in cols.values():
            if len(col) < n:
                col.append(math.nan)
    return {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}


def _row_values(row: Any) -> dict[str, float] | None:
    """A metrics row as {key: float}, or None when it is not an object of numbers and nulls."""
    if not isinstance(row, dict):
        return None
    out = {}
    for key, value in row.items():
        if value is None:
            out[key] = math.nan
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or not _fits_float(value):
            return None
        else:
            out[key] = float(value)
    return out


def metrics_tail(folder: Path) -> dict[str, float]:
    """The last finite value of every metric in the end of metrics.jsonl (reads at most 64 KiB; {} if none)."""
    try:
        with open(folder / METRICS_FILE, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - _TAIL_BYTES))
            tail = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return {}
    last: dict[str, float] = {}
    keys: set[str] = set()
    for line in reversed(tail.splitlines()):
        try:
            values = _row_values(json.loads(line)) or {}
        except (ValueError, RecursionError):
            continue
        for key, value in values.items():
            if key not in last and math.isfinite(value):
                last[key] = value
        keys.update(values)
        if keys and len(last) == len(keys):
            break  # every metric seen has its last value (rows carry every column: this is quick)
    return last


def snapshot_files(folder: Path) -> list[Path]:
    """The snapshot files of a run folder (snapshots/step_NNN.npz), in step order; other names are ignored."""
    try:
        entries = list((folder / SNAPSHOT_DIR).iterdir())
    except OSError:
        return []
    found = [(int(m.group(1)), p) for p in entries if (m := _SNAPSHOT_NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


def snapshot_step(path: Path) -> int:
    """The training step in a snapshot file's name."""
    return int(path.stem.split("_", 1)[1])


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
