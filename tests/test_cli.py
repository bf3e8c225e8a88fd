import json
import subprocess
import sys

import pytest
import torch

from mlp_core import words
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


ACCEPTED = "\n".join(["anne-marie", "zoë", "o'neil", "mary ann", "r2d2", "JOSÉ"] * 3)
WORD_LISTS = {  # case: (bytes, exit code, text expected on stderr or in the JSON)
    "empty file": (b"", 2, "no words"),
    "only blank lines": (b"\n  \n\t\n", 2, "no words"),
    "binary (png)": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", 2, "binary"),
    "utf-16 with bom": ("\n".join(["anna"] * 12).encode("utf-16"), 0, '"n_words": 12'),
    "digits, spaces, punctuation, accents": (ACCEPTED.encode(), 0, '"vocab_size": 20'),
    "uppercase is lower-cased": (b"ANNA\n" * 12, 0, '"chars": "an"'),
    "a single 1-letter name": (b"a\n", 2, "only 1 word; the 80/10/10 split needs at least 10"),
    "fewer words than the split needs": (b"ann\nbob\ncy\n", 2, "needs at least 10"),
    "not utf-8": (b"anna\n\xff\xfe\xfa\n" * 6, 2, "line 2: not UTF-8"),
}


@pytest.mark.parametrize("case", WORD_LISTS)
def test_word_list_cases(case, tmp_path, capsys):
    raw, code, expected = WORD_LISTS[case]
    f = tmp_path / "words.txt"
    f.write_bytes(raw)
    assert main(["data", "--names", str(f), "--json"]) == code
    out, err = capsys.readouterr()
    assert expected in (out if code == 0 else err)
    if code:
        assert err.count("\n") == 1 and err.startswith("error: ")


def test_too_large_file_is_refused(tmp_path, capsys, monkeypatch):

    monkeypatch.setattr(words, "MAX_BYTES", 1000)
    f = tmp_path / "big.txt"
    f.write_bytes(b"anna\n" * 1000)
    assert main(["data", "--names", str(f)]) == 2
    assert "limit is 1,000 bytes" in capsys.readouterr().err


def test_block_size_longer_than_every_word_is_allowed_with_a_note(tmp_path, capsys):
    f = tmp_path / "short.txt"
    f.write_text("\n".join(["ab", "ba", "abb"] * 5))
    assert main(["data", "--names", str(f), "--block-size", "8", "--json"]) == 0
    out, err = capsys.readouterr()
    assert "note: block_size 8 is longer than every word" in err
    assert json.loads(out)["splits"]["train"]["rows"] > 0


def test_block_size_out_of_range(capsys):
    assert main(["data", "--block-size", "0"]) == 2
    assert "block_size must be between 1 and 16" in capsys.readouterr().err


def test_a_diverged_run_exits_3_and_says_at_which_step(tmp_path, store_dir, capsys):
    f = tmp_path / "w.txt"
    f.write_text("\n".join(f"n{a}{b}" for a in "aeiou" for b in "lmnrst"))
    args = ["train", "--names", str(f), "--layers", "1", "--n-hidden", "8", "--steps", "50"]
    assert main([*args, "--lr", "1e6"]) == 3
    err = capsys.readouterr().err
    assert "diverged at step" in err and err.count("\n") == 1


def test_a_batch_larger_than_the_training_split_is_refused(tmp_path, capsys):
    f = tmp_path / "w.txt"
    f.write_text("\n".join(f"n{a}{b}" for a in "aeiou" for b in "lmnrst"))  # 30 words
    assert main(["train", "--names", str(f), "--batch-size", "5000", "--no-cache"]) == 2
    assert "the training split's rows" in capsys.readouterr().err


def test_a_bug_is_not_reported_as_bad_input(tmp_path, monkeypatch, capsys):
    """Only the input's faults exit 2; anything else keeps its traceback."""
    from mlp_core import cli

    def broken(a):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "cmd_data", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        main(["data"])
    if not torch.cuda.is_available():  # asking for a device that is not there: bad input
        f = tmp_path / "w.txt"
        f.write_text("\n".join(f"n{a}{b}" for a in "aeiou" for b in "lmnrst"))
        args = ["train", "--names", str(f), "--device", "cuda", "--steps", "1", "--no-cache"]
        assert main(args) == 2
        assert "no CUDA device" in capsys.readouterr().err


