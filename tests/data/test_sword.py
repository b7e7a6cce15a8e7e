"""SWORD zText reader on a module written here, and the real Bibles when they are present."""
import struct
import zlib

import pytest

from dlcore.data import aligned_pairs, osis_to_text, read_ztext
from dlcore.data.bible import KJV_FILES, RV1909_FILES


def write_testament(folder, prefix, books):
    """Write <prefix>.bzs/.bzv/.bzz: one zlib block per book, entries = the book's verses."""
    bzz, bzs, bzv = b"", b"", b""
    for block, verses in enumerate(books):
        raw = b""
        for verse in verses:
            data = verse.encode("utf-8")
            bzv += struct.pack("<IIH", block, len(raw), len(data))
            raw += data
        packed = zlib.compress(raw)
        bzs += struct.pack("<III", len(bzz), len(packed), len(raw))
        bzz += packed
    bzv += struct.pack("<IIH", 0, 0, 0)  # an empty entry (e.g. a chapter heading slot)
    for ext, content in ((".bzs", bzs), (".bzv", bzv), (".bzz", bzz)):
        (folder / f"{prefix}{ext}").write_bytes(content)


def test_reads_entries_in_index_order(tmp_path):
    write_testament(tmp_path, "ot", [["In the beginning", "Let there be light"], ["Exodus"]])
    write_testament(tmp_path, "nt", [["Año — niño"]])
    assert read_ztext(tmp_path) == ["In the beginning", "Let there be light", "Exodus", "",
                                    "Año — niño", ""]


def test_a_testament_missing_a_file_is_an_error(tmp_path):
    write_testament(tmp_path, "nt", [["verse"]])
    (tmp_path / "nt.bzs").unlink()
    with pytest.raises(ValueError, match="nt lacks nt.bzs"):
        read_ztext(tmp_path)
    (tmp_path / "nt.bzv").unlink(), (tmp_path / "nt.bzz").unlink()
    with pytest.raises(ValueError, match="not a SWORD zText module"):
        read_ztext(tmp_path)


def test_corrupt_modules_are_reported(tmp_path):
    write_testament(tmp_path, "ot", [["a verse"]])
    (tmp_path / "ot.bzz").write_bytes(b"garbage!" * 4)
    with pytest.raises(ValueError, match="block 0 does not decompress"):
        read_ztext(tmp_path)
    (tmp_path / "ot.bzv").write_bytes(b"\x00" * 7)
    with pytest.raises(ValueError, match="not multiples of 12 and 10"):
        read_ztext(tmp_path)


def test_osis_markup_notes_and_entities_are_removed():
    entry = ('<w lemma="strong:H07225">In the beginning</w> God<note type="x">Or, '
             'gods</note> created &amp; made\u00b6  the <transChange>earth</transChange>.')
    assert osis_to_text(entry) == "In the beginning God created & made the earth."


def require_bibles():
    if KJV_FILES.locate() is None or RV1909_FILES.locate() is None:
        pytest.skip("the KJV / RV1909 modules are not here (dl data fetch kjv-rv1909)")


def test_real_kjv_and_rv1909_align_and_filter_to_31048_pairs():
    require_bibles()
    english, spanish = read_ztext(KJV_FILES.locate()), read_ztext(RV1909_FILES.locate())
    assert len(english) == len(spanish) == 32361
    pairs = aligned_pairs()
    assert len(pairs) == 31048
    assert pairs[1][0].startswith("And the earth was without form, and void;")
    assert pairs[1][1].startswith("Y la tierra estaba desordenada y vacía,")
