"""Data-parallel pre-training under torchrun (explorer.training.distributed): two gloo processes on the CPU train
what one process trains, rank 0 alone records, the other rank says nothing; what cannot run data-parallel is
refused with one line."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from explorer.cli import main
from explorer.training.distributed import DistInfo, DistributedError, check_batch, env_info, from_launcher, quiet

ROOT = Path(__file__).resolve().parent.parent
TRAIN = ["--device", "cpu", "train", "gpt_pretrain", "--set", "preset=tiny", "--set", "steps=4",
         "--set", "batch_size=8", "--set", "context=32"]


def _corpus(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    words = ["the", "sense", "and", "sensibility", "of", "elinor", "marianne", "dashwood", "was", "her"]
    path = tmp_path / "corpus.txt"
    path.write_text(" ".join(rng.choice(words, 6000)) + "\n", encoding="utf-8")
    return path


def _losses(folder: Path) -> np.ndarray:
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return np.array([[r["step"], r["loss"]] for r in rows], dtype=np.float64)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    return env


def test_two_processes_train_what_one_process_trains(tmp_path):
    corpus = _corpus(tmp_path)
    two, one, logs = tmp_path / "two", tmp_path / "one", tmp_path / "logs"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "--log-dir", str(logs), "--redirects", "3", "main.py", *TRAIN, "--corpus", str(corpus), "--record", str(two)]
    done = subprocess.run(cmd, cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    single = subprocess.run([sys.executable, "main.py", *TRAIN, "--corpus", str(corpus), "--record", str(one)],
                            cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60)
    assert single.returncode == 0, single.stderr[-2000:]

    assert [p.name for p in tmp_path.iterdir() if (p / "run.json").exists()] in (["two", "one"], ["one", "two"])
    info = json.loads((two / "run.json").read_text())
    assert info["world_size"] == 2 and info["status"] == "finished" and info["steps"] == 4
    assert "world_size" not in json.loads((one / "run.json").read_text())
    parallel, alone = _losses(two), _losses(one)
    assert parallel[:, 0].tolist() == alone[:, 0].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(parallel[:, 1], alone[:, 1], rtol=1e-4)
    summary = subprocess.run([sys.executable, "main.py", "runs", str(two)], cwd=ROOT, env=_env(),
                             capture_output=True, text=True, timeout=60)
    assert "x 2 processes (data-parallel)" in summary.stdout
    assert alone[-1, 1] < alone[0, 1]  # it learned something, so equal losses mean equal updates

    rank_logs = {p.parent.name + "/" + p.name: p.read_text() for p in logs.rglob("*.log")}
    assert rank_logs["1/stdout.log"] == "" and rank_logs["1/stderr.log"] == ""  # rank 1 prints nothing
    assert "data-parallel over 2 processes" in rank_logs["0/stdout.log"]
    assert "Finished 4 steps." in rank_logs["0/stdout.log"]


def _torchrun_env(monkeypatch, rank: int = 0, world: int = 2) -> None:
    monkeypatch.setenv("RANK", str(rank))
    monkeypatch.setenv("WORLD_SIZE", str(world))
    monkeypatch.setenv("LOCAL_RANK", str(rank))


def test_a_batch_that_does_not_split_evenly_is_refused_with_one_line(monkeypatch, tmp_path, capsys):
    _torchrun_env(monkeypatch, world=3)
    code = main(["--device", "cpu", "train", "gpt_pretrain", "--set", "batch_size=32", "--record", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "batch_size 32 does not divide evenly over 3 processes" in err and "batch_size=30" in err
    assert not (tmp_path / "r").exists()


def test_other_jobs_under_torchrun_are_refused_with_one_line(monkeypatch, capsys):
    _torchrun_env(monkeypatch)
    code = main(["--device", "cpu", "train", "word2vec", "--no-record"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "word2vec job does not train data-parallel" in err and "gpt_pretrain" in err


def test_ranks_shard_the_global_batch_and_pick_their_backend(monkeypatch):
    _torchrun_env(monkeypatch, rank=1, world=4)
    info = env_info("cpu")
    assert (info.rank, info.world_size, info.backend, info.device, info.is_main) == (1, 4, "gloo", "cpu", False)
    assert info.shard(32) == slice(8, 16)
    rows = [i for r in range(4) for i in list(range(32))[DistInfo(r, 4, r).shard(32)]]
    assert rows == list(range(32))  # the slices tile the global batch
    cuda = env_info("cuda")
    assert (cuda.backend, cuda.device) == ("nccl", "cuda:1")
    with pytest.raises(DistributedError, match="CPU \\(gloo\\) or CUDA"):
        env_info("mps")
    assert check_batch(12, 4) is None and "multiple of 5" in check_batch(12, 5)


def test_not_under_torchrun_nothing_changes(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    from explorer.training.jobs.pretrain_job import PretrainConfig, PretrainJob

    assert from_launcher(PretrainJob, PretrainConfig(batch_size=7), "cpu") is None


def test_quiet_silences_a_rank_and_restores_its_streams(capsys):
    with quiet(True):
        print("progress")
        print("a bar", file=sys.stderr)
    with quiet(False):
        print("rank 0 progress")
    print("an error", file=sys.stderr)
    out, err = capsys.readouterr()
    assert out == "rank 0 progress\n" and err == "an error\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_one_rank_group_trains_the_same_model_as_no_group(monkeypatch):
    """In-process, a process group of one: DDP around the model changes nothing of the training."""
    import torch.distributed as dist

    from explorer.training import distributed
    from explorer.training.control import JobControl
    from explorer.training.job import JobContext
    from explorer.training.jobs.gpt_job import GptConfig, GptJob

    _torchrun_env(monkeypatch, world=1)
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    cfg = GptConfig(task="copy", layers=1, heads=1, width=16, context=8, batch_size=4, steps=3)
    plain = GptJob(cfg, "cpu")
    plain.setup(JobContext())
    losses = [plain.train_step(i)["loss"] for i in range(3)]
    try:
        info = distributed.from_launcher(GptJob, cfg, "cpu")
        job = distributed.make_job(GptJob, cfg, "cpu", info)
        assert dist.is_initialized() and distributed.is_main() and job.world_size == 1
        job.setup(JobContext())
        assert job._net is not job.model  # trained through DistributedDataParallel
        np.testing.assert_allclose([job.train_step(i)["loss"] for i in range(3)], losses, rtol=1e-5)
        control = JobControl()
        stop = distributed.stop_for(job, control)  # Ctrl-C's: a vote the next step's all-reduce carries
        stop()
        assert not control.stopped
        job.train_step(3)
        assert control.stopped
    finally:
        distributed.shutdown()
    assert not dist.is_initialized() and distributed.is_main()


@pytest.mark.slow
def test_ctrl_c_in_one_rank_stops_every_rank_after_the_same_step(tmp_path):
    """SIGINT to rank 1 alone: its vote reaches rank 0 in the step's all-reduce, both stop after that step (had
    rank 1 stopped alone, rank 0 would wait in its next all-reduce and fail), and rank 0 records the run stopped."""
    folder = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "main.py",
           *TRAIN, "--set", "steps=100000", "--corpus", str(_corpus(tmp_path)), "--record", str(folder)]
    launcher = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (folder / "metrics.jsonl").exists() or not (folder / "metrics.jsonl").read_text().strip():
            assert time.monotonic() < deadline and launcher.poll() is None, "training did not start"
            time.sleep(0.2)
        ranks = {}
        for pid in subprocess.run(["pgrep", "-P", str(launcher.pid)], capture_output=True, text=True).stdout.split():
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            ranks.update({int(e[5:]): int(pid) for e in env if e.startswith(b"RANK=")})
        os.kill(ranks[1], signal.SIGINT)
        launcher.communicate(timeout=60)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.communicate()
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == "stopped" and 0 < info["steps"] < 100000, info
    assert info["message"] == f"Stopped at step {info['steps']} of 100000."


def test_a_rank_other_than_0_takes_one_snapshot_only():
    """Rank 0 alone records and prints: another rank's snapshots would only make every rank wait for it."""
    from explorer.training.job import JobContext
    from explorer.training.jobs.gpt_job import GptConfig, GptJob

    cfg = GptConfig(task="copy", layers=1, heads=1, width=16, context=8, batch_size=4, steps=3)
    main_rank, other = GptJob(cfg, "cpu"), GptJob(cfg, "cpu")
    for job in (main_rank, other):
        job.setup(JobContext())
        job.data_parallel = DistInfo(0 if job is main_rank else 1, 2, 0)
    assert [main_rank.snapshot(s).step for s in (1, 2)] == [1, 2]
    first = other.snapshot(1)
    assert other.snapshot(2) is first and first.step == 1
