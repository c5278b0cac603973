"""Reading a corpus on the command line: a progress bar on stderr, the word budget, and the notes the app shows."""
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from explorer.data.builtin import load_builtin
from explorer.data.corpus import (
    MAX_WORDS_LIMIT,
    Corpus,
    check_max_words,
    estimate_file_words,
    load_corpus_file,
)
from explorer.data.corpus_spec import BUILTIN_PREFIX

REDRAW_INTERVAL = 0.1  # seconds between redraws of the bar on a terminal (10 a second at most)
LINE_INTERVAL = 5.0  # seconds between progress lines when stderr is not a terminal (a log file, a pipe)


def _mb(n: float) -> str:
    """A size in bytes as text: MB from 100 kB up, kB or bytes below (a tiny file is not '0.0 MB')."""
    if n >= 1e5:
        return f"{n / 1e6:,.1f} MB"
    return f"{n / 1e3:.1f} kB" if n >= 1e3 else f"{n:.0f} bytes"


def _clock_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class ProgressBar:
    """A text progress bar of a read: bytes, per cent, rate (MB/s) and time left.

    On a terminal (interactive) it is redrawn in place with \\r at most every REDRAW_INTERVAL seconds; elsewhere it
    writes a whole line at most every LINE_INTERVAL seconds. finish() writes the summary line; close() ends a bar
    left half-drawn (on an error) with a newline. With in_bytes=False it shows the share done only.
    """

    def __init__(self, stream: TextIO, label: str, *, interactive: bool | None = None, in_bytes: bool = True,
                 clock: Callable[[], float] = time.monotonic, width: int = 24) -> None:
        self.stream, self.label, self.in_bytes, self.clock, self.width = stream, label, in_bytes, clock, width
        isatty = getattr(stream, "isatty", None)
        self.interactive = bool(isatty and isatty()) if interactive is None else interactive
        self.interval = REDRAW_INTERVAL if self.interactive else LINE_INTERVAL
        self.start = clock()
        self.last_drawn = self.start  # nothing is drawn before one interval has passed: a quick read stays quiet
        self.done = self.total = 0
        self.drawn_width = 0
        self.open = False  # a \r bar is on screen without its newline

    def update(self, done: int, total: int) -> None:
        """Record progress; draw when enough time has passed since the last drawing."""
        self.done, self.total = done, max(total, done, 1)
        now = self.clock()
        if now - self.last_drawn >= self.interval:
            self.last_drawn = now
            self._draw(self.line(now))

    def line(self, now: float | None = None) -> str:
        """The bar as text at time `now`."""
        elapsed = max((self.clock() if now is None else now) - self.start, 1e-9)
        share = min(1.0, self.done / self.total) if self.total else 0.0
        filled = int(share * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        rate = self.done / elapsed
        eta = f"ETA {_clock_text((self.total - self.done) / rate)}" if rate > 0 else "ETA ?"
        if not self.in_bytes:
            return f"{self.label} [{bar}] {share:4.0%}  {eta}"
        return f"{self.label} [{bar}] {share:4.0%}  {_mb(self.done)} of {_mb(self.total)}  {_mb(rate)}/s  {eta}"

    def _draw(self, text: str) -> None:
        if self.interactive:
            pad = " " * max(0, self.drawn_width - len(text))
            self.stream.write("\r" + text + pad)
            self.drawn_width = len(text)
            self.open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self, what: str) -> None:
        """Replace the bar by one line saying what was read, in how long."""
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = f" ({_mb(self.done / elapsed)}/s)" if self.in_bytes else ""
        size = f": {_mb(self.done)}" if self.in_bytes else ""
        self._draw(f"{what}{size} in {elapsed:.1f} s{rate}")
        self.close()

    def close(self) -> None:
        """End a bar left on screen with a newline (call it also when the read fails)."""
        if self.open:
            self.stream.write("\n")
            self.stream.flush()
            self.open = False


def _say(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()


def load_corpus_for_cli(spec: str, max_words: int | None, stream: TextIO = sys.stderr) -> Corpus:
    """Read the corpus that `spec` names ('builtin:<name>' or a path) for the command line.

    Says first, for a file with more words than the budget, how many will be used and how to change it; shows a
    progress bar on `stream` while reading and tokenising; then writes each of the corpus's notes as "note: ..."
    and "corpus: N words ...". CorpusError (a one-line message) and Cancelled propagate: the caller prints them.
    """
    budget = check_max_words(max_words)
    builtin = spec.startswith(BUILTIN_PREFIX)
    name = spec if builtin else Path(spec).name
    if not builtin:
        estimate = estimate_file_words(spec)
        if estimate is not None and not estimate.exact and estimate.words > budget:
            change = ("set another with --max-words N" if budget < MAX_WORDS_LIMIT
                      else "that is the most allowed")
            _say(stream, f"note: {name} is {_mb(estimate.size)} with about {estimate.words:,} words; using the first "
                         f"{budget:,} ({change}, up to {MAX_WORDS_LIMIT:,}).")
    bar = ProgressBar(stream, f"reading {name}", in_bytes=not builtin)
    try:
        if builtin:
            corpus = load_builtin(spec[len(BUILTIN_PREFIX):], progress=bar.update, max_words=budget)
        else:
            corpus = load_corpus_file(spec, progress=bar.update, max_words=budget)
        bar.finish(f"read {name}")
    finally:
        bar.close()
    for note in corpus.notes:
        _say(stream, f"note: {note}")
    whole = "the whole corpus" if builtin else "the whole file"
    tail = whole if corpus.complete else f"of about {corpus.words_in_source:,} in the {'corpus' if builtin else 'file'}"
    _say(stream, f"corpus: {corpus.n_words:,} words ({tail})")
    return corpus
