"""The README's main jobs, end to end on the real Fashion-MNIST (fetched when missing)."""
from pathlib import Path

import pytest

from dlcore import data
from dlcore.train import load, run

EXAMPLES = Path(__file__).parents[2] / "examples" / "fashion_mnist"


@pytest.fixture(scope="module")
def fashion_mnist():
    try:
        data.fetch_dataset("fashion-mnist")
    except data.FetchError as error:
        pytest.skip(f"Fashion-MNIST cannot be fetched here: {error}")


@pytest.mark.slow
@pytest.mark.parametrize("config, accuracy", [("mlp.toml", 0.88), ("lenet.toml", 0.90)])
def test_example_reaches_its_test_accuracy(fashion_mnist, tmp_path, config, accuracy):
    summary = run(load(EXAMPLES / config), run_dir=tmp_path)
    assert summary["status"] == "completed"
    assert summary["test"]["split"] == "test"
    assert summary["test"]["accuracy"] >= accuracy, summary
