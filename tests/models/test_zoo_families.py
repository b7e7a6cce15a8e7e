"""GoogLeNet, ResNet, DenseNet and the named variants: the curriculum's facts (FEATURES §11)
at full size, forward and backward on small inputs, and bad options named clearly."""
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F
from dlcore import models
from dlcore.models import get_model
from dlcore.models.googlenet import INCEPTIONS
from dlcore.nn.utils import parameter_summary


def count(model):
    return sum(p.data.size for p in model.parameters())


def test_googlenet_inception_outputs_are_the_curriculum_totals():
    totals = [c1 + c2[1] + c3[1] + c4 for group in INCEPTIONS for c1, c2, c3, c4 in group]
    assert totals == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    assert [len(group) for group in INCEPTIONS] == [2, 5, 2]
    fc = [row["shapes"]["weight"] for row in parameter_summary(get_model("googlenet"))
          if row["layer"] == "Linear"]
    assert fc == [(10, 1024)]


def test_resnet18_has_17_convs_on_its_main_path_and_one_fc():
    convs = [row["shapes"]["weight"] for row in parameter_summary(get_model("resnet18"))
             if row["layer"] == "Conv2d"]
    main = [shape for shape in convs if shape[2:] != (1, 1)]
    shortcuts = [shape for shape in convs if shape[2:] == (1, 1)]
    assert len(main) == 1 + 4 * 2 * 2 and shortcuts == [(128, 64, 1, 1), (256, 128, 1, 1),
                                                         (512, 256, 1, 1)]
    assert count(get_model("resnet18")) == 11_175_370  # bias-free convs before BatchNorm


def test_resnext_block_groups_its_3x3_conv_of_the_bottleneck_width():
    from dlcore.models.resnet import resnext_block
    block = resnext_block(16, 32, stride=2, groups=4, bottleneck=0.5)
    grouped = [row["shapes"]["weight"] for row in parameter_summary(block)
               if row["layer"] == "Conv2d" and row["shapes"]["weight"][2:] == (3, 3)]
    assert grouped == [(16, 4, 3, 3)]  # 16 = 0.5 * 32 channels, 4 groups of 4 inputs
    assert block(dlcore.randn(2, 16, 9, 9)).shape == (2, 32, 5, 5)


def test_residual_block_keeps_shape_or_halves_it_with_the_strided_shortcut():
    from dlcore.models.resnet import residual_block
    x = dlcore.randn(2, 8, 7, 7)
    assert residual_block(8, 8)(x).shape == (2, 8, 7, 7)
    assert residual_block(8, 16, stride=2)(x).shape == (2, 16, 4, 4)


def test_dense_block_maps_c_to_c_plus_n_g_and_transition_halves():
    from dlcore.models.densenet import dense_block, transition
    x = dlcore.randn(2, 5, 6, 6)
    y = dense_block(3, 5, 4)(x)
    assert y.shape == (2, 5 + 3 * 4, 6, 6)
    assert transition(17, 8)(y).shape == (2, 8, 3, 3)
    assert count(get_model("densenet")) == 758_162


@pytest.mark.parametrize("name, options, size", [
    ("resnet18", {"width": 16, "stem": "small"}, 28), ("resnet", {"width": 16}, 64),
    ("googlenet", {"width": 16, "stem": "small"}, 28), ("googlenet", {"width": 16}, 32),
    ("densenet", {"growth_rate": 4, "init_channels": 8, "arch": (1, 2), "stem": "small"}, 28),
    ("lenet_bn", {}, 28), ("lenet_classic", {}, 28),
    ("vgg16", {"width": 16, "fc_width": 16}, 32),
    ("resnext", {"width": 8, "groups": 4, "bottleneck": 0.5, "stem": "small"}, 28),
])
def test_forward_and_backward_on_a_batch(name, options, size):
    dlcore.manual_seed(0)
    model = get_model(name, image_size=size, **options) if "lenet" not in name else \
        get_model(name, **options)
    x = dlcore.randn(3, 1, size, size)
    loss = F.cross_entropy(model(x), dlcore.tensor(np.array([0, 1, 2])))
    loss.backward()
    assert np.isfinite(loss.item())
    assert all(p.grad is not None and np.isfinite(p.grad).all() for p in model.parameters())


