"""Start-up work that must not delay the window: import torch, decide the device, warm the optimizer path."""
from __future__ import annotations

import time


def warm_up(device_preference: str | None) -> dict:
    """Import torch, resolve the device and run one tiny optimizer step (pulls in torch._dynamo once, early)."""
    t0 = time.perf_counter()
    import torch

    from .device import DeviceError, describe_device, resolve_device, training_threads

    torch.set_num_threads(training_threads())
    warning = ""
    try:
        device = resolve_device(device_preference)
    except DeviceError as exc:
        warning = f"{exc} Using the CPU instead."
        device = "cpu"
    w = torch.zeros(4, requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    opt.step()
    if device != "cpu":
        torch.ones(8, device=device).sum().item()
    return {"device": device, "text": describe_device(device), "warning": warning,
            "seconds": time.perf_counter() - t0}
