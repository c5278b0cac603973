"""Training job: a tiny decoder-only transformer on next-character prediction or a synthetic attention task."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ...data.errors import CorpusError
from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param

TASKS = ("characters", "copy", "reverse", "repeat")
POSITIONAL = ("sinusoidal", "learned", "none")
VAL_SHARE = 0.1  # characters: the last 10% of the corpus is held out for the validation loss
VAL_EVERY = 25  # steps between two validation losses
VAL_BATCH = 32  # fixed validation sequences (windows of the held-out text, or task examples)
SAMPLE_EVERY = 200  # characters: steps between two regenerated samples (generation costs ~ one training step)
SAMPLE_TEMPERATURE = 0.8
ATTENTION_BUDGET = 2**27  # most batch x heads x layers x context^2 attention weights per step
ACTIVATION_BUDGET = 2**26  # most batch x context x width x layers per step
VISIBLE = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}


@dataclasses.dataclass
class GptConfig:
    """Hyper-parameters of a tiny-GPT run."""

    task: str = param("repeat", label="Task", choices=TASKS,
                      help="Characters: predict the next character of the corpus. Copy, reverse, repeat: a random "
                           "string of context/2 letters, then (after '|' for copy and reverse) the same letters "
                           "again, reversed, or repeated; only the second half is scored, and the right attention "
                           "pattern is known.")
    corpus: str = "builtin:austen"
    layers: int = param(2, label="Layers", min=1, max=12, help="Transformer blocks.")
    heads: int = param(2, label="Heads", min=1, max=16, help="Attention heads per block; must divide the width.")
    width: int = param(64, label="Width", min=8, max=1024, help="d_model: the size of every position's vector.")
    context: int = param(64, label="Context", min=4, max=1024,
                         help="Longest sequence the model reads (the learned positional table has this many rows).")
    dropout: float = param(0.0, label="Dropout", min=0.0, max=0.9, help="Dropout on attention weights and residuals.")
    positional: str = param("sinusoidal", label="Positional encoding", choices=POSITIONAL,
                            help="Added to the token embeddings: fixed sinusoids (Vaswani et al.), a learned vector "
                                 "per position, or nothing (then attention cannot tell positions apart).")
    causal: bool = param(True, label="Causal mask",
                         help="Position t attends to positions up to t only. Off, a next-token model can read the "
                              "answer from the future and the loss collapses.")
    lr: float = param(3e-3, label="Learning rate", min=1e-6, max=1.0, log=True, live=True,
                      help="AdamW's step size.")
    batch_size: int = param(32, label="Batch size", min=1, max=4096, help="Sequences per step.")
    steps: int = param(600, label="Steps", min=1, max=10_000_000)
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)
    probe_text: str = ""  # the text whose attention snapshots record, its last `context` characters ("" = the
    # first validation sequence: a held-out window of the corpus, or a task example)

    def check(self) -> dict[str, str]:
        """Problems that involve more than one field: field name ('' for several) -> message."""
        problems: dict[str, str] = {}
        if self.width % self.heads:
            problems["heads"] = f"The number of heads ({self.heads}) must divide the width ({self.width})."
        elif self.positional == "sinusoidal" and self.width % 2:
            problems["width"] = "Sinusoidal positional encoding needs an even width."
        size = self.batch_size * self.heads * self.layers * self.context**2
        if size > ATTENTION_BUDGET:
            problems[""] = (f"Batch size × heads × layers × context² is {size:,} attention weights per step, more "
                            f"than {ATTENTION_BUDGET:,}: make one of them smaller.")
        size = self.batch_size * self.context * self.width * self.layers
        if size > ACTIVATION_BUDGET and "" not in problems:
            problems[""] = (f"Batch size × context × width × layers is {size:,}, more than {ACTIVATION_BUDGET:,}: "
                            f"training would take too much memory; make one of them smaller.")
        return problems


@dataclasses.dataclass(frozen=True)
class GptSnapshot(Snapshot):
    """What the attention views draw at one step.

    tokens: display labels of the probe's characters (whitespace made visible). attention and scores:
    (layers, heads, T, T) float32 for the probe, the softmax weights and the pre-softmax scaled scores
    QK^T/sqrt(d_k), with NaN where the causal mask hides a key. expected_keys: (T,) int64, for a task's default
    probe the key each query should attend to (-1 elsewhere, and everywhere for characters or a typed probe).
    sample: characters, the probe's first min(16, context/4) characters followed by what the model
    writes after them (up to the context length, temperature 0.8, regenerated every SAMPLE_EVERY steps); tasks, the
    model's greedy prediction after each probe position that has a target (every position for a typed probe).
    target: the right answer for a task's default probe, else "". accuracy: next-token accuracy on the validation
    batch (scored positions only for tasks); chance: that of guessing. loss is the last training step's (NaN before
    the first step), val_loss the last validation loss. param_vector with the fields after it rebuilds the model
    (load_model, attention_for_text, generate_text, next_token_probs).
    """

    task: str
    loss: float
    val_loss: float
    accuracy: float
    chance: float
    tokens: tuple[str, ...]
    attention: np.ndarray
    scores: np.ndarray
    expected_keys: np.ndarray
    sample: str
    target: str
    alphabet: tuple[str, ...]
    param_vector: np.ndarray
    layers: int
    heads: int
    width: int
    context: int
    positional: str
    causal: bool
    leak: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), np.float64))  # (T, T) probe's
    # |∂y_t/∂x_s| (explorer.analysis.attention_probe.input_jacobian): exactly 0 above the diagonal when causal


def token_label(ch: str) -> str:
    """How a character is shown on a heatmap axis (space, newline and tab made visible)."""
    return VISIBLE.get(ch, ch if ch.isprintable() else f"\\x{ord(ch):02x}")


def build_model(config: Any, vocab_size: int):
    """A fresh GPT shaped by a GptConfig (or a GptSnapshot, which carries the same fields)."""
    from ...models.transformer import GPT, GPTConfig

    return GPT(GPTConfig(vocab_size=vocab_size, context=config.context, layers=config.layers, heads=config.heads,
                         width=config.width, dropout=float(getattr(config, "dropout", 0.0)),
                         positional=config.positional, causal=bool(config.causal)))


_MODEL_CACHE: dict = {}


def load_model(config: Any, alphabet: tuple[str, ...], param_vector: np.ndarray):
    """The model of a snapshot, in eval mode on the CPU (the last one built is reused for the same vector)."""
    import torch

    key = (config.context, config.layers, config.heads, config.width, config.positional, bool(config.causal),
           tuple(alphabet), id(param_vector))
    if _MODEL_CACHE.get("key") == key:
        return _MODEL_CACHE["model"]
    model = build_model(config, len(alphabet))
    vector = torch.as_tensor(np.array(param_vector, dtype=np.float32))
    if vector.numel() != sum(p.numel() for p in model.parameters()):
        raise ValueError("The parameter vector does not fit a model of this shape and alphabet.")
    torch.nn.utils.vector_to_parameters(vector, model.parameters())
    model.eval()
    _MODEL_CACHE.update(key=key, model=model, vector=param_vector)  # the vector is kept so its id stays unique
    return model


def _encode(alphabet: tuple[str, ...], text: str):
    """Text -> LongTensor of ids; a ValueError (CorpusError) names a character the model does not know."""
    import torch

    from ...data.tokenize import CharTokenizer

    if not text:
        raise ValueError("Type some text first: there is nothing to read.")
    tokenizer = CharTokenizer(alphabet)
    if tokenizer.chars != tuple(alphabet):
        raise ValueError("The alphabet must be sorted characters, as the job hands it out.")
    return torch.from_numpy(tokenizer.encode(text))


def attention_for_text(config: Any, alphabet: tuple[str, ...], param_vector: np.ndarray,
                       text: str) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """(tokens, attention, scores) of the model on a text: (layers, heads, T, T) float32, NaN = masked score.

    A learned positional table has `context` rows, so with it only the last `context` characters are read (the
    tokens say which). Sinusoidal or no encoding is defined at every position, and the whole text is read;
    beyond the training context the model extrapolates.
    """
    import torch

    ids = _encode(alphabet, text)
    if config.positional == "learned":
        ids, text = ids[-config.context:], text[-config.context:]
    model = load_model(config, alphabet, param_vector)
    with torch.no_grad():
        _, rec = model(ids[None], record=True)
    return _attention_arrays(text, rec)


def _attention_arrays(text: str, rec) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    attention = frozen_array(np.stack([w[0].numpy() for _, w in rec]))
    scores = np.stack([s[0].numpy() for s, _ in rec]).astype(np.float32)
    scores[np.isneginf(scores)] = np.nan
    return tuple(token_label(c) for c in text), attention, frozen_array(scores)


def generate_text(config: Any, alphabet: tuple[str, ...], param_vector: np.ndarray, prompt: str, n: int,
                  temperature: float = 1.0, top_k: int | None = None, seed: int = 0) -> str:
    """n characters the model writes after the prompt (the continuation only); top_k=1 is greedy."""
    import torch

    from ...models.transformer import generate

    ids = _encode(alphabet, prompt)
    model = load_model(config, alphabet, param_vector)
    gen = torch.Generator().manual_seed(int(seed))
    out = generate(model, ids, int(n), temperature, top_k, gen)
    return "".join(alphabet[i] for i in out[len(ids):].tolist())


def next_token_probs(config: Any, alphabet: tuple[str, ...], param_vector: np.ndarray, text: str,
                     temperature: float = 1.0, top_k: int | None = None) -> tuple[tuple[str, ...], np.ndarray]:
    """(labels, probs) of the next character after `text`, most likely first (float32, summing to 1)."""
    from ...models.transformer import next_token_distribution

    model = load_model(config, alphabet, param_vector)
    probs = next_token_distribution(model, _encode(alphabet, text), temperature, top_k).numpy()
    order = np.argsort(-probs, kind="stable")
    return tuple(token_label(alphabet[i]) for i in order), frozen_array(probs[order])


@register_job
class GptJob(Job):
    """A tiny GPT trained with AdamW on next-token prediction; snapshots record a probe's attention."""

    kind = "gpt"
    title = "tiny GPT"
    config_cls = GptConfig
    snapshot_cls = GptSnapshot
    throughput_unit = "tokens/s"
    data_parallel = None  # a DistInfo when torchrun runs it data-parallel (explorer.training.distributed)
    world_size: int | None = None  # the processes that train it together (recorded in run.json), None: just one
    _rank_snapshot = None  # data-parallel, rank other than 0: its first snapshot, handed out ever after
    stop_vote = None  # data-parallel: the StopVote through which Ctrl-C stops every rank after the same step

    def use_data_parallel(self, info) -> None:
        """Train as rank `info.rank` of `info.world_size` (call before setup, in every rank): the model is wrapped
        in DistributedDataParallel and each step trains on this rank's slice of the same global batch."""
        self.data_parallel, self.world_size = info, info.world_size

    def setup(self, ctx: JobContext) -> None:
        import torch

        from ...data.attention_tasks import expected_attention, make_task_batch, task_alphabet
        from ...data.tasks import char_ids, char_lm_batch, id_counts
        from ...data.tokenize import CharTokenizer

        cfg = self.config
        torch.manual_seed(cfg.seed)
        dev = torch.device(self.device)
        self.gen = torch.Generator(device=dev).manual_seed(cfg.seed)
        val_gen = torch.Generator(device=dev).manual_seed(cfg.seed + 1)
        if cfg.task == "characters":
            corpus = ctx.corpus(cfg.corpus)
            tokenizer, ids = char_ids(corpus.text)
            split = int(len(ids) * (1 - VAL_SHARE))
            if len(ids) - split < cfg.context + 1:
                raise CorpusError(f"The last 10% of the text, held out for validation, has {len(ids) - split:,} "
                                  f"characters, too few for one window of {cfg.context} plus the next one; choose "
                                  f"a shorter context or a longer text.")
            train, val = ids[:split].to(dev), ids[split:].to(dev)
            self.alphabet = tokenizer.chars
            self.chance = float(id_counts(ids).max() / len(ids))  # the most common character
            self._batch = lambda b, g: char_lm_batch(train, b, cfg.context, g)
            self.val_x, self.val_y = char_lm_batch(val, VAL_BATCH, cfg.context, val_gen)
            self.expected = np.full(cfg.context, -1, dtype=np.int64)
        else:
            half = cfg.context // 2
            self.alphabet = task_alphabet()
            self.chance = 1.0 / (len(self.alphabet) - 1)
            self._batch = lambda b, g: make_task_batch(cfg.task, b, half, generator=g)
            self.val_x, self.val_y = make_task_batch(cfg.task, VAL_BATCH, half, generator=val_gen)
            self.expected = expected_attention(cfg.task, half)
        if cfg.probe_text:
            self.probe = torch.from_numpy(CharTokenizer(self.alphabet).encode(cfg.probe_text[-cfg.context:])).to(dev)
            self.expected = np.full(len(self.probe), -1, dtype=np.int64)
        else:
            self.probe = self.val_x[0]
        self.model = build_model(cfg, len(self.alphabet)).to(dev)
        self._net = self.model  # what a training step calls: the model, or DDP around it (snapshots use the model)
        if self.data_parallel is not None:
            from ..distributed import wrap

            self._net = wrap(self.model, self.data_parallel)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr)
        self.total_steps = cfg.steps
        self.items_per_step = float(cfg.batch_size * self.val_x.shape[1])
        self._last_loss = float("nan")
        self._sample, self._sample_step = "", -SAMPLE_EVERY
        self._expected_array = frozen_array(self.expected, np.int64)
        self._evaluate()

    def _loss(self, logits, y):
        import torch.nn.functional as F

        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)

    def _evaluate(self) -> None:
        """Validation loss and accuracy on the fixed validation batch."""
        import torch

        from ...data.attention_tasks import target_accuracy

        self._eval_mode(True)
        with torch.no_grad():
            logits = self.model(self.val_x)
            self.val_loss = float(self._loss(logits, self.val_y))
            self.accuracy = target_accuracy(logits, self.val_y)
        self._eval_mode(False)

    def _eval_mode(self, on: bool) -> None:
        """Dropout off for measuring (toggling the mode of every module costs ~0.2 ms, so only when it matters)."""
        if self.config.dropout > 0:
            self.model.train(not on)

    def train_step(self, step: int) -> dict[str, float]:
        x, y = self._batch(self.config.batch_size, self.gen)  # data-parallel: every rank draws the global batch
        dp = self.data_parallel
        if dp is not None:
            rows = dp.shard(self.config.batch_size)
            x, y = x[rows], y[rows]
        loss = self._loss(self._net(x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        if dp is None:
            self._last_loss = float(loss.detach())
        else:
            from ..distributed import global_mean

            self._last_loss = global_mean(loss, dp, self.stop_vote)
        metrics = {"loss": self._last_loss}
        if (step + 1) % VAL_EVERY == 0 or step + 1 == self.total_steps:
            self._evaluate()
            metrics["val_loss"] = self.val_loss
        return metrics

    def set_lr(self, lr: float) -> None:
        for group in self.opt.param_groups:
            group["lr"] = float(lr)

    def _probe_outputs(self, step: int, logits) -> tuple[str, str]:
        """(sample, target) of a snapshot."""
        import torch

        from ...models.transformer import generate

        cfg, chars = self.config, self.alphabet
        if cfg.task != "characters":
            scored = np.flatnonzero(self.expected >= 0) if not cfg.probe_text else np.arange(len(self.probe))
            pred = logits[0].argmax(-1).cpu().numpy()
            target = "" if cfg.probe_text else "".join(chars[i] for i in self.val_y[0].cpu().numpy()[scored])
            return "".join(chars[i] for i in pred[scored]), target
        if step - self._sample_step >= SAMPLE_EVERY or step == self.total_steps:
            start = self.probe[: max(1, min(16, cfg.context // 4))]
            gen = torch.Generator(device=self.probe.device).manual_seed(cfg.seed)
            out = generate(self.model, start, cfg.context - len(start), SAMPLE_TEMPERATURE, None, gen)
            self._sample = "".join(chars[i] for i in out.cpu().tolist())
            self._sample_step = step
        return self._sample, ""

    def snapshot(self, step: int) -> GptSnapshot:
        if self._rank_snapshot is not None:  # data-parallel rank other than 0: it records and shows nothing, and a
            return self._rank_snapshot  # fresh snapshot (~1 s at the small preset) would make every rank wait
        import torch

        from ...analysis.attention_probe import input_jacobian

        cfg = self.config
        self._eval_mode(True)
        try:
            with torch.no_grad():
                logits, rec = self.model(self.probe[None], record=True)
                sample, target = self._probe_outputs(step, logits)
            text = "".join(self.alphabet[i] for i in self.probe.cpu().tolist())
            tokens, attention, scores = _attention_arrays(text, [(s.cpu(), w.cpu()) for s, w in rec])
            vector = frozen_array(torch.nn.utils.parameters_to_vector(self.model.parameters()))
            leak = frozen_array(input_jacobian(self.model, self.probe[None].cpu(), seed=cfg.seed), np.float64)
        finally:
            self._eval_mode(False)
        snap = GptSnapshot(
            step=step, task=cfg.task, loss=self._last_loss, val_loss=self.val_loss, accuracy=self.accuracy,
            chance=self.chance, tokens=tokens, attention=attention, scores=scores,
            expected_keys=self._expected_array, sample=sample, target=target, alphabet=tuple(self.alphabet),
            param_vector=vector, layers=cfg.layers, heads=cfg.heads, width=cfg.width, context=cfg.context,
            positional=cfg.positional, causal=bool(cfg.causal), leak=leak,
        )
        if self.data_parallel is not None and not self.data_parallel.is_main:
            self._rank_snapshot = snap
        return snap
