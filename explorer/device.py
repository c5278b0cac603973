"""The one place that decides which device training runs on: CUDA, then Apple MPS, then CPU."""
from __future__ import annotations

import os

CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceError(ValueError):
    """The requested device cannot be used on this machine."""


def _has_mps(torch) -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """The devices this machine can train on, best first (always ends with 'cpu')."""
    import torch

    found = []
    if torch.cuda.is_available():
        found.append("cuda")
    if _has_mps(torch):
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(preference: str | None = None) -> str:
    """The device to use for `preference` ('auto' or None: the best available; SME_DEVICE overrides auto)."""
    pref = (preference or os.environ.get("SME_DEVICE") or "auto").strip().lower()
    if pref not in CHOICES:
        raise DeviceError(f"Unknown device '{preference}'. Choose one of: {', '.join(CHOICES)}.")
    found = available_devices()
    if pref == "auto":
        return found[0]
    if pref not in found:
        raise DeviceError(
            f"The device '{pref}' is not available on this machine (available: {', '.join(found)})."
        )
    return pref


def describe_device(device: str) -> str:
    """A human-readable name of a device, e.g. 'CUDA: NVIDIA H100' or 'CPU (2 cores)'."""
    import torch

    if device.startswith("cuda"):
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    if device == "mps":
        return "Apple MPS"
    return f"CPU ({os.cpu_count() or 1} cores, {torch.get_num_threads()} torch threads)"


def training_threads() -> int:
    """Torch threads for a job that shares the machine with a live UI: leave one core to the UI."""
    return max(1, (os.cpu_count() or 1) - 1)
