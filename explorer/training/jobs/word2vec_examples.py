"""word2vec's training examples, drawn on the job's device as the word2vec C tool draws them.

Each epoch draws frequent-word subsampling afresh and splits the kept words into steps_per_epoch runs of
centres; every centre's window is shrunk at random to 1..window; each example gets k noise words from a
unigram^0.75 table. The torch engine's examples are built a block of steps at a time (a tensor op has a fixed
cost per call, on a GPU a launch): a block holds BLOCK_SLOTS (centre, window position) slots on the CPU, which
stay in cache, and BLOCK_SLOTS_DEVICE on a GPU. Building a skip-gram block reads back to the host only its size
and the pair counts that cut it into steps (CBOW reads nothing), so on a GPU that happens once every few hundred
thousand corpus words, and a step's own work queues without waiting. The compiled engine subsamples in its
kernel: there a step is a run of corpus positions.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

BLOCK_SLOTS = 65536  # (centre, window position) slots built at once on a CPU
BLOCK_SLOTS_DEVICE = 1 << 22  # on a GPU: ~4 M slots, ~250 MB of examples at 5 noise words (~2.4 M pairs)


def noise_table(noise: np.ndarray, size: int) -> np.ndarray:
    """The C tool's sampling table: word w fills about size * P_n(w) consecutive entries (int64)."""
    bounds = np.rint(np.cumsum(noise) * size).astype(np.int64)
    bounds[-1] = size
    return np.repeat(np.arange(len(noise), dtype=np.int64), np.diff(bounds, prepend=0))


class Examples:
    """This epoch's words (`tokens`), its steps' bounds, and the examples of the block of steps being trained.

    ids, keep and table are tensors on the job's device (corpus word ids, keep probability per word id, noise
    table); gen the device's generator that training draws from. skipgram: pairs, else CBOW examples; negatives:
    k noise words per example, or 0 for the full softmax. positions: a step is a run of corpus positions
    (the compiled engine), with no subsampling drawn here."""

    def __init__(self, ids, keep, table, gen, *, skipgram: bool, window: int, negatives: int, subsample: float,
                 centres_per_step: int, positions: bool = False) -> None:
        import torch

        self.ids, self.keep, self.table, self.gen = ids, keep, table, gen
        self.skipgram, self.window, self.k, self.subsample = skipgram, window, negatives, subsample
        self.centres_per_step, self.positions = centres_per_step, positions
        self.offsets = torch.cat([torch.arange(-window, 0), torch.arange(1, window + 1)]).to(ids.device)
        self.block_slots = BLOCK_SLOTS if ids.device.type == "cpu" else BLOCK_SLOTS_DEVICE
        self.tokens = ids
        self.epoch = -1
        self.bounds = np.zeros(1, dtype=np.int64)
        self._block: tuple | None = None  # (first step, end step, example cuts, examples, negatives)

    def start_epoch(self, epoch: int, steps: int) -> None:
        """Draw this epoch's subsampling and split the kept words into `steps` runs of centres."""
        import torch

        kept = self.ids
        if not self.positions and self.subsample > 0:
            draw = torch.rand(len(kept), generator=self.gen, device=kept.device)
            kept = kept[draw < self.keep[kept]]
            if len(kept) < 2 * self.window + 1:
                kept = self.ids
        self.tokens = kept
        n = len(kept)
        bounds = np.linspace(0, n, steps + 1).astype(np.int64)
        # with fewer words than steps, the first steps take one word each and the last ones none
        self.bounds = np.minimum(np.maximum(bounds, np.arange(len(bounds))), n)
        self.epoch = epoch
        self._block = None

    def windows(self, tokens, start: int, stop: int, gen) -> tuple[Any, Any, Any]:
        """Centre positions start..stop-1 of `tokens`, their context positions (n, 2W), which of those are real."""
        import torch

        n, w = len(tokens), self.window
        pos = torch.arange(start, stop, device=tokens.device)
        shrink = torch.randint(1, w + 1, (len(pos),), generator=gen, device=pos.device)
        ctx = pos.unsqueeze(1) + self.offsets
        mask = (self.offsets.abs() <= shrink.unsqueeze(1)) & (ctx >= 0) & (ctx < n)
        return pos, ctx.clamp_(0, n - 1), mask

    def negatives(self, shape: tuple[int, ...], gen):
        """Noise words drawn from the unigram^0.75 table."""
        import torch

        draw = torch.randint(0, len(self.table), (math.prod(shape),), generator=gen, device=self.table.device)
        return self.table.index_select(0, draw).view(shape)

    def step(self, i: int) -> tuple[tuple, Any]:
        """Step i of this epoch: its examples (skip-gram: centres, contexts; CBOW: contexts, mask, centres) and
        noise words (skip-gram: the context word first, then its k noise words; None for the full softmax)."""
        if self._block is None or not self._block[0] <= i < self._block[1]:
            self._build_block(i)
        first, _, cuts, examples, negatives = self._block
        a, b = cuts[i - first], cuts[i - first + 1]
        return tuple(e[a:b] for e in examples), None if negatives is None else negatives[a:b]

    def _build_block(self, i: int) -> None:
        """The examples of steps i.. of this epoch, built together."""
        import torch

        bounds = self.bounds
        j = min(len(bounds) - 1, i + max(1, self.block_slots // (self.centres_per_step * 2 * self.window)))
        first, last = int(bounds[i]), int(bounds[j])
        _, ctx, mask = self.windows(self.tokens, first, last, self.gen)
        centre = self.tokens[first:last]
        context = self.tokens.index_select(0, ctx.view(-1)).view_as(ctx)
        if not self.skipgram:
            examples = (context, mask, centre)
            cuts = bounds[i:j + 1] - first
        else:
            examples = (centre.unsqueeze(1).expand_as(mask).masked_select(mask), context.masked_select(mask))
            pairs_before = np.concatenate([[0], torch.cumsum(mask.sum(1), 0).cpu().numpy()])  # per centre
            cuts = pairs_before[bounds[i:j + 1] - first]
        n = len(examples[-1])
        negatives = None if self.k == 0 else self.negatives((n, self.k), self.gen)
        if negatives is not None and self.skipgram:  # (context word, its noise words) side by side
            negatives = torch.cat([examples[1].unsqueeze(1), negatives], 1)
        self._block = (i, j, cuts.tolist(), examples, negatives)
