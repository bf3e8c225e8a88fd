"""The pages and the route to them: app.py calls route(), and every page calls page_entry()
on its first line. This module is the one place that knows about Streamlit's legacy
multipage mode.

Why page_entry exists. The page files live in a folder named ``pages/`` beside app.py (the
product's layout names it). Streamlit 1.67 takes such a folder for a legacy (v1)
multipage app until some session calls ``st.navigation``: then, as documented, the app
ignores ``pages/`` for every session. Until that call, a request for a page runs that
page's file alone, without app.py: no page config, no sidebar, no data set. That is what
happens when the first request a fresh server gets is a shared link to a page (for
example ``/dataset?block_size=4``). No config option turns the legacy mode off (
``client.showSidebarNavigation`` only hides the menu), so the page itself must notice that
app.py did not run and hand over: it calls the public ``st.navigation`` (the documented
switch out of the legacy mode) and reruns, this time through app.py, on the same page
with the same query string. tests/test_browser.py opens such a link first on a fresh
server and checks the sidebar is there.

How a page notices: route() leaves a mark in the session just before app.py runs the
page, and page_entry() takes it away; a page that finds no mark was not run by app.py.

AppTest (tests, bench/app_latency.py) needs one more step: it resets Streamlit's legacy
flag before every run, as if each run met a fresh server, so every run would take the
page_entry detour, and its st.rerun drops the button click that started the run (a click
lasts one run). apptest_init() gives AppTest what a server has after its first
st.navigation call: the legacy mode off for good.
"""

from __future__ import annotations

import streamlit as st

from .settings import set_page

PAGES = (  # file, title, Material icon (drawn by Streamlit's frontend, no emoji font needed)
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/dataset.py", "Dataset", ":material/text_fields:"),
    ("pages/zero_init.py", "Zero init", ":material/exposure_zero:"),
    ("pages/batchnorm_fold.py", "BatchNorm folding", ":material/compress:"),
    ("pages/compare.py", "Compare runs", ":material/stacked_line_chart:"),
    ("pages/landscape.py", "Init landscape", ":material/grid_on:"),
)
HEADINGS = {  # page file: its title, drawn by app.py before anything heavy loads
    "pages/home.py": "Practice Board",
    "pages/dataset.py": "Dataset",
    "pages/zero_init.py": "Zero init: what trains, and why?",
    "pages/batchnorm_fold.py": "BatchNorm folding: the same forward pass, without the BNs",
    "pages/compare.py": "Compare runs",
    "pages/landscape.py": "The init landscape: every init scale at every depth",
}
_VIA_APP = "_page_run_by_app"  # the mark: this run of the page went through app.py


def _pages() -> list:
    return [
        st.Page(path, title=title, icon=icon, default=i == 0)
        for i, (path, title, icon) in enumerate(PAGES)
    ]


def route():
    """Called by app.py: the navigation menu, the page to run (remembered as the key of the
    page's settings), and the mark that page_entry looks for."""
    page = st.navigation(_pages())
    set_page(page.url_path)
    st.session_state[_VIA_APP] = True
    return page


def heading(page) -> None:
    """The page's title, drawn by app.py right after route(): this module and ui.settings
    import neither torch, pandas nor altair, so on a fresh server the title shows while
    they load (ARCHITECTURE.md "The first render")."""
    files = {title: path for path, title, _ in PAGES}
    st.title(HEADINGS[files[page.title]])


def page_entry() -> None:
    """The first line of every page: if app.py did not run this page (the legacy mode, see
    the module's docstring), leave that mode and run again through app.py."""
    if st.session_state.pop(_VIA_APP, False):
        return
    st.navigation(_pages(), position="hidden")
    st.rerun()


def apptest_init():
    """A PagesManager.__init__ for AppTest runs that leaves the legacy mode off (see the
    module's docstring); tests/conftest.py and bench/app_latency.py install it. It reaches
    into a Streamlit internal, which the app itself does not."""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def init_v2(self, *args, **kwargs):
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    return init_v2
