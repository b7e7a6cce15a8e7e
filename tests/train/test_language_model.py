"""A character language model end to end on the real KJV text: train, then perplexity."""
from pathlib import Path

import pytest

from dlcore import data
from dlcore.train import evaluate_run, load, run

EXAMPLE = Path(__file__).parents[2] / "examples" / "kjv" / "char_lstm.toml"


@pytest.mark.slow
def test_char_lstm_beats_the_uniform_guess_and_eval_reports_perplexity(tmp_path):
    try:
        data.fetch_dataset("kjv")
    except data.FetchError as error:
        pytest.skip(f"the KJV cannot be fetched here: {error}")
    experiment = load(EXAMPLE, ["data.max_tokens=60000", "train.epochs=1"])
    summary = run(experiment, run_dir=tmp_path)
    final = summary["final"]["eval"]
    assert summary["status"] == "completed"
    resolved = (tmp_path / "config.toml").read_text()  # the vocabulary size came from the data
    vocab = data.get_dataset("kjv", "train", tokens="char", num_steps=35, max_tokens=60000)
    assert f"vocab_size = {vocab.metadata['vocab_size']}\n" in resolved
    assert 1.0 < final["perplexity"] < 20.0        # uniform over the characters: ~40
    evaluation = evaluate_run(tmp_path)  # the best checkpoint (the only one here) on test
    assert evaluation["split"] == "test" and summary["test"]["split"] == "test"
    assert evaluation["perplexity"] == pytest.approx(summary["test"]["perplexity"], rel=1e-6)
    assert "confusion_matrix" not in evaluation
