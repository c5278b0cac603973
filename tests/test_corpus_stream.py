"""Corpora of any size: binary content caught in any chunk, words streamed across chunk boundaries into ids, a word
budget that says where it cut the file, memory that does not grow with the file, the command line's progress."""
from __future__ import annotations

import gzip
import io
import itertools
import re
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer import cli_corpus
from explorer.cli_corpus import ProgressBar, load_corpus_for_cli
from explorer.data.builtin import load_builtin
from explorer.data.corpus import (
    MAX_WORDS_LIMIT,
    Corpus,
    budget_note,
    check_max_words,
    estimate_file_words,
    load_corpus_file,
)
from explorer.data.corpus_spec import load_corpus_spec
from explorer.data.errors import CorpusError
from explorer.data.textfile import read_text_file
from explorer.data.tokenize import WordStream, word_tokens
from explorer.data.vocab import Vocab, check_vocab_fits

PROSE = ("It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in "
         "want of a wife. However little known the feelings or views of such a man may be on his first entering "
         "a neighbourhood, this truth is so well fixed in the minds of the surrounding families.\n")


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# -- binary content anywhere ---------------------------------------------------------------------------------------
def test_zeros_after_the_first_64_kib_are_caught_with_their_offset(tmp_path):
    text = (PROSE * 400).encode()[:100_000]  # 100 kB of text, then zeros (the old check looked at 64 KiB only)
    path = write(tmp_path, "big.txt", text + bytes(50_000))
    for read in (lambda: load_corpus_file(path, chunk_bytes=4096), lambda: read_text_file(path, chunk_bytes=4096)):
        with pytest.raises(CorpusError) as err:
            read()
        assert str(err.value).startswith("big.txt turns binary at byte 100,000 (MiB 0.10)")


def test_control_characters_in_a_later_chunk_are_caught_near_where_they_start(tmp_path):
    rng = np.random.default_rng(0)
    noise = bytes(rng.choice([*range(1, 9), *range(14, 32), *range(128, 256)], size=80_000).astype(np.uint8))
    text = (PROSE * 600).encode()[:150_000]
    path = write(tmp_path, "mixed.txt", text + noise)
    with pytest.raises(CorpusError, match=r"mixed\.txt turns binary at byte") as err:
        load_corpus_file(path, chunk_bytes=3000)
    offset = int(re.search(r"byte ([\d,]+)", str(err.value)).group(1).replace(",", ""))
    assert len(text) <= offset < len(text) + 8192


def test_binary_in_a_gzip_file_names_the_offset_of_the_unpacked_text(tmp_path):
    path = write(tmp_path, "packed.txt.gz", gzip.compress((PROSE * 500).encode()[:70_000] + bytes(1000)))
    with pytest.raises(CorpusError, match=r"packed\.txt\.gz turns binary at byte 70,000 of its unpacked text"):
        load_corpus_file(path)


def test_binary_at_the_start_keeps_the_plain_message(tmp_path):
    path = write(tmp_path, "photo.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20)
    with pytest.raises(CorpusError, match=r"photo\.jpg looks like a binary file, not text \(binary content from byte"):
        load_corpus_file(path, chunk_bytes=64)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), chunk=st.integers(1, 700), packed=st.booleans(),
       bom=st.sampled_from([b"", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf"]))
def test_any_bytes_give_a_corpus_or_a_message_naming_the_file(data, chunk, packed, bom):
    data = bom + data  # byte-order marks too: UTF-16 is read another way
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), "random input.txt", gzip.compress(data) if packed else data)
        try:
            corpus = load_corpus_file(path, chunk_bytes=chunk, max_words=50)
        except CorpusError as exc:
            message = str(exc)
            assert "random input.txt" in message and "\n" not in message
        else:
            assert 1 <= corpus.n_words <= 50 and len(corpus.words) == corpus.n_words
            assert corpus.words == word_tokens(corpus.text)[: corpus.n_words]


# -- words across chunk boundaries ---------------------------------------------------------------------------------
TEXT_CHARS = st.sampled_from(list("abcXYZ019'’ \n\t\r.,-_éÉßİΣσς€🙂\u00a0\u2028\x85"))


