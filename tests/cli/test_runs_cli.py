"""`dl runs` and `dl plot` as a user meets them: tables, JSON, one-line errors."""
import json
import sys

import pytest
from click.testing import CliRunner

from dlcore.cli.main import cli
from dlcore.train import parse, run
from tests.train.conftest import spirals


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def error_of(result) -> str:
    """The one line a failing command printed; no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and len(result.stderr.splitlines()) == 1
    return result.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A folder holding runs/a (lr 0.01, 2 epochs), runs/b (lr 0.02, 3 epochs) and
    runs/c (interrupted: its summary removed); tests run in it (the default DIR is runs)."""
    root = tmp_path_factory.mktemp("project")
    for name, lr, epochs in (("a", 0.01, 2), ("b", 0.02, 3), ("c", 0.01, 2)):
        run(parse(spirals(optim={"lr": lr}, train={"epochs": epochs}), name="spirals"),
            run_dir=root / "runs" / name)
    (root / "runs" / "c" / "summary.json").unlink()
    return root


@pytest.fixture
def in_project(project, monkeypatch):
    monkeypatch.chdir(project)
    return project


def test_runs_lists_the_runs_in_runs(in_project):
    result = invoke("runs")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    row = {name: next(line for line in lines if f"runs/{name} " in line) for name in "abc"}
    assert "completed" in row["a"] and "interrupted" in row["c"]
    assert all("mlp" in line and "two-spirals" in line and "acc" in line
               for line in row.values())


def test_runs_json_is_each_runs_facts(in_project):
    result = invoke("runs", "runs", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert [(r["path"], r["status"], r["epochs"]) for r in found] == [
        ("runs/a", "completed", 2), ("runs/b", "completed", 3), ("runs/c", "interrupted", 2)]
    assert found[1]["best_value"] == found[1]["best"]["accuracy"]


def test_no_runs_is_said_plainly(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("runs")
    assert result.exit_code == 0 and result.stdout.startswith("no runs: runs does not exist\n")
    (tmp_path / "empty").mkdir()
    result = invoke("runs", "empty")
    assert result.exit_code == 0 and result.stdout.startswith("no runs in empty\n")
    assert "dl train CONFIG" in result.stdout
    assert json.loads(invoke("runs", "empty", "--json").stdout) == []


def test_compare_shows_the_keys_that_differ_then_the_metrics(in_project):
    result = invoke("runs", "--compare", "runs/a", "runs/b")
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: line for line in result.stdout.splitlines()
            if line.startswith("│") and len(line.split()) > 1}
    assert set(rows) >= {"optim.lr", "train.epochs", "best", "test"}
    assert "0.01" in rows["optim.lr"] and "0.02" in rows["optim.lr"]
    assert "optim.name" not in rows and "model.name" not in rows


def test_compare_json_and_folders(in_project):
    result = json.loads(invoke("runs", "--compare", "runs/a", "runs/b", "--json").stdout)
    assert result["config"] == {"optim.lr": [0.01, 0.02], "train.epochs": [2, 3]}
    assert result["metrics"][1]["best"]["step"] == 120
    every = json.loads(invoke("runs", "--compare", "runs", "--json").stdout)
    assert every["names"] == ["a", "b", "c"] and every["metrics"][2]["test"] is None


def test_compare_errors_are_one_line(in_project):
    assert "at least two runs" in error_of(invoke("runs", "--compare", "runs/a"))
    assert "not a run directory" in error_of(invoke("runs", "--compare", "runs/a", "nowhere"))


def test_plot_writes_a_png_of_a_folders_runs(in_project):
    pytest.importorskip("matplotlib")
    image = pytest.importorskip("PIL.Image")
    result = invoke("plot", "runs", "--metric", "accuracy", "--out", "curves.png", "--log-y")
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote accuracy of 3 runs to curves.png\n"
    with image.open(in_project / "curves.png") as png:
        assert png.format == "PNG"
    result = json.loads(invoke("plot", "runs/a", "--out", "loss.png", "--json").stdout)
    assert result == {"out": "loss.png", "metric": "loss", "runs": ["runs/a"], "skipped": []}


def test_plot_errors_are_one_line(in_project, monkeypatch):
    message = error_of(invoke("plot", "runs/a", "--metric", "bleu", "--out", "x.png"))
    assert "no metric 'bleu'; its metrics: accuracy, loss, lr" in message
    (in_project / "empty").mkdir(exist_ok=True)
    assert "holds no runs" in error_of(invoke("plot", "empty", "--out", "x.png"))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    assert 'pip install "dlcore[plot]"' in error_of(invoke("plot", "runs/a", "--out", "x.png"))
    assert not (in_project / "x.png").exists()


@pytest.mark.parametrize("command", ["runs", "plot"])
def test_help_shows_how_to_call_it_in_80_columns(command):
    help_text = invoke(command, "--help").output
    assert f"dl {command} " in help_text
    assert all(len(line) <= 80 for line in help_text.splitlines()), help_text
