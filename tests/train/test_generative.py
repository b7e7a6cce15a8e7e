"""The generative image models end to end: the autoencoder, the VAE and DCGAN train from a
config on a tiny image set, their losses move the right way, a run writes a sample grid at
each evaluation, ``dl sample`` draws, reconstructs and interpolates, and a DCGAN resumes
bit-exactly in the middle of an epoch."""
import json

import numpy as np
import pytest
from click.testing import CliRunner

import dlcore
from dlcore.cli.main import cli
from dlcore.data import ArrayDataset
from dlcore.data import registry as data_registry
from dlcore.tensor import Tensor
from dlcore.train import ConfigError, components, parse, run
from dlcore.train import predict, sampling
from dlcore.train.tasks import Adversarial, Reconstruction, Variational

from .conftest import interrupt_and_resume, read_metrics

PIL = pytest.importorskip("PIL.Image")


def blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n 28x28 images in [0, 1], a bright square of random size and place on black, and their
    labels: 1 for the large squares (sides 10 to 13), 0 for the small (6 to 9)."""
    rng = np.random.default_rng(seed)
    images, labels = np.zeros((n, 1, 28, 28), np.float32), np.zeros(n, np.int64)
    for image, i in zip(images, range(n)):
        size = rng.integers(6, 14)
        top, left = rng.integers(0, 28 - size, 2)
        image[0, top:top + size, left:left + size] = rng.uniform(0.6, 1.0)
        labels[i] = size >= 10
    return images, labels


@pytest.fixture
def tiny_images(monkeypatch):
    """A registered dataset "tiny-images": 256 training and 64 test squares, small or large."""
    def build(split: str = "train", symmetric: bool = False):
        images, labels = blobs(256 if split == "train" else 64, 0 if split == "train" else 1)
        return ArrayDataset(2 * images - 1 if symmetric else images, labels,
                            metadata={"num_classes": 2})

    monkeypatch.setitem(data_registry.DATASETS, "tiny-images", data_registry.DatasetEntry(
        "tiny-images", build, "generated squares", "none"))


def config(model: dict, epochs: int = 3, **sections) -> dict:
    raw = {"model": model, "data": {"name": "tiny-images", "batch_size": 32,
                                    "val_fraction": 0.0},
           "optim": {"name": "adam", "lr": 0.003}, "train": {"epochs": epochs, "seed": 0}}
    for section, values in sections.items():
        raw[section] = {**raw.get(section, {}), **values}
    return raw


def evals(run_dir, metric):
    return [r[metric] for r in read_metrics(run_dir) if r["kind"] == "eval"]


@pytest.mark.parametrize("model, metric", [
    ({"name": "autoencoder", "latent_dim": 4, "width": 4}, "loss"),
    ({"name": "autoencoder", "latent_dim": 4, "width": 4, "upsample": True}, "loss"),
    ({"name": "vae", "latent_dim": 4, "width": 4}, "neg_elbo"),
])
def test_autoencoders_learn_and_write_a_grid_each_evaluation(tiny_images, tmp_path, model,
                                                             metric):
    summary = run(parse(config(model), name="ae"), run_dir=tmp_path)
    values = evals(tmp_path, metric)
    assert summary["monitor"] == metric
    assert values[-1] < 0.9 * values[0]
    grids = sorted((tmp_path / "samples").glob("step_*.png"))
    assert len(grids) == len(values) == 3
    assert all(r["kind"] != "samples" for r in read_metrics(tmp_path))  # reported, not logged
    with PIL.open(grids[-1]) as image:  # 8 tiles of 28 a row, padding 2 around each
        assert image.size[0] == 8 * 28 + 9 * 2


def test_the_vae_loss_is_reconstruction_plus_beta_kl_and_its_evaluation_repeats(tiny_images):
    experiment = parse(config({"name": "vae", "latent_dim": 3, "width": 4},
                              task={"beta": 2.0}), name="vae")
    train = components.build_dataset(experiment, "train")
    experiment = components.resolve_data(experiment, train.metadata)
    dlcore.manual_seed(0)
    model, task = components.build_model(experiment), components.build_task(
        experiment, train.metadata)
    assert isinstance(task, Variational) and task.beta == 2.0
    x = train.get_batch(np.arange(8))[0]
    loss, (logits, mean, log_var), _ = task.compute(model, (x,))
    bce = (np.maximum(logits.data, 0) - logits.data * x
           + np.log1p(np.exp(-np.abs(logits.data)))).sum() / 8
    kl = 0.5 * (np.exp(log_var.data) + mean.data ** 2 - 1 - log_var.data).sum() / 8
    assert loss.item() == pytest.approx(bce + 2 * kl, rel=1e-5)
    loader = components.build_loader(experiment, train)
    first, second = task.evaluate(model, loader), task.evaluate(model, loader)
    assert first == second
    assert first["neg_elbo"] == pytest.approx(first["reconstruction"] + first["kl"])


def test_bce_reconstruction_refuses_standardised_pixels():
    with pytest.raises(ValueError, match="data.normalize = false"):
        Reconstruction({"normalize": {"mean": [0.3], "std": [0.3]}})


def test_dcgan_resumes_bit_exactly_in_the_middle_of_a_discriminator_cycle(tiny_images,
                                                                          tmp_path):
    """Two discriminator steps per generator step, noisy labels: stopped after step 11 (the
    discriminator has stepped, the generator has not), resumed, it ends as if never stopped."""
    raw = config({"name": "dcgan", "latent_dim": 8, "width": 4}, epochs=2,
                 data={"symmetric": True},
                 task={"label_smoothing": 0.1, "label_flipping": 0.05},
                 optim={"lr": 0.0002, "betas": [0.5, 0.999]}, train={"n_critic": 2})
    interrupt_and_resume(parse(raw, name="dcgan"), tmp_path, step=11)


def test_label_flipping_swaps_that_fraction_of_labels_in_training_only():
    task = Adversarial({"input_shape": [1, 28, 28]}, label_smoothing=0.2, label_flipping=0.3)
    big = Tensor(np.full((4000, 1), 30.0, np.float32))  # every logit says "data", confidently
    dlcore.manual_seed(5)
    loss = task.discriminator_loss(big, big).item()
    dlcore.manual_seed(5)
    draw = dlcore.random.generator().random
    real_flipped, fake_flipped = draw((4000, 1)) < 0.3, draw((4000, 1)) < 0.3
    # BCE at logit 30 is 30 (1 - y) for target y: real targets 0.8 (or 0), fake 0 (or 1)
    real_loss = np.where(real_flipped, 30.0, 30.0 * 0.2).mean()
    fake_loss = np.where(fake_flipped, 0.0, 30.0).mean()
    assert loss == pytest.approx((real_loss + fake_loss) / 2, rel=1e-4)
    assert 0.27 < real_flipped.mean() < 0.33
    assert task.discriminator_loss(big, big, training=False).item() == pytest.approx(15.0)
    with pytest.raises(ValueError, match="label_flipping"):
        Adversarial({}, label_flipping=0.5)


class TestSampling:
    @pytest.fixture
    def vae_run(self, tiny_images, tmp_path):
        run(parse(config({"name": "vae", "latent_dim": 4, "width": 4}, epochs=1), name="v"),
            run_dir=tmp_path / "vae")
        return tmp_path / "vae"

    def test_modes_give_the_grid_they_promise(self, vae_run):
        loaded = predict.load_run(vae_run)
        test = components.build_dataset(loaded.experiment, "test")
        rng = np.random.default_rng(0)
        drawn, columns = sampling.images(loaded.task, loaded.model, "sample", 20, rng)
        assert drawn.shape == (20, 1, 28, 28) and columns == 8
        assert 0 <= drawn.min() and drawn.max() <= 1
        both, columns = sampling.images(loaded.task, loaded.model, "reconstruct", 12, rng, test)
        assert both.shape == (24, 1, 28, 28) and columns == 8  # rows of 8 inputs, 8 outputs
        walk, columns = sampling.images(loaded.task, loaded.model, "interpolate", 15, rng, test,
                                        steps=5)
        assert walk.shape == (15, 1, 28, 28) and columns == 5

    def test_dl_sample_writes_the_pngs(self, vae_run, tmp_path):
        runner = CliRunner()
        for flags, tiles in (([], 16), (["--reconstruct"], 32), (["--interpolate"], 20)):
            out = tmp_path / f"grid{len(flags)}{flags[:1]}.png"
            result = runner.invoke(cli, ["sample", str(vae_run), "--n", "16", "--out", str(out),
                                         "--seed", "3", *flags])
            assert result.exit_code == 0, result.output
            assert f"wrote {tiles} images" in result.output
            with PIL.open(out) as image:
                assert image.mode == "L"

    def test_dl_eval_scores_samples_and_real_images_by_a_classifier(self, vae_run,
                                                                    tiny_images, tmp_path):
        summary = run(parse(config({"name": "lenet"}, epochs=6), name="c"),
                      run_dir=tmp_path / "classifier")
        assert summary["test"]["accuracy"] > 0.8
        result = CliRunner().invoke(cli, ["eval", str(vae_run), "--classifier",
                                          str(tmp_path / "classifier"), "--score-images", "64",
                                          "--json"])
        assert result.exit_code == 0, result.output
        scores = json.loads(result.output)
        for name in ("classifier_score", "real_classifier_score"):
            assert 1.0 <= scores[name] <= 2.0  # two classes
        assert scores["real_classifier_score"] > 1.3  # the classifier tells the real ones apart
        assert scores["score_ratio"] == pytest.approx(
            scores["classifier_score"] / scores["real_classifier_score"])
        assert scores["score_images"] == 64 and "neg_elbo" in scores
        result = CliRunner().invoke(cli, ["eval", str(vae_run), "--classifier", str(vae_run)])
        assert result.exit_code == 1 and "needs a classifier's run" in result.output

    def test_errors_say_what_to_do(self, vae_run, tiny_images, tmp_path):
        run(parse(config({"name": "autoencoder", "latent_dim": 4, "width": 4}, epochs=1),
                  name="a"), run_dir=tmp_path / "ae")
        result = CliRunner().invoke(cli, ["sample", str(tmp_path / "ae"), "--out",
                                          str(tmp_path / "x.png")])
        assert result.exit_code == 1 and "--reconstruct or --interpolate" in result.output
        with pytest.raises(ConfigError, match="needs an autoencoder"):
            sampling.image_task(Adversarial({"input_shape": [1, 28, 28]}), "reconstruct")
        with pytest.raises(ConfigError, match="not images"):
            sampling.image_task(Adversarial({"input_shape": [2]}), "sample")
        result = CliRunner().invoke(cli, ["sample", str(vae_run), "--out",
                                          str(tmp_path / "missing" / "x.png")])
        assert result.exit_code == 1 and "does not exist" in result.output


def test_models_have_their_documented_shapes_and_sizes():
    from dlcore.models import get_model
    vae = get_model("vae", latent_dim=16, width=32)
    mean, log_var = vae.encode(Tensor(np.zeros((2, 1, 28, 28), np.float32)))
    assert mean.shape == log_var.shape == (2, 16)
    gan = get_model("dcgan", latent_dim=64, width=32)
    # generator: 64*128*49 + BN 2*128 + 128*64*16 + BN 2*64 + 64*16 + 1
    assert sum(p.data.size for p in gan.generator.parameters()) == (
        64 * 128 * 49 + 256 + 128 * 64 * 16 + 128 + 64 * 16 + 1)
    # discriminator: 64*16+64 + 64*128*16 + BN 256 + 128*49+1
    assert sum(p.data.size for p in gan.discriminator.parameters()) == (
        64 * 16 + 64 + 64 * 128 * 16 + 256 + 128 * 49 + 1)
    with pytest.raises(ValueError, match="dcgan: image_size must be 28"):
        get_model("dcgan", image_size=32)
    with pytest.raises(ValueError, match="vae: latent_dim"):
        get_model("vae", latent_dim=0)


def test_dcgan_halves_have_pytorch_twins():
    torch = pytest.importorskip("torch")
    from dlcore.models.gan import dcgan_discriminator, dcgan_generator
    for build in (lambda nn: dcgan_generator(8, 4, 1, nn=nn),
                  lambda nn: dcgan_discriminator(1, 4, nn=nn)):
        ours, theirs = build(dlcore.nn), build(torch.nn)
        state = ours.state_dict()
        assert {k: tuple(v.shape) for k, v in theirs.state_dict().items()} == {
            k: tuple(np.shape(v)) for k, v in state.items()}
        theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in state.items()})
    z = np.random.default_rng(0).standard_normal((3, 8, 1, 1)).astype(np.float32)
    ours.eval(), theirs.eval()
    generator, twin = dcgan_generator(8, 4, 1), dcgan_generator(8, 4, 1, nn=torch.nn)
    twin.load_state_dict({k: torch.tensor(np.asarray(v))
                          for k, v in generator.state_dict().items()})
    generator.eval(), twin.eval()
    np.testing.assert_allclose(generator(Tensor(z)).data,
                               twin(torch.tensor(z)).detach().numpy(), rtol=1e-4, atol=1e-5)
