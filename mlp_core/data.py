"""The lecture's tensors from a word list: contexts, the 80/10/10 split, the reference
losses, the counts the Dataset page draws. The word lists themselves (parsing, files,
uploads, the built-in names) are words.py's; their names are here too."""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import torch

from .run_text import plural
from .words import (  # noqa: F401 - the word lists' names, used as data.*
    BOUNDARY,
    DEFAULT_SOURCE,
    LINE_BREAK,
    MAX_BYTES,
    MAX_CONTEXT_LINES,
    MAX_VOCAB,
    MIN_WORDS,
    SHOWN_CHARS,
    DataError,
    Dataset,
    dataset_from_words,
    default_dataset,
    default_words,
    from_bytes,
    from_path,
    load,
    parse_words,
    shown,
)

# the reference losses of ``baselines``: a short label for charts and tables. The loss
# charts draw the dev ones (their val curves are dev losses); the train-split entropies
# stay in the JSON and on the Dataset page.
BASELINE_LABELS = {
    "uniform": "uniform",
    "unigram_entropy": "unigram (train)",
    "bigram": "bigram (train)",
    "dev_unigram": "unigram (dev)",
    "dev_bigram": "bigram (dev)",
}
CHART_BASELINES = ("uniform", "dev_unigram", "dev_bigram")


@dataclass(frozen=True)
class Splits:
    """The lecture's Xtr/Ytr, Xdev/Ydev, Xte/Yte and the words behind each."""

    Xtr: torch.Tensor  # (n_train, block_size) int64 context indices
    Ytr: torch.Tensor  # (n_train,) next-character index
    Xdev: torch.Tensor
    Ydev: torch.Tensor
    Xte: torch.Tensor
    Yte: torch.Tensor
    words: dict[str, int]  # words per split

    def rows(self) -> dict[str, int]:
        return {"train": len(self.Ytr), "dev": len(self.Ydev), "test": len(self.Yte)}


def build_contexts(words, stoi: dict[str, int], block_size: int):
    """Contexts of block_size indices (padded with '.') and the next index, closing '.' too:
    for each word, each of its characters and the closing '.' is a target Y, and X the
    block_size indices before it within the word, '.' (0) where the word has none. Built
    with whole-tensor ops (about 10x faster than the lecture's loop over characters: the
    CLI builds them on every call; tests/test_data.py holds the two together)."""
    text = "".join(w + BOUNDARY for w in words)
    codes = torch.frombuffer(bytearray(text.encode("utf-32-le")), dtype=torch.int32).long()
    keys = sorted(stoi)  # one character each, so code-point order
    table = torch.tensor([ord(c) for c in keys])
    pos = torch.searchsorted(table, codes).clamp_max(len(keys) - 1)
    if not torch.equal(table[pos], codes):
        bad = chr(int(codes[table[pos] != codes][0]))
        raise KeyError(bad)
    Y = torch.tensor([stoi[c] for c in keys])[pos]
    lengths = torch.tensor([len(w) + 1 for w in words], dtype=torch.long)
    starts = torch.repeat_interleave(torch.cumsum(lengths, 0) - lengths, lengths)
    in_word = torch.arange(len(Y)) - starts  # position of each target within its word
    X = torch.zeros(len(Y), block_size, dtype=torch.long)
    for back in range(1, min(block_size, len(Y)) + 1):  # the index `back` places before
        X[back:, block_size - back] = torch.where(in_word[back:] >= back, Y[:-back], 0)
    return X, Y


def split_words(words) -> tuple[list[str], list[str], list[str]]:
    """The lecture's split: random.seed(42); random.shuffle(words); 80/10/10."""
    shuffled = list(words)
    random.Random(42).shuffle(shuffled)
    n1, n2 = int(0.8 * len(shuffled)), int(0.9 * len(shuffled))
    return shuffled[:n1], shuffled[n1:n2], shuffled[n2:]


@lru_cache(maxsize=8)  # the last few (slow to build)
def make_splits(ds: Dataset, block_size: int) -> Splits:
    """The lecture's splits as tensors, kept per (content hash, block_size): equal word
    lists (equal Datasets) share them whatever Dataset object carries them."""
    return _build_splits(ds, block_size)


