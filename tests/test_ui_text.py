"""ui.text: a visitor's text escaped for every place Streamlit parses Markdown (the
browser side is tests/test_browser_user_text.py)."""

import pandas as pd

from ui.text import md_escape, md_frame, md_unescape

NAME = "![fn](http://127.0.0.1:8000/fnimg.png) **b** <img src=x> $x$ :blue[c] www.a.io a@b.io"


def test_a_file_name_with_markdown_reads_as_written():
    escaped = md_escape(NAME)
    assert md_unescape(escaped) == NAME
    assert all(escaped[i - 1] == "\\" for i, c in enumerate(escaped) if c in "![]()*<>$:")


def test_a_bare_url_in_a_file_name_is_no_link():
    text = "".join(c for i, c in enumerate(md_escape(NAME)) if c != "\\")  # the text node
    assert "http://" not in text and "www." not in text and "a@b" not in text


def test_the_run_list_escapes_names_cells_and_headers_and_keeps_numbers():
    df = pd.DataFrame({"run": [NAME], "val loss": [1.25]})
    out = md_frame(df)
    assert out["run"][0] == md_escape(NAME) and out["val loss"][0] == 1.25
    assert isinstance(out.index, pd.RangeIndex)  # st.table still hides it
    by_name = md_frame(pd.DataFrame({NAME: ["x"]}, index=pd.Index([NAME], name="run")))
    assert list(by_name.columns) == [md_escape(NAME)] and by_name.index[0] == md_escape(NAME)
