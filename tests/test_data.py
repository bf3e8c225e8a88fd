import math

import pytest
import torch

from mlp_core import data, words
from mlp_core.data import DataError


def test_names_txt_split_sizes_match_the_lecture(names_txt):
    ds = data.from_path(names_txt)
    sp = data.make_splits(ds, 3)
    assert len(ds.words) == 32_033
    assert sp.rows() == {"train": 182_625, "dev": 22_655, "test": 22_866}
    assert ds.vocab_size == 27 and ds.itos[0] == "." and ds.stoi["a"] == 1


def test_names_txt_baselines(names_txt):
    b = data.baselines(data.from_path(names_txt), 3)
    assert b["uniform"] == pytest.approx(3.2958, abs=1e-4)
    assert b["unigram_entropy"] == pytest.approx(2.8226, abs=1e-4)
    assert b["bigram"] == pytest.approx(2.4541, abs=1e-4)


def test_default_dataset_is_2017_names_by_count():
    ds = data.default_dataset()
    assert len(ds.words) == 29_910
    assert ds.words[:2] == ("emma", "liam")
    assert ds.chars == list("abcdefghijklmnopqrstuvwxyz")


def test_contexts_are_padded_and_end_with_boundary():
    X, Y = data.build_contexts(["ab"], {".": 0, "a": 1, "b": 2}, 3)
    assert X.tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 2]]
    assert Y.tolist() == [1, 2, 0]


def test_normalisation_strips_lowercases_skips_blanks():
    words = [f"Name{c}" for c in "abcdefghij"]
    ds = data.from_bytes(("\n".join(f"  {w}  " for w in words) + "\n\n\n").encode())
    assert ds.words == tuple(w.lower() for w in words)


def test_hash_is_of_content_not_encoding():
    text = "\n".join(f"zoé{c}" for c in "abcdefghijk")
    a = data.from_bytes(text.encode("utf-8"))
    b = data.from_bytes(text.encode("utf-16"))  # with a BOM
    assert a.sha256 == b.sha256 and a.words == b.words


def test_vocab_comes_from_the_data():
    ds = data.from_bytes("\n".join(["ab", "ba", "abba"] * 4).encode())
    assert ds.chars == ["a", "b"] and ds.vocab_size == 3


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "no words"),
        (b"\n \n\n", "no words"),
        ("\n".join(["anna"] * 5).encode(), "at least 10"),
        (b"anna\nbob\xff\n" + b"x\n" * 20, "line 2: not UTF-8"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"anna\nbo.b\n" + b"x\n" * 20, "line 2: 'bo.b' contains '.'"),
        (b"anna\nbob\nc\x07d\n" + b"x\n" * 20, "line 3: control character"),
        (b"anna\nb\tob\n" + b"x\n" * 20, "line 2: control character"),
    ],
)
def test_bad_word_lists_are_refused_with_the_problem(raw, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        data.from_bytes(raw)


def test_too_large_and_missing_files(tmp_path, monkeypatch):
    monkeypatch.setattr(words, "MAX_BYTES", 100)
    with pytest.raises(DataError, match="limit is 100 bytes"):
        data.from_bytes(b"anna\n" * 30)
    with pytest.raises(DataError, match="no such file"):
        data.from_path(tmp_path / "missing.txt")


def test_split_is_deterministic_and_disjoint(small_ds):
    a = data.split_words(small_ds.words)
    b = data.split_words(small_ds.words)
    assert a == b
    assert [len(s) for s in a] == [2400, 300, 300]
    assert sorted(a[0] + a[1] + a[2]) == sorted(small_ds.words)
    sp = data.make_splits(small_ds, 4)
    assert sp.Xtr.shape[1] == 4 and sp.Xtr.dtype == torch.long


def test_stats_count_lengths_chars_and_bigrams():
    ds = data.dataset_from_words(["emma", "ava", "ava", "li"] * 3, "t")
    s = data.stats(ds)
    assert s["lengths"] == [(2, 3), (3, 6), (4, 3)]
    assert s["chars"][0] == ("a", 15)
    bigrams = {(a, b): n for a, b, n in s["bigrams"]}
    assert bigrams[(".", "a")] == 6 and bigrams[("a", ".")] == 9 and bigrams[("m", "m")] == 3


def test_context_lines_are_the_lecture_print_loop():
    ds = data.dataset_from_words(["emma"] + ["x"] * 9, "t")
    assert data.context_lines(ds, 3, 1) == [
        "... ---> e", "..e ---> m", ".em ---> m", "emm ---> a", "mma ---> .",
    ]  # fmt: skip
    assert set(data.BASELINE_LABELS) == set(data.baselines(ds)) >= set(data.CHART_BASELINES)


def test_dev_baselines_are_fitted_on_train_and_scored_on_dev(small_ds):
    """Against a count written here: add-one smoothed frequencies of train, mean -log p of
    the dev targets; and the train-split bigram, unsmoothed, for contrast."""
    sp = data.make_splits(small_ds, 3)
    V = small_ds.vocab_size
    tr_counts = [0] * V
    for y in sp.Ytr.tolist():
        tr_counts[y] += 1
    total = sum(tr_counts) + V
    want = -sum(math.log((tr_counts[y] + 1) / total) for y in sp.Ydev.tolist()) / len(sp.Ydev)
    b = data.baselines(small_ds, 3)
    assert b["dev_unigram"] == pytest.approx(want, rel=1e-9)
    assert b["dev_bigram"] < b["dev_unigram"] < b["uniform"]


def _contexts_by_loop(words, stoi, block_size):
    """The lecture's loop over characters: the reference for data.build_contexts."""
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            X.append(context)
            Y.append(stoi[ch])
            context = context[1:] + [stoi[ch]]
    return torch.tensor(X, dtype=torch.long).view(-1, block_size), torch.tensor(Y)


@pytest.mark.parametrize("block_size", [1, 3, 8])
def test_contexts_match_the_lectures_loop(block_size):
    words = ["émile", "a", "z-b c", "ab", "abcdefghijk"]
    stoi = {c: i for i, c in enumerate(sorted(set(".".join(words))))}
    X, Y = data.build_contexts(words, stoi, block_size)
    ref_X, ref_Y = _contexts_by_loop(words, stoi, block_size)
    assert torch.equal(X, ref_X) and torch.equal(Y, ref_Y)


def test_contexts_of_the_users_file_match_the_lectures_loop(names_txt):
    ds = data.from_path(names_txt)
    words = data.split_words(ds.words)[1]
    X, Y = data.build_contexts(words, ds.stoi, 3)
    ref_X, ref_Y = _contexts_by_loop(words, ds.stoi, 3)
    assert torch.equal(X, ref_X) and torch.equal(Y, ref_Y)


def test_a_character_outside_the_vocabulary_is_refused():
    with pytest.raises(KeyError):
        data.build_contexts(["abz"], {".": 0, "a": 1, "b": 2}, 3)