@settings(max_examples=150, deadline=None)
@given(text=st.text(TEXT_CHARS, max_size=400), cuts=st.lists(st.integers(0, 400), max_size=12))
def test_words_fed_in_any_pieces_are_the_words_of_the_whole_text(text, cuts):
    stream = WordStream()
    bounds = sorted({0, len(text), *(c for c in cuts if c <= len(text))})
    for a, b in itertools.pairwise(bounds):
        stream.feed(text[a:b])
    stream.close()
    assert [stream.vocabulary[i] for i in stream.word_ids] == word_tokens(text)
    assert "".join(stream.parts) == text
    assert len(set(stream.vocabulary)) == len(stream.vocabulary)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(TEXT_CHARS, max_size=600), chunk=st.integers(1, 64), budget=st.integers(1, 40))
def test_a_file_read_in_small_chunks_has_the_words_of_its_whole_text(text, chunk, budget):
    with tempfile.TemporaryDirectory() as folder:
        path = write(Path(folder), "t.txt", text.encode("utf-8"))
        whole = text.replace("\r\n", "\n")
        expected = word_tokens(whole)
        try:
            corpus = load_corpus_file(path, chunk_bytes=chunk, max_words=budget)
        except CorpusError as exc:  # no words, only whitespace, or too many control characters
            assert not expected or "binary" in str(exc)
            return
        assert corpus.words == expected[:budget]
        assert corpus.complete == (len(expected) <= budget)
        assert whole.startswith(corpus.text)
        if corpus.complete:
            assert corpus.text == whole and corpus.notes == ()


def test_crlf_split_between_chunks_and_words_split_between_chunks(tmp_path):
    path = write(tmp_path, "win.txt", b"alpha beta\r\ngamma delta\r\n" * 3)
    for chunk in range(1, 12):
        corpus = load_corpus_file(path, chunk_bytes=chunk)
        assert corpus.text == "alpha beta\ngamma delta\n" * 3
        assert corpus.words == ["alpha", "beta", "gamma", "delta"] * 3
        assert corpus.vocabulary == ("alpha", "beta", "gamma", "delta")
        assert corpus.word_ids.dtype == np.int32 and corpus.word_ids.tolist() == [0, 1, 2, 3] * 3


# -- the word budget ------------------------------------------------------------------------------------------------
def test_the_budget_cuts_the_file_and_a_note_says_where(tmp_path):
    path = write(tmp_path, "novel.txt", (PROSE * 40).encode())
    all_words = word_tokens(PROSE * 40)
    calls = []
    corpus = load_corpus_file(path, max_words=100, chunk_bytes=256, progress=lambda d, t: calls.append((d, t)))
    assert corpus.n_words == 100 and corpus.words == all_words[:100] and not corpus.complete
    assert corpus.text.endswith(all_words[99]) and word_tokens(corpus.text) == all_words[:100]
    assert corpus.words_in_source == pytest.approx(len(all_words), rel=0.05)
    note = corpus.notes[-1]
    assert note.startswith("novel.txt: used the first 100 words (")
    assert "% of the file, stopped at about byte" in note and "--max-words" in note
    used = int(re.search(r"byte ([\d,]+)", note).group(1).replace(",", ""))
    assert used == pytest.approx(len(corpus.text), abs=2)
    # the read stopped early: it never went past a few chunks beyond the cut
    assert calls[-1][0] < path.stat().st_size / 4 and all(d <= t for d, t in calls)


def test_a_budget_that_the_file_just_fits_cuts_nothing(tmp_path):
    path = write(tmp_path, "exact.txt", b"one two three four five.\n")
    corpus = load_corpus_file(path, max_words=5)
    assert corpus.complete and corpus.n_words == 5 and corpus.notes == () and corpus.words_in_source == 5


def test_budget_limits_are_checked_and_the_largest_gives_no_circular_advice():
    assert check_max_words(None) > 10_000_000 and check_max_words(7) == 7
    for bad in (0, -3, MAX_WORDS_LIMIT + 1, 2.5, True, "many"):
        with pytest.raises(CorpusError, match="word limit must be a whole number from 1 to"):
            check_max_words(bad)
    top = budget_note("big.txt", MAX_WORDS_LIMIT, MAX_WORDS_LIMIT, 500, 1000, 2 * MAX_WORDS_LIMIT)
    assert "largest allowed" in top and "raise" not in top


