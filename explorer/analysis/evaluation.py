"""Score word vectors against word-similarity ratings (Spearman) and analogy questions (accuracy)."""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from explorer.analysis.neighbours import normalise
from explorer.data.errors import CorpusError
from explorer.data.textfile import read_text_file

Quad = tuple[str, str, str, str]
NO_SECTION = "questions"  # the section of analogy lines that come before any ": section" line
_BATCH = 512  # analogy questions scored at a time


class SimilarityPairs(list):
    """A list of (word1, word2, score) that also says how many lines were skipped."""

    n_skipped: int = 0


class AnalogySections(dict):
    """Section name -> list of (a, b, c, d) questions, and how many lines were skipped."""

    n_skipped: int = 0


def _is_comment(line: str) -> bool:
    """Whether a line is a comment (# or //)."""
    return line.startswith(("#", "//"))


def _float(text: str) -> float | None:
    """`text` as a finite float, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_similarity_file(path: str | os.PathLike) -> SimilarityPairs:
    """(word1, word2, score) from a TSV or whitespace-separated rating file, words lower-cased.

    The score is the first number after the two words, so WordSim-353, SimLex-999 (word1 word2 POS score
    ...) and MEN read alike. Comments (# or //), header lines and malformed lines are skipped and counted
    in `.n_skipped`; blank lines are ignored. CorpusError when the file cannot be read or has no valid line.
    """
    text = read_text_file(path).text
    pairs = SimilarityPairs()
    skipped = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        fields = [f.strip() for f in fields]
        score = next((v for v in map(_float, fields[2:]) if v is not None), None)
        if _is_comment(line) or len(fields) < 3 or score is None or not fields[0] or not fields[1]:
            skipped += 1
            continue
        pairs.append((fields[0].lower(), fields[1].lower(), score))
    if not pairs:
        raise CorpusError(
            f"{Path(path).name} has no word-similarity lines: each line should hold two words and a score "
            "(for example 'tiger<TAB>cat<TAB>7.35')."
        )
    pairs.n_skipped = skipped
    return pairs


def similarity_spearman(
    vectors: np.ndarray, index: Mapping[str, int], pairs: Sequence[tuple[str, str, float]]
) -> tuple[float, int, int]:
    """Spearman's rho between the vectors' cosines and the ratings, over pairs whose words both have vectors.

    Returns (rho, pairs used, pairs missing a word); rho is NaN when fewer than two pairs are usable.
    """
    unit = normalise(vectors)
    left, right, gold = [], [], []
    missing = 0
    for w1, w2, score in pairs:
        i, j = index.get(w1), index.get(w2)
        if i is None or j is None:
            missing += 1
            continue
        left.append(i)
        right.append(j)
        gold.append(score)
    if len(gold) < 2:
        return float("nan"), len(gold), missing
    from scipy.stats import spearmanr  # imported here: scipy.stats takes ~1 s to import

    cosines = np.einsum("ij,ij->i", unit[left], unit[right])
    rho = spearmanr(cosines, gold).statistic
    return float(rho), len(gold), missing


def read_analogy_file(path: str | os.PathLike) -> AnalogySections:
    """Analogy questions a b c d (a:b :: c:d, lower-cased) by section, from a questions-words.txt file.

    ": name" lines start a section; questions before any are in NO_SECTION. Comments (# or //) and lines
    without exactly four words are skipped and counted in `.n_skipped`; sections with no question are
    left out. CorpusError when the file cannot be read or has no question.
    """
    text = read_text_file(path).text
    sections = AnalogySections()
    section = NO_SECTION
    skipped = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith(":"):
            section = line[1:].strip() or NO_SECTION
            continue
        words = line.lower().split()
        if _is_comment(line) or len(words) != 4:
            skipped += 1
            continue
        sections.setdefault(section, []).append((words[0], words[1], words[2], words[3]))
    if not sections:
        raise CorpusError(
            f"{Path(path).name} has no analogy questions: after ': section' lines, each line should hold four "
            "words a b c d meaning a is to b as c is to d (for example 'athens greece paris france')."
        )
    sections.n_skipped = skipped
    return sections


def analogy_accuracy(
    vectors: np.ndarray, index: Mapping[str, int], questions: Mapping[str, Sequence[Quad]] | Sequence[Quad]
) -> tuple[float, int, int]:
    """The share of questions a:b :: c:d whose d is the word nearest b - a + c (3CosAdd, a, b, c left out).

    This is neighbours.analogy(vectors, b, a, c), k=1, for each question: athens:greece :: paris:? is
    greece - athens + paris -> france. `questions` is read_analogy_file's sections or one list of (a, b, c, d).
    Returns (accuracy, questions used, questions with a word that has no vector); accuracy is NaN when none
    is usable.
    """
    if isinstance(questions, Mapping):
        quads = [q for section in questions.values() for q in section]
    else:
        quads = list(questions)
    used, missing = [], 0
    for quad in quads:
        ids = [index.get(w) for w in quad]
        if any(i is None for i in ids):
            missing += 1
        else:
            used.append(ids)
    if not used:
        return float("nan"), 0, missing
    unit = normalise(vectors)
    q = np.array(used, dtype=np.int64)
    correct = 0
    for start in range(0, len(q), _BATCH):
        batch = q[start:start + _BATCH]
        a, b, c, d = batch.T
        scores = (unit[b] - unit[a] + unit[c]) @ unit.T
        rows = np.arange(len(batch))
        for col in (a, b, c):
            scores[rows, col] = -np.inf
        correct += int((np.argmax(scores, axis=1) == d).sum())
    return correct / len(q), len(q), missing
