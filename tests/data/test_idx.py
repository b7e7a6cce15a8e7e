"""IDX files: the header is checked, the payload comes back in native byte order."""
import gzip
import struct

import numpy as np
import pytest

from dlcore.data import parse_idx, read_idx


def idx_bytes(array: np.ndarray, code: int) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_reads_uint8_images_raw_and_gzipped(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = tmp_path / "images-idx3-ubyte"
    raw.write_bytes(idx_bytes(images, 0x08))
    packed = tmp_path / "images-idx3-ubyte.gz"
    packed.write_bytes(gzip.compress(idx_bytes(images, 0x08)))
    for path in (raw, packed):
        out = read_idx(path)
        assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
        np.testing.assert_array_equal(out, images)


def test_labels_are_one_dimensional():
    labels = np.array([9, 0, 0, 3], dtype=np.uint8)
    np.testing.assert_array_equal(parse_idx(idx_bytes(labels, 0x08)), labels)


@pytest.mark.parametrize("code, dtype", [(0x0B, np.int16), (0x0C, np.int32),
                                         (0x0D, np.float32), (0x0E, np.float64)])
def test_multibyte_types_are_big_endian_on_disk_native_in_memory(code, dtype):
    values = np.array([[1, -2, 300], [4, 5, -600]], dtype=dtype)
    out = parse_idx(idx_bytes(values, code))
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, values)


@pytest.mark.parametrize("raw, message", [
    (b"", "not an IDX file"),
    (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "not an IDX file"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x07", "unknown IDX type code 0x07"),
    (b"\x00\x00\x08\x00", "0 dimensions"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated header"),
])
def test_bad_headers_are_named(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_idx(raw)


def test_truncated_payload_reports_sizes():
    raw = idx_bytes(np.zeros((10, 28, 28), np.uint8), 0x08)
    with pytest.raises(ValueError, match=r"payload is 7839 bytes but shape \(10, 28, 28\)"):
        parse_idx(raw[:-1])


def test_corrupt_and_truncated_gzip_files_name_the_file(tmp_path):
    good = gzip.compress(idx_bytes(np.zeros((100, 28, 28), np.uint8), 0x08))
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(good[: len(good) // 2])
    corrupt = tmp_path / "corrupt.gz"
    corrupt.write_bytes(b"this is not gzip")
    for path in (truncated, corrupt):
        with pytest.raises(ValueError, match=f"{path.name}: corrupt or truncated gzip"):
            read_idx(path)