def test_built_in_corpora_take_the_same_budget():
    austen = load_corpus_spec("builtin:austen", max_words=1000)
    assert austen.n_words == 1000 and austen.words[:4] == ["emma", "by", "jane", "austen"]
    assert "used the first 1,000 words" in austen.notes[-1] and not austen.complete
    synthetic = load_builtin("synthetic", max_words=50)
    assert synthetic.n_words == 50 and synthetic.word_classes and "used the first 50 words" in synthetic.notes[-1]


def test_a_file_of_any_size_is_estimated_from_a_sample(tmp_path):
    path = write(tmp_path, "est.txt", (PROSE * 3000).encode())
    estimate = estimate_file_words(path, sample_bytes=20_000)
    assert not estimate.exact and estimate.size == path.stat().st_size
    assert estimate.words == pytest.approx(len(word_tokens(PROSE)) * 3000, rel=0.05)
    assert estimate_file_words(path, sample_bytes=10**7).exact
    assert estimate_file_words(tmp_path / "missing.txt") is None


# -- memory ----------------------------------------------------------------------------------------------------------
def test_words_are_counted_by_the_read_without_a_list_of_strings(tmp_path):
    path = write(tmp_path, "prose.txt", (PROSE * 8000).encode())  # 2.4 MB, 390,000 words
    tracemalloc.start()
    try:
        corpus = load_corpus_file(path, chunk_bytes=1 << 16)
        n_words = corpus.n_words
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size = path.stat().st_size
    assert n_words == len(word_tokens(PROSE)) * 8000 and "words" not in corpus.__dict__
    # the text kept once (in pieces), 4-byte ids and one chunk's tokens: 2.4x the size (5.6 MB); the whole text
    # read, then split into a list of str to count the words, took 12.6x (29 MB)
    assert peak < 4 * size
    assert corpus.n_chars == size  # known without joining the text
    assert corpus.__dict__["_text"] is None
    assert corpus.text == PROSE * 8000 and corpus.__dict__["_parts"] is None  # joined once, pieces dropped


def test_corpus_from_text_keeps_the_old_api():
    corpus = Corpus("tiny", "The cat; the HAT.", "typed")
    assert corpus.words == ["the", "cat", "the", "hat"] and corpus.n_words == 4 and corpus.n_chars == 17
    assert corpus.vocabulary == ("the", "cat", "hat") and corpus.word_ids.tolist() == [0, 1, 0, 2]
    assert corpus.complete and corpus.notes == ()


@settings(max_examples=60, deadline=None)
@given(words=st.lists(st.sampled_from(list("abcdefgh")), max_size=60), min_count=st.integers(1, 4),
       max_size=st.one_of(st.none(), st.integers(1, 6)))
def test_vocab_from_ids_is_build_and_encode(words, min_count, max_size):
    corpus = Corpus("w", " ".join(words), "test")
    try:
        expected = Vocab.build(words, min_count=min_count, max_size=max_size)
    except CorpusError as exc:
        with pytest.raises(CorpusError, match=re.escape(str(exc))):
            Vocab.from_ids(corpus.word_ids, corpus.vocabulary, min_count=min_count, max_size=max_size)
        return
    vocab, ids = Vocab.from_ids(corpus.word_ids, corpus.vocabulary, min_count=min_count, max_size=max_size)
    assert vocab.words == expected.words and vocab.counts.tolist() == expected.counts.tolist()
    assert ids.dtype == np.int32 and ids.tolist() == expected.encode(words).tolist()


# -- advice that can help ------------------------------------------------------------------------------------------
def test_a_one_word_corpus_is_not_told_to_lower_a_minimum_count_of_one():
    with pytest.raises(CorpusError) as err:
        check_vocab_fits(1, min_count=1, distinct=1)
    message = str(err.value)
    assert "minimum count" not in message and "size limit" not in message
    assert "only 1 distinct word" in message and "at least 2 different words" in message
    with pytest.raises(CorpusError, match=r"Lower the minimum count \(now 5\)") as err:
        check_vocab_fits(1, min_count=5, distinct=40)
    assert "size limit" not in str(err.value)
    with pytest.raises(CorpusError, match=r"Raise the vocabulary size limit \(now 1\)"):
        check_vocab_fits(1, min_count=1, max_size=1, distinct=40)


