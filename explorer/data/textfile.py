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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from explorer.data.errors import Cancelled, CorpusError

GZIP_MAGIC = b"\x1f\x8b"
SNIFF_CHARS = 64 * 1024  # decoded characters looked at, at a time, to tell text from binary
BINARY_FRACTION = 0.30  # more replacement or control characters than this means binary
_LOCATE_CHARS = 4096  # a binary window is searched in blocks of this many characters for where it starts
_SUSPECT = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffd]")

_replaced = threading.local()  # invalid bytes seen by the decoder on this thread, during one decode call


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


def binary_error(name: str, offset: int, compressed: bool = False) -> CorpusError:
    """The message for a file whose content turns binary at byte `offset` (of its unpacked text when gzip)."""
    where = f"byte {offset:,}" + (" of its unpacked text" if compressed else "")
    if offset < SNIFF_CHARS:
        return CorpusError(
            f"{name} looks like a binary file, not text (binary content from {where}). Choose a plain-text file "
            "(if it is text in another encoding, save it as UTF-8 first)."
        )
    return CorpusError(
        f"{name} turns binary at {where} (MiB {offset / 2**20:,.2f}): the text before it is followed by NUL bytes "
        "or control characters. Cut the file where its text ends, or choose a plain-text file."
    )


class TextStream:
    """The decoded text of a file (plain or gzip), piece by piece, every piece checked for binary content.

    Use it as a context manager and iterate `pieces()`. While reading, `position` is the bytes read from disk and
    `total` the file size; `n_bytes` counts the bytes decoded (after gunzip) and `n_replaced` the invalid bytes
    that became U+FFFD. Windows line ends (CRLF) become LF, also when a pair is split between two reads.
    """

    def __init__(self, path: str | os.PathLike, *, cancel: Callable[[], bool] | None = None,
                 chunk_bytes: int = 1 << 20) -> None:
        if chunk_bytes < 1:
            raise ValueError("chunk_bytes must be positive")
        self.path = Path(path)
        self.name = self.path.name or str(self.path)
        self.cancel = cancel
        self.chunk_bytes = chunk_bytes
        self.total = self.position = self.n_bytes = self.n_replaced = 0
        self.encoding = "utf-8"
        self.is_gzip = False
        self._stack = contextlib.ExitStack()
        self._raw: BinaryIO | None = None
        self._stream: BinaryIO | None = None

    def __enter__(self) -> TextStream:
        raw = self._stack.enter_context(_open_regular_file(self.path))
        self._raw = raw
        try:
            self.total = os.fstat(raw.fileno()).st_size
            if self.total == 0:
                raise CorpusError(f"{self.name} is empty: choose a file that contains text.")
            self.is_gzip = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
        except OSError as exc:
            self._stack.close()
            raise CorpusError(f"Cannot read {self.name}: {exc.strerror or exc}.") from exc
        except CorpusError:
            self._stack.close()
            raise
        self._stream = self._stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")) if self.is_gzip else raw
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()

    def _read_block(self, size: int) -> bytes:
        if self.cancel is not None and self.cancel():
            raise Cancelled(f"Reading {self.name} was cancelled.")
        try:
            block = self._stream.read(size)
            self.position = self._raw.tell()
            return block
        except (EOFError, zlib.error, OSError) as exc:
            if self.is_gzip:
                raise CorpusError(
                    f"{self.name} looks like a gzip file but is damaged or cut short ({exc}); "
                    "compress it again or use the uncompressed text."
                ) from exc
            raise CorpusError(f"Cannot read {self.name}: {getattr(exc, 'strerror', None) or exc}.") from exc

    def _decode(self, decoder: codecs.IncrementalDecoder, block: bytes, final: bool) -> str:
        _replaced.n = 0
        text = decoder.decode(block, final)
        self.n_replaced += _replaced.n
        return text

    def pieces(self) -> Iterator[str]:
        """The decoded text in pieces of about `chunk_bytes`; CorpusError where the content turns binary."""
        if self._stream is None:
            raise RuntimeError("use TextStream as a context manager")
        first = self._read_block(max(4, min(self.chunk_bytes, SNIFF_CHARS)))
        self.encoding = _choose_encoding(first)
        decoder = codecs.getincrementaldecoder(self.encoding)(errors=_HANDLER)
        window = _BinaryWindow(self)
        carry_cr = False
        block = first
        while True:
            final = not block
            start = self.n_bytes
            if block and self.encoding != "utf-16" and (nul := block.find(b"\x00")) >= 0:
                raise binary_error(self.name, start + nul, self.is_gzip)
            self.n_bytes += len(block)
            text = self._decode(decoder, block, final)
            if carry_cr:
                text, carry_cr = "\r" + text, False
            if not final and text.endswith("\r"):
                text, carry_cr = text[:-1], True
            if "\r" in text:
                text = text.replace("\r\n", "\n")
            window.check(text, start, final)
            if text:
                yield text
            if final:
                return
            block = self._read_block(self.chunk_bytes)

    def notes(self) -> tuple[str, ...]:
        """What a reader should be told about the decoding: UTF-16, or bytes that were replaced."""
        notes = []
        if self.encoding == "utf-16":
            notes.append(f"{self.name} is UTF-16 text; it was decoded as such.")
        if self.n_replaced:
            label = "UTF-16" if self.encoding == "utf-16" else "UTF-8"
            what, were = ("byte", "was") if self.n_replaced == 1 else ("bytes", "were")
            notes.append(
                f"{self.n_replaced:,} {what} {were} not valid {label} and {were} replaced with U+FFFD (\ufffd); the "
                "file is probably in another encoding such as Latin-1. Save it as UTF-8 to keep those characters."
            )
        return tuple(notes)


