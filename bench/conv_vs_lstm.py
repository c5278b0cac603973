"""Training speed of a causal dilated convolution stack vs an LSTM of about the same size, next-character task, CPU.

Both models see the same batches (random windows of the corpus) and take full Adam steps (forward, backward,
update; the loss is read back every step, which also waits for a GPU). The LSTM's width is chosen so that its
parameter count is closest to the convolution stack's. Rounds alternate between the models; medians are reported.

Usage: python bench/conv_vs_lstm.py [--corpus resources/corpora/austen-novels.txt.gz] [--seq-len 256]
                                    [--steps 20] [--repeats 3] [--threads N] [--device cpu]
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

from explorer.analysis.receptive_field import receptive_field_size
from explorer.data.corpus_spec import load_corpus_spec
from explorer.data.tasks import char_ids, char_lm_batch
from explorer.models.causal_conv import CausalConvStack, dilation_schedule


class CharLSTM(nn.Module):
    """Embedding -> one-layer LSTM -> linear head over the characters."""

    def __init__(self, vocab: int, hidden: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, vocab)."""
        return self.out(self.lstm(self.embedding(x))[0])


def n_params(model: nn.Module) -> int:
    """How many trainable numbers a model has."""
    return sum(p.numel() for p in model.parameters())


def matching_lstm(vocab: int, target: int) -> CharLSTM:
    """The CharLSTM whose parameter count is closest to `target`."""
    best = min(range(8, 1025), key=lambda h: abs(4 * h * (2 * h + 2) + 2 * vocab * h + vocab - target))
    return CharLSTM(vocab, best)


class Trainer:
    """Adam steps of one model on given batches: full forward, backward and update."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        self.loss = float("nan")

    def step(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """One training step on a batch."""
        logits = self.model.logits(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.loss = float(loss.detach())

    def rate(self, batches: list) -> float:
        """Steps per second over the batches."""
        t0 = time.perf_counter()
        for x, y in batches:
            self.step(x, y)
        return len(batches) / (time.perf_counter() - t0)


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(root, "resources", "corpora", "austen-novels.txt.gz"),
                    help="a text file (plain or gzip) or builtin:<name>")
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per round")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--layers", type=int, default=8, help="conv layers, dilations 1, 2, 4, ... (8 -> RF 256)")
    ap.add_argument("--repeats", type=int, default=3, help="timed rounds per model, alternating; medians reported")
    ap.add_argument("--device", default="cpu", help="cpu (the comparison asked for), or cuda to see the contrast")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    corpus = load_corpus_spec(args.corpus)
    tokenizer, ids = char_ids(corpus.text)
    gen = torch.Generator().manual_seed(0)
    ids = ids.to(args.device)
    batches = [char_lm_batch(ids, args.batch, args.seq_len, gen) for _ in range(args.steps)]
    dils = dilation_schedule("doubling", args.layers)
    conv = CausalConvStack(len(tokenizer), args.channels, args.layers, 2, dils, residual=True, gated=True,
                           out_dim=len(tokenizer))
    lstm = matching_lstm(len(tokenizer), n_params(conv))
    conv, lstm = conv.to(args.device), lstm.to(args.device)
    trainers = {"conv": Trainer(conv), "lstm": Trainer(lstm)}
    rates: dict[str, list[float]] = {"conv": [], "lstm": []}
    for trainer in trainers.values():  # warm-up: first-call costs (allocator, optimizer set-up) stay untimed
        for x, y in batches[:3]:
            trainer.step(x, y)
    for _ in range(max(1, args.repeats)):  # alternate, so that a busy moment of the machine hits both alike
        for name, trainer in trainers.items():
            rates[name].append(trainer.rate(batches))
    conv_rate, lstm_rate = statistics.median(rates["conv"]), statistics.median(rates["lstm"])
    conv_loss, lstm_loss = trainers["conv"].loss, trainers["lstm"].loss
    chars = args.batch * args.seq_len
    print(f"corpus {corpus.name}: {len(ids):,} characters, {len(tokenizer)} distinct; batch {args.batch} x "
          f"{args.seq_len} characters; median of {args.repeats} rounds of {args.steps} steps; "
          f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s), device {args.device}")
    print(f"{'model':<44}{'params':>10}{'steps/s':>10}{'chars/s':>12}{'last loss':>11}")
    rows = [
        (f"conv: {args.layers} layers k=2 d=1..{dils[-1]}, {args.channels} ch, RF {receptive_field_size(2, dils)}",
         n_params(conv), conv_rate, conv_loss),
        (f"LSTM: hidden {lstm.lstm.hidden_size}", n_params(lstm), lstm_rate, lstm_loss),
    ]
    for name, params, rate, loss in rows:
        print(f"{name:<44}{params:>10,}{rate:>10.2f}{rate * chars:>12,.0f}{loss:>11.3f}")
    print("rounds (steps/s): " + "; ".join(f"{k} " + ", ".join(f"{r:.2f}" for r in v) for k, v in rates.items()))
    print(f"conv / LSTM speed: {conv_rate / lstm_rate:.2f}x")
    print(json.dumps({"bench": "conv_vs_lstm", "device": args.device, "threads": torch.get_num_threads(),
                      "seq_len": args.seq_len, "batch": args.batch,
                      "conv_steps_per_s": round(conv_rate, 3), "lstm_steps_per_s": round(lstm_rate, 3),
                      "conv_params": n_params(conv), "lstm_params": n_params(lstm),
                      "ratio": round(conv_rate / lstm_rate, 3)}))


if __name__ == "__main__":
    main()
