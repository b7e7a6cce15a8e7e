"""The classic CNNs at their full 224x224 size: the parameter counts and shapes the curriculum
states (FEATURES §11), and small configurations that run."""
import numpy as np
import pytest

import dlcore
from dlcore.models import get_model
from dlcore.nn.utils import parameter_summary


def linear_weights(model):
    return [row["shapes"]["weight"] for row in parameter_summary(model) if row["layer"] == "Linear"]


def test_alexnet_two_hidden_fc_layers_hold_more_than_40m_weights():
    fc1, fc2, _ = linear_weights(get_model("alexnet"))
    assert fc1 == (4096, 6400) and fc2 == (4096, 4096)
    assert fc1[0] * fc1[1] + fc2[0] * fc2[1] == 42_991_616


def test_vgg11_takes_224_to_7_after_five_pools():
    model = get_model("vgg")
    convs = [row for row in parameter_summary(model) if row["layer"] == "Conv2d"]
    assert [row["shapes"]["weight"][0] for row in convs] == [64, 128, 256, 256, 512, 512,
                                                               512, 512]
    assert linear_weights(model)[0] == (4096, 512 * 7 * 7)


@pytest.mark.parametrize("name, options, size", [
    ("alexnet", {"width": 8, "fc_width": 64}, 224), ("alexnet", {"width": 4}, 67),
    ("vgg", {"width": 16, "fc_width": 32}, 32), ("nin", {"width": 8}, 224),
    ("nin", {"width": 4, "num_classes": 3, "in_channels": 3}, 67),
])
def test_small_configurations_run_to_logits(name, options, size):
    dlcore.manual_seed(0)
    model = get_model(name, image_size=size, **options)
    model.eval()
    channels = options.get("in_channels", 1)
    logits = model(dlcore.randn(2, channels, size, size))
    assert logits.shape == (2, options.get("num_classes", 10))
    assert np.isfinite(logits.numpy()).all()


@pytest.mark.parametrize("name", ["alexnet", "nin", "vgg"])
def test_images_too_small_for_the_layers_are_refused_clearly(name):
    with pytest.raises(ValueError, match=f"the input is too small for {name}'s layers.*"
                                         "give it larger images"):
        get_model(name, image_size={"vgg": 16}.get(name, 28))
