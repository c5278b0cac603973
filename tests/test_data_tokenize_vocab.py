"""Word and character tokenizers, the vocabulary, and word2vec's sampling distributions."""
from __future__ import annotations

import math

import numpy as np
import pytest

from explorer.data.errors import CorpusError
from explorer.data.tokenize import CharTokenizer, word_tokens
from explorer.data.vocab import Vocab, check_vocab_fits, check_window_fits


def test_word_tokens_keeps_words_with_inner_apostrophes_and_numbers():
    text = "Don't panic! Austen's 2 novels, 1811--1818; well-known _very_ 'quoted' rock'n'roll café Über."
    assert word_tokens(text) == [
        "don't", "panic", "austen's", "2", "novels", "1811", "1818", "well", "known", "very",
        "quoted", "rock'n'roll", "café", "über",
    ]


def test_word_tokens_can_keep_case_and_splits_letters_from_digits():
    assert word_tokens("It’s Mr. Darcy in 1813AD", lower=False) == ["It’s", "Mr", "Darcy", "in", "1813", "AD"]
    assert word_tokens("... -- !!! ") == []


def test_char_tokenizer_round_trips_text_in_code_point_order():
    text = "Hello, wörld 🙂\n"
    tok = CharTokenizer.from_text(text)
    assert tok.chars == tuple(sorted(set(text)))
    assert tok.chars[0] == "\n" and tok.chars[-1] == "🙂"
    assert len(tok) == 12
    ids = tok.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert ids[0] == tok.chars.index("H")
    assert tok.decode(ids) == text
    assert tok.decode([tok.chars.index("o"), tok.chars.index("l")]) == "ol"
    assert tok.encode("").shape == (0,)


def test_char_tokenizer_names_an_unknown_character():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(CorpusError, match=r"'z'.*U\+007A"):
        tok.encode("abz")
    with pytest.raises(CorpusError):
        CharTokenizer.from_text("")


TOKENS = ["the", "cat", "sat", "on", "the", "mat", "the", "cat"]


def test_vocab_orders_by_count_then_alphabetically():
    vocab = Vocab.build(TOKENS)
    assert vocab.words == ["the", "cat", "mat", "on", "sat"]
    assert vocab.counts.tolist() == [3, 2, 1, 1, 1] and vocab.counts.dtype == np.int64
    assert vocab.index == {"the": 0, "cat": 1, "mat": 2, "on": 3, "sat": 4}
    assert len(vocab) == 5 and "mat" in vocab and "dog" not in vocab


def test_vocab_min_count_and_max_size():
    assert Vocab.build(TOKENS, min_count=2).words == ["the", "cat"]
    assert Vocab.build(TOKENS, max_size=3).words == ["the", "cat", "mat"]
    assert Vocab.build(TOKENS, min_count=3, max_size=10).words == ["the"]


def test_vocab_encode_drops_or_marks_unknown_words():
    vocab = Vocab.build(TOKENS)
    ids = vocab.encode(["the", "dog", "cat", "mat"])
    assert ids.dtype == np.int32 and ids.tolist() == [0, 1, 2]
    assert vocab.encode(["the", "dog", "cat"], drop_unknown=False).tolist() == [0, -1, 1]
    assert vocab.encode([]).shape == (0,)


def test_vocab_errors_say_what_to_change():
    with pytest.raises(CorpusError, match="no words"):
        Vocab.build([])
    with pytest.raises(CorpusError) as err:
        Vocab.build(TOKENS, min_count=5)
    message = str(err.value)
    assert "at least 5 times" in message and "5 distinct words" in message and "lower the minimum count" in message


def test_frequencies_and_noise_distribution_by_hand():
    vocab = Vocab.build(TOKENS)
    assert vocab.frequencies() == pytest.approx([3 / 8, 2 / 8, 1 / 8, 1 / 8, 1 / 8])
    noise = vocab.noise_distribution()
    assert noise.dtype == np.float64 and noise.sum() == pytest.approx(1.0)
    total = 3**0.75 + 2**0.75 + 3
    assert noise == pytest.approx([3**0.75 / total, 2**0.75 / total, 1 / total, 1 / total, 1 / total])
    assert vocab.noise_distribution(1.0) == pytest.approx(vocab.frequencies())


