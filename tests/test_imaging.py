"""dlcore.imaging: the standard-library PNG encoder (its chunks and CRCs checked by hand, its
pixels by a small reference decoder and by Pillow), write_png's atomic writes with and without
Pillow, make_grid's layout and value mapping (and torchvision's layout, if installed), and the
argument errors."""
import io
import struct
import sys
import zlib

import numpy as np
import pytest

from dlcore import imaging
from dlcore.imaging import PNG_SIGNATURE, encode_png, make_grid, write_png

SIZES = [(1, 1), (3, 7), (7, 3), (256, 300)]
CHANNELS = [None, 3, 4]  # grey (H, W), RGB, RGBA


def _image(size, channels, kind="noise", seed=0):
    shape = size if channels is None else (*size, channels)
    if kind == "noise":  # noise makes the encoder pick every filter type somewhere
        return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
    y, x = np.indices(shape[:2])  # smooth: the sub / up / Paeth filters win
    smooth = (x * 3 + y * 5 + (x * y) // 7) % 256
    return np.broadcast_to(smooth.reshape(*shape[:2], *(1,) * (len(shape) - 2)),
                           shape).astype(np.uint8)


def _chunks(png: bytes):
    """[(type, data)] of a PNG file, each chunk's CRC checked."""
    assert png[:8] == PNG_SIGNATURE
    chunks, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at:at + 4])
        kind, data = png[at + 4:at + 8], png[at + 8:at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length:at + 12 + length])
        assert crc == zlib.crc32(kind + data), kind
        chunks.append((kind, data))
        at += 12 + length
    assert at == len(png)
    return chunks


def _decode(png: bytes) -> np.ndarray:
    """A reference decoder for 8-bit non-interlaced PNGs, written from the spec, byte by byte."""
    chunks = _chunks(png)
    width, height, depth, color, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 6: 4}[color]
    assert (depth, compression, filtering, interlace) == (8, 0, 0, 0)
    raw = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    stride = width * channels
    assert len(raw) == height * (1 + stride)
    out, prior = [], [0] * stride
    for r in range(height):
        kind, line = raw[r * (1 + stride)], raw[r * (1 + stride) + 1:(r + 1) * (1 + stride)]
        row = []
        for i, value in enumerate(line):
            a = row[i - channels] if i >= channels else 0
            b, c = prior[i], prior[i - channels] if i >= channels else 0
            p = a + b - c
            paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            row.append((value + (0, a, b, (a + b) // 2, paeth)[kind]) % 256)
        out.append(row)
        prior = row
    image = np.array(out, dtype=np.uint8).reshape(height, width, channels)
    return image[:, :, 0] if channels == 1 else image


def _filters(png: bytes) -> set:
    raw = zlib.decompress(b"".join(data for kind, data in _chunks(png) if kind == b"IDAT"))
    width, height, _, color = struct.unpack(">IIBB", _chunks(png)[0][1][:10])
    stride = 1 + width * {0: 1, 2: 3, 6: 4}[color]
    return {raw[r * stride] for r in range(height)}


# --- encode_png: the file structure, everywhere (no Pillow) -----------------------------------

@pytest.mark.parametrize("channels", CHANNELS)
def test_signature_chunks_and_crcs(channels):
    image = _image((3, 7), channels)
    chunks = _chunks(encode_png(image))
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    assert chunks[0][1] == struct.pack(">IIBBBBB", 7, 3, 8, {None: 0, 3: 2, 4: 6}[channels],
                                       0, 0, 0)
    assert chunks[-1][1] == b""


@pytest.mark.parametrize("size", [(1, 1), (3, 7), (7, 3), (12, 17)])
@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("kind", ["noise", "smooth"])
def test_reference_decoder_reads_back_the_pixels(size, channels, kind):
    image = _image(size, channels, kind)
    np.testing.assert_array_equal(_decode(encode_png(image)), image)


def test_every_filter_type_is_chosen_somewhere():
    """So that the round trips above and below exercise all five filters."""
    used = set()
    for channels in CHANNELS:
        for kind in ("noise", "smooth"):
            used |= _filters(encode_png(_image((12, 17), channels, kind)))
    assert used == {0, 1, 2, 3, 4}


def test_filters_beat_no_filtering_on_smooth_images():
    y, x = np.indices((256, 300))  # gradients and shading, as in a generated sample
    image = np.stack([(x + y) / 3, 128 + 60 * np.sin(x / 20) * np.cos(y / 15), x * y / 300],
                     axis=-1).astype(np.uint8)
    unfiltered = np.concatenate([np.zeros((256, 1), np.uint8), image.reshape(256, -1)], axis=1)
    assert len(encode_png(image)) < len(zlib.compress(unfiltered.tobytes(), 6)) / 3


def test_non_contiguous_image_is_encoded_as_its_values():
    image = _image((8, 10), 3)[::-1, ::2]
    np.testing.assert_array_equal(_decode(encode_png(image)), image)


# --- encode_png: the same pixels through Pillow ------------------------------------------------

@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("channels", CHANNELS)
@pytest.mark.parametrize("kind", ["noise", "smooth"])
def test_pillow_decodes_the_same_pixels(size, channels, kind):
    Image = pytest.importorskip("PIL.Image")
    image = _image(size, channels, kind)
    with Image.open(io.BytesIO(encode_png(image))) as decoded:
        assert decoded.mode == {None: "L", 3: "RGB", 4: "RGBA"}[channels]
        np.testing.assert_array_equal(np.asarray(decoded), image)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((4, 4), np.float32), "uint8"),
    ([[0, 1], [2, 3]], "uint8"),
    (np.zeros((4, 4, 2), np.uint8), r"\(H, W, 3\)"),
    (np.zeros((2, 4, 4, 3), np.uint8), "shape"),
    (np.zeros((0, 4), np.uint8), "height and width"),
    (np.zeros((4, 0, 3), np.uint8), "height and width"),
])
def test_encode_png_errors(bad, match):
    with pytest.raises(ValueError, match=f"encode_png: image .*{match}"):
        encode_png(bad)


