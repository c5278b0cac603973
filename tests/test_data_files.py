"""Reading users' text files: encodings, gzip, streaming with progress and cancel, and clear errors."""
from __future__ import annotations

import gzip
import random

import pytest

from explorer.data import textfile
from explorer.data.errors import Cancelled, CorpusError
from explorer.data.textfile import read_text_file


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_plain_utf8_file(tmp_path):
    path = write(tmp_path, "hello.txt", "Hello wörld.\nSecond line\n".encode())
    read = read_text_file(path)
    assert read.text == "Hello wörld.\nSecond line\n"
    assert read.n_bytes == path.stat().st_size
    assert read.n_replaced == 0 and read.notes == ()


def test_bom_is_dropped_and_windows_line_ends_become_newlines(tmp_path):
    path = write(tmp_path, "win.txt", b"\xef\xbb\xbfone\r\ntwo\r\n")
    assert read_text_file(path).text == "one\ntwo\n"
    # a CR LF pair split across two chunks is still one line end
    for chunk in range(1, 6):
        assert read_text_file(path, chunk_bytes=chunk).text == "one\ntwo\n"


def test_gzip_is_detected_by_content_not_name(tmp_path):
    text = "Compressed text, über alles.\n" * 100
    path = write(tmp_path, "looks-plain.txt", gzip.compress(text.encode("utf-8")))
    read = read_text_file(path)
    assert read.text == text and read.n_bytes == len(text.encode("utf-8"))
    plain = write(tmp_path, "not-really.gz", b"plain after all\n")
    assert read_text_file(plain).text == "plain after all\n"


def test_latin1_text_is_read_with_replacements_and_a_note(tmp_path):
    path = write(tmp_path, "latin.txt", "Café au lait, crème brûlée.\n".encode("latin-1"))
    read = read_text_file(path)
    assert read.text == "Caf\ufffd au lait, cr\ufffdme br\ufffdl\ufffde.\n"
    assert read.n_replaced == 4
    assert len(read.notes) == 1 and "4 bytes were not valid UTF-8" in read.notes[0]
    assert "U+FFFD" in read.notes[0]


def test_utf16_with_byte_order_mark_is_decoded(tmp_path):
    path = write(tmp_path, "notepad.txt", "Unicode from Notepad: ünïcödé\n".encode("utf-16"))
    for chunk in (1, 5, 1 << 20):
        read = read_text_file(path, chunk_bytes=chunk)
        assert read.text == "Unicode from Notepad: ünïcödé\n"
        assert read.n_replaced == 0 and "UTF-16" in read.notes[0]


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", gzip.compress(b""), gzip.compress(b"\n\n")])
def test_empty_or_whitespace_files_are_refused(tmp_path, data):
    path = write(tmp_path, "blank.txt", data)
    with pytest.raises(CorpusError, match=r"blank\.txt is empty"):
        read_text_file(path)


PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000100000001008060000001ff3ff61")


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\x03" * 1000,
        PNG + bytes(range(256)) * 10,
        bytes(range(128, 256)) * 100,  # no NUL, but nothing decodes
        gzip.compress(PNG * 50),
        b"text first" + b"\x00" * 10,
    ],
    ids=["nul-bytes", "png", "all-invalid", "gzipped-png", "late-nul"],
)
def test_binary_files_are_refused(tmp_path, data):
    path = write(tmp_path, "picture.dat", data)
    with pytest.raises(CorpusError, match=r"picture\.dat looks like a binary file, not text"):
        read_text_file(path, chunk_bytes=7)


def test_missing_file_and_folder_are_refused(tmp_path):
    with pytest.raises(CorpusError, match=r"No such file: .*nowhere\.txt"):
        read_text_file(tmp_path / "nowhere.txt")
    with pytest.raises(CorpusError, match="is a folder, not a file"):
        read_text_file(tmp_path)


def test_unreadable_file_is_refused(tmp_path, monkeypatch):
    path = write(tmp_path, "secret.txt", b"top secret\n")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(textfile, "open", denied, raising=False)
    with pytest.raises(CorpusError, match=r"Cannot read .*secret\.txt: permission denied"):
        read_text_file(path)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_gzip_is_refused(tmp_path, damage):
    good = gzip.compress(("Some words. " * 5000).encode())
    data = good[: len(good) // 2] if damage == "truncated" else b"\x1f\x8b" + b"this is not deflate data" * 10
    path = write(tmp_path, "broken.txt.gz", data)
    with pytest.raises(CorpusError, match=r"broken\.txt\.gz looks like a gzip file but is damaged"):
        read_text_file(path)


@pytest.mark.parametrize("compress", [False, True])
def test_progress_rises_to_the_file_size(tmp_path, compress):
    rng = random.Random(0)  # random letters: the gzip file stays large enough for several reads of any buffer size
    text = "".join("".join(rng.choice("abcdefgh ") for _ in range(40)) + "\n" for _ in range(20_000))
    data = gzip.compress(text.encode()) if compress else text.encode()
    path = write(tmp_path, "long.txt", data)
    calls = []
    read = read_text_file(path, progress=lambda done, total: calls.append((done, total)), chunk_bytes=10_000)
    assert read.text == text
    size = path.stat().st_size
    assert len(calls) >= 3
    assert all(total == size for _, total in calls)
    done = [d for d, _ in calls]
    assert done == sorted(set(done)) and done[-1] == size


def test_cancel_stops_the_read(tmp_path):
    path = write(tmp_path, "big.txt", b"word " * 100_000)
    asked = []

    def cancel():
        asked.append(1)
        return len(asked) > 3

    with pytest.raises(Cancelled):
        read_text_file(path, cancel=cancel, chunk_bytes=1000)
    assert len(asked) == 4


def test_multibyte_characters_split_across_chunks(tmp_path):
    text = "ab€cd🙂é\n" * 50
    path = write(tmp_path, "split.txt", text.encode("utf-8"))
    for chunk in range(1, 9):
        read = read_text_file(path, chunk_bytes=chunk)
        assert read.text == text and read.n_replaced == 0


def test_a_file_of_several_megabytes_streams_in_chunks(tmp_path):
    line = "It is a truth universally acknowledged, that a single man in possession of a good fortune.\n"
    path = write(tmp_path, "large.txt", (line * 40_000).encode())
    calls = []
    read = read_text_file(path, progress=lambda done, total: calls.append(done))
    assert len(read.text) == len(line) * 40_000
    assert len(calls) >= 4  # 3.6 MB in 1 MiB chunks
