"""A form's values as the app remembers them: plain JSON values out, and back in only when they still fit.

A stored value comes back only if it has its field's type, lies in its range (and in its editor's), and does
not make the form invalid where it was valid: anything else (a value from an older version, a field that no
longer exists) is ignored silently and the form keeps its default.
"""
from __future__ import annotations

import math
from typing import Any

from explorer.training.params import check_field, param_meta

from .param_form import ParamForm

_SKIP = object()  # a stored value that does not fit its field


def _fit(form: ParamForm, name: str, raw: Any) -> Any:
    """`raw` as a value of field `name`, or _SKIP when it has the wrong type or lies out of range."""
    field, kind, widget = form.field_editor(name)
    if kind == "choice":
        value = next((c for c in param_meta(field)["choices"] if type(c) is type(raw) and c == raw), _SKIP)
    elif kind == "bool":
        value = raw if type(raw) is bool else _SKIP
    elif kind == "int":
        ok = type(raw) is int and widget.minimum() <= raw <= widget.maximum()
        value = raw if ok else _SKIP
    elif kind == "float":
        ok = type(raw) in (int, float) and math.isfinite(raw)
        value = float(raw) if ok else _SKIP
    elif kind == "str":
        value = raw if type(raw) is str else _SKIP
    else:  # ints: a list of whole numbers
        ok = type(raw) in (list, tuple) and all(type(v) is int for v in raw)
        value = tuple(raw) if ok else _SKIP
    if value is _SKIP:
        return _SKIP
    if any(check_field(field, v) for v in (value if kind == "ints" else (value,))):
        return _SKIP
    return value


def stored_values(form: ParamForm, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """The remembered rows whose valid values differ from `defaults` (the form's own defaults when None), as
    JSON-ready values (lists for tuples)."""
    if defaults is None:
        defaults = default_values(form)
    typed = form.typed_values()
    return {name: list(v) if isinstance(v, tuple) else v for name in form.remembered_fields()
            if name in typed and (v := typed[name]) != defaults.get(name, _SKIP)}


def default_values(form: ParamForm) -> dict[str, Any]:
    """The config class's default of every remembered row."""
    config = form.config_cls()
    return {name: getattr(config, name) for name in form.remembered_fields()}


def restore_values(form: ParamForm, stored: Any) -> list[str]:
    """Put the stored values that still fit into the form, as if typed (valueChanged follows); return their names.

    Each value must fit its field; together they must not add a problem the form does not have now. When all
    of them together would, each is tried in turn and kept only if it adds none."""
    if not isinstance(stored, dict):
        return []
    fitting = {name: value for name in form.remembered_fields() if name in stored
               and (value := _fit(form, name, stored[name])) is not _SKIP}
    typed = form.typed_values()
    fitting = {name: value for name, value in fitting.items() if typed.get(name, _SKIP) != value}
    if not fitting:
        return []
    before = form.problems_with({})
    if not form.problems_with(fitting) <= before:
        kept: dict[str, Any] = {}
        for name, value in fitting.items():
            if form.problems_with({**kept, name: value}) <= before:
                kept[name] = value
        fitting = kept
    if fitting:
        form.set_fields(**fitting)
    return list(fitting)
