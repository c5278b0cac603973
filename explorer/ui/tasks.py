"""Background work that is not a training job (measurements, projections, probes, reruns): one abstraction.

Each request has a key; the newest request for a key wins (an older one still running is told to cancel and its
result is dropped; one waiting is replaced). Work runs on the runner's own thread pool, so that waiting for it
never waits for anyone else's work, and the UI thread never blocks on it. Errors come back as messages.
"""
from __future__ import annotations

import contextlib
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class Cancelled(Exception):
    """Raised inside a task that noticed `cancelled()` (optional: returning early works as well)."""


@dataclass
class _Request:
    key: str
    serial: int
    fn: Callable[..., Any]
    args: tuple
    kwargs: dict
    on_done: Callable[[Any], None] | None
    on_error: Callable[[str], None] | None
    cancel: threading.Event = field(default_factory=threading.Event)


class _Relay(QObject):
    finished = Signal(object, object, object)  # request, result, error message (or None)


class _Job(QRunnable):
    def __init__(self, request: _Request, relay: _Relay) -> None:
        super().__init__()
        self.request, self.relay = request, relay
        self.setAutoDelete(True)

    def run(self) -> None:
        r = self.request
        try:
            result, error = r.fn(*r.args, **r.kwargs), None
        except Cancelled:
            result, error = None, None
            r.cancel.set()
        except Exception as exc:  # noqa: BLE001 - reported to the tab as a message
            result, error = None, f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(RuntimeError):  # RuntimeError: the runner is gone (window closed)
            self.relay.finished.emit(r, result, error)


class TaskRunner(QObject):
    """Runs keyed background tasks on its own pool; newest request per key wins; results on the UI thread."""

    done = Signal(str, object)  # key, result
    failed = Signal(str, str)  # key, message
    busyChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None, threads: int = 1) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max(1, threads))
        self._relay = _Relay(self)
        self._relay.finished.connect(self._finished)
        self._running: dict[str, _Request] = {}
        self._waiting: dict[str, _Request] = {}
        self._serial = 0

    def submit(self, key: str, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[str], None] | None = None, **kwargs: Any) -> None:
        """Run fn(*args, **kwargs) in the background; if fn takes `cancelled`, it gets a callable to poll."""
        self._serial += 1
        request = _Request(key, self._serial, fn, args, dict(kwargs), on_done, on_error)
        try:
            takes_cancel = "cancelled" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            takes_cancel = False
        if takes_cancel:
            request.kwargs["cancelled"] = request.cancel.is_set
        was_busy = self.busy()
        running = self._running.get(key)
        if running is not None:
            running.cancel.set()  # it will finish (or notice); its result is dropped
            self._waiting[key] = request
        else:
            self._start(request)
        if not was_busy:
            self.busyChanged.emit(True)

    def _start(self, request: _Request) -> None:
        self._running[request.key] = request
        self.pool.start(_Job(request, self._relay))

    def _finished(self, request: _Request, result: Any, error: str | None) -> None:
        if self._running.get(request.key) is request:
            del self._running[request.key]
        stale = request.cancel.is_set()
        if not stale:
            if error is None:
                if request.on_done is not None:
                    request.on_done(result)
                self.done.emit(request.key, result)
            else:
                if request.on_error is not None:
                    request.on_error(error)
                self.failed.emit(request.key, error)
        waiting = self._waiting.pop(request.key, None)
        if waiting is not None:
            self._start(waiting)
        if not self.busy():
            self.busyChanged.emit(False)

    def cancel(self, key: str | None = None) -> None:
        """Drop waiting requests and the results of running ones (all keys, or one)."""
        for table in (self._running, self._waiting):
            for k, request in list(table.items()):
                if key is None or k == key:
                    request.cancel.set()
        for k in [k for k in self._waiting if key is None or k == key]:
            del self._waiting[k]

    def busy(self, key: str | None = None) -> bool:
        """True while a task (for `key`, or any) is running or waiting."""
        if key is None:
            return bool(self._running or self._waiting)
        return key in self._running or key in self._waiting

    def shutdown(self, wait_ms: int = 3000) -> bool:
        """Cancel everything and wait (bounded) for running tasks of this runner only; True if all ended."""
        self.cancel()
        return self.pool.waitForDone(wait_ms)
