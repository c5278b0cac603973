"""Recurrent cells written from the lecture's equations (the network that runs one is in recurrent_net.py).

Every gate is a sigmoid of an affine map of the previous hidden state and the input, σ(W[h(t-1), x(t)] + b).
A cell keeps W split in two stacked matrices, the recurrent W_h (G·H, H) and the input W_x (G·H, D), with its
G blocks in the order of `blocks`, and one bias b (G·H):

    RNN   h(t) = φ(W_h h(t-1) + W_x x(t) + b)                          φ = tanh or relu
    GRU   z = σ(W_z[h(t-1), x(t)] + b_z),  r = σ(W_r[h(t-1), x(t)] + b_r)
          reset before the product (the lecture; Cho et al. 2014):   h~ = tanh(W_hh~ (r ⊙ h(t-1)) + W_xh~ x(t) + b)
          reset after the product (cuDNN, torch.nn.GRU):
                                                   h~ = tanh(W_xh~ x(t) + b + r ⊙ (W_hh~ h(t-1) + b_hn))
          h(t) = (1 - z) ⊙ h(t-1) + z ⊙ h~
    LSTM  f, i, o = σ(W_{f,i,o}[h(t-1), x(t)] + b),  g~ = tanh(W_g[h(t-1), x(t)] + b_g)
          c(t) = f ⊙ c(t-1) + i ⊙ g~,   h(t) = o ⊙ tanh(c(t))

The GRU's z is the lecture's: the share of new content. torch's update gate is 1 - z (it writes
h' = (1 - z) ⊙ n + z ⊙ h); the copies to and from torch negate the z rows, which maps one onto the other exactly.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import torch
import torch.nn.functional as F
from torch import nn

CELLS = ("RNN", "GRU", "LSTM")
ACTIVATIONS = ("tanh", "relu")  # "identity" is accepted too: a linear RNN, for analyses and tests
TORCH_CELLS = {"RNN": nn.RNNCell, "GRU": nn.GRUCell, "LSTM": nn.LSTMCell}

# cuDNN copies weights that are not one flat buffer on every call and says so; ours are assembled per call on purpose
warnings.filterwarnings("ignore", message="RNN module weights are not part of single contiguous chunk")


def _scale_rows(d: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """diag(d) @ w for a batch of vectors d (N, H) and one matrix w (H, K): (N, H, K)."""
    return d.unsqueeze(-1) * w


class _Cell(nn.Module):
    """What the three cells share: stacked weights, one step on a precomputed input part, copies to torch."""

    blocks: tuple[str, ...] = ()  # the stacked blocks of W_h, W_x and b, in order
    gate_names: tuple[str, ...] = ()  # the sigmoid gates a recording keeps
    has_cell_state = False

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        rows = len(self.blocks) * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        self.bias = nn.Parameter(torch.zeros(rows))
        bound = 1.0 / math.sqrt(hidden_size)  # torch.nn's default for recurrent layers
        nn.init.uniform_(self.weight_ih, -bound, bound)
        nn.init.uniform_(self.weight_hh, -bound, bound)

    @property
    def state_size(self) -> int:
        """Length of the state vector s(t): H, or 2H for the LSTM's (h, c)."""
        return self.hidden_size * (2 if self.has_cell_state else 1)

    def _rows(self, w: torch.Tensor, name: str) -> torch.Tensor:
        k, H = self.blocks.index(name), self.hidden_size
        return w[k * H:(k + 1) * H]

    def _cols(self, a: torch.Tensor, name: str) -> torch.Tensor:
        k, H = self.blocks.index(name), self.hidden_size
        return a[..., k * H:(k + 1) * H]

    def input_part(self, x: torch.Tensor) -> torch.Tensor:
        """W_x x + b for inputs (..., D): (..., G·H), computed for all steps at once."""
        return F.linear(x, self.weight_ih, self.bias)

    def step(self, u: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None = None):
        """One step from the input part u (N, G·H): (h(t), c(t) or None, {gate name: (N, H)})."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor, state=None):
        """One step on raw inputs x (N, D), as torch.nn.*Cell: h, or (h, c) for the LSTM."""
        n, H = x.shape[0], self.hidden_size
        if state is None:
            zeros = x.new_zeros(n, H)
            state = (zeros, zeros) if self.has_cell_state else zeros
        h, c = state if self.has_cell_state else (state, None)
        h, c, _ = self.step(self.input_part(x), h, c)
        return (h, c) if self.has_cell_state else h

    def state_jacobian(self, u: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """Exact ∂s(t)/∂s(t-1) (N, n, n) at input parts u (N, G·H) and states s(t-1) (N, n), written out."""
        raise NotImplementedError

    # ---- torch.nn layout: the fast path and the tests -----------------------------------------------------
    def torch_weights(self) -> list[torch.Tensor]:
        """[w_ih, w_hh, b_ih, b_hh] in torch.nn's gate order (differentiable views of this cell's parameters)."""
        raise NotImplementedError

    def load_torch_weights(self, w_ih, w_hh, b_ih, b_hh) -> None:
        """Set this cell's parameters from torch.nn's layout."""
        raise NotImplementedError

    def load_torch_cell(self, cell: nn.Module) -> None:
        """Copy the weights of a torch.nn.RNNCell / GRUCell / LSTMCell of the same sizes."""
        with torch.no_grad():
            self.load_torch_weights(cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)

    def to_torch_cell(self) -> nn.Module:
        """A torch.nn cell that computes the same function, with this cell's dtype and device."""
        cell = self._torch_cell_cls()(self.input_size, self.hidden_size)
        cell.to(device=self.weight_ih.device, dtype=self.weight_ih.dtype)  # before the copy: float64 stays exact
        with torch.no_grad():
            ours = (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
            for dst, src in zip(ours, self.torch_weights(), strict=True):
                dst.copy_(src)
        return cell

    def _torch_cell_cls(self):
        raise NotImplementedError


class RNNCell(_Cell):
    """The plain (Elman) cell h(t) = φ(W_h h(t-1) + W_x x(t) + b), φ = tanh, relu or identity."""

    blocks = ("h",)

    def __init__(self, input_size: int, hidden_size: int, activation: str = "tanh") -> None:
        if activation not in (*ACTIVATIONS, "identity"):
            raise ValueError(f"Unknown activation {activation!r}: choose tanh or relu.")
        super().__init__(input_size, hidden_size)
        self.activation = activation

    def _phi(self, a: torch.Tensor) -> torch.Tensor:
        return torch.tanh(a) if self.activation == "tanh" else torch.relu(a) if self.activation == "relu" else a

    def step(self, u, h, c=None):
        return self._phi(u + h @ self.weight_hh.T), None, {}

    def state_jacobian(self, u, h, c=None):
        a = u + h @ self.weight_hh.T
        if self.activation == "tanh":
            d = 1 - torch.tanh(a) ** 2
        elif self.activation == "relu":
            d = (a > 0).to(a.dtype)
        else:
            d = torch.ones_like(a)
        return _scale_rows(d, self.weight_hh)

    def torch_weights(self):
        return [self.weight_ih, self.weight_hh, self.bias, torch.zeros_like(self.bias)]

    def load_torch_weights(self, w_ih, w_hh, b_ih, b_hh):
        self.weight_ih.copy_(w_ih)
        self.weight_hh.copy_(w_hh)
        self.bias.copy_(b_ih + b_hh)

    def _torch_cell_cls(self):
        if self.activation == "identity":
            raise ValueError("torch.nn.RNNCell has no identity activation.")
        return lambda d, h: nn.RNNCell(d, h, nonlinearity=self.activation)


class GRUCell(_Cell):
    """The gated recurrent unit: update gate z (share of new content), reset gate r, candidate h~.

    reset_after=False is the lecture's h~ = tanh(W (r ⊙ h) + W_x x + b): r scales the old state before the
    product. reset_after=True is torch's (and cuDNN's) h~ = tanh(W_x x + b + r ⊙ (W h + b_hn)): r scales the
    product, which lets all three recurrent products be one matrix multiply, and needs a second candidate bias
    b_hn inside the gate. The two differ as functions; only the second can use torch's fused kernels.
    """

    blocks = ("z", "r", "n")
    gate_names = ("z", "r")

    def __init__(self, input_size: int, hidden_size: int, reset_after: bool = False) -> None:
        super().__init__(input_size, hidden_size)
        self.reset_after = reset_after
        self.bias_hn = nn.Parameter(torch.zeros(hidden_size)) if reset_after else None

    def _gates(self, u, h):
        H = self.hidden_size
        zr = torch.sigmoid(u[..., :2 * H] + h @ self.weight_hh[:2 * H].T)
        return zr[..., :H], zr[..., H:]

    def step(self, u, h, c=None):
        z, r = self._gates(u, h)
        w_n, u_n = self._rows(self.weight_hh, "n"), self._cols(u, "n")
        if self.reset_after:
            n = torch.tanh(u_n + r * (h @ w_n.T + self.bias_hn))
        else:
            n = torch.tanh(u_n + (r * h) @ w_n.T)
        return (1 - z) * h + z * n, None, {"z": z, "r": r}

    def state_jacobian(self, u, h, c=None):
        z, r = self._gates(u, h)
        w_z, w_r, w_n = (self._rows(self.weight_hh, k) for k in self.blocks)
        u_n = self._cols(u, "n")
        if self.reset_after:
            m = h @ w_n.T + self.bias_hn
            n = torch.tanh(u_n + r * m)
            dn = _scale_rows(1 - n ** 2, _scale_rows(m * r * (1 - r), w_r) + _scale_rows(r, w_n))
        else:
            n = torch.tanh(u_n + (r * h) @ w_n.T)
            # d/dh of W_n (r ⊙ h) = W_n diag(r) + W_n diag(h σ'(a_r)) W_r
            inner = w_n * r.unsqueeze(-2) + (w_n * (h * r * (1 - r)).unsqueeze(-2)) @ w_r
            dn = _scale_rows(1 - n ** 2, inner)
        eye = torch.diag_embed(1 - z)
        return eye + _scale_rows((n - h) * z * (1 - z), w_z) + _scale_rows(z, dn)

    def torch_weights(self):
        if not self.reset_after:
            raise ValueError("torch.nn.GRU resets after the product; this GRU (the lecture's) resets before it.")
        w_z, w_r, w_n = (self._rows(self.weight_ih, k) for k in self.blocks)
        v_z, v_r, v_n = (self._rows(self.weight_hh, k) for k in self.blocks)
        b_z, b_r, b_n = (self._rows(self.bias, k) for k in self.blocks)
        zeros = torch.zeros_like(b_z)
        return [torch.cat([w_r, -w_z, w_n]), torch.cat([v_r, -v_z, v_n]), torch.cat([b_r, -b_z, b_n]),
                torch.cat([zeros, zeros, self.bias_hn])]

    def load_torch_weights(self, w_ih, w_hh, b_ih, b_hh):
        if not self.reset_after:
            raise ValueError("torch.nn.GRU resets after the product; this GRU (the lecture's) resets before it.")
        H = self.hidden_size
        r, z, n = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
        self.weight_ih.copy_(torch.cat([-w_ih[z], w_ih[r], w_ih[n]]))
        self.weight_hh.copy_(torch.cat([-w_hh[z], w_hh[r], w_hh[n]]))
        self.bias.copy_(torch.cat([-(b_ih[z] + b_hh[z]), b_ih[r] + b_hh[r], b_ih[n]]))
        self.bias_hn.copy_(b_hh[n])

    def _torch_cell_cls(self):
        return nn.GRUCell


class LSTMCell(_Cell):
    """Long short-term memory: forget f, input i and output gates o, candidate g~, cell state c."""

    blocks = ("f", "i", "o", "g")
    gate_names = ("f", "i", "o")
    has_cell_state = True
    _TORCH_ORDER = (1, 0, 3, 2)  # torch stacks i, f, g, o; ours f, i, o, g (the swap is its own inverse)

    def _parts(self, u, h):
        a = u + h @ self.weight_hh.T
        H = self.hidden_size
        sig = torch.sigmoid(a[..., :3 * H])
        return sig[..., :H], sig[..., H:2 * H], sig[..., 2 * H:], torch.tanh(a[..., 3 * H:])

    def step(self, u, h, c=None):
        f, i, o, g = self._parts(u, h)
        c = f * c + i * g
        return o * torch.tanh(c), c, {"f": f, "i": i, "o": o}

    def state_jacobian(self, u, h, c=None):
        f, i, o, g = self._parts(u, h)
        w_f, w_i, w_o, w_g = (self._rows(self.weight_hh, k) for k in self.blocks)
        c_new = f * c + i * g
        tc = torch.tanh(c_new)
        dc_dh = (_scale_rows(c * f * (1 - f), w_f) + _scale_rows(g * i * (1 - i), w_i)
                 + _scale_rows(i * (1 - g ** 2), w_g))
        dh_dh = _scale_rows(tc * o * (1 - o), w_o) + _scale_rows(o * (1 - tc ** 2), dc_dh)
        dh_dc = torch.diag_embed(o * (1 - tc ** 2) * f)
        top = torch.cat([dh_dh, dh_dc], dim=-1)
        bottom = torch.cat([dc_dh, torch.diag_embed(f)], dim=-1)
        return torch.cat([top, bottom], dim=-2)

    def _reorder(self, w: torch.Tensor) -> torch.Tensor:
        return torch.cat([w.chunk(4)[k] for k in self._TORCH_ORDER])

    def torch_weights(self):
        return [self._reorder(self.weight_ih), self._reorder(self.weight_hh), self._reorder(self.bias),
                torch.zeros_like(self.bias)]

    def load_torch_weights(self, w_ih, w_hh, b_ih, b_hh):
        self.weight_ih.copy_(self._reorder(w_ih))
        self.weight_hh.copy_(self._reorder(w_hh))
        self.bias.copy_(self._reorder(b_ih + b_hh))

    def _torch_cell_cls(self):
        return nn.LSTMCell


@dataclasses.dataclass
class Recording:
    """What one recorded forward pass keeps, all in the autograd graph.

    hidden: h(t) for t = 0..T-1, each (B, H) (take gradients with torch.autograd.grad(loss, hidden));
    gates: {name: (B, T, H)}; cell: the LSTM's c(t), each (B, H), else None; u: the input parts W_x x(t) + b
    (B, T, G·H), which with the states is all a cell step needs (for the Jacobians).
    """

    hidden: list[torch.Tensor]
    gates: dict[str, torch.Tensor]
    cell: list[torch.Tensor] | None
    u: torch.Tensor

    def hidden_tensor(self) -> torch.Tensor:
        """(B, T, H) hidden states."""
        return torch.stack(self.hidden, dim=1)

    def cell_tensor(self) -> torch.Tensor | None:
        """(B, T, H) LSTM cell states, or None."""
        return torch.stack(self.cell, dim=1) if self.cell is not None else None
