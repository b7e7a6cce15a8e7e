"""Image grids and PNG files, for looking at a generative model's samples.

:func:`make_grid` lays a batch out as one picture, tiled like ``torchvision.utils.make_grid``
(so a grid reads the same as in the papers and tutorials the models come from) and converted
to 8-bit pixels as ``torchvision.utils.save_image`` converts them. :func:`write_png` saves it
atomically, so a run killed mid-write never leaves a truncated PNG that a viewer or a later
comparison chokes on. Pillow writes the file when installed; otherwise :func:`encode_png`, a
small standard-library encoder, does, so dlcore needs only numpy. "Inputs above,
reconstructions below" is ``make_grid(np.concatenate([x, x_hat]), nrow=len(x))``.
"""
from __future__ import annotations

import binascii
import numbers
import os
import secrets
import struct
import zlib
from pathlib import Path

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOR_TYPE = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type (grey, RGB, RGBA)


def make_grid(images, nrow: int = 8, padding: int = 2, pad_value: float = 1.0,
              value_range: tuple[float, float] | None = None) -> np.ndarray:
    """One uint8 picture of a batch ``images`` (N, C, H, W) with C = 1 or 3, or (N, H, W):
    (H', W') for grey, (H', W', 3) for RGB, ready for :func:`write_png`.

    Tiles go row-major, ``min(nrow, N)`` per row, with ``padding`` pixels between them and
    around the edge; the padding and the empty end of the last row are ``pad_value``, a
    fraction of full intensity (1.0 white, 0.0 black). Float images map ``value_range = (lo,
    hi)`` to 0..255, clipped, so samples of one model compare across calls; ``None`` stretches
    the batch's own min..max (a constant batch becomes mid grey). uint8 images are already
    pixels and are kept as they are unless ``value_range`` is given. Any tensor or array-like
    is read through ``np.asarray``.
    """
    batch = np.asarray(images)
    if batch.ndim == 3:
        batch = batch[:, None]
    if batch.ndim != 4 or batch.shape[1] not in (1, 3):
        hint = (" (channels last? move C to axis 1)"
                if batch.ndim == 4 and batch.shape[-1] in (1, 3) else "")
        raise ValueError("make_grid: images must be (N, C, H, W) with C = 1 or 3, or (N, H, W),"
                         f" got shape {np.shape(images)}{hint}")
    n, channels, height, width = batch.shape
    if n == 0 or height == 0 or width == 0:
        raise ValueError(f"make_grid: images must hold at least one non-empty image, "
                         f"got shape {batch.shape}")
    if not (np.issubdtype(batch.dtype, np.number) or batch.dtype == np.bool_) \
            or np.issubdtype(batch.dtype, np.complexfloating):
        raise ValueError(f"make_grid: images must be real numbers, got dtype {batch.dtype}")
    nrow = _int(nrow, "nrow", 1)
    padding = _int(padding, "padding", 0)
    if (not isinstance(pad_value, numbers.Real) or isinstance(pad_value, bool)
            or not 0.0 <= pad_value <= 1.0):
        raise ValueError(f"make_grid: pad_value must be a number in [0, 1], got {pad_value!r}")
    pixels = _to_uint8(batch, value_range)

    columns = min(nrow, n)
    rows = -(-n // columns)
    step_y, step_x = height + padding, width + padding
    fill = np.uint8(np.floor(pad_value * 255 + 0.5))
    grid = np.full((rows * step_y + padding, columns * step_x + padding, channels), fill,
                   dtype=np.uint8)
    for index in range(n):
        top = (index // columns) * step_y + padding
        left = (index % columns) * step_x + padding
        grid[top:top + height, left:left + width] = pixels[index].transpose(1, 2, 0)
    return grid[:, :, 0] if channels == 1 else grid


def _int(value, name: str, minimum: int) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"make_grid: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _to_uint8(batch: np.ndarray, value_range) -> np.ndarray:
    """``batch`` as 0..255 pixels, rounded half up as torchvision's ``save_image`` rounds."""
    if value_range is None and batch.dtype == np.uint8:
        return batch
    values = batch.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError("make_grid: images contain NaN or infinite values")
    if value_range is None:
        lo, hi = float(values.min()), float(values.max())
        if hi == lo:  # nothing to stretch: mid grey rather than a division by zero
            return np.full(batch.shape, 128, dtype=np.uint8)
    else:
        try:
            lo, hi = (float(v) for v in value_range)
        except (TypeError, ValueError):
            lo = hi = float("nan")
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ValueError("make_grid: value_range must be (lo, hi) with finite lo < hi, "
                             f"got {value_range!r}")
    scaled = np.clip((values - lo) / (hi - lo), 0.0, 1.0)
    return np.floor(scaled * 255 + 0.5).astype(np.uint8)


def encode_png(image: np.ndarray) -> bytes:
    """The PNG file of a uint8 image (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA.

    Standard library only (zlib), so samples can be saved without Pillow. Each row gets the
    PNG filter (none, sub, up, average, Paeth) whose output has the smallest sum of absolute
    signed bytes, libpng's heuristic: smooth generated images compress several times smaller
    than with no filtering, at the cost of a few numpy passes.
    """
    image = _check_image(image, "encode_png")
    height, width = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOR_TYPE[channels], 0, 0, 0)
    raw = _filter_rows(image.reshape(height, width * channels), channels)
    return (PNG_SIGNATURE + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b""))


