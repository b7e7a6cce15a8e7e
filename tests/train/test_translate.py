"""Translation runs end to end on generated pairs (reversed sentences): `dl translate`, the
BLEU that evaluations and `dl eval` report, and an exact resume of an interrupted run."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

from dlcore.cli.main import cli
from dlcore.data import TranslationDataset
from dlcore.data import registry as data_registry
from dlcore.data.text import pair_vocabs
from dlcore.train import ConfigError, evaluate_run, parse, run
from dlcore.train.generate import translate
from dlcore.train.predict import load_run

from .conftest import interrupt_and_resume

WORDS = ["the", "lord", "god", "said", "unto", "moses", "and", "israel"]


def _pairs(n, seed):
    rng = np.random.default_rng(seed)
    sentences = [list(rng.choice(WORDS, size=int(rng.integers(4, 7)))) for _ in range(n)]
    return [(" ".join(s), " ".join(reversed(s))) for s in sentences]


@pytest.fixture
def tiny_pairs(monkeypatch):
    def build(split: str = "train", num_steps: int = 8):
        train = _pairs(256, 0)
        if split == "train":
            return TranslationDataset(train, num_steps, min_freq=1)
        source, target = pair_vocabs(train, min_freq=1)
        return TranslationDataset(_pairs(64, 1), num_steps, src_vocab=source, tgt_vocab=target)

    monkeypatch.setitem(data_registry.DATASETS, "tiny-pairs", data_registry.DatasetEntry(
        "tiny-pairs", build, "generated sentences and their reversals", "none"))


def _config(**train):
    return parse({
        "model": {"name": "seq2seq", "embedding_dim": 16, "hidden_size": 32, "num_layers": 1,
                  "dropout": 0.0, "attention": "additive"},
        "data": {"name": "tiny-pairs", "batch_size": 32, "val_fraction": 0.0},
        "task": {"beam_size": 3},
        "optim": {"name": "adam", "lr": 0.02},
        "train": {"epochs": 12, "seed": 0, "clip_grad_norm": 1.0, **train},
    }, name="pairs")


@pytest.fixture
def trained(tiny_pairs, tmp_path):
    summary = run(_config(), run_dir=tmp_path / "run")
    return tmp_path / "run", summary


def test_translations_bleu_and_eval(trained):
    run_dir, summary = trained
    assert summary["test"]["bleu"] > 50  # greedy, held-out sentences
    result = evaluate_run(run_dir)
    assert result["bleu"] == pytest.approx(summary["best"]["bleu"])  # the best checkpoint
    assert result["bleu_beam"] > 50
    [greedy, beamed] = [translate(load_run(run_dir), ["moses said unto the lord"], beam)[0]
                        for beam in (0, 3)]
    assert greedy["translation"].split()[0] == "lord"  # reversed: the last word comes first
    assert beamed["translation"]


def test_the_command_translates_and_refuses_a_language_model(trained, tiny_text, tmp_path):
    run_dir, _ = trained
    runner = CliRunner()
    out = runner.invoke(cli, ["translate", str(run_dir), "god said unto israel", "--beam", "2",
                              "--json"])
    assert out.exit_code == 0, out.output
    [result] = json.loads(out.output)
    assert result["source"] == "god said unto israel" and result["tokens"]
    empty = runner.invoke(cli, ["translate", str(run_dir), "  "])
    assert empty.exit_code != 0 and "at least one word" in empty.output
    lm = parse({"model": {"name": "rnn_lm", "hidden_size": 8},
                "data": {"name": "tiny-text", "batch_size": 4, "val_fraction": 0.0},
                "train": {"epochs": 1}})
    run(lm, run_dir=tmp_path / "lm")
    with pytest.raises(ConfigError, match="dl translate needs an encoder-decoder run; this "
                                          "run's task is language_model"):
        translate(load_run(tmp_path / "lm"), ["x"])


def test_an_interrupted_translation_run_resumes_exactly(tiny_pairs, tmp_path):
    result = interrupt_and_resume(_config(epochs=2, eval_every="5 steps"), tmp_path, step=11)
    assert "bleu" in result.straight["final"]["eval"]


def test_the_transformer_learns_to_reverse(tiny_pairs, tmp_path):
    config = parse({
        "model": {"name": "transformer", "d_model": 32, "num_heads": 4, "num_layers": 1,
                  "dropout": 0.0},
        "data": {"name": "tiny-pairs", "batch_size": 32, "val_fraction": 0.0},
        "task": {"beam_size": 0},
        "optim": {"name": "adam", "lr": 0.003},
        "train": {"epochs": 15, "seed": 0, "clip_grad_norm": 1.0, "eval_every": "15 epochs"},
    }, name="pairs")
    summary = run(config, run_dir=tmp_path / "run")
    assert summary["test"]["bleu"] > 50
    [result] = translate(load_run(tmp_path / "run"), ["god said unto israel"])
    assert result["translation"].split()[0] == "israel"