def test_the_svd_job_on_a_one_word_corpus_says_what_is_wrong():
    from explorer.training.job import JobContext
    from explorer.training.jobs.svd_job import SvdConfig, SvdJob

    job = SvdJob(SvdConfig(corpus="one", min_count=1, window=1))
    with pytest.raises(CorpusError) as err:
        job.setup(JobContext(corpora={"one": Corpus("one", "hello " * 50, "test")}))
    assert "minimum count" not in str(err.value) and "different words" in str(err.value)


# -- the command line ----------------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_bar_redraws_in_place_at_most_ten_times_a_second():
    out, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(out, "reading big.txt", interactive=True, clock=clock)
    for step in range(1, 41):  # 40 updates over 2 s
        clock.now = step * 0.05
        bar.update(step * 25_000_000, 1_000_000_000)
    drawn = out.getvalue().split("\r")[1:]
    assert 15 <= len(drawn) <= 21 and "\n" not in out.getvalue()
    last = drawn[-1].strip()  # the last update may fall inside the interval: the bar shows one a little before
    assert last.startswith("reading big.txt [") and re.search(r" (9\d|100)%  9\d\d\.0 MB of 1,000\.0 MB", last)
    assert "500.0 MB/s" in last and "ETA 0:00" in last
    assert "ETA 0:01" in drawn[len(drawn) // 2 - 1]  # halfway: a second to go
    bar.finish("read big.txt")
    final = out.getvalue().split("\r")[-1]  # padded with spaces over the longer bar, then a newline
    assert final.endswith("\n") and final.rstrip() == "read big.txt: 1,000.0 MB in 2.0 s (500.0 MB/s)"


def test_progress_lines_in_a_log_are_sparse_and_whole():
    out, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(out, "reading x", interactive=False, clock=clock)
    for step in range(1, 101):
        clock.now = step * 0.2  # 20 s in all
        bar.update(step, 100)
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and "\r" not in out.getvalue() and all("ETA" in line for line in lines)


def test_cli_reading_says_the_budget_shows_progress_and_notes(tmp_path, monkeypatch):
    monkeypatch.setattr(cli_corpus, "LINE_INTERVAL", 0.0)
    path = write(tmp_path, "café.txt", ("Un café crème. " * 40_000).encode("latin-1"))  # 600 kB, 160,000 words
    out = io.StringIO()
    corpus = load_corpus_for_cli(str(path), max_words=50_000, stream=out)
    text = out.getvalue()
    assert corpus.n_words == 50_000
    assert re.search(r"note: café\.txt is 0\.6 MB with about 1[56]\d,\d{3} words; using the first 50,000 "
                     r"\(set another with --max-words N", text)
    assert "reading café.txt [" in text and "MB/s" in text
    assert "not valid UTF-8 and were replaced" in text
    assert "note: café.txt: used the first 50,000 words" in text
    assert re.search(r"corpus: 50,000 words \(of about 1[56]\d,\d{3} in the file\)\n$", text)
    out = io.StringIO()
    load_corpus_for_cli("builtin:synthetic", None, stream=out)
    assert out.getvalue().splitlines()[-1].endswith("words (the whole corpus)")


def test_cli_errors_propagate_after_the_bar_is_closed(tmp_path):
    path = write(tmp_path, "bad.txt", (PROSE * 300).encode()[:70_000] + bytes(100))
    out = io.StringIO()
    with pytest.raises(CorpusError, match=r"bad\.txt turns binary at byte 70,000"):
        load_corpus_for_cli(str(path), None, stream=out)
    assert out.getvalue() == "" or out.getvalue().endswith("\n")


def test_a_text_in_an_unknown_script_is_not_told_to_be_longer(tmp_path):
    from explorer.data.finetune_tasks import build_task

    path = write(tmp_path, "greek.txt", ("Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν. " * 200).encode())
    with pytest.raises(CorpusError) as err:
        build_task("next-token", "file", tuple("abcdefghijklmnopqrstuvwxyz"), 16, 1.0, seed=0, file_path=str(path))
    message = str(err.value)
    assert "greek.txt" in message and "not in the pre-trained model's alphabet" in message
    assert "Choose a longer text" not in message
