"""The Dataset page and the word-list parser at the minimum sizes: a zero entropy is never
-0.0, the page names as many words as it shows, its captions say which losses are which
(the training split's entropies on the page, the dev split's scores on the charts), and a
bad byte's line counts every line break the parser counts."""

import math

import pytest
from app_helpers import open_app
from hypothesis import given
from hypothesis import strategies as st

from mlp_core import data, words
from mlp_core.data import DataError

pytestmark = pytest.mark.usefixtures("fresh_app")


def test_an_entropy_of_zero_reads_zero_not_minus_zero():
    base = data.baselines(data.dataset_from_words(["a"] * 10, "a"), 3)  # 'a' then always '.'
    assert base["bigram"] == 0 and math.copysign(1, base["bigram"]) == 1


def test_the_page_names_the_words_it_shows_and_which_losses_the_charts_draw():
    ds = data.dataset_from_words([f"w{c}" for c in "abcdefghij"], "ten words")
    at = open_app("pages/dataset.py", session={"dataset": ds}, examples=20)
    assert not at.exception
    assert any(c.value.startswith("The first 10 words, block_size 3") for c in at.caption)
    base = data.baselines(ds, 3)
    shown = f"unigram {base['dev_unigram']:.4f}, bigram {base['dev_bigram']:.4f}."
    assert any(c.value.endswith(shown) for c in at.caption)


@given(
    st.lists(st.text(alphabet="abc", min_size=1, max_size=4), min_size=1, max_size=12),
    st.sampled_from([b"\n", b"\r", b"\r\n"]),
)
def test_a_bad_bytes_line_counts_every_line_break(before, brk):
    raw = brk.join(w.encode() for w in before) + brk + b"zo\xeb" + brk + b"ann"
    with pytest.raises(DataError, match=rf"^line {len(before) + 1}: not UTF-8"):
        words.from_bytes(raw)
