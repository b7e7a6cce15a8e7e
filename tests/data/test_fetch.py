"""Fetching: upstream first, Debian's archive when upstream is unreachable, checksums always.

The network and apt are replaced by fakes, so these tests run offline and touch no real cache.
"""
import gzip
import hashlib
import io
import subprocess
import urllib.error
from pathlib import Path

import pytest

import dlcore.data.download as downloading
from dlcore.data import ChecksumError, FetchError, Resource, fetch

CONTENT = b"IDX bytes of a tiny dataset"
PACKED = gzip.compress(CONTENT)


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """An empty $DL_DATA_DIR and $HOME, so nothing real is found or written."""
    monkeypatch.setenv("DL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "data"


SYSTEM_DIR = "/usr/share/datasets/tiny"  # never created: the fake dpkg-deb unpacks it elsewhere


def resource(sha=hashlib.sha256(CONTENT).hexdigest()):
    return Resource(name="tiny", files={"a.gz": sha}, system_dir=SYSTEM_DIR,
                    urls=("http://upstream.invalid/data",), debian_package="dataset-tiny")


class FakeResponse(io.BytesIO):
    headers = {"Content-Length": str(len(PACKED))}


def offline(url, timeout):
    assert timeout <= 5
    raise urllib.error.URLError("Name or service not known")


def fake_apt(monkeypatch, payload=PACKED, apt_stderr=None):
    """apt-get download writes a .deb; dpkg-deb -x unpacks `payload` at the system path."""
    calls = []

    def run(command, cwd=None, **kwargs):
        calls.append(command[:2])
        if command[0] == "apt-get":
            if apt_stderr:
                return subprocess.CompletedProcess(command, 100, "", apt_stderr)
            (cwd / f"{command[2]}_1.0_all.deb").write_bytes(b"deb")
        else:  # dpkg-deb -x DEB TARGET
            folder = Path(command[3], SYSTEM_DIR.lstrip("/"))
            folder.mkdir(parents=True)
            (folder / "a.gz").write_bytes(payload)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(downloading.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(downloading.subprocess, "run", run)
    return calls


def test_present_data_is_not_fetched(data_home, monkeypatch):
    (data_home / "tiny").mkdir(parents=True)
    (data_home / "tiny" / "a.gz").write_bytes(PACKED)
    monkeypatch.setattr(downloading.urllib.request, "urlopen", pytest.fail)
    assert fetch(resource()) == data_home / "tiny"


def test_upstream_download_is_verified_and_reported(data_home, monkeypatch):
    monkeypatch.setattr(downloading.urllib.request, "urlopen",
                        lambda url, timeout: FakeResponse(PACKED))
    seen = []
    folder = fetch(resource(), lambda *step: seen.append(step))
    assert (folder / "a.gz").read_bytes() == PACKED
    assert ("download a.gz", len(PACKED), len(PACKED)) in seen
    assert not [p for p in data_home.iterdir() if p.name.startswith(".")]  # staging removed


def test_upstream_checksum_mismatch_is_an_error_and_leaves_nothing(data_home,
                                                                 monkeypatch):
    monkeypatch.setattr(downloading.urllib.request, "urlopen",
                        lambda url, timeout: FakeResponse(PACKED))
    with pytest.raises(ChecksumError, match="tiny from upstream: SHA-256 mismatch for a.gz"):
        fetch(resource(sha="0" * 64))
    assert list(data_home.rglob("*.gz")) == []


def test_unreachable_upstream_falls_back_to_debian(data_home, monkeypatch):
    monkeypatch.setattr(downloading.urllib.request, "urlopen", offline)
    calls = fake_apt(monkeypatch)
    steps = []
    folder = fetch(resource(), lambda *step: steps.append(step[0]))
    assert calls == [["apt-get", "download"], ["dpkg-deb", "-x"]]
    assert (folder / "a.gz").read_bytes() == PACKED
    assert "upstream unreachable, apt-get download dataset-tiny" in steps


def test_debian_checksum_mismatch_discards_the_files(data_home, monkeypatch):
    monkeypatch.setattr(downloading.urllib.request, "urlopen", offline)
    fake_apt(monkeypatch)
    with pytest.raises(ChecksumError, match="Debian package dataset-tiny: SHA-256 mismatch"):
        fetch(resource(sha="f" * 64))
    assert list(data_home.rglob("*.gz")) == []


def test_missing_package_lists_say_what_to_run(data_home, monkeypatch):
    monkeypatch.setattr(downloading.urllib.request, "urlopen", offline)
    fake_apt(monkeypatch, apt_stderr="E: Unable to locate package dataset-tiny")
    with pytest.raises(FetchError) as error:
        fetch(resource())
    message = str(error.value)
    assert "Run `apt-get update` once as root" in message
    assert "apt-get install dataset-tiny" in message
    assert "upstream was unreachable too" in message


def test_without_apt_the_error_says_so(data_home, monkeypatch):
    monkeypatch.setattr(downloading.urllib.request, "urlopen", offline)
    monkeypatch.setattr(downloading.shutil, "which", lambda tool: None)
    with pytest.raises(FetchError, match="`apt-get` is not installed"):
        fetch(resource())


def test_a_resource_without_sources_says_where_to_put_the_files(data_home):
    with pytest.raises(FetchError, match=f"place the files a.gz in {data_home / 'hand'}"):
        fetch(Resource("hand", {"a.gz": None}))
