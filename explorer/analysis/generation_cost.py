"""What training and generation of a GPT cost: one parallel training step against token-by-token generation.

Training scores every position of a sequence in one pass: the causal mask lets position t see only positions
up to t, so the T next-token predictions of a (batch, T) input come out of a single forward pass, followed by one
backward pass and one optimizer step. Generation cannot do that: token t+1 depends on the token chosen at t, so
T tokens take T forward passes one after another. With the key/value cache (explorer.models.transformer.KVCache)
each of those passes computes only the new position against the stored keys and values; without it each pass
recomputes the whole prefix, so the work grows with T².

Both are measured on deep copies of the caller's model, which is never changed:

- train step: forward + cross-entropy over all (batch, T) positions + backward + AdamW step (the copy's
  parameters), random tokens;
- generation: explorer.models.transformer.generate from a one-token prompt, batch 1, T tokens sampled one after
  another, with the cache and without it (each step a full forward over the whole prefix).

Each timing is the median of `repeats` runs after one untimed warm-up run per length, with the GPU synchronized
before the clock is read (CUDA, MPS). Before timing anything the cache is checked: one full forward over T random
tokens must give the same logits as T incremental forwards with the cache.

Tolerance of that check: the two paths add the same products in a different order (the fused attention kernel
against attention as written, a T-row matrix product against one-row ones), so they agree only up to float32
rounding, which is relative to the size of the numbers. Measured on CPU over full contexts of up to 512: about
4 float32 epsilons (eps = 1.2e-7) times the largest |logit|, up to 6e-6 absolute, for models of 2 to 6 layers,
untrained or trained on text; ~300 eps for a deliberately ill-conditioned 6-layer, width-384 model (weights ten
times their initial size). The check allows RELATIVE_TOLERANCE = 1e-4 times max(1, largest |logit|): above
every rounding difference seen, and still a hundred times below what a wrong cache gives (a forgotten key, a
position off by one or a missing causal mask change even an untrained model's logits by 2e-2 or more). The
tests hold small models, whose logits are below 1, to the issue's stricter absolute 1e-5.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import statistics
import time
from collections.abc import Callable, Sequence

RELATIVE_TOLERANCE = 1e-4  # allowed |full - incremental| per unit of max(1, largest |logit|): float32 rounding
TRAIN_LR = 1e-4  # AdamW's step size in the timed training steps (the value does not change the cost)


@dataclasses.dataclass(frozen=True)
class GenCostRow:
    """One sequence length T: median seconds of a training step over (batch, T) and of generating T tokens.

    train_step_s: forward + backward + AdamW step over (batch, T), every position scored in one pass.
    generate_cached_s / generate_uncached_s: T tokens one after another, batch 1, with the key/value cache /
    with a full forward over the whole prefix at each step. max_diff: largest |logit| difference between one
    full forward over T tokens and T incremental forwards with the cache.
    """

    length: int
    train_step_s: float
    generate_cached_s: float
    generate_uncached_s: float
    max_diff: float

    @property
    def cached_tokens_per_s(self) -> float:
        return self.length / self.generate_cached_s

    @property
    def uncached_tokens_per_s(self) -> float:
        return self.length / self.generate_uncached_s


class _EvalMode:
    """Puts a model in eval mode and gives every module back its own training flag afterwards."""

    def __init__(self, model) -> None:
        self.model = model

    def __enter__(self):
        self.flags = [(m, m.training) for m in self.model.modules()]
        self.model.eval()
        return self.model

    def __exit__(self, *exc) -> None:
        for m, flag in self.flags:
            m.training = flag


def _model_device(model):
    import torch

    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def _equivalence(model, length: int, seed: int = 0) -> tuple[float, float]:
    """(max |full - incremental| logits, largest |logit| of the full forward) over `length` random tokens."""
    import torch

    length = int(length)
    if length < 1:
        raise ValueError("The equivalence check needs a length of at least 1.")
    dev = _model_device(model)
    gen = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, model.cfg.vocab_size, (1, length), generator=gen).to(dev)
    with _EvalMode(model), torch.no_grad():
        full = model(ids)
        cache, steps = None, []
        for t in range(length):
            logits, cache = model.forward_incremental(ids[:, t:t + 1], cache)
            steps.append(logits)
        incremental = torch.cat(steps, dim=1)
    return float((full - incremental).abs().max()), float(full.abs().max())


def cache_equivalence(model, length: int, seed: int = 0) -> float:
    """Max |logits of one full forward over `length` random tokens - logits of `length` incremental
    GPT.forward_incremental calls with the key/value cache| (eval mode, no gradients; the model's own training
    flags are given back). Raises ValueError for a model that cannot decode incrementally (not causal, low-rank)."""
    return _equivalence(model, length, seed)[0]


def allowed_difference(largest_logit: float) -> float:
    """The largest |full - incremental| difference that float32 rounding explains for logits of this size."""
    return RELATIVE_TOLERANCE * max(1.0, abs(float(largest_logit)))


def measure_train_vs_generate(model, lengths: Sequence[int], batch: int = 8, device: str = "cpu",
                              repeats: int = 3, progress: Callable[[int, int], None] | None = None,
                              cancelled: Callable[[], bool] | None = None, seed: int = 0) -> list[GenCostRow]:
    """Rows of (T, train step, cached generation, uncached generation seconds, cache difference), shortest first.

    Runs on deep copies of `model` moved to `device` (the caller's model, its parameters and modes are never
    changed). Lengths above the model's context are refused with ValueError, and so is a cache that disagrees with
    the full forward at the longest length (see RELATIVE_TOLERANCE). For each length, one untimed warm-up run of
    each of the three, then `repeats` timed rounds of the three in turn; medians are kept. progress(done, total)
    follows each run (warm-ups included); cancelled() is checked before each, and a cancelled measurement returns
    the rows finished so far.
    """
    import torch
    import torch.nn.functional as F

    from ..models.transformer import generate

    context = int(model.cfg.context)
    lengths = sorted({int(n) for n in lengths})
    if not lengths:
        raise ValueError("Give at least one sequence length.")
    if lengths[0] < 1:
        raise ValueError(f"Sequence lengths must be at least 1, not {lengths[0]}.")
    if lengths[-1] > context:
        too_long = ", ".join(str(n) for n in lengths if n > context)
        raise ValueError(f"The model reads at most {context} tokens (its context), so it cannot be measured at "
                         f"length {too_long}: choose lengths up to {context}.")
    if batch < 1 or repeats < 1:
        raise ValueError("The batch and the number of repeats must be at least 1.")
    rows: list[GenCostRow] = []
    if cancelled is not None and cancelled():
        return rows
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    gen_model = copy.deepcopy(model).to(dev).eval()
    diff, scale = _equivalence(gen_model, lengths[-1], seed)
    if not diff <= allowed_difference(scale):  # also catches NaN
        raise ValueError(f"Generation with the key/value cache does not reproduce the full forward pass at length "
                         f"{lengths[-1]}: the logits differ by up to {diff:.3g}, more than the "
                         f"{allowed_difference(scale):.1g} that float32 rounding explains; the timings would compare "
                         f"different computations.")
    train_model = copy.deepcopy(model).to(dev).train()
    opt = torch.optim.AdamW(train_model.parameters(), lr=TRAIN_LR)
    vocab = model.cfg.vocab_size
    data_gen = torch.Generator().manual_seed(seed)
    sample_gen = torch.Generator(device=dev).manual_seed(seed)

    def sync() -> None:  # kernels run asynchronously on a GPU: wait for them before reading the clock
        if cuda:
            torch.cuda.synchronize(dev)
        elif dev.type == "mps":
            torch.mps.synchronize()

    def train_step(x) -> None:
        logits = train_model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    total, done = len(lengths) * 3 * (repeats + 1), 0
    for n in lengths:
        x = torch.randint(0, vocab, (batch, n + 1), generator=data_gen).to(dev)
        prompt = torch.randint(0, vocab, (1,), generator=data_gen).to(dev)
        runs = (functools.partial(train_step, x),
                functools.partial(generate, gen_model, prompt, n, generator=sample_gen, use_cache=True),
                functools.partial(generate, gen_model, prompt, n, generator=sample_gen, use_cache=False))
        times: list[list[float]] = [[], [], []]
        for r in range(repeats + 1):  # round 0 warms up (allocations, optimizer state, kernel choice): not timed
            for which, run in enumerate(runs):
                if cancelled is not None and cancelled():
                    return rows
                sync()
                t0 = time.perf_counter()
                run()
                sync()
                if r:
                    times[which].append(time.perf_counter() - t0)
                done += 1
                if progress is not None:
                    progress(done, total)
        row_diff = diff if n == lengths[-1] else _equivalence(gen_model, n, seed)[0]
        rows.append(GenCostRow(n, statistics.median(times[0]), statistics.median(times[1]),
                               statistics.median(times[2]), row_diff))
    return rows


def count_passes(model, length: int, batch: int = 1, seed: int = 0) -> tuple[int, int]:
    """(passes of a training step over (batch, length) positions, passes to generate `length` tokens): how many
    times the model's output head runs in each, counted with a forward hook on deep copies of `model`.

    A training step scores every position in one pass (1); generation runs the model once per token, each pass
    waiting for the token the one before chose (`length`, with the key/value cache as without)."""
    import torch
    import torch.nn.functional as F

    from ..models.transformer import generate

    calls = [0]

    def counted(copy_of):
        copy_of.head.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
        return copy_of

    gen = torch.Generator().manual_seed(seed)
    dev = _model_device(model)
    x = torch.randint(0, model.cfg.vocab_size, (batch, length + 1), generator=gen).to(dev)
    train_model = counted(copy.deepcopy(model).train())
    logits = train_model(x[:, :-1])
    F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1)).backward()
    train_passes, calls[0] = calls[0], 0
    gen_model = counted(copy.deepcopy(model).eval())
    with torch.no_grad():
        generate(gen_model, x[0, :1], length, generator=torch.Generator(device=dev).manual_seed(seed))
    return train_passes, calls[0]
