"""Co-occurrence + SVD is slow and hard to extend, measured as one recorded job.

Part 1, the cost: the PPMI co-occurrence matrix of the `scaling_corpus`'s most frequent words, decomposed at
each vocabulary size with the full SVD (every singular triplet, dense) and the truncated one (the top `dim`,
sparse), one step per (size, method), each the median of `repeats` timed runs.

Part 2, a new word: the `corpus` is split into the sentences without `new_word` (the base corpus, with the
`background` text added for a realistic size) and those with it (the new text). Both methods learn the base
corpus (timed). Then the new text arrives: count + SVD must recount the whole corpus and decompose again
(timed); word2vec keeps its vectors, gives the new word a fresh row and trains on the new text only (timed).
Where the new word lands: its nearest neighbours in both.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from ...analysis import cooccurrence as cooc
from ...analysis.embedding_cost import FULL_SVD, TRUNCATED_SVD, median, svd_times
from ...analysis.neighbours import nearest
from ...data.corpus import Corpus
from ...data.errors import CorpusError
from ...data.tokenize import word_tokens
from ...data.vocab import Vocab
from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param
from .word2vec_job import Word2VecConfig, Word2VecJob

NEIGHBOURS = 5
BASE_SPEC, NEW_SPEC = "svd-cost:base", "svd-cost:new text"


@dataclasses.dataclass
class SvdCostConfig:
    """What to time, and which word to add."""

    scaling_corpus: str = "builtin:austen"
    vocab_sizes: tuple[int, ...] = param((250, 500, 1000, 2000), label="Vocabulary sizes", min=10, max=20000,
                                         help="Sizes of the co-occurrence matrix (the most frequent words) to "
                                              "decompose; the full SVD of 4,000 words takes about a minute.")
    dim: int = param(50, label="Dimension", min=1, max=1000, help="Singular vectors the truncated SVD keeps.")
    window: int = param(5, label="Window", min=1, max=50)
    repeats: int = param(3, label="Repeats", min=1, max=100, help="Timed runs per point (the median is kept).")
    corpus: str = "builtin:zipf"
    background: str = param("builtin:austen", label="Background text",
                            help="A corpus added to the base corpus, so that it has a realistic size and vocabulary "
                                 "(the cost of recounting grows with both); empty: none.")
    new_word: str = param("", label="New word",
                          help="The word whose sentences arrive later; empty: the labelled word seen closest to "
                               "150 times.")
    min_count: int = param(3, label="Min count", min=1, max=1000)
    epochs: int = param(2, label="Epochs", min=1, max=100, help="word2vec epochs over the base corpus.")
    new_epochs: int = param(10, label="Epochs on new text", min=1, max=1000,
                            help="word2vec epochs over the new text only, continuing from the trained vectors.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def check(self) -> dict[str, str]:
        if len(set(self.vocab_sizes)) < 2:
            return {"vocab_sizes": "Give at least two vocabulary sizes: a slope needs two points."}
        return {}


@dataclasses.dataclass(frozen=True)
class SvdCostSnapshot(Snapshot):
    """Part 1: rows (method, vocabulary size, median / fastest / slowest seconds). Part 2 (NaN and empty until
    done): the new word and its class, the corpus sizes in words, the seconds of each method's base run and of
    its update, and the new word's nearest neighbours (word, class, cosine) in each method's vectors."""

    methods: tuple[str, ...]
    vocab: np.ndarray
    seconds: np.ndarray
    fastest: np.ndarray
    slowest: np.ndarray
    dim: int
    scaling_corpus: str
    phase: str = ""
    new_word: str = ""
    new_class: str = ""
    base_words: int = 0
    new_words: int = 0
    svd_base_s: float = float("nan")
    svd_update_s: float = float("nan")
    w2v_base_s: float = float("nan")
    w2v_update_s: float = float("nan")
    svd_neighbours: tuple[str, ...] = ()
    svd_neighbour_classes: tuple[str, ...] = ()
    svd_cosines: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    w2v_neighbours: tuple[str, ...] = ()
    w2v_neighbour_classes: tuple[str, ...] = ()
    w2v_cosines: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))


def split_corpus(corpus: Corpus, word: str) -> tuple[Corpus, Corpus]:
    """(the lines without `word`, the lines with it) as two corpora with the same word classes."""
    base, new = [], []
    for line in corpus.text.splitlines():
        (new if word in word_tokens(line) else base).append(line)
    make = lambda name, lines: Corpus(name=name, text="\n".join(lines) + "\n", source=corpus.source,  # noqa: E731
                                      word_classes=corpus.word_classes)
    return make(f"{corpus.name} without '{word}'", base), make(f"sentences with '{word}'", new)


def svd_vectors(words: list[str], window: int, dim: int, min_count: int, seed: int) -> tuple[Vocab, np.ndarray]:
    """Count, weight (PPMI) and decompose a corpus from scratch: its vocabulary and word vectors."""
    vocab = Vocab.build(words, min_count=min_count)
    counts = cooc.cooccurrence_matrix(vocab.encode(words), len(vocab), window)
    return vocab, cooc.truncated_svd(cooc.ppmi(counts), dim, seed=seed, method="propack").vectors


@register_job
class SvdCostJob(Job):
    """Time the SVD against vocabulary size, then add a word to both methods."""

    kind = "svd_cost"
    title = "co-occurrence + SVD: cost and a new word"
    config_cls = SvdCostConfig
    snapshot_cls = SvdCostSnapshot
    throughput_unit = "steps/s"

    def setup(self, ctx: JobContext) -> None:
        cfg = self.config
        self.ctx = ctx
        scaling = ctx.corpus(cfg.scaling_corpus)
        words = scaling.words
        sizes = sorted(set(cfg.vocab_sizes))
        vocab = Vocab.build(words, min_count=1, max_size=sizes[-1])
        if len(vocab) < sizes[-1]:
            raise CorpusError(f"{scaling.name} has only {len(vocab):,} distinct words, fewer than the largest "
                              f"vocabulary size {sizes[-1]:,}; choose smaller sizes.")
        self.counts = cooc.cooccurrence_matrix(vocab.encode(words), len(vocab), cfg.window)
        self.points = [(v, m) for v in sizes for m in (FULL_SVD, TRUNCATED_SVD)]
        self.scaling_name = scaling.name
        corpus = ctx.corpus(cfg.corpus)
        classes = dict(corpus.word_classes or {})
        word = cfg.new_word.strip().lower() or self._pick_word(corpus.words, classes)
        self.base, self.new = split_corpus(corpus, word)
        if cfg.background.strip():
            extra = ctx.corpus(cfg.background.strip())
            self.base = dataclasses.replace(self.base, name=f"{self.base.name} + {extra.name}",
                                            text=self.base.text + extra.text)
        if not self.new.words or len(self.base.words) < 2 * cfg.window + 2:
            raise CorpusError(f"'{word}' must occur in some sentences of {corpus.name}, and not in all of them.")
        self.word, self.classes = word, classes
        self.rows: list[tuple[str, int, float, float, float]] = []
        self.result: dict = {}
        self.phase = "timing the SVD"
        self.w2v_ctx = ctx.with_corpus(BASE_SPEC, self.base).with_corpus(NEW_SPEC, self.new)
        self.base_job = self._w2v(BASE_SPEC, cfg.epochs)
        self.base_job.setup(self.w2v_ctx)
        self.w2v_base_s = 0.0
        n = len(self.points)
        self.stages = [("scale", i) for i in range(n)] + [("svd base", 0)] + \
            [("w2v base", i) for i in range(self.base_job.total_steps)] + [("svd update", 0), ("w2v update", 0)]
        self.total_steps = len(self.stages)

    def _pick_word(self, words: list[str], classes: dict[str, str]) -> str:
        counts: dict[str, int] = {}
        for w in words:
            if w in classes:
                counts[w] = counts.get(w, 0) + 1
        if not counts:
            raise CorpusError("The corpus has no words of known class: name the new word.")
        return min(counts, key=lambda w: (abs(counts[w] - 150), w))

    def _w2v(self, spec: str, epochs: int, subsample: float = 1e-3) -> Word2VecJob:
        cfg = self.config
        return Word2VecJob(Word2VecConfig(corpus=spec, method="skip-gram", min_count=cfg.min_count,
                                          window=cfg.window, epochs=epochs, subsample=subsample, seed=cfg.seed),
                           self.device)

    def train_step(self, step: int) -> dict[str, float]:
        stage, i = self.stages[step]
        cfg = self.config
        if stage == "scale":
            vocab, method = self.points[i]
            matrix = cooc.ppmi(self.counts[:vocab, :vocab])
            times = svd_times(matrix, method, dim=cfg.dim, repeats=cfg.repeats, seed=cfg.seed,
                              cancelled=self.ctx.cancelled)
            if times:
                self.rows.append((method, vocab, median(times), min(times), max(times)))
            return {"seconds": median(times)}
        if stage == "svd base":
            self.phase = "learning the base corpus"
            t0 = time.perf_counter()
            svd_vectors(self.base.words, cfg.window, cfg.dim, cfg.min_count, cfg.seed)
            self.result["svd_base_s"] = time.perf_counter() - t0
            return {"seconds": self.result["svd_base_s"]}
        if stage == "w2v base":
            t0 = time.perf_counter()
            metrics = self.base_job.train_step(i)
            self.w2v_base_s += time.perf_counter() - t0
            self.result["w2v_base_s"] = self.w2v_base_s
            return metrics
        if stage == "svd update":
            self.phase = "adding the new text"
            t0 = time.perf_counter()
            vocab, vectors = svd_vectors(self.base.words + self.new.words, cfg.window, cfg.dim, cfg.min_count,
                                         cfg.seed)
            self.result["svd_update_s"] = time.perf_counter() - t0
            self.result["svd"] = self._neighbours(vocab.words, vectors)
            return {"seconds": self.result["svd_update_s"]}
        t0 = time.perf_counter()
        words, vectors = self._continue_word2vec()
        self.result["w2v_update_s"] = time.perf_counter() - t0
        self.result["w2v"] = self._neighbours(words, vectors)
        self.phase = "done"
        return {"seconds": self.result["w2v_update_s"]}

    def _continue_word2vec(self) -> tuple[list[str], np.ndarray]:
        """Train on the new text only, from the base vectors. The vocabulary grows by the new text's new words
        (fresh rows, started as word2vec starts them) and its counts by the new text's (noise words are drawn
        from the whole corpus's unigram^0.75, as after gensim's build_vocab(update=True)); the words it knew
        keep their vectors (a text about one word would otherwise drag them all towards it). Returns the
        whole vocabulary (base words, then new ones) and its input vectors."""
        import torch

        from ...models.word2vec import Word2Vec
        from .word2vec_job import noise_table

        cfg, base = self.config, self.base_job
        old = base.vocab
        fresh = Vocab.build(self.new.words, min_count=cfg.min_count)
        words = list(old.words) + [w for w in fresh.words if w not in old.index]
        counts = np.concatenate([old.counts, np.zeros(len(words) - len(old))]).astype(np.float64)
        index = {w: i for i, w in enumerate(words)}
        for w, c in zip(fresh.words, fresh.counts, strict=True):
            counts[index[w]] += c
        gen = torch.Generator().manual_seed(cfg.seed)
        model = Word2Vec(len(words), base.model.inp.weight.shape[1])
        n_old = len(old)
        with torch.no_grad():
            model.inp.weight[:n_old] = base.model.inp.weight.detach().cpu()
            model.out.weight[:n_old] = base.model.out.weight.detach().cpu()
        kept_inp, kept_out = model.inp.weight[:n_old].clone(), model.out.weight[:n_old].clone()
        ids = torch.tensor([index[w] for w in self.new.words if w in index], dtype=torch.long)
        centre = torch.cat([ids[:-d] for d in range(1, cfg.window + 1)] + [ids[d:] for d in range(1, cfg.window + 1)])
        context = torch.cat([ids[d:] for d in range(1, cfg.window + 1)] + [ids[:-d] for d in range(1, cfg.window + 1)])
        noise = counts ** 0.75
        table = torch.from_numpy(noise_table(noise / noise.sum(), 1_000_000))
        batch, k = 512, base.config.negatives
        steps = cfg.new_epochs * max(1, -(-len(centre) // batch))
        step = 0
        for _ in range(cfg.new_epochs):
            order = torch.randperm(len(centre), generator=gen)
            for start in range(0, len(order), batch):
                pick = order[start:start + batch]
                negatives = table[torch.randint(0, len(table), (len(pick), k), generator=gen)]
                lr = 0.025 * max(1e-4, 1.0 - step / steps)
                model.skipgram_step(centre[pick], context[pick], negatives, lr)
                with torch.no_grad():  # the words it knew stay where they were
                    model.inp.weight[:n_old], model.out.weight[:n_old] = kept_inp, kept_out
                step += 1
        return words, model.inp.weight.detach().numpy().copy()

    def _neighbours(self, words: list[str], vectors: np.ndarray) -> tuple:
        if self.word not in words:
            return (), (), np.zeros(0)
        found = nearest(vectors, words.index(self.word), NEIGHBOURS)
        return (tuple(words[i] for i, _ in found), tuple(self.classes.get(words[i], "") for i, _ in found),
                np.array([c for _, c in found]))

    def snapshot(self, step: int) -> SvdCostSnapshot:
        rows, r = self.rows, self.result
        svd, w2v = r.get("svd", ((), (), np.zeros(0))), r.get("w2v", ((), (), np.zeros(0)))
        return SvdCostSnapshot(
            step=step, methods=tuple(x[0] for x in rows), vocab=frozen_array([x[1] for x in rows], np.int64),
            seconds=frozen_array([x[2] for x in rows], np.float64),
            fastest=frozen_array([x[3] for x in rows], np.float64),
            slowest=frozen_array([x[4] for x in rows], np.float64), dim=int(self.config.dim),
            scaling_corpus=self.scaling_name, phase=self.phase, new_word=self.word,
            new_class=self.classes.get(self.word, ""), base_words=len(self.base.words),
            new_words=len(self.new.words), svd_base_s=float(r.get("svd_base_s", np.nan)),
            svd_update_s=float(r.get("svd_update_s", np.nan)), w2v_base_s=float(r.get("w2v_base_s", np.nan)),
            w2v_update_s=float(r.get("w2v_update_s", np.nan)), svd_neighbours=svd[0], svd_neighbour_classes=svd[1],
            svd_cosines=frozen_array(svd[2], np.float64), w2v_neighbours=w2v[0], w2v_neighbour_classes=w2v[1],
            w2v_cosines=frozen_array(w2v[2], np.float64))

    def set_lr(self, lr: float) -> None:
        """The word2vec runs keep their own rates."""
