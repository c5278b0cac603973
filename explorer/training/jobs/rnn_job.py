"""Training job: a plain RNN, GRU or LSTM on a long-range task, with backprop through time laid open.

Each step trains through the fast path (torch's fused kernels on the hand-written cells' weights), optionally
with truncated backprop through time and gradient-norm clipping; each snapshot reruns the fixed evaluation
batch through the recorded path and measures how the last step's gradient reaches every earlier state.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..job import Diverged, Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param

TASKS = ("copy", "adding", "characters", "count")
PROBLEM_TYPES = {"copy": "many to many", "adding": "many to one", "characters": "many to many",
                 "count": "one to many"}  # the lecture's RNN problem types (as the tasks in data.recurrent_tasks say)
CELLS = ("RNN", "GRU", "LSTM")
GRU_VARIANTS = ("lecture", "torch")  # candidate tanh(W[r ⊙ h, x]) (reset before the product), or torch's (after)
GATES = {"RNN": (), "GRU": ("z", "r"), "LSTM": ("f", "i", "o")}
BLOCKS = {"RNN": 1, "GRU": 3, "LSTM": 4}
COPY_SYMBOLS = 5  # symbols to remember in the copy task
COPY_ALPHABET = 8  # distinct symbols (chance 1/8); the count task's too
EXPLODE_BOUND = 1e6  # a gradient norm above this, with clipping off, ends the run as diverged
ACTIVATION_BUDGET = 2**26  # most batch x length x hidden x (gate blocks + 1) numbers one step may keep
EVAL_BATCH = 64  # fixed sequences the snapshot's accuracy and gradient norms are measured on
EVAL_BUDGET = 2**24  # most numbers the recorded evaluation pass may keep (fewer sequences for large settings)
JAC_K = 8  # singular values per step in the snapshot


def task_title(task: str) -> str:
    """A task as figure titles name it, with its problem type, e.g. 'adding task, many to one'."""
    kind = PROBLEM_TYPES.get(task, "")
    return f"{task} task, {kind}" if kind else f"{task} task"


def gru_variant_text(variant: str) -> str:
    """Which GRU candidate runs, in the lecture's notation."""
    if variant == "torch":
        return "torch's variant h̃ = tanh(W_x x + r ⊙ (W_h h + b))"
    return "the lecture's h̃ = tanh(W[r ⊙ h, x])"


def sequence_length(task: str, length: int) -> int:
    """Positions per sequence: the copy task adds the symbols before and after the delay."""
    return 2 * COPY_SYMBOLS + length if task == "copy" else length


TASK_HELP = (f"Copy (many to many): remember {COPY_SYMBOLS} symbols over T blanks and repeat them after the go "
             "marker. Adding (many to one): output the sum of the two marked values of a length-T sequence. "
             "Characters (many to many): predict the next character of the corpus. Count (one to many): from one "
             "start symbol, emit T symbols counting up from it.")
LENGTH_HELP = "Copy: the delay between the symbols and their recall. Adding: the sequence length. Characters: " \
              "the window length. Count: the symbols emitted."


@dataclasses.dataclass
class RnnConfig:
    """Hyper-parameters of a recurrent-network run."""

    task: str = param("copy", label="Task", choices=TASKS,
                      help=TASK_HELP)
    corpus: str = "builtin:austen"
    cell: str = param("LSTM", label="Cell", choices=CELLS,
                      help="Plain (Elman) RNN, gated recurrent unit, or long short-term memory.")
    gru_variant: str = param("lecture", label="GRU variant", choices=GRU_VARIANTS,
                             help="lecture: the candidate h̃ = tanh(W[r ⊙ h, x]) of the lecture (Cho et al.), "
                                  "reset applied before the product. torch: torch.nn.GRU's (cuDNN's) "
                                  "tanh(W_x x + r ⊙ (W_h h + b)), reset applied after it.")
    activation: str = param("tanh", label="Activation", choices=("tanh", "relu"),
                            help="Non-linearity of the plain RNN (the gated cells use tanh).")
    hidden: int = param(64, label="Hidden units", min=2, max=1024, help="Size of the hidden state h(t).")
    length: int = param(20, label="Dependency length T", min=2, max=2000, help=LENGTH_HELP)
    weight_scale: float = param(1.0, label="Weight scale", min=0.01, max=10.0, log=True,
                                help="Spectral radius of each recurrent weight block at initialisation: below "
                                     "~1 a plain RNN's gradients vanish, above ~1 they can explode.")
    forget_bias: float = param(1.0, label="Forget bias", min=-10.0, max=10.0,
                               help="Initial bias of the LSTM's forget gate (the GRU's update gate gets minus "
                                    "it): both keep σ(1) ≈ 0.73 of their memory per step at first.")
    clip: str = param("off", label="Gradient clipping", choices=("off", "norm"),
                      help="Rescale the gradient when its total norm exceeds the clip value.")
    clip_value: float = param(1.0, label="Clip value", min=1e-6, max=1e6, log=True,
                              help="Largest gradient norm when clipping is on.")
    tbptt: int = param(0, label="Truncated BPTT", min=0, max=2000,
                       help="0: backprop through the whole sequence; k: cut the gradient every k steps.")
    lr: float = param(3e-3, label="Learning rate", min=1e-6, max=1.0, log=True, live=True,
                      help="Adam's step size.")
    batch_size: int = param(32, label="Batch size", min=1, max=4096, help="Sequences per step.")
    steps: int = param(1500, label="Steps", min=1, max=10_000_000)
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def sequence_length(self) -> int:
        """Positions per training sequence."""
        return sequence_length(self.task, self.length)

    def check(self) -> dict[str, str]:
        """Problems that involve more than one field: field name ('' for several) -> message."""
        problems: dict[str, str] = {}
        L = self.sequence_length()
        if self.tbptt and self.tbptt >= L:
            problems["tbptt"] = (f"Truncated BPTT ({self.tbptt}) must be shorter than the sequence ({L} steps) "
                                 "to cut anything; 0 means full backprop through time.")
        size = self.batch_size * L * self.hidden * (BLOCKS.get(self.cell, 4) + 1)
        if size > ACTIVATION_BUDGET:
            problems[""] = (f"Batch size × sequence length ({L}) × hidden units × gates is {size:,}, more than "
                            f"{ACTIVATION_BUDGET:,}: training would take too much memory; make one of them "
                            "smaller.")
        return problems


