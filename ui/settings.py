"""Settings that outlive one widget: the one bounds table (widgets, URL parameters and the
demo caps all read it), the seed, and each page's configuration in the URL
(``st.query_params``) so a copied link reproduces it."""

from __future__ import annotations

import math
import os

import streamlit as st

from hosting import cost
from mlp_core.config import ACTIVATIONS, ARITHMETICS, INITS, LIMITS, ConfigError, RunConfig
from mlp_core.data import Dataset

DEMO_ENV = "PRACTICE_BOARD_DEMO"  # "1" turns on the hosted-demo caps
DEMO_CAPS = {
    "steps": 5_000,
    "n_hidden": 200,
    "n_layers": 6,
    "n_embd": 64,
    "batch_size": 1024,
    "upload_bytes": 1_000_000,
}
# CPU seconds (one core, hosting/cost.py's estimate) one demo submission may take: sized so
# that a class of 30 arriving over 5 minutes fits the server's one training core
# (hosting.cost.class_budget; README "Many visitors on one server"; tests/test_cost.py)
DEMO_BUDGET_S = 5
SEED_RANGE = (0, 2**31 - 1)
BOUNDS = {  # setting: (low, high) for its widget and its URL parameter; demo caps lower high
    "n_layers": (1, 8),
    "n_hidden": (1, 512),
    "steps": (1, 200_000),
    "batch_size": (1, 4096),
    "lr": (1e-4, 100.0),  # the zero-init page: high enough to show a divergence
    "compare_lr": (1e-4, 10.0),  # the compare form's learning rate
    "bn_eps": (0.0, 1.0),
    "compare_gain": (0.0, 10.0),  # the zero-init page's kaiming gain; 0: the activation's own
    "compare_scale": (1e-4, 10.0),  # ... and the std of a normal init
    "seeds": (1, 4),  # seeds one compare submit trains: seed, seed + 1, ...
    "block_size": (1, 8),  # the dataset page: longer contexts are unreadable
    "examples": (1, 20),  # words whose contexts the dataset page prints
    "seed": SEED_RANGE,
}
CHOICES = {  # URL values outside these are junk
    "activation": ACTIVATIONS,
    "init": INITS,
    "arithmetic": ARITHMETICS,
    "compare_init": tuple(i for i in INITS if i != "zeros"),
}  # URL values outside these are junk
BOOLS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def demo_mode() -> bool:
    if os.environ.get(DEMO_ENV, "").lower() in ("1", "true", "yes"):
        return True
    try:
        return bool(st.secrets.get("demo_mode", False))
    except Exception:  # no secrets file: not a demo
        return False


def demo_note() -> str:
    return (
        f"**Demo mode**: at most {DEMO_CAPS['steps']:,} steps, {DEMO_CAPS['n_layers']} "
        f"layers of {DEMO_CAPS['n_hidden']}, batch {DEMO_CAPS['batch_size']:,}, uploads up "
        f"to {DEMO_CAPS['upload_bytes'] // 1000:,} kB, about {DEMO_BUDGET_S} s of computing "
        "per submission; trainings take turns on this server."
    )


def cap(name: str, high: int) -> int:
    """The upper bound of a setting, lowered in demo mode."""
    return min(high, DEMO_CAPS[name]) if demo_mode() and name in DEMO_CAPS else high


def bounds(name: str) -> tuple:
    """(low, high) of a setting from BOUNDS, high lowered by the demo cap of the same name
    (a page's "compare_lr" is capped as "lr" would be: not at all)."""
    low, high = BOUNDS[name]
    return low, cap(name, high)


def check_caps(cfg: RunConfig) -> None:
    """Raise ConfigError if a run exceeds the demo caps (widgets cap too; this is the guard)."""
    if not demo_mode():
        return
    d = cfg.to_dict()
    for name, value in (d["data"] | d["model"] | d["train"]).items():
        if name in DEMO_CAPS and value > DEMO_CAPS[name]:
            raise ConfigError(f"{name} is at most {DEMO_CAPS[name]:,} in demo mode (got {value:,})")


def check_cost(cfgs: list[RunConfig], ds: Dataset | None = None) -> None:
    """Raise ConfigError, with its estimate, if a submission's runs cost more than the
    demo's budget per submission (on this data set: the built-in names' without one)."""
    need = cost.cpu_seconds(cfgs, cost.data_sizes(ds))
    if demo_mode() and need > DEMO_BUDGET_S:
        raise ConfigError(
            f"This would take about {need:,.0f} s of computing on this server; the demo "
            f"allows {DEMO_BUDGET_S} s per submission. Fewer runs, steps, layers or hidden "
            "units, or a smaller batch, fit."
        )


def in_words(values: dict, words: dict[str, str]) -> str:
    """Settings as their widgets say them ("Hidden layers 1, Width 200, BatchNorm on"):
    each by its widget's label (words: setting -> label), a switch on or off, a number
    with its thousands marked."""

    def said(v) -> str:
        if isinstance(v, bool):
            return "on" if v else "off"
        if isinstance(v, int):
            return f"{v:,}"
        return f"{v:g}" if isinstance(v, float) else str(v)

    return ", ".join(f"{words.get(k, k)} {said(v)}" for k, v in values.items())


def seed() -> int:
    return int(st.session_state.get("seed") or 42)


def set_page(path: str) -> None:
    """Called by app.py: which page this run shows (the key of its remembered settings)."""
    st.session_state["page"] = path


def _remembered() -> dict:
    """This session's last settings of the current page: the URL loses them on a page
    switch, the visitor should not."""
    pages = st.session_state.setdefault("params", {})
    return pages.setdefault(st.session_state.get("page"), {})


