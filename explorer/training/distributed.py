"""Data-parallel training under torchrun: PyTorch's own torch.distributed, with DistributedDataParallel.

`torchrun --nproc_per_node=N main.py train gpt_pretrain ...` starts N processes and gives each the environment
variables RANK, WORLD_SIZE and LOCAL_RANK (and where to meet: MASTER_ADDR, MASTER_PORT). Every process builds the
same model from the same seed, draws the same global batch and trains on its own slice of it; DDP averages the
gradients, which for equal slices is the gradient of the global batch's mean loss, so that the batch size and the
learning rate mean what they mean in one process. Rank 0 alone records the run and prints progress. No Qt here.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator

_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


class DistributedError(ValueError):
    """Data-parallel training cannot start (a one-line message for the user)."""


@dataclasses.dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a data-parallel run: its rank among world_size, the device it trains on."""

    rank: int
    world_size: int
    local_rank: int
    backend: str = "gloo"
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, batch_size: int) -> slice:
        """The rows of a global batch of `batch_size` that this rank trains on (batch_size divisible by world_size)."""
        share = batch_size // self.world_size
        return slice(self.rank * share, (self.rank + 1) * share)


def launched() -> bool:
    """True when torchrun (or another launcher that sets RANK, WORLD_SIZE and LOCAL_RANK) started this process."""
    return all(name in os.environ for name in _ENV)


def env_info(device: str = "cpu") -> DistInfo:
    """The DistInfo that torchrun's environment variables describe, before any process group exists: gloo on the
    CPU, NCCL on CUDA with this process on cuda:LOCAL_RANK (DistributedError for another device or bad values)."""
    try:
        rank, world, local = (int(os.environ[name]) for name in _ENV)
    except (KeyError, ValueError):
        raise DistributedError("torchrun's RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers") from None
    if not (0 <= rank < world and local >= 0):
        raise DistributedError(f"RANK {rank} does not fit WORLD_SIZE {world}")
    kind = device.split(":")[0]
    if kind == "cpu":
        return DistInfo(rank, world, local, "gloo", "cpu")
    if kind == "cuda":
        return DistInfo(rank, world, local, "nccl", f"cuda:{local}")
    raise DistributedError(f"data-parallel training runs on the CPU (gloo) or CUDA (NCCL), not on {device}; "
                           "choose --device cpu or cuda")


def check_batch(batch_size: int, world_size: int) -> str | None:
    """Why a global batch of `batch_size` cannot be split evenly over `world_size` processes (None if it can)."""
    if batch_size % world_size:
        return (f"batch_size {batch_size} does not divide evenly over {world_size} processes; choose a multiple "
                f"of {world_size} (e.g. --set batch_size={max(world_size, batch_size // world_size * world_size)})")
    return None


def init_from_env(device: str = "cpu") -> DistInfo | None:
    """Join torchrun's process group (None when not launched by torchrun): gloo for the CPU, NCCL for CUDA, this
    process on cuda:LOCAL_RANK. Rendezvous follows MASTER_ADDR/MASTER_PORT, as torchrun sets them."""
    if not launched():
        return None
    import torch
    import torch.distributed as dist

    info = env_info(device)
    if info.backend == "nccl":
        if info.local_rank >= torch.cuda.device_count():
            raise DistributedError(f"LOCAL_RANK {info.local_rank} has no GPU: this machine has "
                                   f"{torch.cuda.device_count()}; start at most that many processes per node")
        torch.cuda.set_device(info.local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend=info.backend, rank=info.rank, world_size=info.world_size)
    return info


def from_launcher(job_cls: type, config, device: str) -> DistInfo | None:
    """None when torchrun did not start this process; else the DistInfo its environment describes (the process
    group not joined yet), or DistributedError with one line when this job or config cannot train data-parallel."""
    if not launched():
        return None
    if not hasattr(job_cls, "use_data_parallel"):
        raise DistributedError(f"the {job_cls.kind} job does not train data-parallel under torchrun; only gpt and "
                               "gpt_pretrain do (run it with python main.py train instead)")
    info = env_info(device)
    problem = check_batch(int(config.batch_size), info.world_size)
    if problem:
        raise DistributedError(problem)
    return info


def make_job(job_cls: type, config, device: str, info: DistInfo | None):
    """The job of the command line: plain when `info` is None; else, after joining the process group, the job on
    this rank's device set to train data-parallel. A rank other than 0 has its stdout sent to the null device
    from here on (it prints nothing but errors, on stderr)."""
    if info is None:
        return job_cls(config, device)
    try:
        init_from_env(device)
    except (RuntimeError, ValueError) as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise DistributedError(f"could not join torchrun's process group: {text}") from None
    if not info.is_main:
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the rest of the process
    job = job_cls(config, info.device)
    job.use_data_parallel(info)
    return job


def is_main() -> bool:
    """True in rank 0 of a data-parallel run, and in a process that is not part of one."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def shutdown() -> None:
    """Leave the process group (if this process is in one)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap(model, info: DistInfo):
    """`model` inside DistributedDataParallel (its backward averages the gradients over the ranks)."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [info.local_rank] if info.backend == "nccl" else None
    return DistributedDataParallel(model, device_ids=ids)


class StopVote:
    """Ctrl-C in a data-parallel run: every rank stops after the same step. A rank that stopped on its own would
    leave the others waiting in their next all-reduce, so a request is only voted (`request`, from the signal
    handler), carried by the step's loss all-reduce (global_mean), and every rank calls `stop` once any voted."""

    def __init__(self, stop: Callable[[], None]) -> None:
        self.wanted = False
        self.stop = stop

    def request(self) -> None:
        self.wanted = True


def stop_for(job, control) -> Callable[[], None]:
    """What Ctrl-C calls to stop `job` run by `control`: control.stop, or for a data-parallel job a StopVote's
    request (set on the job as `stop_vote`)."""
    if getattr(job, "data_parallel", None) is None:
        return control.stop
    job.stop_vote = StopVote(control.stop)
    return job.stop_vote.request


def global_mean(value, info: DistInfo, vote: StopVote | None = None) -> float:
    """The mean over the ranks of a scalar tensor (each rank's loss on its slice: the global batch's loss); the
    same all-reduce counts the ranks that want to stop, and if any does, every rank's `vote.stop()` is called."""
    import torch
    import torch.distributed as dist

    wanted = float(vote is not None and vote.wanted)
    total = torch.stack([value.detach().reshape(()).float(), value.new_tensor(wanted, dtype=torch.float32)])
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    loss, stops = total.tolist()
    if stops > 0 and vote is not None:
        vote.stop()
    return loss / info.world_size


@contextlib.contextmanager
def quiet(on: bool = True) -> Iterator[None]:
    """Send sys.stdout and sys.stderr to the null device inside the block (a non-main rank's progress, corpus
    notes and bars), restoring both after it so that its errors are still printed."""
    if not on:
        yield
        return
    saved = sys.stdout, sys.stderr
    with open(os.devnull, "w", encoding="utf-8") as null:
        sys.stdout = sys.stderr = null
        try:
            yield
        finally:
            sys.stdout, sys.stderr = saved
