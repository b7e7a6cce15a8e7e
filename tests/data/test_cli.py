"""`dl data list/info/fetch` on a data directory prepared by the test."""
import pytest
from click.testing import CliRunner

data_cli = pytest.importorskip("dlcore.cli.data").data


@pytest.fixture
def empty_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def run(*args):
    return CliRunner().invoke(data_cli, list(args))


def test_list_shows_every_dataset_with_status_and_licence(empty_data_dir):
    result = run("list")
    assert result.exit_code == 0, result.output
    for text in ("two-spirals", "generated", "kjv-rv1909", "MIT (Expat)"):
        assert text in result.output


def test_info_names_the_files_and_where_they_were_looked_for(empty_data_dir):
    result = run("info", "mnist")
    assert result.exit_code == 0, result.output
    assert "CC BY-SA 3.0" in result.output and "train-images-idx3-ubyte.gz" in result.output
    assert str(empty_data_dir / "mnist") in result.output


def test_fetch_errors_are_reported_without_a_traceback(empty_data_dir):
    result = run("fetch", "mnist")
    assert result.exit_code == 1
    assert "has no download source; place the files" in result.output
    assert run("fetch", "cifar").exit_code == 2
    assert "nothing to fetch" in run("fetch", "noisy-sine").output