def _build_splits(ds: Dataset, block_size: int) -> Splits:
    tr, dev, te = split_words(ds.words)
    stoi = ds.stoi
    Xtr, Ytr = build_contexts(tr, stoi, block_size)
    Xdev, Ydev = build_contexts(dev, stoi, block_size)
    Xte, Yte = build_contexts(te, stoi, block_size)
    counts = {"train": len(tr), "dev": len(dev), "test": len(te)}
    return Splits(Xtr, Ytr, Xdev, Ydev, Xte, Yte, counts)


def baselines(ds: Dataset, block_size: int = 3) -> dict[str, float]:
    """Reference losses (nats). On the training split: what a model that knows nothing
    (uniform), only the character frequencies (unigram entropy), or only the previous
    character (bigram, the optimal one on train) scores. Fitted on train and scored on dev
    (``dev_unigram``, ``dev_bigram``; add-one smoothed as in the lecture, so a pair never
    seen on train does not cost infinity): what a dev loss is to be compared with."""
    sp = make_splits(ds, block_size)
    V = ds.vocab_size
    counts = torch.bincount(sp.Ytr, minlength=V).double()
    p = counts / counts.sum()
    unigram = -(p[p > 0] * p[p > 0].log()).sum()
    pairs = torch.bincount(sp.Xtr[:, -1] * V + sp.Ytr, minlength=V * V).double().view(V, V)
    cond = pairs / pairs.sum(1, keepdim=True).clamp_min(1)
    nz = pairs > 0
    bigram = -(pairs[nz] * cond[nz].log()).sum() / pairs.sum()
    p1 = (counts + 1) / (counts + 1).sum()
    cond1 = (pairs + 1) / (pairs + 1).sum(1, keepdim=True)
    return {
        "uniform": math.log(V),
        "unigram_entropy": float(unigram) + 0.0,  # + 0.0: an entropy of 0 is never -0.0
        "bigram": float(bigram) + 0.0,
        "dev_unigram": float(-p1[sp.Ydev].log().mean()),
        "dev_bigram": float(-cond1[sp.Xdev[:, -1], sp.Ydev].log().mean()),
    }


def warnings(ds: Dataset, block_size: int) -> list[str]:
    """Things that are allowed but worth saying about this data set and context length."""
    longest = max(len(w) for w in ds.words)
    out = []
    if block_size > longest:
        out.append(
            f"block_size {block_size} is longer than every word (the longest has "
            f"{plural(longest, 'character')}): every context still starts with '.' padding"
        )
    return out


def stats(ds: Dataset) -> dict[str, list[tuple]]:
    """The data set counted: "lengths" [(length, words)] by length; "chars" [(char,
    count)] most common first; "bigrams" [(first, next, count)], '.' marking the start and
    the end of a word, as in the lecture."""
    lengths = Counter(len(w) for w in ds.words)
    chars = Counter("".join(ds.words))
    pairs = Counter(p for w in ds.words for p in zip(BOUNDARY + w, w + BOUNDARY))
    return {
        "lengths": sorted(lengths.items()),
        "chars": chars.most_common(),
        "bigrams": [(a, b, n) for (a, b), n in pairs.items()],
    }


def context_lines(
    ds: Dataset,
    block_size: int,
    n_words: int,
    max_lines: int = MAX_CONTEXT_LINES,
    show=str,
) -> list[str]:
    """The lecture's print loop over the first n_words words: each context of block_size
    characters and its target, as "emm ---> a"; at most max_lines of them, then a line
    saying how many more there are (a long word has one per character). show: how a
    context or a character is written (the app marks a space)."""
    words = ds.words[:n_words]
    lines: list[str] = []
    for w in words:
        context = BOUNDARY * block_size
        for ch in (w + BOUNDARY)[: max_lines - len(lines)]:
            lines.append(f"{show(context)} ---> {show(ch)}")
            context = context[1:] + ch
    rest = sum(len(w) + 1 for w in words) - len(lines)
    return lines + ([f"… and {rest:,} more, not shown"] if rest else [])
