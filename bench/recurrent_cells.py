"""Training speed of the recurrent cells on CPU: the recorded path vs the fast path vs torch.nn modules.

For each cell (plain RNN tanh, the lecture's GRU, torch's GRU variant, LSTM) three models of the same size take
full Adam steps (forward, backward, update) on the same random batches (one-hot inputs, cross-entropy at every step):
  recorded  RecurrentNet.forward_recorded: the hand-written cell stepped in Python, every state and gate kept
  fast      RecurrentNet.forward (what training uses): torch's fused kernel on the hand-written cell's weights,
            or, for the lecture's GRU (reset before the product, which no torch kernel computes), a lean
            per-step loop of three fused ops (two addmm and a lerp)
  torch.nn  nn.RNN / nn.GRU / nn.LSTM + nn.Linear used directly (the reference; nn.GRU is torch's variant)
Rounds alternate between the models; medians of the rounds are reported. The last JSON figure,
gru_lecture_over_torch_variant, is the lecture GRU's fast path over torch's variant's fast path (steps/s).

Usage: python bench/recurrent_cells.py [--batch 64] [--hidden 128] [--length 100] [--steps 5] [--repeats 3]
                                       [--threads N] [--cells RNN,GRU,GRU-torch,LSTM]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch
import torch.nn.functional as F
from torch import nn

from explorer.models.recurrent_net import RecurrentNet

ROWS = {"RNN": ("RNN", True), "GRU": ("GRU", False), "GRU-torch": ("GRU", True), "LSTM": ("LSTM", True)}


class TorchNet(nn.Module):
    """One-hot inputs -> torch.nn.RNN / GRU / LSTM -> linear head, the same function family as RecurrentNet."""

    def __init__(self, cell: str, vocab: int, hidden: int) -> None:
        super().__init__()
        self.vocab = vocab
        self.rnn = {"RNN": nn.RNN, "GRU": nn.GRU, "LSTM": nn.LSTM}[cell](vocab, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(F.one_hot(x, self.vocab).float())[0])


class Trainer:
    """Adam steps of one model through one of its forward functions."""

    def __init__(self, model: nn.Module, forward) -> None:
        self.model, self.forward = model, forward
        self.opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        self.loss = float("nan")

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        logits = self.forward(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.loss = float(loss.detach())

    def rate(self, batches: list) -> float:
        t0 = time.perf_counter()
        for x, y in batches:
            self.step(x, y)
        return len(batches) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--length", type=int, default=100)
    ap.add_argument("--vocab", type=int, default=32)
    ap.add_argument("--steps", type=int, default=5, help="timed steps per round")
    ap.add_argument("--repeats", type=int, default=3, help="rounds per model, alternating; medians reported")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    ap.add_argument("--cells", default=",".join(ROWS), help="rows to measure: " + ", ".join(ROWS))
    args = ap.parse_args()
    rows = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = [c for c in rows if c not in ROWS]
    if unknown:
        ap.error(f"unknown cell {unknown[0]!r}; choose from {', '.join(ROWS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.randint(0, args.vocab, (args.batch, args.length), generator=gen),
                torch.randint(0, args.vocab, (args.batch, args.length), generator=gen)) for _ in range(args.steps)]
    trainers: dict[tuple[str, str], Trainer] = {}
    for row in rows:
        cell, reset_after = ROWS[row]
        ours = RecurrentNet(cell, args.vocab, args.hidden, args.vocab, reset_after=reset_after)
        recorded = RecurrentNet(cell, args.vocab, args.hidden, args.vocab, reset_after=reset_after)
        recorded.load_state_dict(ours.state_dict())
        trainers[(row, "recorded")] = Trainer(recorded, lambda x, m=recorded: m.forward_recorded(x)[0])
        trainers[(row, "fast")] = Trainer(ours, ours)
        ref = TorchNet(cell, args.vocab, args.hidden)
        trainers[(row, "torch.nn")] = Trainer(ref, ref)
    for trainer in trainers.values():  # warm-up: first-call costs stay untimed
        trainer.step(*batches[0])
    rates: dict[tuple[str, str], list[float]] = {key: [] for key in trainers}
    for _ in range(max(1, args.repeats)):
        for key, trainer in trainers.items():
            rates[key].append(trainer.rate(batches))
    med = {key: statistics.median(v) for key, v in rates.items()}
    print(f"batch {args.batch} x {args.length} steps, hidden {args.hidden}, vocab {args.vocab} (one-hot); "
          f"Adam steps (forward + backward + update); median of {args.repeats} alternating rounds of "
          f"{args.steps} steps; torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s)")
    print(f"{'cell':<10}{'recorded':>12}{'fast':>12}{'torch.nn':>12}{'fast/torch':>12}{'fast/recorded':>15}")
    figures = {"bench": "recurrent_cells", "threads": torch.get_num_threads(), "batch": args.batch,
               "hidden": args.hidden, "length": args.length}
    for row in rows:
        r, f, t = med[(row, "recorded")], med[(row, "fast")], med[(row, "torch.nn")]
        print(f"{row:<10}{r:>12.2f}{f:>12.2f}{t:>12.2f}{f / t:>12.2f}{f / r:>15.2f}")
        key = row.lower().replace("-", "_")
        figures.update({f"{key}_recorded_steps_per_s": round(r, 3), f"{key}_fast_steps_per_s": round(f, 3),
                        f"{key}_torch_steps_per_s": round(t, 3)})
    if "GRU" in rows and "GRU-torch" in rows:
        ratio = med[("GRU", "fast")] / med[("GRU-torch", "fast")]
        print(f"the lecture's GRU (fast path) runs at {ratio:.2f}x the speed of torch's variant (fast path)")
        figures["gru_lecture_over_torch_variant"] = round(ratio, 3)
    print("(steps/s; rounds: " + "; ".join(f"{c} {k} " + ", ".join(f"{v:.2f}" for v in rates[(c, k)])
                                          for c, k in rates) + ")")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