def test_keep_probabilities_follow_word2vec_formula():
    vocab = Vocab.build(TOKENS)
    keep = vocab.keep_probabilities(0.1)
    # "the": f = 3/8, (sqrt(3.75) + 1) * 0.1 / 0.375 = 0.78306...; "cat": (sqrt(2.5) + 1) * 0.4 > 1, so 1.
    assert keep[0] == pytest.approx((math.sqrt(3.75) + 1) * 0.1 / 0.375)
    assert keep[0] == pytest.approx(0.7830644, abs=1e-6)
    assert keep[1:].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert vocab.keep_probabilities(0.0).tolist() == [1.0] * 5


def test_subsample_keeps_each_word_at_its_rate():
    vocab = Vocab.build(["a"] * 900 + ["b"] * 100)
    ids = vocab.encode(["a"] * 90_000 + ["b"] * 10_000)
    # f(a) = 0.9: (sqrt(90) + 1) * 0.01 / 0.9 = 0.1165; f(b) = 0.1: (sqrt(10) + 1) * 0.1 = 0.4162.
    kept = vocab.subsample(ids, 0.01, np.random.default_rng(0))
    assert np.count_nonzero(kept == 0) / 90_000 == pytest.approx(0.1165, abs=0.005)
    assert np.count_nonzero(kept == 1) / 10_000 == pytest.approx(0.4162, abs=0.015)
    assert np.all(np.diff(kept) >= 0)  # order kept: all a's still come before all b's
    again = vocab.subsample(ids, 0.01, np.random.default_rng(0))
    assert np.array_equal(kept, again)
    assert np.array_equal(vocab.subsample(ids, 0.0, np.random.default_rng(0)), ids)


def test_window_must_fit_in_the_corpus():
    check_window_fits(5, 2)
    with pytest.raises(CorpusError) as err:
        check_window_fits(4, 2)
    assert "only 4 words" in str(err.value) and "at least 5" in str(err.value) and "at most 1" in str(err.value)
    with pytest.raises(CorpusError, match="longer corpus"):
        check_window_fits(2, 5)


def test_vocabulary_must_have_enough_words():
    check_vocab_fits(2)
    with pytest.raises(CorpusError, match=r"only 1 word;.*at least 2"):
        check_vocab_fits(1)
    with pytest.raises(CorpusError, match="at least 10"):
        check_vocab_fits(9, needed=10)


@pytest.mark.parametrize(("alphabet", "dtype"),
                         [("abc .", np.uint8), ("".join(map(chr, range(0x100, 0x300))), np.int16)])
def test_character_ids_are_stored_compact_and_batches_are_int64(alphabet, dtype):
    import torch

    from explorer.data.tasks import char_ids, char_lm_batch

    rng = np.random.default_rng(0)
    text = "".join(rng.choice(list(alphabet), size=5000))
    tokenizer, ids = char_ids(text)
    assert ids.numpy().dtype == dtype  # 1 or 2 bytes a character, not int64's 8
    np.testing.assert_array_equal(tokenizer.encode_compact(text, chunk_chars=333), tokenizer.encode(text))
    assert tokenizer.decode(ids.numpy()) == text
    x, y = char_lm_batch(ids, 4, 16, torch.Generator().manual_seed(0))
    assert x.dtype == y.dtype == torch.int64
    assert torch.equal(x[:, 1:], y[:, :-1])


def test_id_counts_in_pieces_equal_bincount():
    from explorer.data.tasks import id_counts

    ids = np.random.default_rng(1).integers(0, 50, size=10_001).astype(np.uint8)
    np.testing.assert_array_equal(id_counts(ids, chunk=97), np.bincount(ids))
    np.testing.assert_array_equal(id_counts(ids, minlength=60, chunk=1000), np.bincount(ids, minlength=60))
    assert id_counts(np.zeros(0, dtype=np.uint8), minlength=3).tolist() == [0, 0, 0]