# --- write_png -------------------------------------------------------------------------------

@pytest.fixture(params=["pillow", "fallback"])
def writer(request, monkeypatch):
    """Run a test with Pillow (skipped if absent) and with its import made to fail."""
    if request.param == "pillow":
        pytest.importorskip("PIL.Image")
    else:
        monkeypatch.setitem(sys.modules, "PIL", None)  # `from PIL import Image` -> ImportError
        monkeypatch.setitem(sys.modules, "PIL.Image", None)
        assert imaging._pillow() is None
    return request.param


@pytest.mark.parametrize("channels", CHANNELS)
def test_write_png_writes_the_image_and_no_temp_file(tmp_path, writer, channels):
    image = _image((7, 3), channels)
    target = tmp_path / "grid.png"
    assert write_png(target, image) == target
    assert write_png(str(target), image[::-1].copy()) == target  # replaces, str paths too
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]
    png = target.read_bytes()
    if writer == "fallback":
        assert png == encode_png(image[::-1].copy())
    np.testing.assert_array_equal(_decode(png), image[::-1])


def test_failed_write_keeps_the_old_file_and_no_temp(tmp_path, writer, monkeypatch):
    target = tmp_path / "grid.png"
    write_png(target, _image((3, 3), None))
    before = target.read_bytes()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(imaging, "encode_png", crash)  # the fallback path
    monkeypatch.setattr(imaging.os, "fsync", crash)  # both paths
    with pytest.raises(KeyboardInterrupt):
        write_png(target, _image((5, 5), 3))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]


def test_write_png_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="write_png: folder .*missing.* does not exist"):
        write_png(tmp_path / "missing" / "grid.png", _image((3, 3), None))
    with pytest.raises(ValueError, match="write_png: image must be a uint8"):
        write_png(tmp_path / "grid.png", np.zeros((3, 3)))
    assert not (tmp_path / "missing").exists()
    assert list(tmp_path.iterdir()) == []


