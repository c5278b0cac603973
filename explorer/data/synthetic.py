"""A generated English-like corpus whose word classes and analogies are known, to score models against."""
from __future__ import annotations

import numpy as np

from explorer.data.corpus import Corpus

SYNTHETIC_NAME = "Synthetic (known structure)"

# (capital, country, language): a capital and its country share their language as context.
CAPITALS = (
    ("paris", "france", "french"),
    ("rome", "italy", "italian"),
    ("madrid", "spain", "spanish"),
    ("berlin", "germany", "german"),
    ("tokyo", "japan", "japanese"),
    ("cairo", "egypt", "arabic"),
    ("lisbon", "portugal", "portuguese"),
    ("athens", "greece", "greek"),
)
# (male, female, place, adjective): partners share a place where they are found and an adjective.
PARTNERS = (
    ("king", "queen", "palace", "royal"),
    ("prince", "princess", "castle", "young"),
    ("man", "woman", "office", "tall"),
    ("boy", "girl", "school", "little"),
    ("father", "mother", "kitchen", "proud"),
    ("son", "daughter", "garden", "eldest"),
    ("uncle", "aunt", "farm", "rich"),
    ("brother", "sister", "park", "twin"),
    ("husband", "wife", "church", "loving"),
)
# (animal, animals, sound): singular and plural share the animal's sound.
ANIMALS = (
    ("dog", "dogs", "woof"),
    ("cat", "cats", "meow"),
    ("cow", "cows", "moo"),
    ("duck", "ducks", "quack"),
    ("horse", "horses", "neigh"),
    ("pig", "pigs", "oink"),
    ("frog", "frogs", "croak"),
    ("lion", "lions", "roar"),
)
COLOURS = ("red", "green", "blue", "yellow", "black", "white", "brown", "grey")
NUMBERS = ("two", "three", "four", "five", "six", "seven", "eight", "nine")
VERBS = ("runs", "walks", "sleeps", "swims", "jumps", "sings", "dances", "waits")
FOODS = ("bread", "cheese", "rice", "apples", "soup", "fish", "cake", "honey")

# Slots: {cap} {country} {lang} share one index; so do {m} {f} {place} {adj}, and {a} {as} {sound}.
# Class-only templates make a class share contexts; parallel pair templates make offsets consistent.
TEMPLATES = (
    # capitals (class contexts)
    "we flew to {cap} to see the old city.",
    "the streets of {cap} are busy at night.",
    "the mayor of {cap} gave a speech.",
    # countries (class contexts)
    "{country} is a country with a long coast.",
    "the president of {country} visited the border.",
    "the map of {country} hangs on the wall.",
    # pair links, parallel
    "{cap} is the capital of {country}.",
    "people in {cap} speak {lang}.",
    "people in {country} speak {lang}.",
    # languages
    "the old books were written in {lang}.",
    # male / female class contexts
    "he is a {m} and he is kind.",
    "the {m} put on his hat.",
    "she is a {f} and she is kind.",
    "the {f} put on her hat.",
    "the {m} told us about his day.",
    "the {f} told us about her day.",
    "he was a good {m}.",
    "she was a good {f}.",
    # pair links, parallel
    "the {m} went to the {place}.",
    "the {f} went to the {place}.",
    "the {m} and the {f} met at the {place}.",
    "the {adj} {m} smiled.",
    "the {adj} {f} smiled.",
    # people and food, verbs
    "the {m} ate {food} with his friends.",
    "the {f} ate {food} with her friends.",
    "the {m} {verb} every day.",
    "the {f} {verb} every day.",
    # animals singular / plural
    "a {colour} {a} is eating {food}.",
    "the {a} is sleeping in the barn.",
    "the {a} {verb} near the river.",
    "{number} {colour} {as} are eating {food}.",
    "the {as} are sleeping in the barn.",
    "i counted {number} {as} in the field.",
    "the {a} says {sound}.",
    "the {as} say {sound}.",
    # colours, food
    "my favourite colour is {colour}.",
    "the door was painted {colour}.",
    "{food} is good to eat.",
)


def _classes() -> dict[str, str]:
    """Word -> class for every word whose class is known."""
    groups = {
        "capital": [c for c, _, _ in CAPITALS],
        "country": [k for _, k, _ in CAPITALS],
        "language": [lang for _, _, lang in CAPITALS],
        "male": [m for m, _, _, _ in PARTNERS],
        "female": [f for _, f, _, _ in PARTNERS],
        "place": [p for _, _, p, _ in PARTNERS],
        "animal": [a for a, _, _ in ANIMALS],
        "animals": [a for _, a, _ in ANIMALS],
        "colour": list(COLOURS),
        "number": list(NUMBERS),
        "verb": list(VERBS),
        "food": list(FOODS),
    }
    return {word: cls for cls, words in groups.items() for word in words}


def _analogies() -> tuple[tuple[str, str, str, str], ...]:
    """a:b :: c:d for capital:country, male:female and singular:plural, every ordered pair of pairs."""
    families = (
        [(c, k) for c, k, _ in CAPITALS],
        [(m, f) for m, f, _, _ in PARTNERS],
        [(a, p) for a, p, _ in ANIMALS],
    )
    return tuple(
        (a, b, c, d) for pairs in families for i, (a, b) in enumerate(pairs) for j, (c, d) in enumerate(pairs) if i != j
    )


def synthetic_analogies() -> tuple[tuple[str, str, str, str], ...]:
    """The generated corpus' analogy questions a:b :: c:d (the same for every seed)."""
    return _analogies()


def make_synthetic_corpus(n_sentences: int = 20000, seed: int = 0) -> Corpus:
    """A corpus of template sentences with known word classes and analogies, the same for the same seed."""
    if n_sentences < 1:
        raise ValueError("n_sentences must be at least 1")
    rng = np.random.default_rng(seed)
    draws = {
        "template": rng.integers(len(TEMPLATES), size=n_sentences),
        "capital": rng.integers(len(CAPITALS), size=n_sentences),
        "partner": rng.integers(len(PARTNERS), size=n_sentences),
        "animal": rng.integers(len(ANIMALS), size=n_sentences),
        "colour": rng.integers(len(COLOURS), size=n_sentences),
        "number": rng.integers(len(NUMBERS), size=n_sentences),
        "verb": rng.integers(len(VERBS), size=n_sentences),
        "food": rng.integers(len(FOODS), size=n_sentences),
    }
    columns = {key: value.tolist() for key, value in draws.items()}
    lines = []
    for s in range(n_sentences):
        cap, country, lang = CAPITALS[columns["capital"][s]]
        m, f, place, adj = PARTNERS[columns["partner"][s]]
        a, a_plural, sound = ANIMALS[columns["animal"][s]]
        lines.append(
            TEMPLATES[columns["template"][s]].format(
                cap=cap, country=country, lang=lang, m=m, f=f, place=place, adj=adj, a=a, sound=sound,
                colour=COLOURS[columns["colour"][s]], number=NUMBERS[columns["number"][s]],
                verb=VERBS[columns["verb"][s]], food=FOODS[columns["food"][s]], **{"as": a_plural},
            )
        )
    return Corpus(
        name=SYNTHETIC_NAME,
        text="\n".join(lines) + "\n",
        source=(
            f"Generated: {n_sentences:,} template sentences (seed {seed}) with {len(set(_classes().values()))} "
            "known word classes and capital:country, male:female and singular:plural analogies."
        ),
        word_classes=_classes(),
        analogies=_analogies(),
    )
