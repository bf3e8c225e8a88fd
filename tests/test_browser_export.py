"""The notebook downloads in a real browser (Debian's chromium, Python playwright): on Zero
init and BatchNorm folding (each after "Prepare the notebook" trains its notebook-arithmetic
runs) and on Compare (a run of the session, computed already), the file that arrives is a
zip holding a valid notebook and its word list. A screenshot of each page at its download
button lands in artifacts/browser/. Skips, saying why, without chromium or playwright."""

import io
import zipfile
from pathlib import Path

import nbformat
import pytest
from browser_helpers import ROOT, chromium, chromium_page, streamlit_server

SHOTS = ROOT / "artifacts" / "browser"
VIEW = {"width": 1400, "height": 900}
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
TRAINING_MS = 240_000  # small nets, but a busy 2-core box
SMALL = "layers=2&n_hidden=16&steps=300"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with streamlit_server({"PRACTICE_BOARD_CACHE": str(tmp_path_factory.mktemp("cache"))}) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        pg = chromium_page(browser, VIEW, accept_downloads=True)
        yield pg
        pg.context.close()


def _settle(page, text: str, timeout_ms: int = TRAINING_MS) -> None:
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def _download(page, shot: str) -> zipfile.ZipFile:
    """Prepare the notebook where the page asks to, then download it; a screenshot of the
    page at the button first."""
    prepare = page.get_by_role("button", name="Prepare the notebook")
    if prepare.count():
        prepare.click()
        page.wait_for_timeout(500)
    button = page.locator("[data-testid='stDownloadButton']", has_text="as a notebook")
    button.wait_for(timeout=TRAINING_MS)
    page.wait_for_selector(IDLE, timeout=TRAINING_MS)
    button.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    page.screenshot(path=SHOTS / f"take_home_{shot}.png")
    with page.expect_download(timeout=120_000) as info:
        button.get_by_role("button").click()
    raw = Path(info.value.path()).read_bytes()
    assert info.value.suggested_filename.endswith(".zip")
    assert page.locator("[data-testid='stException']").count() == 0, shot
    return zipfile.ZipFile(io.BytesIO(raw))


def _a_notebook_and_its_words(z: zipfile.ZipFile, notebook: str) -> nbformat.NotebookNode:
    names = sorted(n.split("/", 1)[1] for n in z.namelist())
    assert names == sorted([notebook, "names.txt"])  # the built-in names, written out
    (path,) = [n for n in z.namelist() if n.endswith(".ipynb")]
    nb = nbformat.reads(z.read(path).decode(), as_version=4)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and "Where it came from" in nb.cells[0].source
    return nb


def test_zero_init_fold_and_compare_each_download_a_notebook(server, page):
    page.goto(f"{server}/zero_init?{SMALL}")
    _settle(page, "What trained, and why")
    nb = _a_notebook_and_its_words(_download(page, "zero_init"), "zero-init.ipynb")
    assert any("gradient-table" in c.metadata.get("tags", []) for c in nb.cells)
    page.goto(f"{server}/batchnorm_fold?{SMALL}")
    _settle(page, "Same forward pass")
    nb = _a_notebook_and_its_words(_download(page, "batchnorm_fold"), "batchnorm-fold.ipynb")
    assert any("fuse_linear_bn_eval" in c.source for c in nb.cells)
    page.locator("[data-testid='stSidebarNav']").get_by_text("Compare runs", exact=True).click()
    _settle(page, "Take it home")
    _a_notebook_and_its_words(_download(page, "compare"), "run.ipynb")
