"""Dilation schedules of a stack of causal convolutions (1, 2, 4, ... as in WaveNet), free of torch so that
configs, analyses and views can use them without loading it."""
from __future__ import annotations

WAVENET = "WaveNet: 1, 2, …, 512, repeated"  # van den Oord et al. 2016: blocks of 10 layers
WAVENET_BLOCK = 10
DILATION_KINDS = ("doubling", "constant", "doubling, repeated in blocks", WAVENET, "custom")


def dilation_schedule(kind: str, layers: int, block: int = 4, custom: tuple[int, ...] = ()) -> tuple[int, ...]:
    """The dilation of each of `layers` layers for a schedule kind (see DILATION_KINDS)."""
    if layers < 1:
        raise ValueError(f"A stack needs at least one layer (got {layers}).")
    if kind == "constant":
        return (1,) * layers
    if kind == "doubling":
        return tuple(2**i for i in range(layers))
    if kind == "doubling, repeated in blocks":
        if block < 1:
            raise ValueError(f"The block length must be at least 1 (got {block}).")
        return tuple(2 ** (i % block) for i in range(layers))
    if kind == WAVENET:  # WaveNet's own: 3 blocks of 10 layers give a receptive field of 3,070 with kernel 2
        return tuple(2 ** (i % WAVENET_BLOCK) for i in range(layers))
    if kind == "custom":
        custom = tuple(custom)
        if len(custom) != layers:
            raise ValueError(f"The custom dilation list has {len(custom)} value(s) but the stack has {layers} "
                             f"layer(s): give exactly one dilation per layer.")
        bad = [d for d in custom if int(d) != d or d < 1]
        if bad:
            raise ValueError(f"Every dilation must be a whole number of at least 1 (got {bad[0]}).")
        return tuple(int(d) for d in custom)
    raise ValueError(f"Unknown dilation schedule {kind!r}; choose one of: {', '.join(DILATION_KINDS)}.")
