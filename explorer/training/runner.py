"""Runs a job step by step as a generator of ticks: the engine's core loop, shared by the UI thread adapter,
the command line and the tests. No Qt here."""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Generator, Mapping

import numpy as np

from ..data.corpus import Corpus
from .control import JobControl
from .job import Diverged, Job, JobContext, Snapshot
from .params import validate_config
from .record import RunRecorder

RUNNING, PAUSED, FINISHED, STOPPED, DIVERGED, FAILED = (
    "running", "paused", "finished", "stopped", "diverged", "failed",
)
ENDED = (FINISHED, STOPPED, DIVERGED, FAILED)


@dataclasses.dataclass(frozen=True)
class Tick:
    """What the runner reports at a bounded rate: progress, the metric rows since the last tick, maybe a snapshot."""

    step: int
    total: int
    status: str
    metrics: dict[str, np.ndarray]
    snapshot: Snapshot | None = None
    throughput: float = 0.0
    unit: str = "steps/s"
    elapsed: float = 0.0
    message: str = ""


class _Rows:
    """Metric rows accumulated between two ticks."""

    def __init__(self) -> None:
        self.cols: dict[str, list[float]] = {}
        self.n = 0

    def add(self, step: int, metrics: dict[str, float]) -> None:
        self.cols.setdefault("step", [float("nan")] * self.n).append(float(step))
        for key, value in metrics.items():
            self.cols.setdefault(key, [float("nan")] * self.n).append(float(value))
        self.n += 1
        for col in self.cols.values():
            if len(col) < self.n:
                col.append(float("nan"))

    def take(self) -> dict[str, np.ndarray]:
        out = {k: np.asarray(v, dtype=np.float64) for k, v in self.cols.items()}
        self.cols, self.n = {}, 0
        return out


def divergence_message(step: int, loss: float) -> str:
    """The message shown when a loss stops being finite."""
    what = "nan (not a number)" if math.isnan(loss) else ("+inf" if loss > 0 else "-inf")
    return (
        f"Training diverged at step {step}: the loss became {what}. The job was stopped and the last good "
        "snapshot is kept. Try a smaller learning rate, a smaller weight scale, or gradient clipping."
    )


