"""Training vs generation of a GPT: one parallel training step against token-by-token generation, by length.

For each sequence length T: the time of one training step over a (batch, T) input (forward over all positions in
one pass, cross-entropy, backward, AdamW step), and the time to generate T tokens one after another from a
one-token prompt, batch 1, with the key/value cache and without it (each step a full forward over the whole
prefix). Everything goes through explorer.analysis.generation_cost.measure_train_vs_generate, the code the GPT
tab runs, which first checks that the cache reproduces the full forward pass. Within a length the three
measurements alternate (a warm-up of each, then `repeats` rounds); the whole sweep is run `rounds` times, the
lengths in turn, and the medians over all runs are reported. The model is untrained (the cost does not depend on
the weights).

Usage: python bench/gpt_generation.py [--device cpu|cuda] [--lengths 32,64,128,256,512] [--layers 4] [--heads 4]
                                      [--width 128] [--context 512] [--vocab 80] [--batch 8] [--repeats 3]
                                      [--rounds 2] [--threads N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch

from explorer.analysis.generation_cost import measure_train_vs_generate
from explorer.device import describe_device, resolve_device, training_threads
from explorer.models.transformer import GPT, GPTConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    ap.add_argument("--lengths", default="32,64,128,256,512", help="sequence lengths T, at most the context")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--vocab", type=int, default=80, help="vocabulary size (about the characters of a novel)")
    ap.add_argument("--batch", type=int, default=8, help="sequences per training step")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per length and round (after a warm-up)")
    ap.add_argument("--rounds", type=int, default=2, help="sweeps over the lengths; medians over all runs")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = the app's choice: cores - 1)")
    args = ap.parse_args()
    device = resolve_device(args.device)
    torch.set_num_threads(args.threads or training_threads())
    lengths = [int(n) for n in args.lengths.split(",")]
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=args.vocab, context=args.context, layers=args.layers, heads=args.heads,
                          width=args.width))
    n_params = sum(p.numel() for p in model.parameters())
    runs: dict[int, dict[str, list[float]]] = {n: {"train": [], "cached": [], "uncached": []} for n in lengths}
    diffs: dict[int, float] = {}
    for _ in range(max(1, args.rounds)):
        rows = measure_train_vs_generate(model, lengths, batch=args.batch, device=device, repeats=args.repeats)
        for r in rows:
            runs[r.length]["train"].append(r.train_step_s)
            runs[r.length]["cached"].append(r.generate_cached_s)
            runs[r.length]["uncached"].append(r.generate_uncached_s)
            diffs[r.length] = max(diffs.get(r.length, 0.0), r.max_diff)
    print(f"GPT {args.layers} layers, {args.heads} heads, width {args.width}, context {args.context}, vocabulary "
          f"{args.vocab}, {n_params:,} parameters; {describe_device(device)}; torch {torch.__version__}; "
          f"train step over batch {args.batch} x T; generation batch 1 from a one-token prompt; medians of "
          f"{args.rounds} round(s) x {args.repeats} run(s)")
    print(f"{'T':>6}{'train step':>12}{'train tok/s':>13}{'gen cached':>12}{'cached tok/s':>14}{'gen uncached':>14}"
          f"{'uncached tok/s':>16}{'cache speed-up':>16}{'gen/train':>11}{'max diff':>10}")
    figures = {"bench": "gpt_generation", "device": device, "threads": torch.get_num_threads(), "params": n_params,
               "batch": args.batch, "rows": []}
    for n in lengths:
        train = statistics.median(runs[n]["train"])
        cached = statistics.median(runs[n]["cached"])
        uncached = statistics.median(runs[n]["uncached"])
        print(f"{n:>6}{train * 1e3:>10.1f}ms{args.batch * n / train:>13,.0f}{cached * 1e3:>10.1f}ms{n / cached:>14,.0f}"
              f"{uncached * 1e3:>12.1f}ms{n / uncached:>16,.0f}{uncached / cached:>15.2f}x{cached / train:>10.2f}x"
              f"{diffs[n]:>10.1e}")
        figures["rows"].append({"length": n, "train_step_ms": round(train * 1e3, 2),
                                "cached_tokens_per_s": round(n / cached),
                                "uncached_tokens_per_s": round(n / uncached),
                                "cache_speedup": round(uncached / cached, 2),
                                "gen_over_train": round(cached / train, 2)})
    print("cache speed-up: uncached / cached generation time; gen/train: generating T tokens with the cache, in "
          "training steps over batch x T tokens")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