# --- make_grid: layout -----------------------------------------------------------------------

def _numbered(n, channels, height=5, width=4):
    """uint8 images whose pixels all equal 10 + the image's index (per channel: + 100 * c)."""
    values = 10 + np.arange(n)[:, None] + 100 * np.arange(channels)[None, :]
    return np.broadcast_to(values[:, :, None, None], (n, channels, height, width)).astype(np.uint8)


@pytest.mark.parametrize("channels", [1, 3])
def test_grid_geometry_and_tile_positions(channels):
    images = _numbered(10, channels)
    grid = make_grid(images, nrow=4, padding=2)
    assert grid.dtype == np.uint8
    assert grid.shape == (3 * 5 + 4 * 2, 4 * 4 + 5 * 2) + ((3,) if channels == 3 else ())
    expected = np.full(grid.shape, 255, np.uint8)  # pad_value 1.0: white padding and gaps
    for index in range(10):
        row, col = divmod(index, 4)
        top, left = 2 + row * 7, 2 + col * 6
        expected[top:top + 5, left:left + 4] = images[index].transpose(1, 2, 0).squeeze(-1) \
            if channels == 1 else images[index].transpose(1, 2, 0)
    np.testing.assert_array_equal(grid, expected)
    tile = grid[2 + 1 * 7:2 + 1 * 7 + 5, 2 + 2 * 6:2 + 2 * 6 + 4]  # row 1, column 2
    assert (tile.reshape(-1, channels) == 10 + 6 + 100 * np.arange(channels)).all()


def test_grid_layout_details():
    images = _numbered(3, 1)
    assert make_grid(images, nrow=8, padding=1).shape == (5 + 2, 3 * 4 + 4)  # one short row
    flat = make_grid(images, padding=0)  # no padding: the tiles side by side
    np.testing.assert_array_equal(flat, np.concatenate(list(images[:, 0]), axis=1))
    np.testing.assert_array_equal(make_grid(images[:, 0]), make_grid(images))  # (N, H, W)
    dark = make_grid(_numbered(3, 3), nrow=2, pad_value=0.0)
    assert (dark[:2] == 0).all() and (dark[9:, 8:] == 0).all()  # edge, empty slot
    assert (make_grid(images, pad_value=0.5)[0] == 128).all()
    single = make_grid(_numbered(1, 3), padding=2)  # padded too (torchvision returns it bare)
    assert single.shape == (9, 8, 3)


def test_inputs_above_reconstructions_below():
    inputs, outputs = _numbered(4, 1), _numbered(4, 1)[::-1]
    grid = make_grid(np.concatenate([inputs, outputs]), nrow=len(inputs))
    assert grid[2, 2] == 10 and grid[2 + 7, 2] == 13


# --- make_grid: values -----------------------------------------------------------------------

def test_value_range_maps_and_clips():
    images = np.array([-3.0, -1.0, 0.0, 1.0, 3.0, 0.5 / 255])[:, None, None, None]
    pixels = make_grid(images, nrow=6, padding=0, value_range=(-1, 1))
    assert pixels.tolist() == [[0, 0, 128, 255, 255, 128]]
    tanh_like = make_grid(np.linspace(0, 1, 256)[:, None, None], nrow=256, padding=0,
                          value_range=(0.0, 1.0))
    np.testing.assert_array_equal(tanh_like[0], np.arange(256))  # k / 255 -> k, exactly


def test_batch_min_max_without_value_range():
    images = np.array([2.0, 4.0, 6.0])[:, None, None]
    assert make_grid(images, padding=0).tolist() == [[0, 128, 255]]
    assert make_grid(images.astype(np.float32) * 2.0**-30, padding=0).tolist() == [[0, 128, 255]]
    ints = np.array([1, 2, 3], np.int64)[:, None, None]  # not uint8: scaled like floats
    assert make_grid(ints, padding=0).tolist() == [[0, 128, 255]]


