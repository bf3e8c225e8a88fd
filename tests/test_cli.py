import json
import subprocess
import sys

import pytest

from mlp_core.cli import main


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "mlp_core", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_data_json_on_names_txt(names_txt, capsys):
    assert main(["data", "--names", str(names_txt), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_words"] == 32_033 and out["vocab_size"] == 27 and out["block_size"] == 3
    assert out["splits"]["train"] == {"words": 25_626, "rows": 182_625}
    assert len(out["sha256"]) == 64 and out["source"] == str(names_txt)


def test_train_json_then_cached(tmp_path, store_dir, capsys):
    words = tmp_path / "w.txt"
    words.write_text("\n".join(f"n{a}{b}" for a in "aeiou" for b in "lmnrst"))
    args = [
        "train",
        "--names",
        str(words),
        "--layers",
        "1",
        "--n-hidden",
        "8",
        "--steps",
        "50",
        "--json",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    for key in (
        "config",
        "steps",
        "train_loss",
        "val_loss",
        "seconds",
        "steps_per_second",
        "cached",
        "samples",
    ):
        assert key in out
    assert out["steps"] == 50 and out["cached"] is False and len(out["samples"]) == 10
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["cached"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--steps", "0"], "steps must be between 1"),
        (["train", "--steps", "-5"], "steps must be between 1"),
        (["train", "--lr", "0"], "lr must be greater than 0"),
        (["train", "--n-hidden", "100000"], "n_hidden must be between 1 and 2,048"),
        (["train", "--batch-size", "10000000"], "batch_size must be between 1"),
        (["data", "--names", "/no/such/file.txt"], "no such file"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, message, store_dir):
    r = run_cli(*args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr


def test_bad_word_list_names_the_line(tmp_path):
    f = tmp_path / "bad.txt"
    f.write_bytes(b"anna\nbob\nst.ella\n" + b"x\n" * 20)
    r = run_cli("data", "--names", str(f))
    assert r.returncode == 2 and "line 3" in r.stderr and "Traceback" not in r.stderr


def test_help_explains_every_option():
    r = run_cli("train", "--help")
    assert r.returncode == 0
    for opt in (
        "--names",
        "--layers",
        "--n-hidden",
        "--activation",
        "--init",
        "--batchnorm",
        "--steps",
        "--lr-decay-step",
        "--seed",
        "--no-cache",
    ):
        assert opt in r.stdout
