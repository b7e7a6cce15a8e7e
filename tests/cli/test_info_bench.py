"""`dl --version`, `dl info` and `dl bench` from the command line."""
import json
import os
import subprocess
import sys

from click.testing import CliRunner

import dlcore
from dlcore.cli.main import cli


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0 and dlcore.__version__ in result.output


def test_info_reports_build_cpu_and_threads():
    result = CliRunner().invoke(cli, ["info", "--json"])
    assert result.exit_code == 0, result.output
    facts = json.loads(result.output)
    assert facts["version"] == dlcore.__version__
    assert facts["cpu_path"] in ("generic", "avx2", "avx512")
    assert isinstance(facts["openmp"], bool) and facts["threads"] >= 1
    assert set(facts["optional"]) == {"torch", "matplotlib", "ray"}
    table = CliRunner().invoke(cli, ["info"])
    assert table.exit_code == 0 and "kernel path" in table.output and "OpenMP" in table.output


def test_bench_prints_a_plain_table_or_its_records_as_json():
    args = ["bench", "softmax_xent", "--quick", "--budget", "0.001", "--threads", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "softmax_xent" in result.output and "4096x1000" in result.output
    assert "NumPy's BLAS: openblas 1" in " ".join(result.output.split())
    as_json = CliRunner().invoke(cli, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    records = json.loads(as_json.stdout)["records"]
    assert {r["backend"] for r in records} >= {"c", "numpy"}
    for r in records:
        assert set(r) == {"kernel", "shape", "backend", "threads", "blas", "median_s", "gflops"}
        assert r["median_s"] > 0 and r["threads"] == 1
        assert all(blas.endswith(" 1") for blas in r["blas"].split(", ")), r["blas"]


def test_bench_rejects_bad_options():
    runner = CliRunner()
    assert runner.invoke(cli, ["bench", "nonesuch"]).exit_code == 2
    assert runner.invoke(cli, ["bench", "--threads", "0"]).exit_code == 2
    assert runner.invoke(cli, ["bench", "--threads", "a,b"]).exit_code == 2


def test_models_lists_the_zoo_with_options():
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    for name in ("lenet", "mlp", "softmax_regression", "linear_regression"):
        assert name in result.output


def test_a_bad_environment_variable_is_one_line_from_every_command_but_help():
    env = {**os.environ, "DL_NUM_THREADS": "0"}
    dl = [sys.executable, "-c", "from dlcore.cli.main import main; main()"]
    help_ = subprocess.run([*dl, "--help"], capture_output=True, text=True, env=env)
    assert help_.returncode == 0 and "Usage: dl" in help_.stdout
    info = subprocess.run([*dl, "info"], capture_output=True, text=True, env=env)
    assert info.returncode == 1 and info.stdout == ""
    assert info.stderr.strip().splitlines() == [
        "Error: DL_NUM_THREADS must be a positive int, got 0 (fix or unset the environment "
        "variable)"]