@pytest.mark.filterwarnings("error")
def test_constant_batch_is_mid_grey():
    grid = make_grid(np.full((3, 1, 2, 2), 0.7), nrow=3, padding=1)
    assert (grid[1:3, 1:3] == 128).all() and (grid[0] == 255).all()


def test_uint8_images_are_kept_unless_value_range_is_given():
    images = np.array([[[[7, 200]]]], np.uint8)
    assert make_grid(images, padding=0).tolist() == [[7, 200]]
    assert make_grid(images, padding=0, value_range=(0, 100)).tolist() == [[18, 255]]


def test_tensors_are_accepted():
    import dlcore
    images = dlcore.rand(4, 3, 5, 5)
    np.testing.assert_array_equal(make_grid(images), make_grid(images.numpy()))


# --- make_grid: errors -----------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(images=np.zeros((0, 1, 4, 4))), "images must hold at least one"),
    (dict(images=np.zeros((2, 1, 0, 4))), "images must hold at least one"),
    (dict(images=np.array([0.0, np.nan])[:, None, None]), "images contain NaN"),
    (dict(images=np.array([0.0, np.inf])[:, None, None], value_range=(0, 1)), "images contain"),
    (dict(images=np.zeros((4, 4))), r"images must be \(N, C, H, W\)"),
    (dict(images=np.zeros((1, 2, 1, 4, 4))), r"images must be \(N, C, H, W\)"),
    (dict(images=np.zeros((2, 4, 4, 4))), "images must be .*C = 1 or 3"),
    (dict(images=np.zeros((2, 8, 8, 3))), "images must be .*channels last"),
    (dict(images=np.zeros((2, 1, 2, 2), complex)), "images must be real"),
    (dict(images=np.array([["a"]], dtype=object)[None]), "images must be real"),
    (dict(nrow=0), "nrow must be an int >= 1"),
    (dict(nrow=2.0), "nrow must be an int"),
    (dict(padding=-1), "padding must be an int >= 0"),
    (dict(pad_value=1.5), r"pad_value must be a number in \[0, 1\]"),
    (dict(pad_value=None), "pad_value"),
    (dict(value_range=(1, 1)), "value_range must be"),
    (dict(value_range=(0, np.nan)), "value_range must be"),
    (dict(value_range=(0, 1, 2)), "value_range must be"),
    (dict(value_range="ab"), "value_range must be"),
])
def test_make_grid_errors(kwargs, match):
    kwargs = {"images": np.zeros((2, 1, 3, 3)), **kwargs}
    with pytest.raises(ValueError, match=f"^make_grid: {match}") as error:
        make_grid(**kwargs)
    assert "\n" not in str(error.value)


# --- against torchvision ---------------------------------------------------------------------

@pytest.mark.parametrize("n, nrow, padding, value_range", [
    (10, 4, 2, (0.0, 1.0)), (7, 3, 1, (-1.0, 1.0)), (5, 8, 0, None), (6, 2, 3, None),
])
def test_layout_and_pixels_match_torchvision(n, nrow, padding, value_range):
    torch = pytest.importorskip("torch")
    utils = pytest.importorskip("torchvision.utils")
    images = np.random.default_rng(n).uniform(-1.2, 1.2, (n, 3, 5, 4)).astype(np.float32)
    theirs = utils.make_grid(torch.from_numpy(images), nrow=nrow, padding=padding,
                             pad_value=1.0, normalize=True, value_range=value_range)
    theirs = theirs.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(torch.uint8).numpy()
    ours = make_grid(images, nrow=nrow, padding=padding, value_range=value_range)
    np.testing.assert_array_equal(ours, theirs)
    grey = make_grid(images[:, :1], nrow=nrow, padding=padding, value_range=value_range)
    assert grey.shape == ours.shape[:2]
