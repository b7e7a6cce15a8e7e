"""The adversarial updater on d2l's first GAN: it learns the 2-D Gaussian, and resumes exactly
(both models, both optimizers, the RNG), even in the middle of an n_critic cycle."""
from pathlib import Path

import numpy as np
import pytest

import dlcore
from dlcore.data import ArrayDataset
from dlcore.tensor import Tensor
from dlcore.train import checkpoint, checkpoint_path, components, load, parse, run
from dlcore.train.metrics import Meter

from .conftest import interrupt_and_resume, read_metrics

EXAMPLE = Path(__file__).parents[2] / "examples" / "gan" / "gaussian.toml"
MEAN = np.array([1.0, 2.0])
COV = np.array([[1.0, 2.0], [-0.1, 0.5]]).T @ np.array([[1.0, 2.0], [-0.1, 0.5]])


def generated(run_dir, which):
    state = checkpoint.load(checkpoint_path(run_dir, which))
    model = components.build_model(parse(state["config"]))
    model.load_state_dict(state["model"])
    z = np.random.default_rng(1).standard_normal((20000, 2)).astype(np.float32)
    return model.generator(Tensor(z)).data


def test_the_example_learns_the_gaussian(tmp_path):
    summary = run(EXAMPLE, run_dir=tmp_path)
    records = read_metrics(tmp_path)
    train = [r for r in records if r["kind"] == "train"]
    assert {"loss_d", "loss_g", "d_accuracy", "lr_generator", "lr_discriminator"} <= set(train[0])
    evals = [r["frechet_distance"] for r in records if r["kind"] == "eval"]
    assert summary["monitor"] == "frechet_distance" and summary["best"]["frechet_distance"] == \
        min(evals)
    assert min(evals) < 0.1 < evals[0] / 5  # from far off to close
    samples = generated(tmp_path, "best")
    np.testing.assert_allclose(samples.mean(axis=0), MEAN, atol=0.25)
    np.testing.assert_allclose(np.cov(samples.T), COV, atol=0.6)


NCRITIC = {"data": {"name": "gaussian-2d", "num_samples": 200, "batch_size": 8},
           "model": {"name": "gaussian_gan"}, "task": {"label_smoothing": 0.1},
           "optim": {"name": "adam", "generator": {"lr": 0.005},
                     "discriminator": {"name": "sgd", "lr": 0.05, "momentum": 0.9}},
           "schedule": {"discriminator": {"name": "step", "step_size": 1, "gamma": 0.9}},
           "train": {"epochs": 2, "n_critic": 3, "eval_every": "10 steps"}}


@pytest.mark.parametrize("stop_step", [10, 25, 26])  # 10 % 3 = 1: mid-cycle; 25: epoch's end
def test_resume_mid_n_critic_cycle_is_bit_identical(tmp_path, stop_step):
    last = interrupt_and_resume(parse(NCRITIC, name="gan"), tmp_path, stop_step).last
    assert set(last["updater"]["optimizers"]) == {"generator", "discriminator"}
    assert set(last["updater"]["schedulers"]) == {"discriminator"}
    assert any(key.startswith("generator.") for key in last["model"])


def test_the_generator_steps_once_every_n_critic_steps():
    experiment = parse(NCRITIC, name="gan")
    dlcore.manual_seed(0)
    model = components.build_model(experiment)
    task = components.build_task(experiment, {"input_shape": [2]})
    updater = components.build_updater(experiment, model, task)
    batch = ArrayDataset(np.ones((8, 2), dtype=np.float32)).get_batch(np.arange(8))
    changed = []
    meter = Meter()
    for _ in range(7):
        before = {k: v.copy() for k, v in model.state_dict().items()}
        updater.update(batch, meter)
        after = model.state_dict()
        changed.append(tuple(sorted({k.split(".")[0] for k in after
                                     if not np.array_equal(before[k], after[k])})))
    g_and_d, d_only = ("discriminator", "generator"), ("discriminator",)
    assert changed == [d_only, d_only, g_and_d, d_only, d_only, g_and_d, d_only]
    assert meter.counts["loss_g"] == 2 * 8 and meter.counts["loss_d"] == 7 * 8
    # Every discriminator parameter is trainable again after the generator's step.
    assert all(p.requires_grad for p in model.discriminator.parameters())


def test_a_model_without_generator_and_discriminator_is_a_clear_error():
    raw = {"model": {"name": "mlp"}, "data": {"name": "gaussian-2d"},
           "task": {"name": "adversarial"}}
    experiment = parse(raw)
    model = components.build_model(experiment)
    task = components.build_task(experiment, {})
    with pytest.raises(Exception, match="adversarial training needs a model with a generator, "
                                        "a discriminator and a latent_shape"):
        components.build_updater(experiment, model, task)


def test_the_example_is_valid_and_its_tables_are_per_role():
    experiment = load(EXAMPLE)
    assert experiment.optim["discriminator"]["lr"] == 0.05
    assert experiment.optim["generator"]["lr"] == 0.005
