"""The init landscape's heatmap texts (ui/landscape_charts.py) over generated inputs: a
fraction's percentage never reads 0% or 100% unless it is, and the trained view's colours
and caption follow the data's own ladder in its measured order, on word lists where the
bigram model is worse than the unigram one or than the uniform guess."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlp_core import data
from mlp_core.regime import ladder
from mlp_core.run_text import share
from tests.test_zero_init_exact import word_lists
from ui.landscape_charts import LADDER_RANGE, ladder_colors

WORDS = data.default_words()


@st.composite
def fractions(draw) -> float:
    """What a share is: units counted over a layer's rows x units (at most 8 x 10^6 here)."""
    n = draw(st.integers(1, 8 * 10**6))
    return draw(st.integers(0, n)) / n


@given(fractions())
def test_a_share_reads_zero_or_all_only_when_it_is(f):
    text = share(f)
    value = float(text.rstrip("%"))
    assert (value == 0) == (f == 0) and (value == 100) == (f == 1)
    decimals = len(text.rstrip("%").partition(".")[2])
    if decimals < 7:
        assert abs(value - 100 * f) <= 0.5 * 10**-decimals + 1e-9


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    words=st.one_of(
        word_lists(max_words=60),
        st.lists(st.sampled_from(WORDS[:400]), min_size=data.MIN_WORDS, max_size=200),
    )
)
def test_the_colours_and_caption_follow_the_ladder_in_its_order(words):
    ds = data.dataset_from_words(words, "generated")
    domain, colours, caption = ladder_colors(ds)
    rungs = ladder(data.baselines(ds, 3))  # worst first
    assert all(a < b for a, b in zip(domain, domain[1:]))
    assert len(colours) == len(domain) and colours[0] == LADDER_RANGE[0]
    values = sorted({v for _, v in rungs})
    assert domain[1:] == values  # each distinct rung a stop, the darkest below the best
    words = {"red at and above ": LADDER_RANGE[3], "yellow at ": LADDER_RANGE[2]}
    words["blue at "] = LADDER_RANGE[1]
    clauses = caption.split(", darkest blue")[0].split(", ")
    for name, v in rungs:
        colour = colours[domain.index(v)]
        assert (colour == LADDER_RANGE[3]) == (v == values[-1])  # red: the worst rung
        assert (colour == LADDER_RANGE[1]) == (v == values[0] < values[-1])  # blue: the best
        (clause,) = [c for c in clauses if name in c]
        (word,) = [w for w in words if clause.startswith(w)]
        assert words[word] == colour and f"({v:.4f})" in clause, (caption, name)