def _run_job(
    job: Job,
    control: JobControl | None = None,
    *,
    corpora: Mapping[str, Corpus] | None = None,
    recorder: RunRecorder | None = None,
    snapshot_interval: float = 0.05,
    snapshot_share: float = 0.1,
    idle_interval: float = 0.1,
    clock: Callable[[], float] = time.perf_counter,
) -> Generator[Tick | None, None, Tick]:
    """Check the job's config, set the job up and train it to the end, yielding a Tick about every
    `snapshot_interval` seconds.

    The job is set up with a JobContext holding `corpora` (corpora already in memory, by spec) and the control's
    stop as its `cancelled()`. A config that does not validate ends the job as failed, with the problems as its
    message, before anything is built.

    Snapshots that are costly are spaced further apart, so that taking them uses at most `snapshot_share` of
    the time (the training keeps ~90% of its speed whatever the job shows).

    While paused it yields None every `idle_interval` seconds (so a thread wrapper can check for abort).
    Returns (StopIteration.value) the final Tick, whose status is finished, stopped, diverged or failed.
    """
    control = control or JobControl()
    unit = job.throughput_unit
    t0 = clock()
    try:
        problems = validate_config(job.config)
        if problems:
            raise ValueError(" ".join(problems.values()))
        if recorder:
            recorder.check()  # a folder that holds a run is refused before anything is built
        given = corpora if isinstance(corpora, dict) else dict(corpora or {})  # a dict subclass may load lazily
        job.setup(JobContext(corpora=given, cancelled=lambda: control.stopped))
        snap = job.snapshot(0)
    except Exception as exc:  # noqa: BLE001 - any set-up failure becomes a message, never a traceback
        if control.stopped:
            final = Tick(0, 0, STOPPED, {}, message="Stopped while setting up.", unit=unit)
        else:
            final = Tick(0, 0, FAILED, {}, message=_failure_message(exc), unit=unit)
        if recorder:
            recorder.finish(final)
        return final
    total = int(job.total_steps)
    rows = _Rows()
    step = 0
    last_tick = last_rate_t = clock()
    last_rate_step = 0
    rate = 0.0
    snap_cost = 0.0
    status, message = RUNNING, ""
    if recorder:
        recorder.start(job)
        recorder.add(Tick(0, total, RUNNING, {}, snap, unit=unit), job)
    yield Tick(0, total, PAUSED if control.paused else RUNNING, {}, snap, unit=unit)
    was_paused = control.paused
    while step < total:
        if control.stopped:
            status, message = STOPPED, f"Stopped at step {step} of {total}."
            break
        if not control.permit(idle_interval):
            if control.stopped:
                continue
            if recorder:
                recorder.note(step, PAUSED)
            if not was_paused:
                was_paused = True
                yield Tick(step, total, PAUSED, rows.take(), None, 0.0, unit, clock() - t0)
            else:
                yield None
            last_rate_t, last_rate_step = clock(), step
            continue
        for name, value in control.take_live().items():
            job.set_live(name, value)
        t_step = clock()
        try:
            metrics = job.train_step(step)
        except Diverged as exc:
            status, message = DIVERGED, str(exc)
            break
        except Exception as exc:  # noqa: BLE001 - a failing step ends this job with a message, not the app
            status, message = FAILED, _failure_message(exc, step)
            break
        loss = float(metrics.get("loss", 0.0))
        if not math.isfinite(loss):
            status, message = DIVERGED, divergence_message(step + 1, loss)
            break
        step += 1
        rows.add(step, metrics)
        if control.speed:
            _sleep_until(t_step + 1.0 / control.speed, control, clock)
        now = clock()
        single = control.paused
        interval = max(snapshot_interval, job.min_snapshot_interval,
                       snap_cost / snapshot_share if snapshot_share > 0 else 0.0)
        if now - last_tick >= interval or step == total or single:
            if now > last_rate_t:
                inst = (step - last_rate_step) * job.items_per_step / (now - last_rate_t)
                rate = inst if rate == 0.0 else 0.7 * rate + 0.3 * inst
            last_rate_t, last_rate_step = now, step
            try:
                snap = job.snapshot(step)
            except Exception as exc:  # noqa: BLE001
                status, message = FAILED, _failure_message(exc, step)
                break
            cost = clock() - now
            snap_cost = cost if snap_cost == 0.0 else 0.8 * snap_cost + 0.2 * cost
            tick = Tick(step, total, PAUSED if single else RUNNING, rows.take(), snap, rate, unit, now - t0)
            if recorder:
                recorder.add(tick, job)
            was_paused = single
            last_tick = clock()
            yield tick
    if status == RUNNING:
        status, message = FINISHED, f"Finished {total} steps."
    final = Tick(step, total, status, rows.take(), None, rate, unit, clock() - t0, message)
    if recorder:
        recorder.finish(final, job if status in (FINISHED, STOPPED) else None)
    return final


def run_job(job: Job, control: JobControl | None = None, *, recorder: RunRecorder | None = None,
            **kwargs) -> Generator[Tick | None, None, Tick]:
    """Run `job` as `_run_job` does (its docstring says how); if an exception escapes it (Ctrl-C inside a step,
    the generator closed), the recorder marks the run stopped or interrupted first, so it never reads as running."""
    try:
        return (yield from _run_job(job, control, recorder=recorder, **kwargs))
    except BaseException as exc:
        if recorder:
            recorder.abandon(exc)
        raise


def _sleep_until(deadline: float, control: JobControl, clock: Callable[[], float]) -> None:
    while not control.stopped:
        left = deadline - clock()
        if left <= 0:
            return
        time.sleep(min(left, 0.05))


def _failure_message(exc: BaseException, step: int | None = None) -> str:
    where = f" at step {step}" if step is not None else ""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, ValueError):  # CorpusError and friends carry a message written for the user
        return f"The job could not run{where}: {text}"
    return f"The job failed{where}: {type(exc).__name__}: {text}"


def run_to_end(job: Job, control: JobControl | None = None, **kwargs) -> tuple[list[Tick], Tick]:
    """Run a job headless and return (ticks, final tick): for scripts, the CLI and tests."""
    ticks: list[Tick] = []
    gen = run_job(job, control, **kwargs)
    while True:
        try:
            tick = next(gen)
        except StopIteration as stop:
            return ticks, stop.value
        if tick is not None:
            ticks.append(tick)
