"""A visitor's text (an uploaded file's name, its words, a link's values) shown as text
wherever Streamlit parses Markdown: st.table's every cell, index and header, captions,
alerts, widget labels. No streamlit here.

Every ASCII punctuation character gets a backslash (CommonMark's escape), so nothing in
the text can open an image, a link, emphasis, math (``$``), a directive (``:blue[…]``,
``:material/…:``) or HTML. GFM's bare links (``http://…``, ``www.…``, ``a@b.c``) are
found in the text after the escapes are read, so an invisible WORD JOINER (U+2060) follows
each ``:`` and ``@`` and precedes each ``.``: no bare link matches, and the text reads the
same on screen."""

from __future__ import annotations

import string

import pandas as pd

_PUNCT = frozenset(string.punctuation)
JOINER = "\u2060"  # WORD JOINER: invisible, and no line break at it
_JOINED = {":": f"\\:{JOINER}", "@": f"\\@{JOINER}", ".": f"{JOINER}\\."}


def md_escape(text: str) -> str:
    """text with every Markdown-significant character escaped: shown as written."""
    return "".join(_JOINED.get(c) or ("\\" + c if c in _PUNCT else c) for c in str(text))


def md_unescape(text: str) -> str:
    """What a reader sees of md_escape(text): text itself."""
    out, i = [], 0
    while i < len(text):
        i += text[i] == "\\" and i + 1 < len(text)
        out.append(text[i])
        i += 1
    return "".join(out).replace(JOINER, "")


def shown_frame(df: pd.DataFrame) -> pd.DataFrame:
    """What a reader sees of an md_frame table (for tests that read st.table's data)."""
    out = df.copy()
    plain = lambda x: md_unescape(x) if isinstance(x, str) else x  # noqa: E731
    if not isinstance(out.index, pd.RangeIndex):
        out.index = out.index.map(plain)
    out.columns = out.columns.map(plain)
    return out.map(plain)


def _label(x):
    return md_escape(x) if isinstance(x, str) else x


def md_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of df for st.table: every text cell, index label and column label escaped
    (numbers stay numbers, for the table's formats; a default RangeIndex stays one, so
    st.table still hides it)."""
    out = df.copy()
    if not isinstance(out.index, pd.RangeIndex):
        out.index = out.index.map(_label)
    out.columns = out.columns.map(_label)
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = out[col].map(_label)
    return out


SPACE = "␣"  # a space character where characters are listed one by one: visible


def visible(chars: str) -> str:
    """chars with each space shown as ␣ (a list of characters, a context): the only
    character a word list keeps that prints as nothing (words.py keeps printable ones)."""
    return chars.replace(" ", SPACE)
