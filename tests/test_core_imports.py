import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "mlp_core"


def _modules() -> list[str]:
    """Every module of mlp_core, subpackages included (mlp_core.fast.step, ...)."""
    names = []
    for path in sorted(CORE.rglob("*.py")):
        parts = path.relative_to(CORE.parent).with_suffix("").parts
        if parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_core_never_imports_streamlit():
    modules = _modules()
    assert "mlp_core.fast.step" in modules and "mlp_core.fast" in modules
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print([m for m in sys.modules if m.split('.')[0] in ('streamlit', 'altair')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    for path in CORE.rglob("*.py"):
        text = path.read_text()
        assert "import streamlit" not in text and "import altair" not in text, path


def test_core_cites_no_file_outside_the_repo():
    for path in CORE.rglob("*.py"):
        assert "DESIGN" not in path.read_text(), path
