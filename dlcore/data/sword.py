"""A pure-Python reader for SWORD "zText" Bible modules (no libsword needed).

Per testament (``ot``, ``nt``) a module has three files:
``.bzz`` zlib-compressed blocks (one per book here), ``.bzs`` the block index (12 bytes per
block: u32 offset, u32 compressed size, u32 size) and ``.bzv`` the entry index (10 bytes per
entry: u32 block, u32 start, u16 size), all little-endian. Entries follow the module's
versification, so two KJV-versified modules align entry by entry.
"""
from __future__ import annotations

import html
import os
import re
import struct
import zlib
from pathlib import Path

_BLOCK = struct.Struct("<III")
_ENTRY = struct.Struct("<IIH")
_NOTE = re.compile(r"<note\b.*?</note>", re.S)
_TAG = re.compile(r"<[^>]+>")


def read_ztext(module_dir: str | os.PathLike) -> list[str]:
    """Every entry of a zText module, Old then New Testament, as raw OSIS markup ('' if empty)."""
    module_dir = Path(module_dir)
    entries: list[str] = []
    testaments = 0
    for testament in ("ot", "nt"):
        paths = [module_dir / f"{testament}{ext}" for ext in (".bzs", ".bzv", ".bzz")]
        present = [p.is_file() for p in paths]
        if not any(present):
            continue
        if not all(present):
            missing = [p.name for p, ok in zip(paths, present) if not ok]
            raise ValueError(f"SWORD module {module_dir}: {testament} lacks {', '.join(missing)}")
        entries += _read_testament(*(p.read_bytes() for p in paths), source=module_dir / testament)
        testaments += 1
    if not testaments:
        raise ValueError(f"{module_dir} is not a SWORD zText module (no ot.* or nt.* files)")
    return entries


def _read_testament(bzs: bytes, bzv: bytes, bzz: bytes, source: Path) -> list[str]:
    if len(bzs) % _BLOCK.size or len(bzv) % _ENTRY.size:
        raise ValueError(f"{source}: index sizes {len(bzs)} (.bzs) and {len(bzv)} (.bzv) are not "
                         f"multiples of {_BLOCK.size} and {_ENTRY.size}: corrupt module")
    blocks: dict[int, bytes] = {}
    entries = []
    for block, start, size in _ENTRY.iter_unpack(bzv):
        if size == 0:
            entries.append("")
            continue
        if block not in blocks:
            blocks[block] = _decompress_block(bzs, bzz, block, source)
        text = blocks[block][start:start + size]
        if len(text) != size:
            raise ValueError(f"{source}: entry {len(entries)} runs past the end of block {block}")
        entries.append(text.decode("utf-8"))
    return entries


def _decompress_block(bzs: bytes, bzz: bytes, block: int, source: Path) -> bytes:
    if block >= len(bzs) // _BLOCK.size:
        raise ValueError(f"{source}: entry refers to block {block}, the module has "
                         f"{len(bzs) // _BLOCK.size}")
    offset, compressed, _ = _BLOCK.unpack_from(bzs, _BLOCK.size * block)
    try:
        return zlib.decompress(bzz[offset:offset + compressed])
    except zlib.error as error:
        raise ValueError(f"{source}: block {block} does not decompress ({error})") from error


def osis_to_text(entry: str) -> str:
    """Plain text of an OSIS entry: footnotes, tags (Strong's numbers …) and pilcrows removed."""
    text = _TAG.sub("", _NOTE.sub("", entry))
    return " ".join(html.unescape(text).replace("\u00b6", "").split())
