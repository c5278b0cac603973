"""Transfer learning with the tiny GPT: layer groups, copying and freezing the lower ones, a classifier body.

A GPT's parameters fall into groups from the bottom up: "embedding" (the token table, and the positional
table when it is learned), "block 1" .. "block L", and "output" (the last LayerNorm and the head: the language
model's head over the vocabulary, or a classifier's). Transfer either copies the lowest N groups from a
pre-trained model into a fresh one (the rest keeps its fresh initialisation), or starts from the whole
pre-trained model (a warm start), possibly with the lowest N groups frozen (requires_grad False, so that an
optimiser built from the trainable parameters holds no state for them and never changes them).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .transformer import GPT

POOLING = ("last", "mean")


class GPTClassifier(nn.Module):
    """A GPT body (embedding, blocks, last LayerNorm) with a linear head over classes on a pooled position.

    pooling "last": the last position's final-layer vector (with the causal mask the only one that has read the
    whole passage); "mean": the mean over positions. The body's language-model head is replaced by the identity,
    so `self.gpt(idx)` returns the final LayerNorm's output (B, T, width).
    """

    def __init__(self, gpt: GPT, classes: int, pooling: str = "last") -> None:
        super().__init__()
        if pooling not in POOLING:
            raise ValueError(f"pooling must be one of {POOLING}, not {pooling!r}")
        if classes < 2:
            raise ValueError("A classifier needs at least two classes.")
        self.gpt, self.pooling = gpt, pooling
        self.gpt.head = nn.Identity()
        self.head = nn.Linear(gpt.cfg.width, classes)
        nn.init.normal_(self.head.weight, 0.0, 0.02)
        nn.init.zeros_(self.head.bias)

    @property
    def cfg(self):
        return self.gpt.cfg

    def pool(self, h: torch.Tensor) -> torch.Tensor:
        """(B, T, width) -> (B, width), as this classifier pools."""
        return h[:, -1] if self.pooling == "last" else h.mean(1)

    def forward(self, idx: torch.Tensor, record: bool = False):
        """(B, T) ids -> logits (B, classes); with record=True also the attention of every layer."""
        if record:
            h, rec = self.gpt(idx, record=True)
            return self.head(self.pool(h)), rec
        return self.head(self.pool(self.gpt(idx)))

    def hidden_states(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """[embedding output, block 1 output, ..., block L output], each (B, T, width), as GPT's."""
        return self.gpt.hidden_states(idx)


def _body(model: nn.Module) -> GPT:
    """The GPT inside a model (the model itself, or a classifier's body)."""
    if isinstance(model, GPT):
        return model
    if isinstance(model, GPTClassifier):
        return model.gpt
    raise TypeError(f"Expected a GPT or a GPTClassifier, not {type(model).__name__}.")


def layer_groups(model: nn.Module) -> list[str]:
    """["embedding", "block 1", ..., "block L", "output"]."""
    return ["embedding"] + [f"block {i + 1}" for i in range(len(_body(model).blocks))] + ["output"]


def group_parameters(model: nn.Module) -> dict[str, list[tuple[str, nn.Parameter]]]:
    """Every parameter of a GPT or GPTClassifier in exactly one group: name (as in model.named_parameters) and
    the parameter, in order."""
    groups: dict[str, list[tuple[str, nn.Parameter]]] = {g: [] for g in layer_groups(model)}
    prefix = "gpt." if isinstance(model, GPTClassifier) else ""
    for name, p in model.named_parameters():
        inner = name[len(prefix):] if prefix and name.startswith(prefix) else name
        if inner.startswith(("token_embedding.", "position.")):
            groups["embedding"].append((name, p))
        elif inner.startswith("blocks."):
            groups[f"block {int(inner.split('.')[1]) + 1}"].append((name, p))
        else:  # ln_f and the head (the GPT's, or the classifier's own, whose name has no prefix)
            groups["output"].append((name, p))
    return groups


