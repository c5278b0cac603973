"""A network that runs one of the lecture's recurrent cells (explorer.models.recurrent) over token sequences,
with the recurrent matrix initialised at a chosen spectral radius."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .recurrent import CELLS, GRUCell, LSTMCell, Recording, RNNCell


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
                 reset_after: bool = False) -> None:
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

    def _lecture_gru(self, inputs: torch.Tensor, state):
        """The lecture's GRU (reset before the product) over all steps: the input parts of every step in one
        multiply, then per step one multiply for z and r, one for the candidate, and h(t) = lerp(h, h~, z)."""
        cell, H = self.cell, self.hidden_size
        u = cell.input_part(inputs)
        u_zr, u_n = u[..., :2 * H].unbind(1), u[..., 2 * H:].unbind(1)
        w_zr, w_n = cell.weight_hh[:2 * H].T, cell.weight_hh[2 * H:].T
        h = state[0]
        outs = []
        for t in range(len(u_zr)):
            z, r = torch.sigmoid(torch.addmm(u_zr[t], h, w_zr)).chunk(2, dim=-1)
            h = torch.lerp(h, torch.tanh(torch.addmm(u_n[t], r * h, w_n)), z)
            outs.append(h)
        return torch.stack(outs, dim=1), h[None]

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
        run = self._fused if self.has_fast_path else self._lecture_gru if self.cell_type == "GRU" else self._loop
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
