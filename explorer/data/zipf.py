"""A generated corpus with genuinely rare words: word classes whose members follow Zipf's law.

Each of CLASSES' classes has `members` made-up words (pronounceable, so that a map stays readable) and a few
sentence templates of its own; a sentence picks a class, one of its templates and a member, the r-th member
with probability ∝ 1 / r^exponent. With the defaults the most frequent member of a class is seen thousands of
times and its rarest only a handful: the corpus on which "skip-gram is good for rare words" can be checked.
"""
from __future__ import annotations

import numpy as np

from explorer.data.corpus import Corpus

ZIPF_NAME = "Zipfian classes (rare words)"

CLASSES: dict[str, tuple[str, ...]] = {
    "city": ("we flew to {w} to see the old city.", "the streets of {w} are busy at night.",
             "the mayor of {w} gave a speech."),
    "country": ("{w} is a country with a long coast.", "the president of {w} visited the border.",
                "the map of {w} hangs on the wall."),
    "language": ("the old books were written in {w}.", "she learned to speak {w} at school.",
                 "he translated the letter into {w}."),
    "man": ("he is a {w} and he is kind.", "the {w} put on his hat.", "he was a good {w}."),
    "woman": ("she is a {w} and she is kind.", "the {w} put on her hat.", "she was a good {w}."),
    "animal": ("the {w} is sleeping in the barn.", "a {w} is eating grass in the field.",
               "the farmer fed the {w}."),
    "colour": ("my favourite colour is {w}.", "the door was painted {w}.", "she wore a {w} dress."),
    "food": ("{w} is good to eat.", "we had {w} for dinner.", "the cook made fresh {w}."),
    "verb": ("they {w} every day.", "we often {w} together.", "the children {w} near the river."),
    "tool": ("he fixed the roof with a {w}.", "the {w} is in the shed.", "she bought a new {w} at the shop."),
}
# Templates every class shares: they say nothing of a word's class, as much of real text does not.
SHARED = ("i saw the {w} yesterday.", "we talked about the {w} for hours.", "there is the {w} again.",
          "nobody knew the {w} then.")
_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "tr", "pl", "sk")
_VOWELS = ("a", "e", "i", "o", "u")


def made_up_words(n: int, seed: int = 0, avoid: set[str] | None = None) -> list[str]:
    """n distinct pronounceable made-up words of two or three syllables (the same for the same seed)."""
    rng = np.random.default_rng(seed)
    avoid = set(avoid or ())
    words: list[str] = []
    seen = set(avoid)
    while len(words) < n:
        syllables = int(rng.integers(2, 4))
        word = "".join(_ONSETS[rng.integers(len(_ONSETS))] + _VOWELS[rng.integers(len(_VOWELS))]
                       for _ in range(syllables))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


def _template_words() -> set[str]:
    return {w.strip(".") for templates in CLASSES.values() for t in templates for w in t.split()}


def zipf_members(members: int = 40, seed: int = 0) -> dict[str, list[str]]:
    """Each class's made-up members, most frequent first."""
    words = made_up_words(members * len(CLASSES), seed, avoid=_template_words())
    return {cls: words[i * members:(i + 1) * members] for i, cls in enumerate(CLASSES)}


def make_zipf_corpus(n_sentences: int = 40000, members: int = 40, exponent: float = 1.3, shared: float = 0.5,
                     seed: int = 0) -> Corpus:
    """Template sentences whose class members follow Zipf's law; the word classes are known."""
    if n_sentences < 1 or members < 1:
        raise ValueError("n_sentences and members must be at least 1")
    rng = np.random.default_rng(seed)
    by_class = zipf_members(members, seed)
    names = list(CLASSES)
    weights = 1.0 / np.arange(1, members + 1) ** exponent
    cls = rng.integers(len(names), size=n_sentences).tolist()
    template = rng.integers(3, size=n_sentences).tolist()
    member = rng.choice(members, size=n_sentences, p=weights / weights.sum()).tolist()
    plain = (rng.random(n_sentences) < shared).tolist()
    generic = rng.integers(len(SHARED), size=n_sentences).tolist()
    lines = [(SHARED[g] if p else CLASSES[names[c]][t]).format(w=by_class[names[c]][m])
             for c, t, m, p, g in zip(cls, template, member, plain, generic, strict=True)]
    classes = {word: name for name, words in by_class.items() for word in words}
    return Corpus(
        name=ZIPF_NAME,
        text="\n".join(lines) + "\n",
        source=(f"Generated: {n_sentences:,} template sentences (seed {seed}); {len(CLASSES)} word classes of "
                f"{members} made-up words each, the r-th member of a class drawn with probability ∝ 1/r^{exponent}, "
                f"so that each class has a few frequent members and many rare ones; {shared:.0%} of the sentences "
                "use templates all classes share."),
        word_classes=classes,
    )
