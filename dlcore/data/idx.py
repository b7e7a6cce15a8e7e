"""The IDX format of MNIST and Fashion-MNIST, read with its header checked.

Layout (big-endian): two zero bytes, a type code, the number of dimensions ``d``, then ``d``
u32 sizes, then the payload in C order. Files may be gzip-compressed (``.gz``).
"""
from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file (``.gz`` or raw), in native byte order.

    Raises ValueError naming the file for a bad magic number, an unknown type code or a
    payload whose size disagrees with the header (a truncated or corrupt download).
    """
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (gzip.BadGzipFile, EOFError, zlib.error) as error:
            raise ValueError(f"{path}: corrupt or truncated gzip file ({error})") from error
    return parse_idx(raw, source=str(path))


def parse_idx(raw: bytes, source: str = "IDX data") -> np.ndarray:
    """The array held by the bytes of an IDX file; ``source`` names it in error messages."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{source}: not an IDX file (magic {raw[:4].hex() or 'empty'}, "
                         f"expected 0000 followed by a type code and a dimension count)")
    code, ndim = raw[2], raw[3]
    if code not in _TYPES:
        raise ValueError(f"{source}: unknown IDX type code 0x{code:02x}")
    if ndim == 0:
        raise ValueError(f"{source}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{source}: truncated header ({len(raw)} bytes, {ndim} dimensions "
                         f"need {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"{source}: payload is {len(raw) - header} bytes but shape {shape} of "
                         f"{dtype.name} needs {expected} (truncated or corrupt file)")
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
