"""Read a user's text file (plain or gzip) in a streaming way, with progress, cancel and clear errors."""
from __future__ import annotations

import codecs
import contextlib
import gzip
import os
import re
import stat
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from explorer.data.errors import Cancelled, CorpusError

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_CHARS = 64 * 1024  # decoded characters looked at to tell text from binary
BINARY_FRACTION = 0.30  # more replacement or control characters than this means binary
_SUSPECT = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")

_replaced = threading.local()  # invalid bytes seen by the decoder on this thread


def _count_and_replace(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: replace an invalid byte sequence by U+FFFD and count its bytes."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _replaced.n = getattr(_replaced, "n", 0) + (exc.end - exc.start)
    return "\ufffd", exc.end


_HANDLER = "explorer.count-replace"
codecs.register_error(_HANDLER, _count_and_replace)


@dataclass(frozen=True)
class TextRead:
    """The decoded text of a file and what happened while reading it."""

    text: str = field(repr=False)
    n_bytes: int  # bytes of text decoded (after gunzip; the file size for a plain file)
    n_replaced: int  # bytes that were not valid in the encoding and became U+FFFD
    notes: tuple[str, ...] = ()


def _open_regular_file(path: Path) -> BinaryIO:
    """Open `path` for binary reading, or raise CorpusError saying why it cannot be read."""
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise CorpusError(f"{path} is a folder, not a file; choose a text file inside it.")
        if not stat.S_ISREG(mode):
            raise CorpusError(f"{path} is not a regular file; choose a text file.")
        return open(path, "rb")
    except FileNotFoundError:
        raise CorpusError(f"No such file: {path}") from None
    except IsADirectoryError:
        raise CorpusError(f"{path} is a folder, not a file; choose a text file inside it.") from None
    except PermissionError:
        raise CorpusError(f"Cannot read {path}: permission denied. Check the file's permissions.") from None
    except OSError as exc:
        raise CorpusError(f"Cannot read {path}: {exc.strerror or exc}.") from None


def _looks_binary(sample: str) -> bool:
    """Whether decoded text has NUL bytes or too many replacement or control characters."""
    if "\x00" in sample:
        return True
    return len(_SUSPECT.findall(sample)) > BINARY_FRACTION * len(sample)


def _choose_encoding(first_block: bytes) -> str:
    """UTF-16 when the file starts with its byte-order mark, otherwise UTF-8 (dropping a UTF-8 BOM)."""
    if first_block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def read_text_file(
    path: str | os.PathLike,
    *,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    chunk_bytes: int = 1 << 20,
) -> TextRead:
    """Read and decode a text file (plain or gzip), reporting progress(bytes read on disk, file size).

    Text is decoded as UTF-8 (a UTF-8 BOM is dropped; a file with a UTF-16 BOM is decoded as UTF-16);
    invalid bytes become U+FFFD and are counted in a note. Windows line ends (CRLF) become LF.
    Raises CorpusError for a file that is missing, unreadable, empty, binary or a damaged gzip,
    and Cancelled when cancel() returns True between chunks.
    """
    if chunk_bytes < 1:
        raise ValueError("chunk_bytes must be positive")
    p = Path(path)
    name = p.name or str(p)
    _replaced.n = 0
    with contextlib.ExitStack() as stack:
        raw = stack.enter_context(_open_regular_file(p))
        total = os.fstat(raw.fileno()).st_size
        if total == 0:
            raise CorpusError(f"{name} is empty: choose a file that contains text.")
        is_gzip = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
        stream: BinaryIO = stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")) if is_gzip else raw

        parts: list[str] = []
        sniff: list[str] | None = []  # decoded text kept until the binary check is done
        sniffed_chars = 0
        decoder = None
        encoding = "utf-8"
        n_bytes = 0
        reported = 0
        carry_cr = False
        while True:
            if cancel is not None and cancel():
                raise Cancelled(f"Reading {name} was cancelled.")
            try:
                block = stream.read(max(4, min(chunk_bytes, SNIFF_CHARS)) if decoder is None else chunk_bytes)
            except (EOFError, zlib.error, OSError) as exc:
                if is_gzip:
                    raise CorpusError(
                        f"{name} looks like a gzip file but is damaged or cut short ({exc}); "
                        "compress it again or use the uncompressed text."
                    ) from exc
                raise CorpusError(f"Cannot read {name}: {getattr(exc, 'strerror', None) or exc}.") from exc
            if decoder is None:
                encoding = _choose_encoding(block)
                decoder = codecs.getincrementaldecoder(encoding)(errors=_HANDLER)
            final = not block
            n_bytes += len(block)
            text = decoder.decode(block, final)
            if carry_cr:
                text, carry_cr = "\r" + text, False
            if not final and text.endswith("\r"):
                text, carry_cr = text[:-1], True
            if "\r" in text:
                text = text.replace("\r\n", "\n")
            parts.append(text)
            if sniff is not None:
                sniff.append(text)
                sniffed_chars += len(text)
                if final or sniffed_chars >= SNIFF_CHARS:
                    if _looks_binary("".join(sniff)[:SNIFF_CHARS]):
                        raise CorpusError(
                            f"{name} looks like a binary file, not text. Choose a plain-text file "
                            "(if it is text in another encoding, save it as UTF-8 first)."
                        )
                    sniff = None
            position = raw.tell()
            if progress is not None and position > reported:
                reported = position
                progress(position, total)
            if final:
                break
        if progress is not None and reported < total:
            progress(total, total)

    text = "".join(parts)
    if not text or text.isspace():
        detail = "it contains only whitespace" if text else "it contains no text"
        raise CorpusError(f"{name} is empty ({detail}): choose a file that contains text.")
    n_replaced = _replaced.n
    label = "UTF-16" if encoding == "utf-16" else "UTF-8"
    notes = []
    if encoding == "utf-16":
        notes.append(f"{name} is UTF-16 text; it was decoded as such.")
    if n_replaced:
        what, were = ("byte", "was") if n_replaced == 1 else ("bytes", "were")
        notes.append(
            f"{n_replaced:,} {what} {were} not valid {label} and {were} replaced with U+FFFD (\ufffd); the file is "
            "probably in another encoding such as Latin-1. Save it as UTF-8 to keep those characters."
        )
    return TextRead(text=text, n_bytes=n_bytes, n_replaced=n_replaced, notes=tuple(notes))