def _inner_name(model: nn.Module, name: str) -> str:
    """A parameter's name inside the GPT body (without a classifier's "gpt." prefix)."""
    return name[4:] if isinstance(model, GPTClassifier) and name.startswith("gpt.") else name


def _check_lower(model: nn.Module, n: int) -> None:
    most = len(_body(model).blocks) + 1
    if not 0 <= n <= most:
        raise ValueError(f"N must lie between 0 and {most} (the embedding and {most - 1} blocks), not {n}.")


@torch.no_grad()
def copy_lower(target: nn.Module, source: nn.Module, n: int) -> None:
    """Copy the lowest n groups (the embedding counts as the first) of `source` into `target`, exactly.

    Both are GPTs or GPTClassifiers of the same shape below the output; n lies in 0 .. L+1."""
    _check_lower(target, n)
    if len(_body(target).blocks) != len(_body(source).blocks):
        raise ValueError("The two models have different numbers of blocks.")
    src = {_inner_name(source, k): p for k, p in source.named_parameters()}
    for group in layer_groups(target)[:n]:
        for name, p in group_parameters(target)[group]:
            q = src.get(_inner_name(target, name))
            if q is None or q.shape != p.shape:
                raise ValueError(f"The pre-trained model has no parameter {_inner_name(target, name)!r} of shape "
                                 f"{tuple(p.shape)}: the two models differ in shape.")
            p.copy_(q)


@torch.no_grad()
def warm_start(target: nn.Module, source: nn.Module) -> list[str]:
    """Copy every parameter of `source` that `target` has with the same name and shape (the whole pre-trained
    model; a classifier keeps its fresh head). Returns the names of the target's parameters left as they were."""
    src = {_inner_name(source, k): p for k, p in source.named_parameters()}
    fresh = []
    for name, p in target.named_parameters():
        q = src.get(_inner_name(target, name))
        if q is not None and q.shape == p.shape:
            p.copy_(q)
        else:
            fresh.append(name)
    return fresh


def freeze_lower(model: nn.Module, n: int) -> None:
    """requires_grad False for the lowest n groups (True for the others)."""
    _check_lower(model, n)
    lower = set(layer_groups(model)[:n])
    for group, params in group_parameters(model).items():
        for _, p in params:
            p.requires_grad_(group not in lower)


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters an optimiser should hold: those not frozen."""
    return [p for p in model.parameters() if p.requires_grad]


def state_copy(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of every parameter, by name (the reference of relative_change)."""
    return {k: p.detach().clone() for k, p in model.named_parameters()}


@torch.no_grad()
def relative_change(model: nn.Module, reference: dict[str, torch.Tensor]) -> dict[str, float]:
    """Per group ||θ − θ0|| / ||θ0|| over all its parameters (exactly 0.0 for a group that has not changed)."""
    out = {}
    for group, params in group_parameters(model).items():
        diff = ref = 0.0
        for name, p in params:
            p0 = reference[name].to(p.device)
            diff += float(torch.sum((p.double() - p0.double()) ** 2))
            ref += float(torch.sum(p0.double() ** 2))
        out[group] = float(np.sqrt(diff) / np.sqrt(ref)) if ref > 0 else float(np.sqrt(diff))
    return out


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray,
                 max_iter: int = 300) -> float:
    """Validation accuracy of a logistic-regression probe on standardised features (fixed seed).

    train_x (N, D) features with labels train_y (N,); NaN when the training labels hold a single class. lbfgs
    stops after max_iter iterations even if it has not converged (a probe over ~80 characters is costly)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    train_x, val_x = np.asarray(train_x, np.float64), np.asarray(val_x, np.float64)
    train_y, val_y = np.asarray(train_y), np.asarray(val_y)
    if len(np.unique(train_y)) < 2 or not len(val_y):
        return float("nan")
    scaler = StandardScaler().fit(train_x)
    probe = LogisticRegression(max_iter=max_iter, random_state=0)
    probe.fit(scaler.transform(train_x), train_y)
    return float(np.mean(probe.predict(scaler.transform(val_x)) == val_y))
