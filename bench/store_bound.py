"""The run store's size bound, through the command line: N distinct runs with
`--cache-max-mb M` (default 20 runs, 1 MB); after each, the store's size against the bound
plus one entry; at the end, whether the most recently used result is served from the store.

    python bench/store_bound.py [--runs 20] [--max-mb 1] [--steps 200]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlp_core import cli  # noqa: E402
from mlp_core.store import RunStore  # noqa: E402


def train(cache: Path, seed: int, a) -> dict:
    args = ["train", "--steps", str(a.steps), "--seed", str(seed), "--json"]
    args += ["--cache-dir", str(cache), "--cache-max-mb", str(a.max_mb)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        assert cli.main(args) == 0
    return json.loads(out.getvalue())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--max-mb", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=200)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        store = RunStore(cache, a.max_mb)
        sizes, entry = [], 0
        for seed in range(a.runs):
            train(cache, seed, a)
            sizes.append(store.size())
            entry = max(entry, sizes[0])
        last = train(cache, a.runs - 1, a)  # the most recently used: from the store?
        kept = len(list(cache.glob("v*/*/*")))
    print(
        json.dumps(
            {
                "runs": a.runs,
                "bound_bytes": store.max_bytes,
                "entry_bytes": entry,
                "max_store_bytes": max(sizes),
                "within_bound_plus_one_entry": max(sizes) <= store.max_bytes + entry,
                "entries_kept": kept,
                "most_recent_served_from_store": last["cached"],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
