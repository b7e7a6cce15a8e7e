"""dlcore's file format: a tree of state in one ``.npz``, written atomically, read without
pickle; what :func:`dlcore.save`/:func:`dlcore.load` and run checkpoints write.

A tree is a nested dict (a model's state_dict; a run's model, updater, loader, RNG, callbacks
and trainer state). Its ndarrays (and tensors, stored as their arrays) are stored as the ``.npz`` members, named by their path in the tree
(``model/fc.weight``); everything else (numbers, strings, lists, JSON-able dicts) goes into
one JSON member, ``meta.json``, where each array appears as ``{"__array__": member}``. The JSON
also carries the format name and version, so a foreign or future file is refused clearly.

Writes go to a temporary file in the destination folder, are fsync'd, then renamed over the
destination: a crash at any moment leaves either the old file or the new one, never a mix.
"""
from __future__ import annotations

import json
import os
import secrets
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

import numpy as np

from dlcore.tensor import Tensor

FORMAT = "dlcore-checkpoint"
VERSION = 2
_META = "meta.json"
_ARRAY = "__array__"
_ZIP_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


class CheckpointError(ValueError):
    """A file that is not a readable dlcore checkpoint (missing, truncated, foreign, too new)."""


def save(tree: Mapping, path: str | os.PathLike) -> None:
    """Write ``tree`` (a state_dict, or any nested dict of arrays, tensors, numbers, strings
    and lists) to ``path`` atomically (temp file in the same folder, fsync, rename), as
    ``torch.save(model.state_dict(), path)`` would, without pickle."""
    if not isinstance(tree, Mapping):
        raise TypeError(f"save expects a dict such as a state_dict, got {type(tree).__name__}")
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    meta = {"format": FORMAT, "version": VERSION, "state": _split(tree, (), arrays)}
    arrays[_META] = np.frombuffer(json.dumps(meta, allow_nan=True).encode(), dtype=np.uint8)
    atomic_write(path, lambda file: np.savez(file, **arrays))


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], object]) -> None:
    """Create or replace ``path`` with what ``write(file)`` writes, all or nothing: into a
    temporary file in the same folder, fsync'd, renamed over ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise CheckpointError(f"cannot create {path.parent}: {error.strerror or error}") from None
    temp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        with open(temp, "xb") as file:  # unlike mkstemp's 0600, the umask's permissions
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
        _fsync_dir(path.parent)
    except OSError as error:  # a full disk, a read-only or vanished folder
        temp.unlink(missing_ok=True)
        kept = "; the previous version is kept" if path.exists() else ""
        raise CheckpointError(f"cannot write {path}: {error.strerror or error}{kept}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a crash right after it keeps the new name)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _split(node, path: tuple[str, ...], arrays: dict):
    """``node`` as JSON-able data, its ndarrays moved into ``arrays`` under their path."""
    if isinstance(node, Tensor):
        node = node.data
    if isinstance(node, np.ndarray):
        name = "/".join(path) or "array"
        if name in arrays or name == _META:
            raise ValueError(f"save: two arrays would be stored as {name!r}")
        arrays[name] = node
        return {_ARRAY: name}
    if isinstance(node, Mapping):
        return {str(key): _split(value, (*path, str(key)), arrays) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [_split(value, (*path, str(i)), arrays) for i, value in enumerate(node)]
    if isinstance(node, np.generic):
        return node.item()
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    raise TypeError(f"save: cannot store {type(node).__name__} at {'/'.join(path)!r}")


def load(path: str | os.PathLike,
         upgrades: Mapping[int, Callable[[dict], dict]] | None = None) -> dict:
    """The tree saved by :func:`save`; :class:`CheckpointError` for anything else. A file of
    an older format version is read when ``upgrades`` maps each version to the function
    that turns its tree into the next version's (run checkpoints have such upgrades)."""
    upgrades = upgrades or {}
    path = Path(path)
    meta, arrays = _read(path, with_arrays=True)
    if meta.get("version") not in upgrades and meta.get("version") != VERSION:
        raise CheckpointError(f"{path} has format version {meta.get('version')!r}; this "
                              f"dlcore reads versions {min({VERSION, *upgrades})} to {VERSION}")
    tree = _join(meta["state"], arrays, path)
    for version in range(meta["version"], VERSION):
        tree = upgrades[version](tree)
    return tree


def load_meta(path: str | os.PathLike) -> dict:
    """The JSON part of a file :func:`save` wrote, as stored: ``{"format", "version",
    "state"}``, each array in ``state`` a ``{"__array__": member}`` reference and no upgrade
    applied. Reads that one small member and none of the arrays, so listing many runs stays
    cheap; :class:`CheckpointError` for a file that is not a dlcore checkpoint."""
    return _read(Path(path), with_arrays=False)[0]


def _read(path: Path, with_arrays: bool) -> tuple[dict, dict]:
    """(meta, arrays by member name) of the checkpoint ``path``, its format checked."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    with open(path, "rb") as file:   # else NumPy's own message suggests unpickling the file
        head = file.read(len(_NPY_MAGIC))
    if head.startswith(_NPY_MAGIC):
        raise CheckpointError(f"{path} is a single .npy array, not a dlcore checkpoint")
    if not head.startswith(_ZIP_MAGIC):
        raise CheckpointError(f"{path} is not a readable dlcore checkpoint (not a .npz file)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if _META not in archive.files:
                raise CheckpointError(f"{path} is a .npz file but not a dlcore checkpoint "
                                      f"(it has no {_META})")
            meta = json.loads(archive[_META].tobytes().decode())
            arrays = {name: archive[name] for name in archive.files
                      if with_arrays and name != _META}
    except CheckpointError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path} is not a readable dlcore checkpoint (truncated or not "
                              f"a .npz file): {type(error).__name__}: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a .npz file but not a dlcore checkpoint")
    return meta, arrays


def _join(node, arrays: dict, path: Path):
    if isinstance(node, dict):
        if set(node) == {_ARRAY}:
            if node[_ARRAY] not in arrays:
                raise CheckpointError(f"{path} lacks the array {node[_ARRAY]!r}")
            return arrays[node[_ARRAY]]
        return {key: _join(value, arrays, path) for key, value in node.items()}
    if isinstance(node, list):
        return [_join(value, arrays, path) for value in node]
    return node
