"""Opening the app in AppTest the same way in every page test."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_app(page: str | None = None, *, session: dict | None = None, **query) -> AppTest:
    """Run app.py with these URL parameters (and session state), then switch to page."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({k: str(v) for k, v in query.items()})
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    return at.switch_page(page).run() if page else at


def answer_of(at) -> str:
    """The zero-init answer on the page: its lead (the success box) and its details."""
    return at.success[0].value + "\n\n" + " ".join(m.value for m in at.markdown)
