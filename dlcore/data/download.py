"""Getting a dataset's files onto this machine: the upstream URLs first, then Debian's archive.

Only :func:`fetch` touches the network, and only when a command asks for it (``dl data fetch``,
or ``dl train`` on missing data, which says so). Whatever the source, every file is checked
against its SHA-256 before it lands in the cache; files that fail are discarded with the
staging folder. Each file is moved into place with a rename, so a cache never holds a
half-written file.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import urllib.request
from pathlib import Path
from typing import Callable

from .storage import Resource, content_sha256, data_dir

#: ``progress(description, done, total)``: bytes (or steps) done so far; ``total`` may be None.
Progress = Callable[[str, int, "int | None"], None]

CONNECT_TIMEOUT = 5.0  # seconds; the upstream step must fail fast on a machine without internet
_CHUNK = 1 << 16


class FetchError(RuntimeError):
    """No source could provide a dataset; the message says what was tried and what to do."""


class ChecksumError(FetchError):
    """Fetched files differ from the expected SHA-256; they were discarded."""


def fetch(resource: Resource, progress: Progress | None = None) -> Path:
    """Make ``resource`` present, fetching it into ``data_dir()`` if needed; return its folder.

    Upstream is tried first; when it is unreachable, ``apt-get download`` of its Debian package.
    A checksum mismatch from either source raises :class:`ChecksumError` (no further fallback:
    a wrong file from a reachable source deserves a look, not a silent substitute).
    """
    found = resource.locate()
    if found is not None:
        return found
    if not resource.urls and not resource.debian_package:
        raise FetchError(f"{resource.name} has no download source; place the files "
                         f"{', '.join(resource.files)} in {data_dir() / resource.name}")
    report = progress or (lambda description, done, total: None)
    target = data_dir() / resource.name
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{resource.name}-") as tmp:
        staging = Path(tmp, "files")
        staging.mkdir()
        source = _stage(resource, staging, Path(tmp), report)
        report(f"verify {resource.name}", 0, len(resource.files))
        _verify(resource, staging, source)
        report(f"verify {resource.name}", len(resource.files), len(resource.files))
        for name in resource.files:
            os.replace(staging / name, target / name)
    return target


def _stage(resource: Resource, staging: Path, workdir: Path, report: Progress) -> str:
    """Put every file of ``resource`` into ``staging``; return a name of the source used."""
    upstream_error = None
    if resource.urls:
        try:
            _download_upstream(resource, staging, report)
            return "upstream"
        except OSError as error:
            upstream_error = error
    if not resource.debian_package:
        raise FetchError(f"{resource.name}: upstream unreachable ({upstream_error})")
    try:
        _extract_debian_package(resource, staging, workdir, report,
                                "upstream unreachable, " if upstream_error else "")
    except FetchError as error:
        if upstream_error is None:
            raise
        raise FetchError(f"{error} (upstream was unreachable too: {upstream_error})") from error
    return f"Debian package {resource.debian_package}"


def _download_upstream(resource: Resource, staging: Path, report: Progress) -> None:
    """Download each file from the first base URL that answers; OSError when none does."""
    for name in resource.files:
        errors = []
        for base in resource.urls:
            url = f"{base.rstrip('/')}/{name}"
            try:
                _download(url, staging / name, report)
                break
            except OSError as error:  # URLError, HTTPError and timeouts are all OSErrors
                errors.append(f"{url}: {error}")
        else:
            raise OSError("; ".join(errors))


def _download(url: str, destination: Path, report: Progress) -> None:
    with urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT) as response, \
            open(destination, "wb") as out:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        done = 0
        report(f"download {destination.name}", done, total)
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            done += len(chunk)
            report(f"download {destination.name}", done, total)


def _extract_debian_package(resource: Resource, staging: Path, workdir: Path,
                            report: Progress, note: str) -> None:
    """``apt-get download`` the package into ``workdir``, ``dpkg-deb -x`` it, copy the files."""
    package = resource.debian_package
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            raise FetchError(f"{resource.name}: cannot use Debian's archive, `{tool}` is not "
                             f"installed (fetching package {package} needs apt-get and dpkg-deb)")
    step = f"{note}apt-get download {package}"
    report(step, 0, None)
    result = subprocess.run(["apt-get", "download", package], cwd=workdir,
                            capture_output=True, text=True)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip()
        if "Unable to locate package" in message or "no installation candidate" in message:
            raise FetchError(
                f"apt-get cannot find the package {package}: this machine's package lists are "
                f"missing. Run `apt-get update` once as root, then `dl data fetch` again; or "
                f"install the data system-wide with `apt-get install {package}`.")
        raise FetchError(f"`apt-get download {package}` failed: {message}")
    debs = sorted(workdir.glob(f"{package}_*.deb"))
    if not debs:
        raise FetchError(f"`apt-get download {package}` left no {package}_*.deb in {workdir}")
    tree = workdir / "tree"
    result = subprocess.run(["dpkg-deb", "-x", str(debs[0]), str(tree)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise FetchError(f"`dpkg-deb -x {debs[0].name}` failed: {result.stderr.strip()}")
    report(step, 1, 1)
    unpacked = tree / resource.system_dir.lstrip("/")
    for name in resource.files:
        if not (unpacked / name).is_file():
            raise FetchError(f"package {package} has no {resource.system_dir}/{name}")
        shutil.copyfile(unpacked / name, staging / name)


def _verify(resource: Resource, staging: Path, source: str) -> None:
    bad = [name for name, expected in resource.files.items()
           if content_sha256(staging / name) != expected]
    if bad:
        raise ChecksumError(f"{resource.name} from {source}: SHA-256 mismatch for "
                            f"{', '.join(bad)}; the files were discarded")