def test_variants_are_registered_configs_with_their_own_defaults():
    assert models.MODELS["resnet18"].options()["arch"] == models.MODELS["resnet"].options()["arch"]
    assert models.MODELS["lenet_bn"].options()["batch_norm"] is True
    assert models.MODELS["lenet_classic"].options()["activation"] == "sigmoid"
    assert count(get_model("lenet_classic")) == 61_706
    assert models.MODELS["vgg16"].description.startswith("VGG-16")
    # a config may still override a variant's default
    assert count(get_model("lenet_bn", batch_norm=False)) == 61_706
    with pytest.raises(ValueError, match="variant 'x': lenet has no option depth"):
        models.registry.variant("x", "lenet", "no", depth=3)


@pytest.mark.parametrize("name, options, message", [
    ("vgg", {"arch": ((0, 64), (1, 128))}, r"vgg: arch must list \(num_convs >= 1"),
    ("densenet", {"growth_rate": 0}, "densenet: growth_rate must be a positive int"),
    ("densenet", {"arch": (4, 0)}, "densenet: arch must list"),
    ("resnet", {"arch": ((0, 64),)}, r"resnet: arch must list \(blocks >= 1"),
    ("resnet", {"stem": "tiny"}, "resnet: stem must be one of 'imagenet', 'small'"),
    ("googlenet", {"width": 32}, "googlenet: width 32 leaves a path without channels"),
    ("densenet", {"image_size": 16}, "the input is too small for densenet's layers"),
    ("resnext", {"groups": 3}, "resnext: groups 3 must divide the middle width"),
    ("resnext", {"bottleneck": 0}, r"resnext: bottleneck must be in \(0, inf\]"),
])
def test_bad_hyper_parameters_name_the_model_and_the_option(name, options, message):
    with pytest.raises(ValueError, match=message):
        get_model(name, **options)


TINY = {  # a small member of each family, the input size it is built for, and Adam's lr
    "alexnet": (dict(width=16, fc_width=32, dropout=0.0, image_size=67), 67, 0.01),
    "vgg": (dict(arch=((1, 8), (1, 8), (1, 16)), fc_width=32, dropout=0.0, image_size=16), 16,
            0.01),
    "nin": (dict(width=2, dropout=0.0, image_size=67), 67, 0.003),  # dies at 0.01, like torch's
    "googlenet": (dict(width=16, stem="small", image_size=16), 16, 0.003),  # 0.01: chaotic
    "resnet": (dict(arch=((1, 8), (1, 16)), stem="small", image_size=12), 12, 0.01),
    "resnext": (dict(arch=((1, 8), (1, 16)), groups=2, stem="small", image_size=12), 12, 0.01),
    "densenet": (dict(arch=(2, 2), growth_rate=4, init_channels=8, stem="small",
                      image_size=12), 12, 0.01),
    "lenet_bn": ({}, 28, 0.01),
    "lenet_classic": ({}, 28, 0.01),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TINY))
def test_a_tiny_member_of_each_family_learns_a_fixed_batch(name):
    """Sixty Adam steps on 16 fixed images whose class is the bright quadrant: the loss
    falls (an op that broke backward would leave it flat) and, when PyTorch is installed,
    its twin started from the same weights takes the same first ten steps."""
    options, size, lr = TINY[name]
    dlcore.manual_seed(0)
    model = get_model(name, num_classes=4, in_channels=1, **options)
    rng = np.random.default_rng(0)
    labels = np.arange(16) % 4
    images = rng.standard_normal((16, 1, size, size), dtype=np.float32) * 0.5
    half = size // 2
    for i, k in enumerate(labels):
        images[i, 0, (k // 2) * half:(k // 2 + 1) * half, (k % 2) * half:(k % 2 + 1) * half] += 2
    x, y = dlcore.tensor(images), dlcore.tensor(labels)
    optimizer = dlcore.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < 0.9 * losses[0], losses
    torch = pytest.importorskip("torch")
    twin = get_model(name, nn=torch.nn, num_classes=4, in_channels=1, **options)
    dlcore.manual_seed(0)
    twin.load_state_dict({key: torch.from_numpy(np.array(value)) for key, value in
                          get_model(name, num_classes=4, in_channels=1, **options)
                          .state_dict().items()})
    optimizer = torch.optim.Adam(twin.parameters(), lr=lr)
    theirs = []
    for _ in range(10):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(twin(torch.from_numpy(images)),
                                                 torch.from_numpy(labels))
        loss.backward()
        optimizer.step()
        theirs.append(loss.item())
    np.testing.assert_allclose(losses[:10], theirs, rtol=2e-3)
