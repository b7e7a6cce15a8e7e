"""Where dataset files live: the search path, the files each dataset needs, their checksums.

A dataset is looked up, in order, in ``$DL_DATA_DIR/<name>``, ``~/.cache/dlcore/<name>`` and the
system folder a Debian package installs it to. Nothing here touches the network.
"""
from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Resource:
    """The files one dataset needs and every place they can come from.

    ``files`` maps a file name to the SHA-256 of its content, decompressed for ``.gz`` files
    (recompression changes the bytes of a ``.gz`` but not what it holds), or to None for files
    that are only ever placed by hand. ``urls`` are upstream
    base URLs tried in order; ``debian_package`` installs the files into ``system_dir``.
    """

    name: str
    files: dict[str, str | None]
    system_dir: str | None = None
    urls: tuple[str, ...] = ()
    debian_package: str | None = None

    def search_path(self) -> list[Path]:
        """The folders that may hold this resource, in lookup order."""
        roots = [data_dir() / self.name]
        home_cache = Path.home() / ".cache" / "dlcore" / self.name
        if home_cache not in roots:
            roots.append(home_cache)
        if self.system_dir:
            roots.append(Path(self.system_dir))
        return roots

    def locate(self) -> Path | None:
        """The first folder on the search path that holds every file, or None."""
        for folder in self.search_path():
            if all((folder / name).is_file() for name in self.files):
                return folder
        return None


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are on none of its search paths (``dl data fetch NAME`` gets them)."""


def data_dir() -> Path:
    """The folder `dl data fetch` writes to: ``$DL_DATA_DIR`` if set, else ``~/.cache/dlcore``."""
    configured = os.environ.get("DL_DATA_DIR")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "dlcore"


def require(resource: Resource, dataset: str, root: str | os.PathLike | None = None) -> Path:
    """The folder holding ``resource``: ``root`` if given (checked), else the first on the path."""
    if root is not None:
        folder = Path(root)
        missing = [name for name in resource.files if not (folder / name).is_file()]
        if missing:
            raise DatasetNotFoundError(f"{dataset}: {folder} lacks {', '.join(missing)}")
        return folder
    folder = resource.locate()
    if folder is None:
        searched = ", ".join(str(p) for p in resource.search_path())
        raise DatasetNotFoundError(
            f"{dataset} is not on this machine (looked in {searched}); "
            f"run `dl data fetch {dataset}` to get it")
    return folder


class DamagedDataError(ValueError):
    """Cached dataset files that do not parse (truncated, overwritten): says how to re-fetch."""

    def __init__(self, dataset: str, folder: Path, error: Exception):
        fetched_here = data_dir() in folder.parents or folder.parent == data_dir()
        fix = (f"remove {folder} and run `dl data fetch {dataset}` to fetch it again"
               if fetched_here else f"restore or remove {folder}, then `dl data fetch {dataset}`")
        super().__init__(f"the files of {dataset} look damaged ({error}); {fix}")


def content_sha256(path: Path) -> str:
    """SHA-256 of a file's content, of the decompressed content for a ``.gz`` file."""
    digest = hashlib.sha256()
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
    except (OSError, EOFError) as error:  # gzip raises these for corrupt or truncated files
        raise ValueError(f"cannot read {path}: {error}") from error
    return digest.hexdigest()
