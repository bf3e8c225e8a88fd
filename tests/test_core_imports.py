import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "mlp_core"


def test_core_never_imports_streamlit():
    modules = sorted(p.stem for p in CORE.glob("*.py") if p.stem != "__main__")
    code = (
        "import sys\n"
        + "".join(f"import mlp_core.{m}\n" for m in modules)
        + "print([m for m in sys.modules if m.split('.')[0] == 'streamlit'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    for path in CORE.glob("*.py"):
        assert "import streamlit" not in path.read_text(), path
