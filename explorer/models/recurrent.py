"""Recurrent cells written from the lecture's equations, and a network that runs one over token sequences.

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
        """A torch.nn cell that computes the same function."""
        cell = self._torch_cell_cls()(self.input_size, self.hidden_size)
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

    def __init__(self, input_size: int, hidden_size: int, reset_after: bool = True) -> None:
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


def spectral_init_(weight: torch.Tensor, radius: float) -> torch.Tensor:
    """Fill a square matrix with N(0, 1/H) entries rescaled so that its spectral radius (largest |eigenvalue|)
    is `radius`. A Gaussian matrix's largest singular value is then about twice its spectral radius."""
    with torch.no_grad():
        w = torch.randn(weight.shape, dtype=torch.float64) / math.sqrt(weight.shape[0])
        rho = torch.linalg.eigvals(w).abs().max()
        weight.copy_(w * (radius / rho))
    return weight


class RecurrentNet(nn.Module):
    """Token ids -> fixed input vectors -> one recurrent cell over time -> a linear head at every step.

    Inputs: each id is one-hot (D = vocab_size), so that W_x's column for a symbol is its learned input vector,
    or, when `input_table` (V, D) is given, the fixed features of that row (the adding problem feeds (value,
    marker) pairs this way). The initial state is zero.

    Initialisation: every recurrent block of W_h (one for the RNN, z/r/h~ for the GRU, f/i/o/g~ for the LSTM)
    is a Gaussian matrix rescaled to spectral radius `weight_scale`: a linear RNN's gradients then shrink or
    grow like weight_scale^(steps), so a plain RNN's gradients vanish below ~1 and explode above it. W_x and
    the head keep torch's defaults; the biases are zero except the LSTM's forget gate, which starts at
    `forget_bias`, and the GRU's update gate, which starts at -forget_bias, so that both keep σ(forget_bias)
    (0.73 for 1) of their memory per step at first (with a zero bias a GRU keeps half, and its gradients
    vanish about like 0.5^steps).
    Seeding is the caller's (torch.manual_seed).
    """

    def __init__(self, cell: str, vocab_size: int, hidden: int, out_dim: int, activation: str = "tanh",
                 weight_scale: float = 1.0, forget_bias: float = 1.0, input_table: torch.Tensor | None = None,
                 reset_after: bool = True) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"Unknown cell {cell!r}: choose one of {', '.join(CELLS)}.")
        self.cell_type, self.vocab_size, self.hidden_size = cell, vocab_size, hidden
        if input_table is not None:
            if input_table.shape[0] != vocab_size:
                raise ValueError(f"The input table has {input_table.shape[0]} rows for {vocab_size} symbols.")
            self.register_buffer("input_table", input_table.detach().float().clone())
        else:
            self.input_table = None
        d = vocab_size if input_table is None else input_table.shape[1]
        if cell == "RNN":
            self.cell = RNNCell(d, hidden, activation)
        elif cell == "GRU":
            self.cell = GRUCell(d, hidden, reset_after)
        else:
            self.cell = LSTMCell(d, hidden)
        self.out = nn.Linear(hidden, out_dim)
        for name in self.cell.blocks:
            spectral_init_(self.cell._rows(self.cell.weight_hh, name), weight_scale)
        with torch.no_grad():
            if cell == "LSTM":
                self.cell._rows(self.cell.bias, "f").fill_(forget_bias)
            elif cell == "GRU":  # the same bias towards keeping: 1 - z = σ(forget_bias) of h(t-1) stays
                self.cell._rows(self.cell.bias, "z").fill_(-forget_bias)

    # ---- inputs and the two paths --------------------------------------------------------------------------
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, D) input vectors (one-hot, or rows of the input table)."""
        if self.input_table is not None:
            return F.embedding(x, self.input_table)
        return F.one_hot(x, self.vocab_size).to(self.cell.weight_ih.dtype)

    @property
    def has_fast_path(self) -> bool:
        """Whether torch's fused recurrent kernel computes this cell (not so for identity or reset-before)."""
        cell = self.cell
        return not (isinstance(cell, RNNCell) and cell.activation == "identity") and \
            not (isinstance(cell, GRUCell) and not cell.reset_after)

    def _fused(self, inputs: torch.Tensor, state):
        params, train = self.cell.torch_weights(), self.training
        args = (params, True, 1, 0.0, train, False, True)
        if self.cell_type == "LSTM":
            out, h, c = torch.lstm(inputs, state, *args)
            return out, (h, c)
        if self.cell_type == "GRU":
            fn = torch.gru
        else:
            fn = torch.rnn_tanh if self.cell.activation == "tanh" else torch.rnn_relu
        out, h = fn(inputs, state, *args)
        return out, h

    def _loop(self, inputs: torch.Tensor, state):
        u = self.cell.input_part(inputs)
        h, c = (state[0][0], state[1][0]) if self.cell_type == "LSTM" else (state[0], None)
        outs = []
        for t in range(u.shape[1]):
            h, c, _ = self.cell.step(u[:, t], h, c)
            outs.append(h)
        out = torch.stack(outs, dim=1)
        return out, ((h[None], c[None]) if c is not None else h[None])

    def features(self, x: torch.Tensor, tbptt: int = 0) -> torch.Tensor:
        """(B, T) ids -> (B, T, H) hidden states, without recording; `tbptt` > 0 detaches the state every
        tbptt steps (truncated backprop through time: no gradient flows further back than that)."""
        inputs = self.embed(x)
        B, T = x.shape
        zeros = inputs.new_zeros(1, B, self.hidden_size)
        state = (zeros, zeros) if self.cell_type == "LSTM" else zeros
        run = self._fused if self.has_fast_path else self._loop
        if tbptt <= 0 or tbptt >= T:
            return run(inputs, state)[0]
        outs = []
        for start in range(0, T, tbptt):
            if start:
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
            out, state = run(inputs[:, start:start + tbptt], state)
            outs.append(out)
        return torch.cat(outs, dim=1)

    def forward(self, x: torch.Tensor, tbptt: int = 0) -> torch.Tensor:
        """(B, T) ids -> (B, T, out_dim) logits through the fast path (nothing recorded)."""
        return self.out(self.features(x, tbptt))

    def forward_recorded(self, x: torch.Tensor) -> tuple[torch.Tensor, Recording]:
        """(B, T) ids -> logits (B, T, out_dim) and a Recording of every state and gate, step by step."""
        u = self.cell.input_part(self.embed(x))
        B, T = x.shape
        h = u.new_zeros(B, self.hidden_size)
        c = u.new_zeros(B, self.hidden_size) if self.cell_type == "LSTM" else None
        hidden, cells = [], []
        gates: dict[str, list[torch.Tensor]] = {k: [] for k in self.cell.gate_names}
        for t in range(T):
            h, c, g = self.cell.step(u[:, t], h, c)
            hidden.append(h)
            if c is not None:
                cells.append(c)
            for k, v in g.items():
                gates[k].append(v)
        rec = Recording(hidden, {k: torch.stack(v, dim=1) for k, v in gates.items()},
                        cells if c is not None else None, u)
        return self.out(rec.hidden_tensor()), rec

    # ---- the recurrent weights -------------------------------------------------------------------------------
    def recurrent_matrix(self) -> torch.Tensor:
        """The recurrent weight W_h: (H, H) for the RNN, the stacked gate blocks (G·H, H) for the GRU and LSTM."""
        return self.cell.weight_hh

    def recurrent_blocks(self) -> dict[str, torch.Tensor]:
        """Each gate block of W_h, (H, H), by name in stacking order (RNN: h; GRU: z, r, n; LSTM: f, i, o, g)."""
        return {k: self.cell._rows(self.cell.weight_hh, k) for k in self.cell.blocks}

    def largest_singular_value(self) -> float:
        """The largest singular value (spectral norm) of recurrent_matrix()."""
        with torch.no_grad():
            return float(torch.linalg.matrix_norm(self.recurrent_matrix().float(), ord=2))
