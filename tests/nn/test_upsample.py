"""nn.Upsample: the op as a layer; values, the conv decoder it feeds, repr, argument checks."""
import numpy as np
import pytest

import dlcore
import dlcore.nn.functional as F
from dlcore import nn

SETTINGS = [dict(scale_factor=2), dict(scale_factor=(1.5, 0.5), mode="bilinear"),
            dict(size=(5, 11), mode="bilinear", align_corners=True), dict(size=3),
            dict(scale_factor=1.4, recompute_scale_factor=True)]


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_layer_is_the_op(settings):
    x = dlcore.randn(2, 3, 4, 6)
    np.testing.assert_array_equal(nn.Upsample(**settings)(x).data,
                                  F.interpolate(x, **settings).data)


@pytest.mark.parametrize("settings", SETTINGS)
def test_the_layer_matches_pytorchs(settings):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 6)).astype(np.float32)
    expected = torch.nn.Upsample(**settings)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(nn.Upsample(**settings)(dlcore.tensor(x)).data, expected,
                               rtol=1e-5, atol=1e-6)


def test_nearest_x2_then_a_stride_one_conv_doubles_the_map_and_trains():
    """FEATURES §1: nearest ×2 repeats rows and columns, and a 3×3 stride-1 conv follows — the
    upsampling that avoids a transposed conv's checkerboard."""
    decoder = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(4, 2, 3, padding=1))
    x = dlcore.randn(2, 4, 5, 3)
    up = decoder[0](x)
    np.testing.assert_array_equal(up.data, x.data.repeat(2, axis=2).repeat(2, axis=3))
    out = decoder(x)
    assert out.shape == (2, 2, 10, 6)
    out.sum().backward()
    assert decoder[1].weight.grad is not None and np.abs(decoder[1].weight.grad).sum() > 0
    assert list(decoder[0].parameters()) == []


def test_repr_is_pytorchs():
    assert repr(nn.Upsample(scale_factor=2)) == "Upsample(scale_factor=2.0, mode='nearest')"
    assert (repr(nn.Upsample(size=(5, 11), mode="bilinear", align_corners=True))
            == "Upsample(size=(5, 11), mode='bilinear')")
    assert (repr(nn.Upsample(scale_factor=(2, 1.5), mode="bilinear"))
            == "Upsample(scale_factor=(2.0, 1.5), mode='bilinear')")
    torch = pytest.importorskip("torch")
    for settings in SETTINGS:
        assert repr(nn.Upsample(**settings)) == repr(torch.nn.Upsample(**settings))


@pytest.mark.parametrize("settings, message", [
    (dict(), "Upsample: give exactly one of size and scale_factor, got neither"),
    (dict(size=2, scale_factor=2), "Upsample: give exactly one of size and scale_factor, got both"),
    (dict(scale_factor=-2), r"Upsample: scale_factor must be in \(0, inf\)"),
    (dict(size=0), "Upsample: size must be a positive int"),
    (dict(scale_factor=2, mode="trilinear"), "Upsample: mode must be one of"),
    (dict(scale_factor=2, align_corners=True), "Upsample: align_corners can only be set"),
    (dict(size=4, recompute_scale_factor=True),
     "Upsample: recompute_scale_factor is not meaningful with an explicit size"),
])
def test_bad_settings_fail_when_the_layer_is_built(settings, message):
    with pytest.raises(ValueError, match=message):
        nn.Upsample(**settings)


def test_bad_inputs_are_refused_naming_the_layer():
    with pytest.raises(ValueError, match=r"Upsample with mode='bilinear' expects input "
                                         r"\(N, C, H, W\), got input of shape \(2, 3, 4\)"):
        nn.Upsample(scale_factor=2, mode="bilinear")(dlcore.randn(2, 3, 4))
    with pytest.raises(TypeError, match="Upsample expects a floating-point input"):
        nn.Upsample(scale_factor=2)(dlcore.zeros(1, 1, 2, 2, dtype=np.int64))
    with pytest.raises(TypeError, match="Upsample expects a Tensor input"):
        nn.Upsample(scale_factor=2)(np.zeros((1, 1, 2, 2), np.float32))
    assert nn.Upsample(scale_factor=2, mode="linear")(dlcore.randn(2, 3, 4)).shape == (2, 3, 8)
