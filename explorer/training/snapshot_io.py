"""Snapshots to and from .npz bytes (no pickle), so a recorded run can be replayed."""
from __future__ import annotations

import dataclasses
import io
import json

import numpy as np

from .job import SNAPSHOT_TYPES, Snapshot


class SnapshotFormatError(ValueError):
    """A snapshot file that cannot be read back."""


def snapshot_to_bytes(snap: Snapshot) -> bytes:
    """Serialise a snapshot dataclass of arrays, numbers, strings and string tuples to .npz bytes."""
    arrays: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    for f in dataclasses.fields(snap):
        value = getattr(snap, f.name)
        if value is None:
            kinds[f.name] = "none"
            continue
        if isinstance(value, np.ndarray):
            kinds[f.name] = "array"
            arrays[f.name] = value
        elif isinstance(value, bool):
            kinds[f.name], arrays[f.name] = "bool", np.array(value)
        elif isinstance(value, int):
            kinds[f.name], arrays[f.name] = "int", np.array(value, dtype=np.int64)
        elif isinstance(value, float):
            kinds[f.name], arrays[f.name] = "float", np.array(value, dtype=np.float64)
        elif isinstance(value, str):
            kinds[f.name], arrays[f.name] = "str", np.array(value)
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            kinds[f.name], arrays[f.name] = "strs", np.array(value, dtype=str)
        else:
            raise TypeError(f"snapshot field {f.name!r} has a type that cannot be recorded: {type(value).__name__}")
    header = {"class": type(snap).__name__, "fields": kinds}
    buf = io.BytesIO()
    np.savez(buf, __header__=np.array(json.dumps(header)), **arrays)
    return buf.getvalue()


def snapshot_from_file(path) -> Snapshot:
    """Read a snapshot written by snapshot_to_bytes."""
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["__header__"]))
            cls = SNAPSHOT_TYPES.get(header["class"])
            if cls is None:
                raise SnapshotFormatError(f"unknown snapshot type {header['class']!r}")
            values = {}
            for name, kind in header["fields"].items():
                if kind == "none":
                    values[name] = None
                    continue
                arr = data[name]
                if kind == "array":
                    arr = np.ascontiguousarray(arr)
                    arr.setflags(write=False)
                    values[name] = arr
                elif kind == "strs":
                    values[name] = tuple(str(s) for s in arr)
                else:
                    values[name] = {"bool": bool, "int": int, "float": float, "str": str}[kind](arr[()])
            return cls(**values)
    except SnapshotFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - zip errors, missing keys, bad JSON: all mean "corrupt"
        raise SnapshotFormatError(f"{path}: not a readable snapshot ({type(exc).__name__}: {exc})") from None