def exit_code(args: list[str]) -> int:
    """main's exit code, argparse's refusals (SystemExit) included."""
    try:
        return main(args)
    except SystemExit as e:
        return e.code


@pytest.fixture
def words_400(tmp_path, small_ds):
    f = tmp_path / "w400.txt"
    f.write_text("\n".join(small_ds.words[:400]))
    return str(f)


def test_divergence_above_the_bound_is_not_called_not_finite(words_400, store_dir, capsys):
    args = ["train", "--names", words_400, "--layers", "1", "--n-hidden", "8", "--steps", "50"]
    assert main([*args, "--lr", "100"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not finite" not in err
    assert "diverged at step 2: its minibatch loss 83.1 went above 10·ln 27 = 33.0" in err


def test_a_diverged_run_gives_the_same_bits_on_every_call(capsys):
    """The same diverging configuration three times, untrained each time (where the steps
    are cut into slices changes no bit either: tests/test_train.py)."""
    outs = []
    for _ in range(3):
        assert main(["zero-init", "--lr", "100", "--no-cache", "--json"]) == 3
        outs.append(capsys.readouterr().out)
    report = json.loads(outs[0])
    assert report["diverged_at"] == {"zero": 3, "compare": 1}
    assert outs[1] == outs[0] and outs[2] == outs[0]


def test_zero_init_exits_3_when_a_run_diverged(words_400, capsys):
    args = ["zero-init", "--names", words_400, "--steps", "30", "--layers", "2", "--no-cache"]
    assert main([*args, "--batchnorm", "--bn-eps", "0", "--json"]) == 3
    out, err = capsys.readouterr()
    report = json.loads(out)  # the report first
    assert report["status"] == {"zero": "diverged", "compare": "ok"}
    errors = [line for line in err.splitlines() if not line.startswith("step ")]  # progress
    why = "its loss was not finite (NaN or infinite)"
    assert errors == [f"error: the zero-init run diverged at step 0: {why}"]


def test_fold_exits_3_and_says_why_its_run_diverged(words_400, capsys):
    args = ["fold", "--names", words_400, "--steps", "50", "--no-cache", "--lr", "1000"]
    assert main(args) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: the BatchNorm run diverged at step 1: its minibatch loss ")
    assert "went above 10·ln 27 = 33.0" in err and err.count("\n") == 1


def test_zero_init_help_offers_no_lecture_rng(capsys):
    assert exit_code(["zero-init", "--help"]) == 0
    assert "--rng" not in capsys.readouterr().out
    assert exit_code(["zero-init", "--rng", "lecture"]) == 2


def test_fold_help_offers_no_batchnorm_switch(capsys):
    """fold always has BatchNorm: --batchnorm would change nothing."""
    assert exit_code(["fold", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--batchnorm" not in out and "--no-output-bn" in out and "--rng" in out


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--cache-max-mb", "nan"],
        ["train", "--cache-max-mb", "inf"],
        ["train", "--cache-max-mb", "-1"],
        ["train", "--bn-eps", "inf"],
        ["train", "--bn-eps", "nan"],
        ["train", "--bn-momentum", "inf"],
        ["train", "--lr", "inf"],
        ["train", "--lr", "nan"],
        ["train", "--init-scale", "inf"],
        ["train", "--steps", "inf"],
        ["fold", "--bn-eps", "inf"],
        ["fold", "--cache-max-mb", "-1"],
        ["zero-init", "--lr", "nan"],
        ["zero-init", "--compare-gain", "inf"],
        ["zero-init", "--compare-gain", "nan", "--compare-init", "normal"],
        ["zero-init", "--compare-scale", "-1"],
    ],
)
def test_non_finite_or_negative_numeric_options_exit_2(args, words_400, tmp_path, capsys):
    cache = tmp_path / "cache"
    cmd = [args[0], "--names", words_400, "--cache-dir", str(cache), *args[1:]]
    assert exit_code([*cmd, "--steps", "1"] if "--steps" not in args else cmd) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert not cache.exists()  # refused before any training
