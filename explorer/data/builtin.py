"""The corpora that come with the app: Jane Austen, the standard library's docstrings, a synthetic one."""
from __future__ import annotations

import ast
import contextlib
import gzip
import os
import sys
import sysconfig
import warnings
from collections.abc import Callable
from pathlib import Path

from explorer.atomic import atomic_write_bytes
from explorer.data.corpus import Corpus, check_max_words, limit_corpus, read_corpus
from explorer.data.errors import Cancelled, CorpusError
from explorer.data.synthetic import SYNTHETIC_NAME, make_synthetic_corpus
from explorer.data.tokenize import has_words
from explorer.data.zipf import ZIPF_NAME, make_zipf_corpus
from explorer.paths import RESOURCES, cache_dir

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]

BUILTIN_CORPORA: dict[str, str] = {
    "austen": "Jane Austen's six novels",
    "stdlib": "Python standard library docstrings",
    "synthetic": SYNTHETIC_NAME,
    "zipf": ZIPF_NAME,
}

AUSTEN_PATH = RESOURCES / "corpora" / "austen-novels.txt.gz"
AUSTEN_SOURCE = (
    "Jane Austen's six novels (Sense and Sensibility, Pride and Prejudice, Mansfield Park, Emma, "
    "Northanger Abbey, Persuasion; 1811-1818), in the public domain. Text from the janeaustenr package "
    "by Julia Silge (Debian's r-cran-janeaustenr 1.0.0-1)."
)

# Folders of the standard library that hold tests, demos, bundled wheels or third-party code.
STDLIB_SKIP_DIRS = frozenset(
    {"site-packages", "dist-packages", "test", "tests", "idle_test", "idlelib", "lib2to3", "turtledemo",
     "ensurepip", "__pycache__"}
)
STDLIB_CACHE_FORMAT = 1  # bump when the gathering rules change, so that old caches are not reused
_DOC_NODES = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def stdlib_root() -> Path:
    """The folder of this Python's standard library sources."""
    return Path(sysconfig.get_paths()["stdlib"])


def stdlib_cache_path() -> Path:
    """Where the gathered standard-library docstrings of this Python version are cached."""
    impl = sys.implementation.name
    version = ".".join(str(part) for part in sys.version_info[:3])
    return cache_dir() / f"stdlib-docstrings-{impl}-{version}-v{STDLIB_CACHE_FORMAT}.txt.gz"


def _stdlib_sources(root: Path) -> list[Path]:
    """The standard library's .py files, outside tests, demos and third-party folders, in a fixed order."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in STDLIB_SKIP_DIRS)
        found.extend(Path(folder, f) for f in sorted(files) if f.endswith(".py"))
    return found


def _docstrings(path: Path) -> list[str]:
    """The module, class and function docstrings of one source file (none if it does not parse)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError, RecursionError):
        return []
    docs = (ast.get_docstring(node, clean=True) for node in ast.walk(tree) if isinstance(node, _DOC_NODES))
    return [doc for doc in docs if doc]


def gather_stdlib_docstrings(progress: Progress | None = None, cancel: Cancel | None = None) -> str:
    """The docstrings of the installed standard library, parsed (not imported) from its sources.

    progress(files done, files in all) follows each file; cancel() is checked before each file.
    """
    sources = _stdlib_sources(stdlib_root())
    docs: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # old escape sequences in some modules warn when parsed
        for done, path in enumerate(sources, start=1):
            if cancel is not None and cancel():
                raise Cancelled("Gathering the standard library's docstrings was cancelled.")
            docs.extend(_docstrings(path))
            if progress is not None:
                progress(done, len(sources))
    return "\n\n".join(docs) + "\n" if docs else ""


def _load_stdlib(progress: Progress | None, cancel: Cancel | None, max_words: int | None) -> Corpus:
    """The standard library's docstrings, from the cache when this Python version has one."""
    cache = stdlib_cache_path()
    version = ".".join(str(part) for part in sys.version_info[:3])
    name = BUILTIN_CORPORA["stdlib"]
    source = (f"Module, class and function docstrings of Python {version}'s standard library ({stdlib_root()}), "
              "gathered on this computer. Python Software Foundation License.")
    if cache.is_file():
        try:
            return read_corpus(cache, name=name, source=source, progress=progress, cancel=cancel,
                               max_words=max_words, what="the corpus")
        except CorpusError:
            pass  # a damaged cache is gathered again
    text = gather_stdlib_docstrings(progress, cancel)
    if not has_words(text):
        raise CorpusError(
            f"The standard library's source files were not found under {stdlib_root()}, so this corpus "
            "is not available with this Python; choose another corpus."
        )
    with contextlib.suppress(OSError):  # the cache only saves time next run
        atomic_write_bytes(cache, gzip.compress(text.encode("utf-8"), mtime=0))
    return limit_corpus(Corpus(name=name, text=text, source=source), max_words)


def load_builtin(name: str, progress: Progress | None = None, cancel: Cancel | None = None,
                 max_words: int | None = None) -> Corpus:
    """A built-in corpus by id ("austen", "stdlib" or "synthetic").

    "austen" is 4.0 M characters of prose: 725,089 words by word_tokens (717,537 separated by whitespace).
    "stdlib" is the docstrings of this Python's standard library, gathered by parsing its sources on first
    use (about 2 s) and then cached per Python version; it is only about 260,000 words with Python 3.11
    (not the million once expected), so it serves as a second corpus at most.
    "synthetic" is a generated corpus with known word classes and analogies.
    "zipf" is a generated corpus with known word classes whose members follow Zipf's law (many rare words).
    progress(done, total) counts bytes read, or source files parsed while the docstrings are gathered.
    At most `max_words` words are kept (DEFAULT_MAX_WORDS for None), as for a user's file.
    """
    check_max_words(max_words)
    if name == "austen":
        return read_corpus(AUSTEN_PATH, name=BUILTIN_CORPORA["austen"], source=AUSTEN_SOURCE, progress=progress,
                           cancel=cancel, max_words=max_words, what="the corpus")
    if name == "stdlib":
        return _load_stdlib(progress, cancel, max_words)
    if name in ("synthetic", "zipf"):
        corpus = make_synthetic_corpus() if name == "synthetic" else make_zipf_corpus()
        if progress is not None:
            progress(1, 1)
        return limit_corpus(corpus, max_words)
    valid = "; ".join(f"{key} = {title}" for key, title in BUILTIN_CORPORA.items())
    raise CorpusError(f"There is no built-in corpus called {name!r}; choose one of: {valid}.")
