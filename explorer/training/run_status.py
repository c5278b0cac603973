"""What a recorded run's status really is: a run whose writer has gone (killed, crashed, the machine restarted)
reads as interrupted after its last recorded step, not as running for ever. Cheap: a few stat calls, no Qt."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import socket
import time

STALE_AFTER_S = 120.0  # a writer on another machine that has not updated run.json for this long may have stopped
LIVE = ("running", "paused")


@dataclasses.dataclass(frozen=True)
class RunStatus:
    """The effective status of a run (finished, stopped, diverged, failed, running, paused or interrupted), a
    line that says it ("interrupted after step 7,432; 12 snapshots kept") and the steps it reached."""

    status: str
    text: str
    steps: int


def host_name() -> str:
    """This machine's name as run.json records it."""
    return socket.gethostname()


def now_iso() -> str:
    """The local time as run.json records it (ISO 8601, seconds)."""
    return _dt.datetime.now().isoformat(timespec="seconds")


def effective_status(info: dict, steps_seen: int, snapshots: int, now: float | None = None) -> RunStatus:
    """The run's status from run.json's `info`, the furthest step its files show and its snapshot count."""
    recorded = str(info.get("status", ""))
    steps = max(int(info.get("steps", 0) or 0), int(steps_seen))
    total = int(info.get("total_steps", 0) or 0)
    kept = f"{snapshots:,} snapshot{'' if snapshots == 1 else 's'} kept"
    of_total = f" of {total:,}" if total else ""
    if recorded not in LIVE:
        if recorded == "finished":
            return RunStatus(recorded, f"finished {steps:,} steps; {kept}", steps)
        if recorded == "interrupted":
            return RunStatus(recorded, f"interrupted after step {steps:,}; {kept}", steps)
        reason = _short(str(info.get("message", ""))) if recorded == "failed" else ""
        text = f"{recorded} at step {steps:,}{of_total}; {kept}" + (f" ({reason})" if reason else "")
        return RunStatus(recorded, text, steps)
    alive = writer_alive(info)
    if alive is None:  # written on another machine: only the age of its last update says anything
        age = _age_s(info.get("updated") or info.get("created"), now)
        host = str(info.get("host") or "another machine")
        if age is not None and age <= STALE_AFTER_S:
            return RunStatus(recorded, f"{recorded} on {host}, step {steps:,}{of_total}", steps)
        since = f"no update for {_duration(age)}" if age is not None else "no record of when it was updated"
        return RunStatus("interrupted", f"{since} — the writer on {host} may have stopped; step {steps:,}"
                                        f"{of_total}, {kept}", steps)
    if not alive:
        return RunStatus("interrupted", f"interrupted after step {steps:,}; {kept}", steps)
    if recorded == "paused":
        return RunStatus(recorded, f"paused at step {steps:,}{of_total}", steps)
    return RunStatus(recorded, f"running, step {steps:,}{of_total}", steps)


def writer_alive(info: dict) -> bool | None:
    """Whether the process that writes the run still runs: True or False on this machine, None on another
    (run.json records no host or pid for runs written before it did: their writer counts as gone)."""
    pid, host = info.get("pid"), info.get("host")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid < 1 or not isinstance(host, str):
        return False
    if host != host_name():
        return None
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    except (OSError, OverflowError):
        return False
    started = _process_start(pid)
    created = timestamp(info.get("created"))
    # a pid that now belongs to a process started after the run began is not its writer's
    return started is None or created is None or started <= created + 2.0


def _process_start(pid: int) -> float | None:
    """When process `pid` started (seconds since the epoch), where /proc tells it (Linux); else None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        ticks = int(fields[19])  # field 22 of stat: start time in clock ticks after boot
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def timestamp(text: object) -> float | None:
    """Seconds since the epoch of an ISO time in run.json, or None when it is not one."""
    if not isinstance(text, str):
        return None
    try:
        return _dt.datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def _age_s(text: object, now: float | None) -> float | None:
    stamp = timestamp(text)
    if stamp is None:
        return None
    return max(0.0, (time.time() if now is None else now) - stamp)


def _duration(seconds: float) -> str:
    """'45 s', '12 min', '3 h', '5 days'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _short(text: str, limit: int = 100) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
