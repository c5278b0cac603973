"""Embeddings as word2vec text files and as the two TSV files (vectors, metadata) that projectors load."""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from explorer.atomic import atomic_open
from explorer.data.errors import CorpusError
from explorer.data.textfile import read_text_file

_WHITESPACE = re.compile(r"\s")
_TSV_BREAKERS = re.compile(r"[\t\r\n]")
FLOAT_FORMAT = "%.9g"  # 9 significant digits reproduce every float32 exactly


def _checked(words: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    """`vectors` as a finite float32 matrix with one row per word, or ValueError."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"vectors must be 2-D (words x dimensions), not {x.ndim}-D")
    if len(words) != len(x):
        raise ValueError(f"{len(words)} words but {len(x)} vectors")
    if x.shape[1] < 1:
        raise ValueError("the vectors have no dimensions")
    if not np.isfinite(x).all():
        raise ValueError("the vectors contain NaN or infinite values; export a snapshot from before training diverged")
    if any(not w for w in words):
        raise ValueError("a word is empty; every exported word needs at least one character")
    return x


def _rows_text(x: np.ndarray, sep: str) -> list[str]:
    """Each row of `x` as its numbers joined by `sep`."""
    fmt = sep.join([FLOAT_FORMAT] * x.shape[1])
    return [fmt % tuple(row) for row in x.tolist()]


def _write_error(paths: str, exc: OSError) -> OSError:
    """An OSError whose message names the file(s) that could not be written."""
    return OSError(exc.errno, f"Cannot write {paths}: {exc.strerror or exc}")


def word2vec_word(word: str) -> str:
    """`word` with each whitespace character replaced by '_' (the text format separates fields by spaces)."""
    return _WHITESPACE.sub("_", str(word))


def write_word2vec_text(path: str | os.PathLike, words: Sequence[str], vectors: np.ndarray) -> None:
    """Write the word2vec text format atomically: a line "N D", then "word v1 ... vD" per word (UTF-8).

    Values are float32 at 9 significant digits (exact on reading back). Whitespace inside a word becomes '_'.
    """
    x = _checked(words, vectors)
    rows = _rows_text(x, " ")
    try:
        with atomic_open(path, "w", encoding="utf-8") as fh:
            fh.write(f"{x.shape[0]} {x.shape[1]}\n")
            fh.writelines(f"{word2vec_word(w)} {row}\n" for w, row in zip(words, rows, strict=True))
    except OSError as exc:
        raise _write_error(os.fspath(path), exc) from exc


def _header(first: str) -> tuple[int, int] | None:
    """(N, D) when the first line is a word2vec header, else None (a GloVe-style file without one)."""
    parts = first.split()
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    return None


def _parse_fast(body: list[str], dim: int) -> tuple[list[str], np.ndarray]:
    """Words and vectors of lines "word v1 ... vD" (word without spaces); ValueError on anything else."""
    heads = [line.split(None, 1) for line in body]
    words = [h[0] for h in heads]
    x = np.loadtxt([h[1] if len(h) == 2 else "" for h in heads], dtype=np.float32, comments=None, ndmin=2)
    if x.shape != (len(body), dim):
        raise ValueError("ragged lines")
    return words, x


def _parse_checked(name: str, body: list[str], numbers: list[int], dim: int) -> tuple[list[str], np.ndarray]:
    """Words (which may hold spaces) and vectors, line by line, or CorpusError naming the first bad line."""
    words: list[str] = []
    rows: list[list[float]] = []
    for number, line in zip(numbers, body, strict=True):
        parts = line.rsplit(None, dim)
        if len(parts) != dim + 1:
            raise CorpusError(f"{name}, line {number}: expected a word and {dim} numbers, found {len(parts) - 1}.")
        head = parts[0].split()
        if len(head) > 1 and _is_number(head[-1]):
            raise CorpusError(f"{name}, line {number}: more than {dim} numbers after the word.")
        bad = next((v for v in parts[1:] if not _is_number(v)), None)
        if bad is not None:
            raise CorpusError(f"{name}, line {number}: {bad!r} is not a number.")
        words.append(parts[0])
        rows.append([float(v) for v in parts[1:]])
    return words, np.array(rows, dtype=np.float32).reshape(len(words), dim)


def read_word2vec_text(path: str | os.PathLike) -> tuple[list[str], np.ndarray]:
    """Words and float32 vectors from a word2vec text file (plain or gzip; GloVe's header-less form too).

    CorpusError, naming the line, when the file is missing, binary (word2vec's .bin format is not read) or
    malformed: a bad header, a line with the wrong number of values, a value that is not a number.
    Words may contain spaces (the last D fields are the numbers). Blank lines are ignored.
    """
    name = Path(path).name
    numbered = [(i, line) for i, line in enumerate(read_text_file(path).text.split("\n"), 1) if line.strip()]
    if not numbered:
        raise CorpusError(f"{name} has no vectors in it.")
    header = _header(numbered[0][1])
    first = 1 if header else 0
    dim = header[1] if header else len(numbered[0][1].split()) - 1
    if dim < 1:
        raise CorpusError(
            f"{name} is not a word-vector file: line 1 should be 'N D' (words and dimensions) or a word "
            "followed by its numbers."
        )
    numbers = [i for i, _ in numbered[first:]]
    body = [line for _, line in numbered[first:]]
    if header and header[0] != len(body):
        raise CorpusError(f"{name} says it holds {header[0]:,} vectors but holds {len(body):,}; it may be cut short.")
    if not body:
        return [], np.zeros((0, dim), dtype=np.float32)
    try:
        words, x = _parse_fast(body, dim)
    except ValueError:
        words, x = _parse_checked(name, body, numbers, dim)
    return words, x


def _is_number(text: str) -> bool:
    """Whether `text` parses as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _tsv_cell(value: object) -> str:
    """A metadata cell with tabs and line breaks replaced by spaces."""
    return _TSV_BREAKERS.sub(" ", str(value))


def write_projector_tsv(
    vectors_path: str | os.PathLike,
    metadata_path: str | os.PathLike,
    words: Sequence[str],
    vectors: np.ndarray,
    extra_columns: dict[str, Sequence] | None = None,
) -> None:
    """Write an embedding projector's two files atomically: vectors TSV and metadata TSV.

    The vectors file has no header: one line of tab-separated numbers per word. The metadata file has
    one line per word; with `extra_columns` (e.g. {"count": ..., "class": ...}) it starts with a header
    line "word<TAB>count<TAB>class", without them it is the bare words and no header, as projectors expect
    of single-column metadata. Tabs and line breaks inside cells become spaces. Neither file is replaced
    unless both are written.
    """
    x = _checked(words, vectors)
    columns = dict(extra_columns or {})
    for name, column in columns.items():
        if len(column) != len(words):
            raise ValueError(f"column {name!r} has {len(column)} values for {len(words)} words")
    names = ["word", *columns]
    cells = [list(map(_tsv_cell, words))] + [list(map(_tsv_cell, c)) for c in columns.values()]
    rows = _rows_text(x, "\t")
    try:
        with atomic_open(vectors_path, "w", encoding="utf-8") as vec, \
                atomic_open(metadata_path, "w", encoding="utf-8") as meta:
            vec.writelines(f"{row}\n" for row in rows)
            if columns:
                meta.write("\t".join(map(_tsv_cell, names)) + "\n")
            meta.writelines("\t".join(line) + "\n" for line in zip(*cells, strict=True))
    except OSError as exc:
        raise _write_error(f"{os.fspath(vectors_path)} and {os.fspath(metadata_path)}", exc) from exc