def _check_image(image, owner: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        kind = image.dtype if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"{owner}: image must be a uint8 ndarray (make_grid makes one), "
                         f"got {kind}")
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (3, 4))):
        raise ValueError(f"{owner}: image must be (H, W), (H, W, 3) or (H, W, 4), "
                         f"got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0 or max(image.shape[:2]) > 2**31 - 1:
        raise ValueError(f"{owner}: image height and width must be 1 to 2**31 - 1, "
                         f"got shape {image.shape}")
    return np.ascontiguousarray(image)


def _filter_rows(rows: np.ndarray, bpp: int) -> bytes:
    """The filtered scanlines (H, 1 + row bytes) as bytes, each led by its filter type.

    All five filters predict from the unfiltered neighbours (left ``a``, up ``b``, up-left
    ``c``; zero outside the image), so each is computed for the whole image at once."""
    x = rows.astype(np.int16)
    a = np.zeros_like(x)
    a[:, bpp:] = x[:, :-bpp]
    b = np.zeros_like(x)
    b[1:] = x[:-1]
    c = np.zeros_like(x)
    c[1:, bpp:] = x[:-1, :-bpp]
    pa, pb, pc = np.abs(b - c), np.abs(a - c), np.abs(a + b - 2 * c)
    paeth = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
    candidates = np.stack([x, x - a, x - b, x - (a + b) // 2, x - paeth]) & 0xFF
    cost = np.minimum(candidates, 256 - candidates).sum(axis=2, dtype=np.int64)
    best = cost.argmin(axis=0)  # (H,): ties go to the simpler filter
    out = np.empty((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)
    out[:, 0] = best
    out[:, 1:] = candidates[best, np.arange(rows.shape[0])]
    return out.tobytes()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", binascii.crc32(kind + data) & 0xFFFFFFFF))


def write_png(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write ``image`` (as for :func:`encode_png`) to ``path`` as a PNG, all or nothing: into
    a temporary file in the same folder, fsync'd, renamed over ``path``; returns the path.

    Pillow, the encoder most PNG files come from, writes when importable, else
    :func:`encode_png` (same pixels, similar size and speed). The folder must exist: a typo
    in an output path should fail, not scatter folders."""
    path = Path(path)
    image = _check_image(image, "write_png")
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"write_png: folder {folder} does not exist (for {path})")
    pil = _pillow()
    temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as file:  # unlike mkstemp's 0600, the umask's permissions
            if pil is None:
                file.write(encode_png(image))
            else:
                pil.fromarray(image).save(file, format="PNG")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return path


def _pillow():
    """``PIL.Image``, or None without Pillow (then :func:`encode_png` writes)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable too, where folders can be opened (not on Windows)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
