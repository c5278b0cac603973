"""Thread-safe commands from whoever drives a job (the UI, a test, the CLI) to the thread that runs it."""
from __future__ import annotations

import math
import threading


class JobControl:
    """Pause, resume, single steps, stop, learning rate and speed, read by the runner between steps."""

    def __init__(self, paused: bool = False) -> None:
        self._cond = threading.Condition()
        self._paused = paused
        self._steps_allowed = 0
        self._stopped = False
        self._live: dict[str, object] = {}
        self._speed: float | None = None

    # -- the driver's side -------------------------------------------------------------------------
    def pause(self) -> None:
        """Hold the job after the step in progress."""
        with self._cond:
            self._paused = True
            self._steps_allowed = 0
            self._cond.notify_all()

    def resume(self) -> None:
        """Let the job run freely again."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def step(self, n: int = 1) -> None:
        """Pause (if running) and allow exactly `n` more steps."""
        with self._cond:
            self._paused = True
            self._steps_allowed += max(0, int(n))
            self._cond.notify_all()

    def stop(self) -> None:
        """Ask the job to end after the step in progress."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def set_lr(self, lr: float) -> None:
        """Ask for a new learning rate (the latest request wins)."""
        self.set_live("lr", float(lr))

    def set_live(self, name: str, value: object) -> None:
        """Ask for a new value of a live setting (per name, the latest request wins)."""
        with self._cond:
            self._live[name] = value

    def set_speed(self, steps_per_second: float | None) -> None:
        """Limit the job to this many steps per second (None or <= 0: as fast as it can)."""
        with self._cond:
            self._speed = steps_per_second if steps_per_second and steps_per_second > 0 else None

    # -- the runner's side -------------------------------------------------------------------------
    @property
    def stopped(self) -> bool:
        return self._stopped

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def speed(self) -> float | None:
        return self._speed

    def take_lr(self) -> float | None:
        """The learning rate asked for since the last call, if any (other live values stay pending)."""
        with self._cond:
            return self._live.pop("lr", None)

    def take_live(self) -> dict[str, object]:
        """Every live value asked for since the last call, name -> latest value."""
        with self._cond:
            live, self._live = self._live, {}
            return live

    def permit(self, timeout: float) -> bool:
        """Wait up to `timeout` s for permission to run one step; True if the runner may step now."""
        with self._cond:
            if self._stopped:
                return False
            if not self._paused:
                return True
            if self._steps_allowed == 0:
                self._cond.wait(timeout)
            if self._stopped:
                return False
            if not self._paused:
                return True
            if self._steps_allowed > 0:
                self._steps_allowed -= 1
                return True
            return False

    def pending_steps(self) -> float:
        """How many steps may run without waiting (inf when running freely)."""
        with self._cond:
            return math.inf if not self._paused else self._steps_allowed
