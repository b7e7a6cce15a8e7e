"""Each task: how a batch splits, its loss, its metrics over batches of different sizes."""
import math

import numpy as np
import pytest

import dlcore
from dlcore import nn
from dlcore.data import ArrayDataset, DataLoader
from dlcore.tensor import Tensor
from dlcore.train import TASKS, metrics, tasks


def test_classification_weights_batches_by_size_and_counts_a_confusion_matrix():
    task, meter = TASKS["classification"]({}), metrics.Meter(detailed=True)
    task.measure(meter, 1.0, np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0]]), np.array([0, 1, 1]))
    task.measure(meter, 4.0, np.array([[0.0, 5.0]]), np.array([0]))
    assert task.result(meter) == {"loss": (3 * 1.0 + 4.0) / 4, "accuracy": 2 / 4,
                                  "confusion_matrix": [[1, 1], [1, 1]]}
    plain = metrics.Meter()
    task.measure(plain, 1.0, np.eye(2), np.arange(2))
    assert "confusion_matrix" not in task.result(plain)


def test_language_models_count_tokens_and_report_perplexity():
    task, meter = TASKS["language_model"]({}), metrics.Meter()
    logits = np.zeros((2, 3, 5))
    logits[..., 1] = 1.0
    task.measure(meter, math.log(5), logits, np.array([[1, 1, 0], [2, 1, 1]]))
    assert task.result(meter) == pytest.approx({"loss": math.log(5), "accuracy": 4 / 6,
                                                "perplexity": 5.0})


def test_regression_reports_only_the_loss_and_an_empty_meter_nothing():
    task, meter = TASKS["regression"]({}), metrics.Meter()
    assert task.result(meter) == {}
    task.measure(meter, 0.5, np.zeros((4, 1)), np.ones((4, 1)))
    assert task.result(meter) == {"loss": 0.5}


def test_meter_state_round_trips_sums_counts_and_arrays():
    task = TASKS["classification"]({})
    meter, other = metrics.Meter(detailed=True), metrics.Meter(detailed=True)
    task.measure(meter, 0.25, np.eye(3), np.arange(3))
    other.load_state_dict(meter.state_dict())
    assert task.result(other) == task.result(meter)
    meter.reset()
    assert not meter and task.result(meter) == {}


@pytest.mark.parametrize("name, output_shape, target", [
    ("classification", (4, 3), np.array([0, 2, 1, 1])),
    ("language_model", (2, 5, 7), np.arange(10).reshape(2, 5) % 7),
    ("regression", (4, 2), np.ones((4, 2), dtype=np.float32)),
])
def test_loss_is_a_differentiable_scalar_for_each_task(name, output_shape, target):
    output = dlcore.randn(*output_shape, requires_grad=True)
    loss = TASKS[name]({}).loss(output, target)
    loss.backward()
    assert loss.shape == () and output.grad.shape == output_shape


def test_monitor_and_mode_are_declared_by_each_task():
    assert TASKS["classification"].monitor == "accuracy"
    assert TASKS["classification"].metrics["accuracy"] == "max"
    for name in ("regression", "language_model"):
        assert TASKS[name].monitor == "loss" and TASKS[name].metrics["loss"] == "min"
    assert TASKS["seq2seq"].monitor == "bleu" and TASKS["seq2seq"].metrics["bleu"] == "max"
    assert TASKS["adversarial"].metrics[TASKS["adversarial"].monitor] == "min"


def test_every_registered_model_names_a_registered_task():
    from dlcore import models
    for entry in models.MODELS.values():
        assert entry.task in TASKS, entry.name


def test_a_batch_without_targets_is_a_clear_error():
    with pytest.raises(ValueError, match="classification task needs batches of \\(inputs, "
                                         "targets\\); the dataset yields 1 array"):
        TASKS["classification"]({}).split((np.zeros((2, 3)),))


# --- seq2seq ------------------------------------------------------------------------------
META = {"pad_id": 1, "bos_id": 2, "eos_id": 3, "src_vocab_size": 6, "tgt_vocab_size": 6}


class EchoDecoder(nn.Module):
    """Logits that copy the decoder input (so a shift error shows) plus a learnt bias."""

    def __init__(self, vocab: int):
        super().__init__()
        self.vocab = vocab
        self.bias = nn.Parameter(np.zeros(vocab, dtype=np.float32))
        self.seen = []

    def forward(self, source, decoder_input, source_len):
        self.seen.append((source.data, decoder_input.data, source_len.data))
        onehot = np.eye(self.vocab, dtype=np.float32)[decoder_input.data]
        return Tensor(onehot) * 4.0 + self.bias


