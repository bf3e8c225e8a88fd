"""Two rules of CSS over Streamlit's own widgets, each for a thing no option offers (tests/
test_browser.py checks both in a real browser, so a Streamlit upgrade that breaks one
fails there):

- One Stop button. While a script runs, Streamlit's header shows its own "Stop" beside the
  running icon; it ends the script without a rerun, so the page cannot say what stopped.
  The app draws its own Stop (ui/training.py), which says "Stopped at step N: nothing
  stored" afterwards; the header's is hidden, the running icon stays.
- A file the browser refuses to upload (bigger than the uploader's limit) is marked with
  a red icon only: Streamlit writes the reason ("File must be 5.0MB or smaller.") for
  screen readers, visually hidden. Shown here as a line of text under the file's name.
  (Files of any type reach the server, which says what is wrong with them: ui/datasets.py.)
"""

import streamlit as st

CSS = """<style>
[data-testid="stStatusWidget"] [data-testid="stBaseButton-header"] { display: none; }
[data-testid="stFileChip"][aria-invalid="true"] [role="alert"] {
  position: static; width: auto; height: auto; margin: 0; clip: auto; clip-path: none;
  overflow: visible; white-space: normal; color: #bd4043; font-size: 0.8rem;
}
</style>"""


def apply() -> None:
    """Called once per run by app.py, before the page."""
    st.html(CSS)
