"""One builder, two frameworks: a zoo builder given ``torch.nn`` builds the PyTorch twin, with
the same state_dict names and shapes, and computes the same outputs from the same weights."""
import numpy as np
import pytest

import dlcore
from dlcore.models import MODELS, get_model

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("name, options, shape", [
    ("lenet", {}, (1, 28, 28)),
    ("lenet", {"activation": "sigmoid", "pool": "avg", "num_classes": 3, "in_channels": 3},
     (3, 28, 28)),
    ("mlp", {"in_features": 12, "hidden": [7, 5], "activation": "tanh"}, (3, 4)),
    ("mlp", {"in_features": 6, "batch_norm": True, "dropout": 0.2}, (6,)),
    ("alexnet", {"width": 8, "fc_width": 32, "image_size": 67}, (1, 67, 67)),
    ("vgg", {"width": 16, "fc_width": 16, "image_size": 32, "arch": ((1, 64), (2, 128))},
     (1, 32, 32)),
    ("vgg", {"width": 16, "fc_width": 16, "image_size": 32, "arch": ((1, 64), (2, 128)),
             "batch_norm": True}, (1, 32, 32)),
    ("nin", {"width": 8, "image_size": 67, "in_channels": 3}, (3, 67, 67)),
    ("nin", {"width": 8, "image_size": 67, "batch_norm": True}, (1, 67, 67)),
])
def test_the_torch_twin_has_our_names_shapes_and_outputs(name, options, shape):
    ours, twin = get_model(name, **options), get_model(name, nn=torch.nn, **options)
    ours_state = ours.state_dict()
    twin_state = twin.state_dict()
    assert list(ours_state) == list(twin_state)
    assert all(tuple(twin_state[k].shape) == v.shape for k, v in ours_state.items())
    twin.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in ours_state.items()})
    ours.eval(), twin.eval()
    x = np.random.default_rng(0).standard_normal((5, *shape)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(dlcore.from_numpy(x)).numpy(), expected, rtol=1e-4,
                               atol=1e-5)


def test_the_namespace_is_not_a_hyper_parameter_and_builders_without_it_say_so():
    assert "nn" not in MODELS["lenet"].options() and "nn" not in MODELS["mlp"].options()
    with pytest.raises(ValueError, match="builds with dlcore.nn only"):
        get_model("seq2seq", nn=torch.nn)


@pytest.mark.parametrize("name, options, shape", [
    ("resnet18", {"width": 16, "stem": "small", "image_size": 12}, (1, 12, 12)),
    ("resnext", {"width": 8, "groups": 2, "stem": "small", "image_size": 12}, (1, 12, 12)),
    ("googlenet", {"width": 16, "stem": "small", "image_size": 16}, (1, 16, 16)),
    ("googlenet", {"width": 16, "stem": "small", "image_size": 16, "batch_norm": True},
     (1, 16, 16)),
    ("densenet", {"growth_rate": 4, "init_channels": 8, "arch": (2, 2), "stem": "small",
                  "image_size": 8}, (1, 8, 8)),
    ("lenet_bn", {}, (1, 28, 28)),
])
def test_the_joined_families_have_torch_twins_too(name, options, shape):
    test_the_torch_twin_has_our_names_shapes_and_outputs(name, options, shape)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_language_model_twin_takes_the_same_tokens_to_the_same_logits(cell):
    options = dict(vocab_size=11, embedding_dim=5, hidden_size=7, num_layers=2, cell=cell)
    ours, twin = get_model("rnn_lm", **options), get_model("rnn_lm", nn=torch.nn, **options)
    assert list(ours.state_dict()) == list(twin.state_dict())
    twin.load_state_dict({k: torch.from_numpy(np.asarray(v))
                          for k, v in ours.state_dict().items()})
    tokens = np.random.default_rng(0).integers(0, 11, (3, 9))
    with torch.no_grad():
        expected = twin(torch.from_numpy(tokens)).numpy()
    np.testing.assert_allclose(ours(dlcore.tensor(tokens)).numpy(), expected, rtol=1e-4,
                               atol=1e-5)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_the_gpt_twin_takes_the_same_tokens_to_the_same_logits(positions):
    options = dict(vocab_size=13, block_size=16, d_model=12, num_heads=3, num_layers=2,
                   positions=positions)
    ours, twin = get_model("gpt", **options), get_model("gpt", nn=torch.nn, **options)
    assert list(ours.state_dict()) == list(twin.state_dict())
    twin.load_state_dict({k: torch.from_numpy(np.asarray(v))
                          for k, v in ours.state_dict().items()})
    ours.eval(), twin.eval()
    tokens = np.random.default_rng(0).integers(0, 13, (3, 9))
    with torch.no_grad():
        expected = twin(torch.from_numpy(tokens)).numpy()
    np.testing.assert_allclose(ours(dlcore.tensor(tokens)).numpy(), expected, rtol=1e-4,
                               atol=1e-5)
