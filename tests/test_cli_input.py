"""The core and the CLI hold up on a shared server and against hostile input: BatchNorm
with batch size 1 is refused with the reason; a run whose evaluation is not finite is
diverged and never stored, and the JSON output stays strict; a word list ends a line only
at its own line breaks, and one that fails to decode, a path that is not a readable word
list and a bad number on the command line each get one clear line; a huge word is quoted
cut short; a result that could not be cached is said, and a store entry that is a file is
said and healed; a worker killed mid-run is replaced and one that sees Ctrl-C ends quietly
with its parent; steps cut into slices give the same numbers."""

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mlp_core import cli, data, stack
from mlp_core.config import ConfigError, RunConfig, validate
from mlp_core.data import DataError
from mlp_core.runs import get_or_train
from mlp_core.store import RunStore
from mlp_core.train import train_stack

ROOT = Path(__file__).resolve().parents[1]
WORDS = [f"{a}{b}" for a in ("ann", "bob", "cleo", "dina", "eve") for b in ("a", "o", "ie")]


def run_cli(*args, tmp_path, **env):
    cmd = [sys.executable, "-m", "mlp_core", *args]
    full_env = os.environ | {"PRACTICE_BOARD_CACHE": str(tmp_path / "cache")} | env
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=full_env)


def strict_json(text: str):
    def refuse(token):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


# 2. no non-finite number is ever a result


def test_batchnorm_with_batch_size_1_is_refused_with_the_reason(tiny_cfg):
    with pytest.raises(ConfigError, match="batch of one row"):
        validate(tiny_cfg.replace(batchnorm=True, batch_size=1))
    validate(tiny_cfg.replace(batchnorm=False, batch_size=1))  # without BN it trains


def test_a_run_whose_evaluation_is_not_finite_is_diverged_and_not_stored(
    small_ds, tiny_cfg, tmp_path, monkeypatch
):
    real = stack.StackTrainer.outcomes

    def nan_eval(self, *args):
        self.step.evaluate = lambda X, Y: [float("nan")] * self.K
        return real(self, *args)

    monkeypatch.setattr(stack.StackTrainer, "outcomes", nan_eval)
    store = RunStore(tmp_path)
    (run,) = get_or_train([tiny_cfg], small_ds, store)
    assert run.status == "diverged" and run.metrics["diverged_at"] is not None
    assert store.get(tiny_cfg, small_ds.sha256) is None


def test_json_output_is_strict_even_for_a_diverged_zero_init(tmp_path, small_ds):
    words = tmp_path / "w.txt"
    words.write_text("\n".join(small_ds.words[:400]))
    args = ["zero-init", "--names", str(words), "--steps", "30", "--layers", "2"]
    r = run_cli(*args, "--batchnorm", "--bn-eps", "0", "--json", tmp_path=tmp_path)
    assert r.returncode == 3, r.stderr  # a diverged run: the report, then exit 3
    report = strict_json(r.stdout)  # NaN tokens would raise
    assert report["status"]["zero"] == "diverged"
    assert cli.strict({"a": [float("nan"), 1.0, float("inf")]}) == {"a": [None, 1.0, None]}


# 4 and 8. word lists: broken UTF-16, the file's own line breaks, long words in messages


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe" + "ann\nbob".encode("utf-16-le") + b"x",  # odd byte count
        b"\xff\xfe" + "ann\nb".encode("utf-16-le") + b"\x00\xd8" + "ob\n".encode("utf-16-le"),
    ],
    ids=["odd-bytes", "lone-surrogate"],
)
def test_broken_utf16_is_refused_naming_the_line(raw):
    with pytest.raises(DataError, match=r"line 2: not valid UTF-16"):
        data.from_bytes(raw)


