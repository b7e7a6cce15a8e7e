"""Batch transforms: shapes, statistics, and draws from the generator they are given."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcore.data import Compose, Normalize, RandomCrop, RandomHorizontalFlip


def images(n=8, c=1, h=6, w=6):
    return np.random.default_rng(0).random((n, c, h, w)).astype(np.float32)


def test_normalize_per_channel():
    x = images(c=3)
    out = Normalize([0.5, 0.25, 0.0], [0.5, 0.5, 2.0])(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, 1], (x[:, 1] - 0.25) / 0.5, rtol=1e-6)


def test_normalize_rejects_mismatched_statistics():
    with pytest.raises(ValueError, match="3 channel statistics.*\\(8, 2, 6, 6\\)"):
        Normalize([0, 0, 0], [1, 1, 1])(images(c=2))
    with pytest.raises(ValueError, match="std must be positive"):
        Normalize(0.0, 0.0)


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 5), c=st.integers(1, 3), h=st.integers(4, 9), w=st.integers(4, 9),
       padding=st.integers(0, 3))
def test_random_crop_shape_and_content(n, c, h, w, padding):
    x = images(n, c, h, w)
    size = min(h, w)
    out = RandomCrop(size, padding)(x, np.random.default_rng(1))
    assert out.shape == (n, c, size, size)
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    for image, crop in zip(padded, out):  # each crop is a window of its own padded image
        windows = np.lib.stride_tricks.sliding_window_view(image, (size, size), axis=(1, 2))
        assert any(np.array_equal(windows[:, i, j], crop)
                   for i in range(windows.shape[1]) for j in range(windows.shape[2]))


def test_random_crop_with_padding_moves_images_by_up_to_padding():
    x = np.zeros((200, 1, 5, 5), np.float32)
    x[:, :, 2, 2] = 1.0
    out = RandomCrop(5, padding=2)(x, np.random.default_rng(0))
    rows, cols = np.nonzero(out[:, 0].sum(axis=2))[1], np.nonzero(out[:, 0].sum(axis=1))[1]
    assert set(rows) == set(cols) == {0, 1, 2, 3, 4}


def test_random_crop_larger_than_the_padded_input_is_refused():
    with pytest.raises(ValueError, match="size 9 exceeds the padded input"):
        RandomCrop(9, padding=1)(images())


def test_flip_mirrors_about_half_the_images():
    x = images(n=400)
    out = RandomHorizontalFlip()(x, np.random.default_rng(0))
    flipped = np.array([np.array_equal(o, i[..., ::-1]) for o, i in zip(out, x)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, x)])
    assert np.all(flipped | kept) and 150 < flipped.sum() < 250


def test_random_transforms_repeat_with_the_same_generator_state():
    transform = Compose(RandomCrop(6, padding=2), RandomHorizontalFlip())
    first = transform(images(), np.random.default_rng(5))
    np.testing.assert_array_equal(first, transform(images(), np.random.default_rng(5)))


def test_transforms_need_image_batches():
    with pytest.raises(ValueError, match=r"RandomHorizontalFlip expects images x: \(N, C, H, W\)"):
        RandomHorizontalFlip()(np.zeros((3, 4)))


@pytest.mark.parametrize("size", [64, (7, 13), 28, 1, (30, 5)])
def test_resize_is_pytorchs_bilinear_interpolation(size):
    torch = pytest.importorskip("torch")
    from dlcore.data import Resize
    x = np.random.default_rng(0).random((2, 3, 28, 28)).astype(np.float32)
    shape = size if isinstance(size, tuple) else (size, size)
    expected = torch.nn.functional.interpolate(torch.from_numpy(x), size=shape,
                                               mode="bilinear", align_corners=False).numpy()
    np.testing.assert_allclose(Resize(size)(x), expected, atol=2e-6)


def test_resize_keeps_constants_and_linear_ramps_and_refuses_bad_sizes():
    from dlcore.data import Resize
    flat = np.full((1, 1, 5, 4), 0.25, np.float32)
    np.testing.assert_allclose(Resize(9)(flat), 0.25, rtol=1e-6)
    same = np.random.default_rng(1).random((2, 1, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(Resize(6)(same), same)
    ramp = np.tile(np.arange(8, dtype=np.float32), (1, 1, 8, 1))   # value = column
    wide = Resize((8, 16))(ramp)[0, 0, 0]
    np.testing.assert_allclose(np.diff(wide[1:-1]), 0.5, rtol=1e-5)  # linear inside the edges
    with pytest.raises(ValueError, match="Resize: size must be an int or a pair of ints >= 1"):
        Resize(0)
    with pytest.raises(ValueError, match=r"Resize expects images x: \(N, C, H, W\)"):
        Resize(4)(np.zeros((3, 4, 4), np.float32))
