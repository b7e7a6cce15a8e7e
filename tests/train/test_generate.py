"""`dl generate` on a trained character language model: the prompt warms the model up, the
continuation is sampled (seeded), greedy or beam-searched, and other runs are refused."""
import json
import math

import pytest
from click.testing import CliRunner

from dlcore.cli.main import cli
from dlcore.train import ConfigError, parse, run
from dlcore.train.generate import generate
from dlcore.train.predict import load_run

from .conftest import TINY_VOCAB


@pytest.fixture
def trained(tiny_text, tmp_path):
    config = parse({
        "model": {"name": "rnn_lm", "cell": "gru", "embedding_dim": 8, "hidden_size": 32},
        "data": {"name": "tiny-text", "batch_size": 4, "val_fraction": 0.0},
        "optim": {"name": "adam", "lr": 0.02},
        "train": {"epochs": 8, "seed": 0, "clip_grad_norm": 1.0},
    }, name="tiny")
    run(config, run_dir=tmp_path / "run")
    return tmp_path / "run"


def test_generation_is_seeded_and_continues_the_prompt(trained):
    loaded = load_run(trained)
    first = generate(loaded, "the c", 40, temperature=0.8, seed=3)
    assert first == generate(loaded, "the c", 40, temperature=0.8, seed=3)
    assert len(first["tokens"]) == 40 and first["full"] == "the c" + first["text"]
    greedy = generate(loaded, "the c", 40, temperature=0)
    assert greedy["text"].startswith("at")  # "the c" -> "cat" is all it has learnt to see
    beam = generate(loaded, "the c", 40, beam=3)
    assert len(beam["tokens"]) == 40 and beam["log_prob"] < 0


def test_the_command_prints_the_text_and_refuses_what_it_cannot_continue(trained, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["generate", str(trained), "--prompt", "a mat", "--length",
                                 "12", "--seed", "0", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["full"].startswith("a mat") and len(payload["tokens"]) == 12
    plain = runner.invoke(cli, ["generate", str(trained), "--prompt", "a mat", "--length", "12",
                                "--seed", "0"])
    assert plain.output == payload["full"] + "\n"
    empty = runner.invoke(cli, ["generate", str(trained), "--prompt", ""])
    assert empty.exit_code != 0 and "the prompt holds no token" in empty.output
    assert "Traceback" not in empty.output


def test_a_classifier_run_cannot_generate(tmp_path):
    from .conftest import spirals
    run(parse(spirals(train={"epochs": 1})), run_dir=tmp_path / "mlp")
    with pytest.raises(ConfigError, match="dl generate continues text with a language model; "
                                          "this run's task is classification"):
        generate(load_run(tmp_path / "mlp"), "x", 5)


def test_gpt_learns_the_tiny_text_and_generates_past_its_block(tiny_text, tmp_path):
    config = parse({
        "model": {"name": "gpt", "block_size": 6, "d_model": 16, "num_heads": 2,
                  "num_layers": 2, "dropout": 0.0},
        "data": {"name": "tiny-text", "batch_size": 8, "sampling": "random",
                 "val_fraction": 0.0},
        "optim": {"name": "adamw", "lr": 0.01},
        "train": {"epochs": 12, "seed": 0, "clip_grad_norm": 1.0, "eval_every": "6 epochs"},
    }, name="tiny-gpt")
    run(config, run_dir=tmp_path / "gpt")
    evals = [json.loads(line) for line in (tmp_path / "gpt" / "metrics.jsonl").read_text()
             .splitlines() if json.loads(line)["kind"] == "eval"]
    assert evals[-1]["loss"] < evals[0]["loss"] < math.log(len(TINY_VOCAB))  # uniform: log V
    result = generate(load_run(tmp_path / "gpt"), "the cat sat on", 30, temperature=0)
    assert len(result["tokens"]) == 30  # 14 + 30 tokens: well past the block of 6

