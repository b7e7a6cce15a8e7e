"""Truncated backpropagation through time: with "sequential" sampling the language-model task
carries the model's state from batch to batch, detached, resets it per epoch and per
evaluation, and a checkpoint taken between two batches resumes it bit for bit."""
import numpy as np
import pytest

from dlcore import nn
from dlcore.data import DataLoader, LanguageModelDataset, Vocab
from dlcore.models.language import rnn_lm
from dlcore.tensor import Tensor, no_grad
from dlcore.train import TASKS, parse

from .conftest import TINY_VOCAB, interrupt_and_resume


def _stream(length=600, seed=0):
    """A token stream with structure to learn: runs of one of 4 symbols (the size of an empty Vocab: its reserved tokens)."""
    rng = np.random.default_rng(seed)
    return np.repeat(rng.integers(0, 4, length // 3), 3)


def _setup(cell="lstm", steps=4, batch=3):
    dataset = LanguageModelDataset(_stream(), steps, Vocab(), "sequential")
    task = TASKS["language_model"](dataset.metadata)
    model = rnn_lm(vocab_size=4, embedding_dim=4, hidden_size=6, num_layers=2, cell=cell)
    return dataset, task, model, DataLoader(dataset, batch)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_the_state_flows_from_one_batch_into_the_next_without_its_gradient(cell):
    _, task, model, loader = _setup(cell)
    assert task.carries_state
    first, second = list(loader)[:2]
    task.start_epoch()
    task.compute(model, first)
    loss, logits, _ = task.compute(model, second)
    with no_grad():  # the same rows run as one sequence of twice the length
        whole, _ = model.forward_with_state(Tensor(np.concatenate([first[0], second[0]], 1)))
    np.testing.assert_allclose(logits.data, whole.data[:, 4:], rtol=1e-5, atol=1e-6)
    carried = task.state_dict()["carried"]
    assert len(carried) == (2 if cell == "lstm" else 1) and carried[0].shape == (2, 3, 6)
    loss.backward()  # stops at the batch's start: the carried state is a leaf
    assert all(part.grad is None and not part.requires_grad
               for part in (task._state if isinstance(task._state, tuple) else (task._state,)))


def test_epochs_and_evaluations_start_from_a_fresh_state():
    _, task, model, loader = _setup()
    batch = next(iter(loader))
    fresh = task.compute(model, batch)[1].data
    kept = task.state_dict()
    task.evaluate(model, loader)
    np.testing.assert_array_equal(task.state_dict()["carried"][0], kept["carried"][0])
    assert not np.allclose(task.compute(model, batch)[1].data, fresh)  # continued
    task.start_epoch()
    assert task.state_dict() == {}
    np.testing.assert_array_equal(task.compute(model, batch)[1].data, fresh)


def test_a_model_without_state_cannot_train_on_sequential_batches():
    _, task, _, _ = _setup()
    with pytest.raises(TypeError, match="Linear has none \\(no forward_with_state\\); use "
                                        "data.sampling"):
        task.check_model(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="carries no state"):
        TASKS["language_model"]({"sampling": "random"}).load_state_dict(
            {"carried": [np.zeros((1, 1, 1))], "tuple": False})


def _config(sampling):
    return parse({
        "model": {"name": "rnn_lm", "embedding_dim": 4, "hidden_size": 8,
                  "num_layers": 2},
        "data": {"name": "tiny-text", "batch_size": 4, "sampling": sampling,
                 "val_fraction": 0.2},
        "optim": {"name": "adam", "lr": 0.02},
        "train": {"epochs": 3, "seed": 0, "clip_grad_norm": 1.0, "eval_every": "10 steps"},
    }, name="tbptt")


def test_a_run_interrupted_between_batches_resumes_its_carried_state_exactly(tiny_text,
                                                                            tmp_path):
    result = interrupt_and_resume(_config("sequential"), tmp_path, step=40)
    carried = result.halfway["updater"]["task"]["carried"]
    assert [part.shape for part in carried] == [(2, 4, 8), (2, 4, 8)]
    assert result.straight["final"]["eval"]["loss"] < np.log(len(TINY_VOCAB))  # it learnt

