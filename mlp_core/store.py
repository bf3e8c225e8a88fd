"""The run store: a run is a pure function of (config, data hash, CACHE_VERSION).

Entries are folders of plain files named by that hash: config.json, metrics.json, model.pt
and, written last, manifest.json with each file's sha256. A folder is built under a temp
name and renamed into place, so readers see a whole entry or none; an entry whose manifest
or hashes do not check out is deleted and recomputed.

Bounded: after each write the least recently used entries (a read counts as a use) are
removed until the store fits in ``max_bytes`` (``PRACTICE_BOARD_CACHE_MAX_MB``, the CLI's
``--cache-max-mb``); the entry just written always stays, so the store holds at most the
bound plus one entry. A write that fails for any reason (a full disk makes torch.save
raise RuntimeError, a read-only folder, a file where a folder should be) costs the run
nothing: the result is returned with ``cache_note`` saying why it is not cached, in words
and without the server's folders (a full disk: "not cached: the disk is full (N bytes
free)", store_disk.write_note), and nothing half-written stays behind; a file or a link
in an entry's place is removed (the entry heals). An entry that fails to load for any
reason (a hash, a file, or content a result must have: ``valid_outcome``) is removed and
the run trained again. Every stored JSON file is strict JSON.

Shared: several processes (replicas behind a proxy) may use one store folder. A run is
trained under its key's lock (store_disk.locked), and read again once the lock is held,
so a run trained through one replica is served by the others and never trained twice at
once. Temp folders of writers that died are swept when a store opens and count in the
bound until then. See ARCHITECTURE.md "Sharing one server".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from pathlib import Path

import torch

from . import store_disk as disk
from .config import RunConfig
from .train import RunOutcome

CACHE_VERSION = "9"  # bump when training or metrics change meaning: old entries are ignored
CACHE_ENV = "PRACTICE_BOARD_CACHE"  # overrides the default cache folder
CACHE_MAX_ENV = "PRACTICE_BOARD_CACHE_MAX_MB"  # overrides the default bound
# a hosted box (Streamlit Community Cloud) has a few GB of disk for the app, its
# packages (torch alone is ~1 GB) and this store; an entry of the demo's largest runs is
# ~1.2 MB, the lecture's net ~0.2 MB: some hundreds to thousands of results
DEFAULT_MAX_MB = 500
FILES = ("config.json", "metrics.json", "model.pt")
RESULT_KEYS = ("steps", "train_loss", "val_loss", "curve")  # what every page reads of a run
ENTRY = re.compile(r"v[0-9]+/[0-9a-f]{2}/[0-9a-f]{64}")  # only these folders are ever evicted


def default_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "practice-board"


def default_max_mb() -> float:
    """The bound from PRACTICE_BOARD_CACHE_MAX_MB, else DEFAULT_MAX_MB (junk: the default)."""
    try:
        mb = float(os.environ.get(CACHE_MAX_ENV) or DEFAULT_MAX_MB)
    except ValueError:
        return DEFAULT_MAX_MB
    return mb if math.isfinite(mb) and mb >= 0 else DEFAULT_MAX_MB


KEY_DEFAULTS = {"rng": "own", "evaluation": "full"}  # train fields left out at these values


def run_key(cfg: RunConfig, data_sha256: str) -> str:
    config = cfg.to_dict()
    # these fields at their defaults stay out of the key, so the stored runs of a config
    # that never sets them keep one key whether or not the field is known to the code
    for field, default in KEY_DEFAULTS.items():
        if config["train"][field] == default:
            del config["train"][field]
    blob = json.dumps(
        {"version": CACHE_VERSION, "config": config, "data": data_sha256}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class RunStore:
    def __init__(self, root: str | Path | None = None, max_mb: float | None = None):
        self.root = Path(root) if root else default_root()
        self.max_bytes = int((default_max_mb() if max_mb is None else max_mb) * 1e6)
        self.error: str | None = None  # why the last write failed (None: it did not)
        with contextlib.suppress(OSError):
            disk.sweep_orphans(self.root)

    def path(self, key: str) -> Path:
        return self.root / f"v{CACHE_VERSION}" / key[:2] / key

    def get(self, cfg: RunConfig, data_sha256: str) -> RunOutcome | None:
        entry = self.path(run_key(cfg, data_sha256))
        try:
            if entry.is_symlink() or not entry.is_dir():
                disk.remove_non_folder(entry)  # a file or link there would block it forever
                return None
            outcome = self._read(entry, cfg)
        except Exception:  # corrupt or partial: drop it, the caller recomputes
            shutil.rmtree(entry, ignore_errors=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(entry)  # used now: the last to be evicted
        return outcome

    def _read(self, entry: Path, cfg: RunConfig) -> RunOutcome:
        manifest = json.loads((entry / "manifest.json").read_text())
        for name in FILES:
            if _sha(entry / name) != manifest[name]:
                raise ValueError(f"{entry / name}: hash mismatch")
        metrics = json.loads((entry / "metrics.json").read_text())
        state = torch.load(entry / "model.pt", weights_only=True)
        if not valid_outcome(metrics, state):
            raise ValueError(f"{entry}: not a whole result")
        return RunOutcome(cfg, metrics["status"], metrics, state, cached=True)

    def put(self, outcome: RunOutcome, data_sha256: str) -> bool:
        """Store a finished run atomically, then evict down to the bound; False (with
        self.error and outcome.cache_note saying why) if it could not be stored."""
        if outcome.status != "ok" or not finite_result(outcome.metrics):
            return False  # diverged or stopped runs are never results
        entry = self.path(run_key(outcome.config, data_sha256))
        tmp = None
        try:
            if entry.is_symlink() or not entry.is_dir():
                disk.remove_non_folder(entry)
            entry.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=disk.tmp_prefix(entry), dir=entry.parent))
            self._write(tmp, outcome, data_sha256)
            os.rename(tmp, entry)  # fails if someone stored the same run first: theirs is as good
        except Exception as e:  # OSError; torch.save raises RuntimeError on a full disk
            if not entry.is_dir():
                self.error = disk.write_note(e, self.root)
                outcome.cache_note = self.error
                return False
        finally:
            if tmp is not None and tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        self.evict(keep=entry)
        return True

    def evict(self, keep: Path | None = None) -> None:
        """Remove the least recently used entries until the store fits in max_bytes (the
        entry ``keep`` stays whatever its size). Only folders named like entries go."""
        entries = []
        for d in self.entries():
            if d != keep:
                with contextlib.suppress(OSError):
                    entries.append((d.stat().st_mtime, disk.size(d), d))
        total = sum(size for _, size, _ in entries) + (disk.size(keep) if keep else 0)
        total += sum(disk.size(t) for t in disk.temp_folders(self.root))  # being written
        for _, size, d in sorted(entries):
            if total <= self.max_bytes:
                break
            shutil.rmtree(d, ignore_errors=True)
            total -= size

    def size(self) -> int:
        """Bytes held by entries and temp folders now."""
        folders = self.entries() + disk.temp_folders(self.root)
        return sum(disk.size(d) for d in folders)

    def locked(self, cfgs: list[RunConfig], data_sha256: str, on_wait=None):
        """A context holding these runs' locks (store_disk.locked)."""
        entries = [self.path(run_key(c, data_sha256)) for c in cfgs]
        return disk.locked(entries, on_wait)

    def entries(self) -> list[Path]:
        """The entry folders in the store now (of any version; only these are evicted)."""
        return [
            d
            for d in self.root.glob("v*/*/*")
            if ENTRY.fullmatch(d.relative_to(self.root).as_posix())
        ]

    def _write(self, tmp: Path, outcome: RunOutcome, data_sha256: str) -> None:
        config = {"config": outcome.config.to_dict(), "data_sha256": data_sha256}
        disk.write_json(tmp / "config.json", config, indent=1)
        disk.write_json(tmp / "metrics.json", outcome.metrics)
        torch.save(outcome.state, tmp / "model.pt")
        disk.write_json(tmp / "manifest.json", {name: _sha(tmp / name) for name in FILES})
        for name in (*FILES, "manifest.json"):
            with open(tmp / name, "rb") as f:
                os.fsync(f.fileno())


def finite_result(metrics: dict) -> bool:
    """Are the run's final losses numbers (no NaN, no inf)? A run that evaluates the dev
    split only (TrainConfig.evaluation "dev") has no training-split loss."""
    losses = [metrics.get("val_loss")]
    if metrics.get("evaluation") != "dev":
        losses.append(metrics.get("train_loss"))
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in losses)


def valid_outcome(metrics, state) -> bool:
    """Does a loaded entry hold what every page reads of a result: status ok, finite
    losses, the RESULT_KEYS, a curve of three lists and weights as tensors?"""
    if not isinstance(metrics, dict) or metrics.get("status") != "ok":
        return False
    curve = metrics.get("curve")
    return (
        finite_result(metrics)
        and all(k in metrics for k in RESULT_KEYS)
        and isinstance(curve, dict)
        and all(isinstance(curve.get(k), list) for k in ("step", "train", "val"))
        and isinstance(state, dict)
        and all(isinstance(v, torch.Tensor) for v in state.values())
    )
