"""Training job: word2vec (skip-gram or CBOW; negative sampling or the full softmax) with a live 2-D map.

Training follows the word2vec C tool: each epoch draws frequent-word subsampling afresh and sweeps the kept
words in order; every word is a centre once per epoch, with the context words of a window shrunk at random
to 1..window. A step takes the next run of centres (about `batch_size` skip-gram pairs, or `batch_size` CBOW
examples), draws k noise words per pair from a unigram^0.75 table (as the C tool does), and applies sparse SGD
with the closed-form gradients (explorer.models.word2vec) at a rate that decays linearly to zero; ids, table
and generator live on the job's device. engine "compiled" (auto's choice on the CPU with negative sampling):
steps of ~50 ms of corpus words, trained example by example by lock-free threads (models.word2vec_fast)."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ...analysis.projection import pca_2d_torch, procrustes_align
from ...data.errors import CorpusError
from ...data.vocab import Vocab, check_vocab_fits, check_window_fits
from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param
from .word2vec_examples import Examples, noise_table

NEGATIVE_SAMPLING, FULL_SOFTMAX = "negative sampling", "full softmax"
AUTO, COMPILED, TORCH = "auto", "compiled", "torch"
ENGINES = (AUTO, COMPILED, TORCH)
NOISE_TABLE_MIN, NOISE_TABLE_MAX = 1_000_000, 10_000_000  # entries of the unigram^0.75 table (C tool: 1e8)


@dataclasses.dataclass
class Word2VecConfig:
    """Hyper-parameters of a word2vec run."""

    corpus: str = "builtin:synthetic"
    method: str = param("skip-gram", label="Method", choices=("skip-gram", "CBOW"),
                        help="Skip-gram predicts the context from the word; CBOW the word from its context.")
    objective: str = param(
        NEGATIVE_SAMPLING, label="Objective", choices=(NEGATIVE_SAMPLING, FULL_SOFTMAX),
        help="Negative sampling scores the true word against k noise words (cost O(k) per example); the full "
             "softmax normalises over the whole vocabulary (cost O(vocabulary), at most 10,000 words).")
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
                      help="Initial SGD rate per example; decays linearly to 0 over training. CBOW moves each "
                           "context vector by 1/m of the step of their mean: it learns faster at 2-4 times this.")
    epochs: int = param(5, label="Epochs", min=1, max=1000)
    batch_size: int = param(512, label="Batch size", min=1, max=1_000_000,
                            help="Training examples per step: (word, context word) pairs for skip-gram, "
                                 "(context, word) examples for CBOW.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)
    engine: str = param(
        AUTO, label="Engine", choices=ENGINES,
        help="compiled: lock-free threads of compiled per-example SGD, as the C tool and gensim (CPU, negative "
             "sampling); torch: batched steps of tensor operations (any device, both objectives); auto: compiled "
             "where it applies, else torch.")
    focus_word: str = param("", label="Focus word", live=True,
                            help="A word whose training example (its context words and sampled noise words, "
                                 "with the pull or push of each) every snapshot shows.")

    def check(self) -> dict[str, str]:
        return {"engine": "The compiled engine trains with negative sampling only: choose auto or torch for the "
                          "full softmax."} if self.engine == COMPILED and self.objective == FULL_SOFTMAX else {}


@dataclasses.dataclass(frozen=True)
class EmbeddingSnapshot(Snapshot):
    """Word vectors, their aligned 2-D map, and one negative-sampling example of the focus word, at one step.

    The ns_ fields describe a probe example drawn as training draws them (empty without a focus word in the
    vocabulary, and for the full softmax). Skip-gram: the positives are the context words o of one occurrence
    of ns_word, each with k noise words n; score σ(u·v_c); step = the length of the SGD step each applies to
    v_c at the current rate, lr (1 - σ(u_o·v_c)) |u_o| towards u_o, or lr σ(u_n·v_c) |u_n| away from u_n;
    positive j's noise words are ns_negative[j k:(j + 1) k]. CBOW: the positive is ns_word itself, predicted
    from h, the mean input vector of ns_context; the same scores and steps with h in place of v_c.
    context_vectors are the output vectors u, in recorded runs only (float16, like vectors).
    """

    loss: float
    lr: float
    words: tuple[str, ...]
    counts: np.ndarray
    classes: tuple[str, ...]
    vectors: np.ndarray
    coords: np.ndarray
    explained: np.ndarray
    context_vectors: np.ndarray = dataclasses.field(default_factory=lambda: _empty((0, 0)))
    method: str = ""
    objective: str = NEGATIVE_SAMPLING
    ns_word: str = ""
    ns_context: tuple[str, ...] = ()
    ns_positive: tuple[str, ...] = ()
    ns_positive_score: np.ndarray = dataclasses.field(default_factory=lambda: _empty())
    ns_positive_step: np.ndarray = dataclasses.field(default_factory=lambda: _empty())
    ns_negative: tuple[str, ...] = ()
    ns_negative_score: np.ndarray = dataclasses.field(default_factory=lambda: _empty())
    ns_negative_step: np.ndarray = dataclasses.field(default_factory=lambda: _empty())


def _empty(shape: tuple[int, ...] = (0,)) -> np.ndarray:
    """A read-only empty float32 array."""
    arr = np.zeros(shape, dtype=np.float32)
    arr.setflags(write=False)
    return arr


@register_job
class Word2VecJob(Job):
    """Skip-gram / CBOW with negative sampling or the full softmax, sparse SGD with a linearly decaying rate."""

    kind = "word2vec"
    title = "word2vec"
    config_cls = Word2VecConfig
    snapshot_cls = EmbeddingSnapshot
    throughput_unit = "words/s"
    # The map and the curves read well at 10 snapshots a second; at ~1,000 steps/s a snapshot (PCA of the whole
    # vocabulary) every 50 ms took the GIL from the UI thread often enough to miss the frame budget.
    min_snapshot_interval = 0.1

    def setup(self, ctx: JobContext) -> None:
        import torch

        from ...models.word2vec import FULL_SOFTMAX_MAX_VOCAB, Word2Vec

        cfg = self.config
        self.engine = self._resolve_engine()
        corpus = ctx.corpus(cfg.corpus)
        # ids, not a list of str: a corpus of millions of words stays a few bytes a word
        vocab, ids = Vocab.from_ids(corpus.word_ids, corpus.vocabulary, min_count=cfg.min_count,
                                    max_size=cfg.max_vocab)
        check_vocab_fits(len(vocab), min_count=cfg.min_count, max_size=cfg.max_vocab, distinct=len(corpus.vocabulary))
        if cfg.objective == FULL_SOFTMAX and len(vocab) > FULL_SOFTMAX_MAX_VOCAB:
            raise CorpusError(
                f"The full softmax scores all {len(vocab):,} words of the vocabulary for every example, which is "
                f"too slow to train live above {FULL_SOFTMAX_MAX_VOCAB:,} words. Raise the minimum count, set the "
                f"maximum vocabulary to {FULL_SOFTMAX_MAX_VOCAB:,} or fewer, or use negative sampling."
            )
        check_window_fits(len(ids), cfg.window)
        self.vocab, self.ids = vocab, ids
        self.corpus_name = corpus.name
        dev = torch.device(self.device)
        self.gen = torch.Generator(device=dev).manual_seed(cfg.seed)
        self.probe_gen = torch.Generator(device=dev).manual_seed(cfg.seed + 1)  # snapshots never shift training
        torch.manual_seed(cfg.seed)
        keep = vocab.keep_probabilities(cfg.subsample)
        # the compiled engine reads the numpy ids itself: its tensor (for the probe) shares them, 4 bytes a word
        self.ids_t = torch.from_numpy(ids if self.engine == COMPILED else ids.astype(np.int64)).to(dev)
        self.keep_t = torch.from_numpy(keep.astype(np.float32)).to(dev)
        self.centres_per_step = (max(1, round(cfg.batch_size / (cfg.window + 1))) if cfg.method == "skip-gram"
                                 else cfg.batch_size)
        self.expected_kept = float(vocab.counts @ keep)  # Σ keep[ids], without a float per corpus word
        self.steps_per_epoch = max(1, math.ceil(self.expected_kept / self.centres_per_step))
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.items_per_step = len(ids) * cfg.epochs / self.total_steps
        size = int(min(NOISE_TABLE_MAX, max(NOISE_TABLE_MIN, 40 * len(vocab))))
        self.table = torch.from_numpy(noise_table(vocab.noise_distribution(0.75), size)).to(dev)
        self.model = Word2Vec(len(vocab), cfg.dim).to(dev)
        self._hogwild = None
        if self.engine == COMPILED:
            self._setup_compiled(keep)
        self.base_lr = cfg.lr
        self.examples = Examples(
            self.ids_t, self.keep_t, self.table, self.gen, skipgram=cfg.method == "skip-gram", window=cfg.window,
            negatives=cfg.negatives if cfg.objective == NEGATIVE_SAMPLING else 0, subsample=cfg.subsample,
            centres_per_step=self.centres_per_step, positions=self.engine == COMPILED)
        classes = corpus.word_classes or {}
        self.words = tuple(vocab.words)
        self.classes = tuple(classes.get(w, "") for w in vocab.words)
        self.counts = frozen_array(vocab.counts, np.int64)
        self.focus_word = cfg.focus_word.strip().lower()
        self._probe_cache: tuple | None = None
        self._prev_coords: np.ndarray | None = None
        self._last_loss = float("nan")
        self._lr_now = cfg.lr
        self.loss_every = 1 if self.device == "cpu" else 16  # a GPU's steps queue up between two reads of the loss

    def _resolve_engine(self) -> str:
        """compiled or torch: auto is compiled for negative sampling on the CPU (the config's check refuses the
        compiled engine with the full softmax)."""
        cfg = self.config
        if cfg.engine == COMPILED and self.device != "cpu":
            raise ValueError(f"The compiled engine runs on the CPU, not on {self.device}: choose auto or torch.")
        auto = cfg.engine == AUTO and self.device == "cpu" and cfg.objective == NEGATIVE_SAMPLING
        return COMPILED if cfg.engine == COMPILED or auto else TORCH

    def _setup_compiled(self, keep: np.ndarray) -> None:
        """The Hogwild trainer over the model's own tables, and steps of about STEP_SECONDS each."""
        import torch

        from ...models.word2vec_fast import HogwildTrainer, words_per_second

        cfg, n, threads = self.config, len(self.ids), max(1, torch.get_num_threads())
        kept = self.expected_kept / max(1, n)  # the share of words subsampling keeps
        rate = words_per_second(cfg.method == "CBOW", cfg.window, cfg.negatives, cfg.dim, kept)
        step_words = round(rate * threads * self.STEP_SECONDS)  # shorter on a small corpus: curves show each epoch
        self.words_per_step = max(1, min(n, max(256, n // self.STEPS_PER_EPOCH), step_words))
        self.steps_per_epoch = max(1, math.ceil(n / self.words_per_step))
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.items_per_step = n * cfg.epochs / self.total_steps
        self._hogwild = HogwildTrainer(
            np.ascontiguousarray(self.ids), np.ascontiguousarray(keep), self.table.numpy(),
            self.model.inp.weight.detach().numpy(), self.model.out.weight.detach().numpy(),
            cbow=cfg.method == "CBOW", window=cfg.window, negatives=cfg.negatives, threads=threads, seed=cfg.seed,
            total_words=n * cfg.epochs)
        self._hogwild.warm()  # numba's compile (first run) or cache load is paid here, not in a step

    # -- training -------------------------------------------------------------------------------------------
    STEP_SECONDS, STEPS_PER_EPOCH = 0.05, 50  # the compiled engine's steps: pause and stop answer within ~50 ms

    def train_step(self, step: int) -> dict[str, float]:
        epoch, i = divmod(step, self.steps_per_epoch)
        if epoch != self.examples.epoch:
            self.examples.start_epoch(epoch, self.steps_per_epoch)
        if self._hogwild is not None:
            return self._compiled_step(step, epoch, i)
        examples, neg = self.examples.step(i)
        lr = self.base_lr * max(1e-4, 1.0 - step / self.total_steps)
        if self.config.method == "CBOW":
            loss = self.model.cbow_step(*examples, neg, lr)
        elif neg is not None:
            loss = self.model.skipgram_ns_step(examples[0], neg, lr)
        else:
            loss = self.model.skipgram_step(*examples, None, lr)
        if len(loss) and (step % self.loss_every == 0 or not math.isfinite(self._last_loss)):
            self._last_loss = float(loss.mean())  # waits for the device: on a GPU every loss_every-th step only
        elif not math.isfinite(self._last_loss):  # an empty first step (a corpus barely longer than the window)
            self._last_loss = 0.0
        self._lr_now = lr
        return {"loss": self._last_loss, "lr": lr}

    def _compiled_step(self, step: int, epoch: int, i: int) -> dict[str, float]:
        """Words bounds[i]..bounds[i + 1] of the corpus, trained by the Hogwild threads; the rate decays per word."""
        n = len(self.ids)
        bounds = self.examples.bounds
        first, last = (int(bounds[i]), int(bounds[i + 1])) if i + 1 < len(bounds) else (n, n)
        self._lr_now = self.base_lr * max(1e-4, 1.0 - (epoch * n + first) / (n * self.config.epochs))
        loss, examples = self._hogwild.run(first, last, epoch * n, self.base_lr, step)
        if examples or not math.isfinite(self._last_loss):  # 0 until the first example, then the last loss
            self._last_loss = loss if examples else 0.0
        return {"loss": self._last_loss, "lr": self._lr_now}

    def set_lr(self, lr: float) -> None:
        self.base_lr = float(lr)

    def set_live(self, name: str, value: Any) -> None:
        """The learning rate, or the focus word whose training example snapshots show."""
        if name == "focus_word":
            self.focus_word = str(value or "").strip().lower()
        else:
            super().set_live(name, value)

    # -- snapshots ------------------------------------------------------------------------------------------
    def snapshot(self, step: int) -> EmbeddingSnapshot:
        weight = self.model.inp.weight
        vectors = frozen_array(weight)
        coords, explained = pca_2d_torch(weight, normalise=True)  # cosine geometry, as in search
        if self._prev_coords is not None:
            coords = procrustes_align(coords, self._prev_coords)
        self._prev_coords = coords
        coords.setflags(write=False)
        return EmbeddingSnapshot(
            step=step, loss=self._last_loss, lr=self._lr_now, words=self.words, counts=self.counts,
            classes=self.classes, vectors=vectors, coords=coords, explained=frozen_array(explained),
            method=self.config.method,
            objective=self.config.objective, **self._probe(),
        )

    def _probe(self) -> dict[str, Any]:
        """One training example of the focus word, drawn as training draws it, scored with the current vectors."""
        import torch

        word = self.vocab.index.get(self.focus_word)
        if word is None or self.config.objective != NEGATIVE_SAMPLING:
            return {}
        if self.examples.epoch < 0:
            self.examples.start_epoch(0, self.steps_per_epoch)
        key = (self.examples.epoch, word)
        if self._probe_cache is None or self._probe_cache[:2] != key:
            tokens = self.examples.tokens
            found = (tokens == word).nonzero().squeeze(1)
            if len(found) == 0:  # subsampled away in this epoch: an occurrence in the whole corpus instead
                tokens = self.ids_t
                found = (tokens == word).nonzero().squeeze(1)
            self._probe_cache = (*key, tokens, found)
        tokens, found = self._probe_cache[2:]
        at = int(found[torch.randint(0, len(found), (1,), generator=self.probe_gen, device=found.device)].item())
        _, ctx, mask = self.examples.windows(tokens, at, at + 1, self.probe_gen)
        context = tokens[ctx[0][mask[0]]]
        inp, out = self.model.inp.weight.detach(), self.model.out.weight.detach()
        k = self.config.negatives
        if self.config.method == "CBOW":
            v = inp[context].mean(0) if len(context) else torch.zeros_like(inp[0])
            positive = torch.tensor([word], device=inp.device)
        else:
            v = inp[word]
            positive = context
        negative = self.examples.negatives((len(positive) * k,), self.probe_gen)
        u_pos, u_neg = out[positive], out[negative]
        pos_score = torch.sigmoid(u_pos @ v)
        neg_score = torch.sigmoid(u_neg @ v)
        lr = self._lr_now
        words = self.words
        return dict(
            ns_word=self.focus_word,
            ns_context=tuple(words[i] for i in context.tolist()),
            ns_positive=tuple(words[i] for i in positive.tolist()),
            ns_positive_score=frozen_array(pos_score),
            ns_positive_step=frozen_array(lr * (1 - pos_score) * u_pos.norm(dim=1)),
            ns_negative=tuple(words[i] for i in negative.tolist()),
            ns_negative_score=frozen_array(neg_score),
            ns_negative_step=frozen_array(lr * neg_score * u_neg.norm(dim=1)),
        )

    def record_snapshot(self, snap: EmbeddingSnapshot) -> EmbeddingSnapshot:
        """float16 vectors, and the output vectors, which a live snapshot leaves out (nothing draws them): the
        recorder asks right after snap was taken, before the next step."""
        return dataclasses.replace(snap, vectors=frozen_array(snap.vectors, np.float16),
                                   context_vectors=frozen_array(self.model.out.weight, np.float16))