@dataclasses.dataclass(frozen=True)
class RnnSnapshot(Snapshot):
    """What the recurrent views draw at one step (L: positions per sequence, H: hidden units).

    loss: the last training step's (NaN before the first); accuracy on a fixed evaluation batch, chance that of
    guessing (chance_loss the loss of the best input-blind guess). grad_norms (L,): |dL/dh(t)| for the loss of
    the last step only, averaged over the evaluation batch. jac_sv (L, k): top singular values of the state
    Jacobian ∂s(t)/∂s(t-1) on evaluation sequence 0, s = h (RNN, GRU) or (h, c) (LSTM); jac_log10_product
    (L,): log10 of the product of the largest of them from t+1 to the end, a bound on grad_norms[t] /
    grad_norms[-1]. w_sv_max: largest singular value of the recurrent matrix W_h (stacked gate blocks for the
    gated cells). grad_norm: total gradient norm of the last step before clipping; clipped: whether it was
    clipped. input_ids / input_labels: evaluation sequence 0; hidden_states (L, H), gates (G, L, H) named by
    gate_names, cell_state (L, H) for the LSTM ((0, H) otherwise) on it. param_vector: all parameters, flat
    (see states_for_input). alphabet: the label of every input id.
    """

    task: str
    cell: str
    loss: float
    accuracy: float
    chance: float
    chance_loss: float
    grad_norms: np.ndarray
    jac_sv: np.ndarray
    jac_log10_product: np.ndarray
    w_sv_max: float
    grad_norm: float
    clipped: bool
    input_ids: np.ndarray
    input_labels: tuple[str, ...]
    hidden_states: np.ndarray
    gate_names: tuple[str, ...]
    gates: np.ndarray
    cell_state: np.ndarray
    param_vector: np.ndarray
    alphabet: tuple[str, ...]


def make_task(config: RnnConfig, device="cpu", ctx: JobContext | None = None):
    """The RecurrentTask of a config (the characters task takes its corpus from `ctx`, else reads it)."""
    from ...data.recurrent_tasks import AddingTask, CharTask, CopyTask, CountTask

    if config.task == "copy":
        return CopyTask(config.length, COPY_SYMBOLS, COPY_ALPHABET)
    if config.task == "count":
        return CountTask(config.length, COPY_ALPHABET)
    if config.task == "adding":
        return AddingTask(config.length)
    corpus = (ctx or JobContext()).corpus(config.corpus)
    return CharTask(corpus.text, config.length, device)


def build_model(config: RnnConfig, vocab_size: int, out_dim: int, input_table=None):
    """The RecurrentNet of a config (seed torch first for a reproducible initialisation)."""
    from ...models.recurrent_net import RecurrentNet

    return RecurrentNet(config.cell, vocab_size, config.hidden, out_dim, config.activation, config.weight_scale,
                        config.forget_bias, input_table, reset_after=config.gru_variant == "torch")