def test_seq2seq_teacher_forces_with_bos_and_masks_padding():
    task = TASKS["seq2seq"](META)
    source = np.array([[4, 3, 1], [5, 4, 3]])
    target = np.array([[4, 5, 3], [5, 3, 1]])  # second row: one pad
    batch = (source, np.array([2, 3]), target, np.array([3, 2]))
    model = EchoDecoder(6)
    loss, output, targets = task.compute(model, batch)
    seen_source, decoder_input, lengths = model.seen[0]
    np.testing.assert_array_equal(decoder_input, [[2, 4, 5], [2, 5, 3]])
    np.testing.assert_array_equal(seen_source, source)
    np.testing.assert_array_equal(lengths, [2, 3])
    logits = output.data.reshape(-1, 6)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    flat = target.reshape(-1)
    scored = flat != META["pad_id"]
    expected = -log_p[np.arange(6), flat][scored].mean()
    assert float(loss.item()) == pytest.approx(expected, rel=1e-6)
    meter = metrics.Meter()
    task.measure(meter, float(loss.item()), output.data, targets)
    result = task.result(meter)
    assert meter.counts["loss"] == 5  # the pad is not counted
    correct = (logits.argmax(-1) == flat)[scored].sum()
    assert result["accuracy"] == correct / 5
    assert result["perplexity"] == pytest.approx(math.exp(expected), rel=1e-6)


def test_seq2seq_needs_translation_metadata_and_four_arrays():
    with pytest.raises(ValueError, match="lacks pad_id, bos_id"):
        TASKS["seq2seq"]({})
    with pytest.raises(ValueError, match="needs batches of \\(source, source_valid_len, target, "
                                         "target_valid_len\\); the dataset yields 2"):
        TASKS["seq2seq"](META).split((np.zeros((1, 2)), np.zeros((1, 2))))


# --- adversarial ---------------------------------------------------------------------------
def test_frechet_distance_of_gaussians_matches_closed_forms():
    mean, cov = np.array([1.0, 2.0]), np.array([[2.0, 0.3], [0.3, 1.0]])
    assert tasks.frechet_distance((mean, cov), (mean, cov)) == pytest.approx(0.0, abs=1e-9)
    # Diagonal covariances: |m1 - m2|^2 + sum (sqrt(s1) - sqrt(s2))^2.
    first = (np.zeros(2), np.diag([4.0, 1.0]))
    second = (np.array([3.0, 0.0]), np.diag([1.0, 9.0]))
    assert tasks.frechet_distance(first, second) == pytest.approx(9 + 1 + 4)


def test_adversarial_losses_and_evaluation():
    dlcore.manual_seed(0)
    model = dlcore.models.get_model("gaussian_gan")
    task = TASKS["adversarial"]({"input_shape": [2]}, label_smoothing=0.1)
    logits = Tensor(np.zeros((4, 1), dtype=np.float32))
    # D outputs 0 everywhere: BCE is ln 2 against 0 and 1; against 0.9 too (sigmoid(0) = .5).
    assert float(task.discriminator_loss(logits, logits).item()) == pytest.approx(math.log(2))
    assert float(task.generator_loss(logits).item()) == pytest.approx(math.log(2))
    real = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)
    loader = DataLoader(ArrayDataset(real), 64)
    first, second = task.evaluate(model, loader), task.evaluate(model, loader)
    assert first == second  # evaluation draws its latent codes from its own seeded generator
    assert set(first) == {"loss_d", "loss_g", "d_accuracy", "frechet_distance"}
    assert 0 <= first["d_accuracy"] <= 1 and first["frechet_distance"] > 0
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
        TASKS["adversarial"]({}, label_smoothing=1.0)


def test_seq2seq_trains_a_registered_encoder_decoder_on_translation_batches():
    """Reversing 5-word sentences: the standard updater on 4-array batches drives the masked
    loss down and the BLEU of the translations up."""
    from dlcore.data import TranslationDataset
    from dlcore.train import components, parse

    rng = np.random.default_rng(0)
    words = ["a", "b", "c", "d", "e"]
    pairs = []
    for _ in range(64):
        sentence = list(rng.choice(words, size=5))
        pairs.append((" ".join(sentence), " ".join(reversed(sentence))))
    dataset = TranslationDataset(pairs, num_steps=7, min_freq=1)
    experiment = components.resolve_data(parse({
        "model": {"name": "seq2seq", "embedding_dim": 16, "hidden_size": 32, "num_layers": 1,
                  "dropout": 0.0},
        "data": {"name": "kjv-rv1909"}, "optim": {"name": "adam", "lr": 0.02}}),
        dataset.metadata)
    assert experiment.model["tgt_vocab_size"] == len(dataset.tgt_vocab)
    dlcore.manual_seed(0)
    model = components.build_model(experiment)
    task = components.build_task(experiment, dataset.metadata)
    updater = components.build_updater(experiment, model, task)
    loader = DataLoader(dataset, 16, shuffle=True)
    before = task.evaluate(model, loader)
    for _ in range(25):
        for batch in loader:
            updater.update(batch, metrics.Meter())
    after = task.evaluate(model, loader)
    assert after["loss"] < before["loss"] / 3 and after["accuracy"] > 0.8
    assert before["bleu"] < 20 < 60 < after["bleu"] <= 100  # greedy translations, reversed
    source, source_len, target, _ = dataset.get_batch(np.arange(len(dataset)))
    greedy = task.translate(model, source, source_len)
    assert task.translate(model, source, source_len, beam_size=1) == greedy
    assert all(task.eos_id not in row and len(row) <= 7 for row in greedy)  # <eos> dropped
    detailed = task.evaluate(model, loader, detailed=True)
    assert detailed["bleu"] == after["bleu"] and 60 < detailed["bleu_beam"] <= 100
