"""Training job: word2vec (skip-gram or CBOW with negative sampling) on a corpus, with a live 2-D map."""
from __future__ import annotations

import dataclasses
import math
from typing import Callable

import numpy as np

from ...analysis.projection import pca_2d_torch, procrustes_align
from ...data.corpus import Corpus, load_corpus_file
from ...data.builtin import load_builtin
from ...data.errors import CorpusError
from ...data.vocab import Vocab, check_window_fits
from ..job import Job, Snapshot, frozen_array, register_job
from ..params import param


def load_corpus_spec(spec: str, cancelled: Callable[[], bool] = lambda: False) -> Corpus:
    """A corpus from 'builtin:<name>' or a file path."""
    if spec.startswith("builtin:"):
        return load_builtin(spec.split(":", 1)[1], cancel=cancelled)
    return load_corpus_file(spec, cancel=cancelled)


@dataclasses.dataclass
class Word2VecConfig:
    """Hyper-parameters of a word2vec run."""

    corpus: str = "builtin:synthetic"
    method: str = param("skip-gram", label="Method", choices=("skip-gram", "CBOW"),
                        help="Skip-gram predicts the context from the word; CBOW the word from its context.")
    dim: int = param(50, label="Dimension", min=2, max=1000, help="Length of each word vector.")
    window: int = param(5, label="Window", min=1, max=50,
                        help="Largest distance between a word and a context word (shrunk at random per word).")
    negatives: int = param(5, label="Negatives", min=1, max=50,
                           help="Noise words drawn from unigram^0.75 for each true pair.")
    min_count: int = param(5, label="Min count", min=1, max=1000, help="Rarer words are dropped.")
    max_vocab: int = param(20000, label="Max vocabulary", min=10, max=1_000_000,
                           help="Keep at most this many of the most frequent words.")
    subsample: float = param(1e-3, label="Subsampling", min=0.0, max=1.0, log=True,
                             help="Threshold t of frequent-word subsampling (0 = off).")
    lr: float = param(0.025, label="Learning rate", min=1e-6, max=10.0, log=True, live=True,
                      help="Initial SGD rate per pair; decays linearly to 0 over training.")
    epochs: int = param(3, label="Epochs", min=1, max=1000)
    batch_size: int = param(1024, label="Batch size", min=1, max=1_000_000, help="Pairs per step.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)


@dataclasses.dataclass(frozen=True)
class EmbeddingSnapshot(Snapshot):
    """Word vectors and their aligned 2-D map at one step."""

    loss: float
    lr: float
    words: tuple[str, ...]
    counts: np.ndarray
    classes: tuple[str, ...]
    vectors: np.ndarray
    coords: np.ndarray
    explained: np.ndarray


@register_job
class Word2VecJob(Job):
    """Skip-gram / CBOW with negative sampling, trained with sparse SGD and a linearly decaying rate."""

    kind = "word2vec"
    title = "word2vec"
    config_cls = Word2VecConfig
    snapshot_cls = EmbeddingSnapshot
    throughput_unit = "words/s"

    def setup(self, cancelled: Callable[[], bool] = lambda: False) -> None:
        import torch

        from ...models.word2vec import Word2Vec

        cfg = self.config
        corpus = getattr(self, "preloaded_corpus", None) or load_corpus_spec(cfg.corpus, cancelled)
        tokens = corpus.words
        vocab = Vocab.build(tokens, min_count=cfg.min_count, max_size=cfg.max_vocab)
        if len(vocab) < 2:
            raise CorpusError(f"Only {len(vocab)} word is left after the minimum count; lower it.")
        ids = vocab.encode(tokens)
        check_window_fits(len(ids), cfg.window)
        self.vocab, self.ids = vocab, ids
        self.corpus_name = corpus.name
        self.rng = np.random.default_rng(cfg.seed)
        torch.manual_seed(cfg.seed)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.keep = vocab.keep_probabilities(cfg.subsample)
        expected_kept = float(self.keep[ids].sum())
        self.steps_per_epoch = max(1, math.ceil(expected_kept * (cfg.window + 1) / cfg.batch_size))
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.items_per_step = len(ids) * cfg.epochs / self.total_steps
        noise = vocab.noise_distribution(0.75)
        self.noise_cdf = torch.from_numpy(np.cumsum(noise)).to(torch.float64)
        self.model = Word2Vec(len(vocab), cfg.dim).to(self.device)
        self.base_lr = cfg.lr
        self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg.lr)
        self.offsets = torch.cat([torch.arange(-cfg.window, 0), torch.arange(1, cfg.window + 1)])
        classes = corpus.word_classes or {}
        self.words = tuple(vocab.words)
        self.classes = tuple(classes.get(w, "") for w in vocab.words)
        self.counts = frozen_array(vocab.counts, np.int64)
        self._prev_coords: np.ndarray | None = None
        self._last_loss = float("nan")
        self._lr_now = cfg.lr

    def _epoch_tokens(self):
        import torch

        kept = self.vocab.subsample(self.ids, self.config.subsample, self.rng)
        if len(kept) < 2 * self.config.window + 1:
            kept = self.ids
        return torch.from_numpy(np.ascontiguousarray(kept, dtype=np.int64))

    def train_step(self, step: int) -> dict[str, float]:
        import torch

        cfg = self.config
        if step % self.steps_per_epoch == 0 or not hasattr(self, "tokens"):
            self.tokens = self._epoch_tokens()
        n, b, w = len(self.tokens), cfg.batch_size, cfg.window
        lr = self.base_lr * max(1e-4, 1.0 - step / self.total_steps)
        for group in self.opt.param_groups:
            group["lr"] = lr
        pos = torch.randint(0, n, (b,), generator=self.gen)
        shrink = torch.randint(1, w + 1, (b,), generator=self.gen)
        negatives = torch.searchsorted(self.noise_cdf, torch.rand(b, cfg.negatives, generator=self.gen,
                                                                  dtype=torch.float64))
        negatives = negatives.clamp_max(len(self.vocab) - 1)
        if cfg.method == "CBOW":
            ctx_pos = pos[:, None] + self.offsets[None, :]
            mask = (self.offsets.abs()[None, :] <= shrink[:, None]) & (ctx_pos >= 0) & (ctx_pos < n)
            contexts = self.tokens[ctx_pos.clamp(0, n - 1)]
            loss = self.model.cbow_loss(contexts.to(self.device), mask.to(self.device),
                                        self.tokens[pos].to(self.device), negatives.to(self.device))
        else:
            mag = (torch.rand(b, generator=self.gen) * shrink).long() + 1
            sign = torch.where(torch.rand(b, generator=self.gen) < 0.5, -1, 1)
            ctx = (pos + sign * mag).clamp(0, n - 1)
            ctx = torch.where(ctx == pos, (pos + 1).clamp_max(n - 1) if n > 1 else pos, ctx)
            loss = self.model.skipgram_loss(self.tokens[pos].to(self.device), self.tokens[ctx].to(self.device),
                                            negatives.to(self.device))
        self.opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        self.opt.step()
        self._last_loss = float(loss.detach().mean())
        self._lr_now = lr
        return {"loss": self._last_loss, "lr": lr}

    def set_lr(self, lr: float) -> None:
        self.base_lr = float(lr)

    def snapshot(self, step: int) -> EmbeddingSnapshot:
        weight = self.model.inp.weight
        vectors = frozen_array(weight)
        coords, explained = pca_2d_torch(weight)
        if self._prev_coords is not None:
            coords = procrustes_align(coords, self._prev_coords)
        self._prev_coords = coords
        coords.setflags(write=False)
        return EmbeddingSnapshot(
            step=step, loss=self._last_loss, lr=self._lr_now, words=self.words, counts=self.counts,
            classes=self.classes, vectors=vectors, coords=coords, explained=frozen_array(explained),
        )

    def record_snapshot(self, snap: EmbeddingSnapshot) -> EmbeddingSnapshot:
        return dataclasses.replace(snap, vectors=frozen_array(snap.vectors, np.float16))