class _BinaryWindow:
    """Checks decoded text for binary content in windows of SNIFF_CHARS characters, across all of a file."""

    def __init__(self, stream: TextStream) -> None:
        self.stream = stream
        self.parts: list[str] = []
        self.chars = 0
        self.start = 0  # decoded byte offset where the current window starts
        self.previous = ""  # the end of the last window checked, to pad a short last window with

    def check(self, text: str, start: int, final: bool) -> None:
        if not self.parts:
            self.start = start
        if text:
            self.parts.append(text)
            self.chars += len(text)
        if self.chars < SNIFF_CHARS and not final:
            return
        sample = "".join(self.parts)
        pad = self.previous[len(self.previous) - max(0, SNIFF_CHARS - len(sample)):] if self.previous else ""
        if sample and _looks_binary(pad + sample):
            raise binary_error(self.stream.name, self._locate(sample), self.stream.is_gzip)
        self.previous = sample[-SNIFF_CHARS:]
        self.parts, self.chars = [], 0

    def _locate(self, sample: str) -> int:
        """About where in the file binary content starts within `sample` (a window that looks binary)."""
        first = len(sample) - 1
        nul = sample.find("\x00")
        if nul >= 0:
            first = nul
        for at in range(0, len(sample), _LOCATE_CHARS):
            if at >= first:
                break
            block = sample[at:at + _LOCATE_CHARS]
            if len(_SUSPECT.findall(block)) > BINARY_FRACTION * len(block):
                first = next(m.start() for m in _SUSPECT.finditer(sample, at))
                break
        before = sample[:first]
        if self.stream.encoding == "utf-16":
            return self.start + 2 * len(before)
        # U+FFFD stands for (mostly) one invalid byte but takes three in UTF-8
        return self.start + len(before.encode("utf-8", "surrogatepass")) - 2 * before.count("\ufffd")


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
    Raises CorpusError for a file that is missing, unreadable, empty, binary (anywhere in it) or a damaged gzip,
    and Cancelled when cancel() returns True between chunks. The whole text is kept: for a corpus of any size,
    explorer.data.corpus.load_corpus_file reads and tokenises in a streaming way instead.
    """
    parts: list[str] = []
    reported = 0
    with TextStream(path, cancel=cancel, chunk_bytes=chunk_bytes) as stream:
        for piece in stream.pieces():
            parts.append(piece)
            if progress is not None and stream.position > reported:
                reported = stream.position
                progress(reported, stream.total)
        if progress is not None and reported < stream.total:
            progress(stream.total, stream.total)
    text = "".join(parts)
    del parts
    if not text or text.isspace():
        detail = "it contains only whitespace" if text else "it contains no text"
        raise CorpusError(f"{stream.name} is empty ({detail}): choose a file that contains text.")
    return TextRead(text=text, n_bytes=stream.n_bytes, n_replaced=stream.n_replaced, notes=stream.notes())