@pytest.mark.parametrize("sep", ["\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_only_the_files_own_line_breaks_end_a_line(sep):
    text = "\n".join(WORDS[:3] + [f"ab{sep}cd"] + WORDS[3:]) + "\n"
    with pytest.raises(DataError, match=r"^line 4: control character"):
        data.parse_words(text)
    crlf = "\r\n".join(WORDS) + "\r\n"
    assert data.parse_words(crlf) == WORDS


def test_a_huge_word_is_quoted_cut_short_and_contexts_are_bounded():
    word = "x" * 990_000
    with pytest.raises(DataError) as e:
        data.parse_words("\n".join(WORDS + [word + "."]))
    assert len(str(e.value)) < 200 and "990,001 characters" in str(e.value)
    ds = data.dataset_from_words(WORDS + [word], "t")
    lines = data.context_lines(ds, 3, len(WORDS) + 1)
    assert len(lines) == data.MAX_CONTEXT_LINES + 1 and "more, not shown" in lines[-1]


# 8. files that are not word lists, and bad numbers, get one line (exit 2)


@pytest.mark.parametrize("kind", ["folder", "fifo", "long-name", "eio", "missing"])
def test_paths_that_are_not_readable_word_lists_get_one_clear_line(tmp_path, kind):
    path = {
        "folder": tmp_path,
        "fifo": tmp_path / "pipe",
        "long-name": tmp_path / ("n" * 300 + ".txt"),
        "eio": Path("/proc/self/mem"),  # reading it fails with EIO
        "missing": tmp_path / "missing.txt",
    }[kind]
    if kind == "fifo":
        os.mkfifo(path)
    r = run_cli("data", "--names", str(path), tmp_path=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and len(r.stderr) < 300
    want = {
        "folder": "is a folder",
        "fifo": "not a regular file",
        "long-name": "File name too long",
        "eio": "error",
        "missing": "no such file",
    }[kind]
    assert want in r.stderr


@pytest.mark.parametrize(
    "args, want",
    [
        (["--seed", str(2**64)], "seed must be between 0 and"),
        (["--steps", "1e9"], "steps must be between 1 and"),
        (["--steps", "ten"], "not a whole number"),
        (["--batchnorm", "--batch-size", "1"], "batch of one row"),
    ],
)
def test_bad_numbers_get_one_line(tmp_path, args, want):
    r = run_cli("train", "--steps", "5", *args, tmp_path=tmp_path)
    assert r.returncode == 2 and want in r.stderr
    assert r.stderr.count("\n") == 1 and "usage" not in r.stderr


def test_the_cli_says_when_a_result_could_not_be_cached(tmp_path, small_ds):
    words = tmp_path / "w.txt"
    words.write_text("\n".join(small_ds.words[:400]))
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    args = ["train", "--names", str(words), "--steps", "20", "--layers", "1"]
    r = run_cli(*args, "--cache-dir", str(not_a_folder), "--json", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "note: the result is not cached" in r.stderr
    assert strict_json(r.stdout)["val_loss"] > 0


def test_entry_path_that_is_a_file_is_said_and_healed_by_the_cli(tmp_path, small_ds):
    words = tmp_path / "w.txt"
    words.write_text("\n".join(small_ds.words[:400]))
    args = ["train", "--names", str(words), "--steps", "20", "--layers", "1", "--json"]
    first = strict_json(run_cli(*args, tmp_path=tmp_path).stdout)
    entries = [e for e in (tmp_path / "cache").glob("v*/*/*") if not e.name.startswith(".")]
    assert len(entries) == 1 and first["cached"] is False  # (.lock-<key>: its lock file)
    import shutil

    shutil.rmtree(entries[0])
    entries[0].write_text("junk")  # a file where the entry's folder goes
    run_cli(*args, tmp_path=tmp_path)
    again = strict_json(run_cli(*args, tmp_path=tmp_path).stdout)
    assert again["cached"] is True  # healed, not retrained forever


# 7. turns in slices: the numbers do not depend on where the steps are cut


def test_slicing_the_steps_leaves_the_numbers_unchanged(small_ds, tiny_cfg):
    cfgs = [tiny_cfg.replace(seed=s, steps=130) for s in (1, 2)]
    whole = train_stack(cfgs, small_ds)
    cuts = []

    def on_slice(ran):
        cuts.append(ran)
        return 7

    sliced = train_stack(cfgs, small_ds, on_slice=on_slice)
    assert len(cuts) > 130 // 7
    for a, b in zip(whole, sliced):
        assert a.metrics["train_loss"] == b.metrics["train_loss"]
        assert a.metrics["val_loss"] == b.metrics["val_loss"]
        assert a.metrics["curve"] == b.metrics["curve"]


# 8. a worker killed mid-run, and Ctrl-C


def test_a_worker_killed_mid_run_is_replaced_and_the_numbers_hold(small_ds, tiny_cfg):
    from mlp_core import workers

    cfgs = [tiny_cfg.replace(seed=s, steps=200) for s in (1, 2, 3, 4)]
    calm = train_stack(cfgs, small_ds, workers=2)
    killed = []

    def kill_worker(p):
        if not killed and workers._POOL:
            proc = workers._POOL[0].proc
            proc.kill()
            proc.wait()
            killed.append(proc.pid)

    stormy = train_stack(cfgs, small_ds, on_progress=kill_worker, workers=2)
    assert killed
    for a, b in zip(calm, stormy):
        assert b.status == "ok"
        assert math.isclose(a.metrics["val_loss"], b.metrics["val_loss"], rel_tol=0, abs_tol=0)


def test_a_worker_ignores_ctrl_c_and_ends_quietly_with_its_parent():
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlp_core.workers"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    import pickle

    pickle.dump(("new", (None,)), proc.stdin)  # a round trip: the worker is up
    proc.stdin.flush()
    assert pickle.load(proc.stdout) == ("ok", None)
    proc.send_signal(signal.SIGINT)  # Ctrl-C reaches the whole process group
    proc.stdin.close()  # the parent ends: the worker follows
    assert proc.wait(timeout=30) == 0
    assert b"Traceback" not in proc.stderr.read()


def test_runconfig_default_is_valid():
    validate(RunConfig())