@register_job
class RnnJob(Job):
    """A RecurrentNet on copy, adding or characters, trained with Adam through (truncated) BPTT."""

    kind = "rnn"
    title = "recurrent network"
    config_cls = RnnConfig
    snapshot_cls = RnnSnapshot
    throughput_unit = "sequences/s"

    def setup(self, ctx: JobContext) -> None:
        import torch

        cfg = self.config
        torch.manual_seed(cfg.seed)
        dev = torch.device(self.device)
        self.gen = torch.Generator(device=dev).manual_seed(cfg.seed)
        eval_gen = torch.Generator(device=dev).manual_seed(cfg.seed + 1)
        self.task = make_task(cfg, dev, ctx)
        table = self.task.input_table
        self.model = build_model(cfg, self.task.vocab_size, self.task.out_dim, table).to(dev)
        self.params = list(self.model.parameters())
        self.opt = torch.optim.Adam(self.params, lr=cfg.lr)
        per_sequence = self.task.length * cfg.hidden * (BLOCKS[cfg.cell] + 2)
        self.eval_x, self.eval_y = self.task.batch(max(1, min(EVAL_BATCH, EVAL_BUDGET // per_sequence)), eval_gen)
        w = self.model.recurrent_matrix().detach()
        self._sv_vector = torch.linalg.svd(w.cpu().double(), full_matrices=False)[2][0].to(w)
        self.total_steps = cfg.steps
        self.items_per_step = float(cfg.batch_size)
        self._last = {"loss": float("nan"), "grad_norm": float("nan"), "clipped": 0.0}

    def _track_sv(self) -> float:
        """The largest singular value of W_h, followed by two power-iteration steps per training step from the
        previous singular vector (a lower bound that stays within a fraction of a percent; snapshots are exact)."""
        import torch

        with torch.no_grad():
            w, v = self.model.recurrent_matrix(), self._sv_vector
            for _ in range(2):
                v = w.T @ (w @ v)
                v = v / v.norm().clamp(min=1e-30)
            self._sv_vector = v
            return float((w @ v).norm())

    def train_step(self, step: int) -> dict[str, float]:
        import torch

        cfg = self.config
        x, y = self.task.batch(cfg.batch_size, self.gen)
        loss, _ = self.task.loss_and_accuracy(self.model(x, cfg.tbptt), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        grads = [p.grad for p in self.params if p.grad is not None]
        total = torch.nn.utils.get_total_norm(grads)
        norm, loss_value = float(total), float(loss.detach())
        self._check_divergence(step, loss_value, norm)
        clipped = cfg.clip == "norm" and norm > cfg.clip_value
        if clipped:
            torch.nn.utils.clip_grads_with_norm_(self.params, cfg.clip_value, total)
        self.opt.step()
        self._last = {"loss": loss_value, "grad_norm": norm, "clipped": float(clipped)}
        return {**self._last, "w_sv_max": self._track_sv()}

    def _check_divergence(self, step: int, loss: float, norm: float) -> None:
        cfg = self.config
        where = f"Training diverged at step {step + 1}"
        scale = f"weight scale {cfg.weight_scale:g}"
        if not math.isfinite(loss):
            raise Diverged(f"{where}: the loss became {loss} ({scale}, gradient norm {norm:.3g}). The job was "
                           "stopped and the last good snapshot is kept. Lower the weight scale or the learning "
                           "rate, or turn on gradient clipping.")
        if not math.isfinite(norm) or (cfg.clip == "off" and norm > EXPLODE_BOUND):
            if cfg.clip == "off":
                advice = "Turn on gradient clipping (norm) or lower the weight scale."
                setting = f"{scale}, gradient clipping off"
            else:
                advice = "Lower the weight scale or the learning rate."
                setting = f"{scale}, clipped at {cfg.clip_value:g}"
            raise Diverged(f"{where}: the gradient norm reached {norm:.3g} ({setting}): the gradients exploded "
                           f"through time. The job was stopped and the last good snapshot is kept. {advice}")

    def set_lr(self, lr: float) -> None:
        for group in self.opt.param_groups:
            group["lr"] = float(lr)

    def evaluate(self) -> tuple[float, float]:
        """(loss, accuracy) on the fixed evaluation batch, through the fast path."""
        import torch

        with torch.no_grad():
            loss, acc = self.task.loss_and_accuracy(self.model(self.eval_x), self.eval_y)
        return float(loss), float(acc)

    def snapshot(self, step: int) -> RnnSnapshot:
        import torch

        from ...analysis.gradient_flow import gradient_norms, jacobian_spectrum

        cfg = self.config
        _, accuracy = self.evaluate()
        norms = gradient_norms(self.model, self.eval_x, self.eval_y, self.task)
        spectrum = jacobian_spectrum(self.model, self.eval_x, JAC_K, sample=0)
        x0 = self.eval_x[:1]
        with torch.no_grad():
            _, rec = self.model.forward_recorded(x0)
        L, H = x0.shape[1], cfg.hidden
        names = GATES[cfg.cell]
        gates = torch.stack([rec.gates[k][0] for k in names]) if names else np.zeros((0, L, H))
        cell_state = rec.cell_tensor()[0] if rec.cell is not None else np.zeros((0, H))
        vector = torch.nn.utils.parameters_to_vector(self.params)
        return RnnSnapshot(
            step=step, task=cfg.task, cell=cfg.cell, loss=self._last["loss"], accuracy=accuracy,
            chance=float(self.task.chance), chance_loss=float(self.task.chance_loss),
            grad_norms=frozen_array(norms), jac_sv=frozen_array(spectrum.sv),
            jac_log10_product=frozen_array(spectrum.log10_product),
            w_sv_max=self.model.largest_singular_value(), grad_norm=self._last["grad_norm"],
            clipped=bool(self._last["clipped"]), input_ids=frozen_array(x0[0], np.int64),
            input_labels=self.task.labels(x0[0].tolist()), hidden_states=frozen_array(rec.hidden_tensor()[0]),
            gate_names=names, gates=frozen_array(gates), cell_state=frozen_array(cell_state),
            param_vector=frozen_array(vector), alphabet=tuple(self.task.alphabet),
        )


def _vocab_from_vector(config: RnnConfig, n_params: int) -> int:
    """The input vocabulary (= output size) of a characters model, solved from its parameter count."""
    G, H = BLOCKS[config.cell], config.hidden
    b_hn = H if config.cell == "GRU" and config.gru_variant == "torch" else 0  # torch's variant's second bias
    fixed = G * H * H + G * H + b_hn  # W_h, b
    per_symbol = G * H + H + 1  # a column of W_x, a row of the head and its bias
    vocab, rest = divmod(n_params - fixed, per_symbol)
    if rest or vocab < 1:
        raise ValueError(f"A parameter vector of {n_params:,} numbers does not fit a {config.cell} of "
                         f"{H} hidden units.")
    return vocab


def states_for_input(config: RnnConfig, param_vector: np.ndarray, ids: list[int]) -> dict[str, np.ndarray]:
    """Rerun a snapshot's model (its param_vector) on input ids, on the CPU: {"hidden": (L, H), each gate name:
    (L, H), "cell": (L, H) for the LSTM, "output": (L, out_dim) the model's outputs (logits, or the adding
    problem's answer)}."""
    import torch

    from ...data.recurrent_tasks import AddingTask

    table = None
    if config.task == "copy":
        vocab, out_dim = COPY_ALPHABET + 2, COPY_ALPHABET
    elif config.task == "count":
        vocab, out_dim = COPY_ALPHABET + 1, COPY_ALPHABET
    elif config.task == "adding":
        task = AddingTask(2)
        vocab, out_dim, table = task.vocab_size, 1, task.input_table
    else:
        vocab = out_dim = _vocab_from_vector(config, len(param_vector))
    ids = [int(i) for i in ids]
    if not ids or min(ids) < 0 or max(ids) >= vocab:
        raise ValueError(f"Input ids must lie in 0..{vocab - 1} (and there must be at least one).")
    model = build_model(config, vocab, out_dim, table)
    vector = torch.from_numpy(np.array(param_vector, dtype=np.float32))  # a writable copy
    expected = sum(p.numel() for p in model.parameters())
    if vector.numel() != expected:
        raise ValueError(f"The parameter vector has {vector.numel():,} numbers; this configuration needs "
                         f"{expected:,}.")
    torch.nn.utils.vector_to_parameters(vector, model.parameters())
    with torch.no_grad():
        logits, rec = model.forward_recorded(torch.tensor([ids], dtype=torch.long))
    out = {"hidden": rec.hidden_tensor()[0], "output": logits[0]}
    out.update({k: v[0] for k, v in rec.gates.items()})
    if rec.cell is not None:
        out["cell"] = rec.cell_tensor()[0]
    return {k: frozen_array(v) for k, v in out.items()}


def encode_input(config: RnnConfig, alphabet: tuple[str, ...], text: str) -> list[int]:
    """Input ids of what a user typed, for the snapshot's `alphabet`; ValueError says what does not fit.

    Copy: symbols separated by spaces or run together as single characters, blanks as · . or _, the go marker
    as go or > (e.g. "abcde ..... go"). Adding: values from 0 to 1, a marked one followed by * (e.g.
    "0.3 0.71* 0.2 0.5*"). Characters: the text itself, each character from the corpus's alphabet.
    """
    from ...data.recurrent_tasks import encode_adding, encode_chars, encode_copy

    if config.task == "copy":
        return encode_copy(text, tuple(alphabet))
    if config.task == "count":
        from ...data.recurrent_tasks import CountTask

        return CountTask(2, len(alphabet) - 1).encode(text)
    if config.task == "adding":
        return encode_adding(text, len(alphabet) // 2)
    return encode_chars(text, tuple(alphabet))