def _parse(raw: str, cast):
    if cast is bool:
        return BOOLS.get(raw.lower())
    try:
        value = cast(raw)
    except (TypeError, ValueError):
        return None
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _range(bound: str, low, high) -> tuple:
    """[low, high] for a URL value: given ones win, else BOUNDS, else the config LIMITS;
    the demo cap of bound lowers high either way."""
    lo, hi = BOUNDS.get(bound) or LIMITS.get(bound, (None, None))
    lo, hi = lo if low is None else low, hi if high is None else high
    return lo, None if hi is None else cap(bound, hi)


def _allowed(name: str, value, bound: str, low, high, choices) -> bool:
    choices = choices if choices is not None else CHOICES.get(name)
    if choices is not None:
        return value in choices
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return True
    lo, hi = _range(bound, low, high)
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def param(name: str, default, cast=None, *, bound=None, low=None, high=None, choices=None):
    """An experiment setting from the URL, else this session's last value on this page,
    else default. Junk falls back to default: a value that does not parse (as cast, by
    default the default's type), is not finite, lies outside [low, high] (by default
    BOUNDS[bound], bound defaulting to name, else the config LIMITS; lowered by the demo
    caps) or is not one of choices. A link's value that falls back leaves a note, which
    set_params shows: the visitor learns the link was not followed, and why."""
    raw = st.query_params.get(name)
    from_link = raw is not None
    if raw is None:
        raw = _remembered().get(name)
    if raw is None:
        return default
    value = _parse(str(raw), cast or type(default))
    ok = value is not None and _allowed(name, value, bound or name, low, high, choices)
    if not ok and from_link:
        why = _why_refused(name, value, bound or name, low, high, choices)
        _link_notes()[name] = (default, f"{_shown(raw)} {why}; using {default}.")
    return value if ok else default


LINK_VALUE_CHARS = 40  # a link's value is cut to this in a note


def _shown(raw) -> str:
    """A link's raw value, short and with every Markdown character escaped: it is the
    visitor's text, shown as text."""
    text = str(raw)[:LINK_VALUE_CHARS]
    return "".join("\\" + c if not c.isalnum() and c.isascii() and c != " " else c for c in text)


def _why_refused(name: str, value, bound: str, low, high, choices) -> str:
    """Why a link's value falls back, in words (the demo caps named as such)."""
    if value is None:
        return "is not a valid value here"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "is not one of the choices"
    lo, hi = _range(bound, low, high)
    if lo is not None and value < lo:
        return f"is less than allowed (at least {lo:,})"
    limit = (BOUNDS.get(bound) or LIMITS.get(bound, (None, None)))[1] if high is None else high
    if demo_mode() and (limit is None or value <= limit):
        return f"is more than this demo server allows (at most {hi:,})"
    return f"is more than allowed (at most {hi:,})"


def _link_notes() -> dict:
    notes = st.session_state.setdefault("link_notes", {})
    return notes.setdefault(st.session_state.get("page"), {})


APP_PARAMS = ("seed", "data")  # written by every page beside its own settings
UPLOADED = "upload"  # data=upload: the link was made on an uploaded word list


def link_note(name: str, fallback, text: str) -> None:
    """Note that this link's value of name was not followed: text says why, fallback is what
    the page uses instead (the note goes once the visitor changes that setting)."""
    _link_notes()[name] = (fallback, text)


def note_dropped(name: str, dropped: list[str], picked: list[str]) -> None:
    """Note a link's list entries that are not among the choices (a comma-separated list)."""
    junk = ", ".join(_shown(v) for v in dropped)
    verb = "is" if len(dropped) == 1 else "are"
    text = f"… {junk} {verb} not one of the choices; using {', '.join(picked)}."
    link_note(name, ",".join(picked), text)


def _note_link_extras(values: dict) -> None:
    """Notes on what a link names beyond this page's settings: a parameter the page does
    not have, and data that was an upload (a link never carries a visitor's words)."""
    for name, raw in st.query_params.to_dict().items():
        if name not in values and name not in APP_PARAMS:
            link_note(name, None, f"{_shown(raw)} is not a setting of this page; ignored.")
    if st.query_params.get("data") == UPLOADED and "dataset" not in st.session_state:
        link_note(
            "data",
            UPLOADED,
            "upload: it was made on an uploaded word list, which a link never carries. "
            "These results are on the data set in use (sidebar); upload the same list there "
            "to see the link's own.",
        )


def _note_holds(name: str, fallback, values: dict) -> bool:
    if name == "data":  # until the visitor uploads a list
        return "dataset" not in st.session_state
    return values.get(name) == fallback


def show_link_notes(values: dict) -> None:
    """The settings this page's link asked for and did not get, while each still holds the
    fallback (a note goes once the visitor changes that setting); a parameter the page
    does not have is said once."""
    notes, values = _link_notes(), values | {"seed": seed()}
    for name, (fallback, text) in list(notes.items()):
        known = name in values or name == "data"
        if not known or not _note_holds(name, fallback, values):
            del notes[name]
        if not known or _note_holds(name, fallback, values):
            st.warning(f"This link's {name} = {text}", icon=":material/link_off:")


def set_params(values: dict) -> None:
    """Write the page's configuration (and the seed) into the URL, never any data; a link
    made on an upload says so (data=upload), and opening one says the data is not in it."""
    _note_link_extras(values)
    show_link_notes(values)
    clean = {k: (int(v) if isinstance(v, bool) else v) for k, v in values.items()}
    clean["seed"] = seed()
    _remembered().update(clean)
    if "dataset" in st.session_state:
        clean["data"] = UPLOADED
    if {k: str(v) for k, v in clean.items()} != st.query_params.to_dict():
        st.query_params.from_dict(clean)
