"""Rules of CSS (and one script) over Streamlit's own widgets, each for a thing no option
offers (tests/test_browser.py and tests/test_browser_phone.py check them in a real
browser, so a Streamlit upgrade that breaks one fails there):

- One Stop button. While a script runs, Streamlit's header shows its own "Stop" beside the
  running icon; it ends the script without a rerun, so the page cannot say what stopped.
  The app draws its own Stop (ui/training_progress.py), which says "Stopped at step N:
  nothing stored" afterwards; the header's is hidden, the running icon stays.
- A file the browser refuses to upload (bigger than the uploader's limit) is marked with
  a red icon only: Streamlit writes the reason ("File must be 5.0MB or smaller.") for
  screen readers, visually hidden. Shown here as a line of text under the file's name.
  (Files of any type reach the server, which says what is wrong with them: ui/datasets.py.)
- On a phone (PHONE_PX wide or less) a table fits the screen: its cells wrap (a long name
  breaks anywhere) in a smaller font, so a table's last columns stay on screen; a
  formula too wide for the screen scrolls sideways instead of being cut.
- A lecture preset's button (Compare runs) shows its whole label, its step count included,
  on as many lines as it takes: Streamlit cuts a button's label at one line with "…".
- On a phone the sidebar closes once a page is chosen in it (Streamlit leaves it open over
  the page): a click on a page link presses the sidebar's own close button.
"""

import streamlit as st

CSS = """<style>
[data-testid="stStatusWidget"] [data-testid="stBaseButton-header"] { display: none; }
[data-testid="stFileChip"][aria-invalid="true"] [role="alert"] {
  position: static; width: auto; height: auto; margin: 0; clip: auto; clip-path: none;
  overflow: visible; white-space: normal; color: #bd4043; font-size: 0.8rem;
}
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > script) { display: none; }
[class*="st-key-preset-"] button, [class*="st-key-preset-"] button * {
  white-space: normal; overflow: visible; text-overflow: clip; height: auto;
}
@media (max-width: 640px) {
  [data-testid="stTable"] table { width: 100%; }
  [data-testid="stTable"] th, [data-testid="stTable"] td {
    font-size: 0.72rem; padding: 0.25rem 0.3rem; overflow-wrap: anywhere;
    white-space: normal; min-width: 0;
  }
  .katex-display { overflow-x: auto; overflow-y: hidden; }
}
</style>"""
PHONE_PX = 640  # Streamlit's own phone breakpoint: its columns stack at this width and below
CLOSE_SIDEBAR = """<script>
if (!window.pbCloseSidebar) {
  window.pbCloseSidebar = true;
  document.addEventListener("click", (e) => {
    if (window.innerWidth > PHONE_PX || !e.target.closest("[data-testid='stSidebarNav'] a")) return;
    setTimeout(() => {
      const b = document.querySelector("[data-testid='stSidebarCollapseButton'] button");
      if (b) b.click();
    }, 0);
  });
}
</script>""".replace("PHONE_PX", str(PHONE_PX))


def apply() -> None:
    """Called once per run by app.py, before the page."""
    st.html(CSS)
    st.html(CLOSE_SIDEBAR, unsafe_allow_javascript=True)
