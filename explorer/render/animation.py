"""Animations of a figure over a run's history: GIF through Pillow, MP4 through imageio-ffmpeg when installed."""
from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterable

import numpy as np
from PySide6.QtGui import QImage

from ..atomic import atomic_write_bytes

ANIMATION_FORMATS = ("gif", "mp4")


class AnimationError(RuntimeError):
    """An animation cannot be written (e.g. no MP4 encoder); the message says what to do."""


def image_to_rgb(image: QImage) -> np.ndarray:
    """An (h, w, 3) uint8 copy of a QImage."""
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    data = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)
    return data[:, : 3 * w].reshape(h, w, 3).copy()


def _same_size(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Pad frames with white to the largest width and height (a caption may wrap differently per frame)."""
    h = max(f.shape[0] for f in frames)
    w = max(f.shape[1] for f in frames)
    out = []
    for f in frames:
        if f.shape[:2] != (h, w):
            padded = np.full((h, w, 3), 255, dtype=np.uint8)
            padded[: f.shape[0], : f.shape[1]] = f
            f = padded
        out.append(f)
    return out


def mp4_available() -> bool:
    """True when imageio and its ffmpeg binary (imageio-ffmpeg) are installed."""
    try:
        import imageio.v3  # noqa: F401
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def write_animation(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float = 4.0,
                    fmt: str | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Write RGB frames as an animated GIF or an MP4 (atomically); return the number of frames."""
    fmt = (fmt or os.fspath(path).rsplit(".", 1)[-1]).lower()
    if fmt not in ANIMATION_FORMATS:
        raise AnimationError(f"unknown animation format '{fmt}' (choose gif or mp4)")
    collected = []
    for i, frame in enumerate(frames):
        collected.append(frame)
        if progress is not None:
            progress(i + 1)
    if not collected:
        raise AnimationError("the run has no snapshots to animate")
    collected = _same_size(collected)
    if fmt == "gif":
        from PIL import Image

        images = [Image.fromarray(f).quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
                  for f in collected]
        buffer = io.BytesIO()
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:],
                       duration=max(20, round(1000 / fps)), loop=0, optimize=False, disposal=1)
        atomic_write_bytes(path, buffer.getvalue())
        return len(images)
    if not mp4_available():
        raise AnimationError("MP4 needs imageio and its ffmpeg encoder: pip install imageio imageio-ffmpeg "
                             "(or use --format gif)")
    import tempfile

    import imageio.v3 as iio

    h, w = collected[0].shape[:2]
    even = [np.pad(f, ((0, h % 2), (0, w % 2), (0, 0)), constant_values=255) for f in collected]
    with tempfile.TemporaryDirectory() as tmp:
        target = os.path.join(tmp, "animation.mp4")
        iio.imwrite(target, np.stack(even), fps=fps, codec="libx264", macro_block_size=1)
        with open(target, "rb") as fh:
            atomic_write_bytes(path, fh.read())
    return len(even)
