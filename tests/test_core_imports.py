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


FOREIGN = ("streamlit", "altair", "hosting", "ui")  # the app's, never the core's


def test_core_never_imports_streamlit_the_scheduler_or_the_warm_up():
    modules = _modules()
    assert "mlp_core.fast.step" in modules and "mlp_core.fast" in modules
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"print([m for m in sys.modules if m.split('.')[0] in {FOREIGN!r}])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    for path in CORE.rglob("*.py"):
        text = path.read_text()
        for name in FOREIGN:
            assert f"import {name}" not in text and f"from {name}" not in text, path


def test_the_cli_trains_with_no_scheduler_alive(tmp_path):
    """python -m mlp_core zero-init: no visitor queue, reservations or warm-up in the process."""
    words = tmp_path / "w.txt"
    words.write_text("\n".join(f"{a}{b}" for a in "abcdef" for b in "ghijkl"))
    code = (
        "import sys, gc\n"
        "from mlp_core.cli import main\n"
        f"rc = main(['zero-init', '--names', {str(words)!r}, '--layers', '1', '--n-hidden', '4',"
        " '--steps', '20', '--no-cache', '--json'])\n"
        f"print(rc, [m for m in sys.modules if m.split('.')[0] in {FOREIGN!r}],"
        " [type(o).__name__ for o in gc.get_objects() if type(o).__name__ in"
        " ('Scheduler', 'Turns', 'Reservations')])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 [] []"


def test_core_cites_no_file_outside_the_repo():
    for path in CORE.rglob("*.py"):
        assert "DESIGN" not in path.read_text(), path
