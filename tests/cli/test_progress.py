"""Progress displays: plain lines for logs, a Rich bar for terminals, chosen by --progress."""
import io

import pytest

from dlcore.cli import progress

START = {"kind": "start", "epoch": 0, "epochs": 2, "step_in_epoch": 0, "steps_per_epoch": 4}
STEPS = [{"kind": "step", "epoch": 1, "step": s, "step_in_epoch": s, "steps_per_epoch": 4,
          "samples": 10 * s, "loss": 1.0 / s, "accuracy": 0.5} for s in range(1, 5)]
TRAIN = {"kind": "train", "epoch": 1, "step": 4, "loss": 0.5, "accuracy": 0.8125, "lr": 0.1,
         "seconds": 2.0, "samples_per_s": 1234.5}
EVAL = {"kind": "eval", "epoch": 1, "step": 4, "split": "test", "loss": 0.25, "accuracy": 0.9}


def feed(report, records):
    for record in records:
        report(record)


def test_describe_makes_one_aligned_line_per_record():
    assert progress.describe(TRAIN, 2) == ("epoch 1/2     train  loss 0.5000  acc  81.25%  "
                                           "lr 0.1  1,234 samples/s  2.0s")
    assert progress.describe(EVAL, 2) == "epoch 1/2     test   loss 0.2500  acc  90.00%"
    assert progress.metrics_text({"loss": 2.0, "perplexity": 7.389}) == "loss 2.0000  ppl 7.39"


def test_plain_prints_epochs_evaluations_and_every_n_steps():
    stream = io.StringIO()
    feed(progress.PlainProgress(stream, log_every=2), [START, *STEPS, TRAIN, EVAL])
    lines = stream.getvalue().splitlines()
    assert [line.split()[2] for line in lines] == ["step", "step", "train", "test"]
    assert "step 2/4" in lines[0] and "step 4/4" in lines[1]


def test_plain_announces_each_fetch_stage_once():
    stream = io.StringIO()
    fetch = [{"kind": "fetch", "description": "download x", "done": d, "total": 3}
             for d in range(3)] + [{"kind": "fetch", "description": "verify x", "done": 0,
                                    "total": 1}]
    feed(progress.PlainProgress(stream), fetch)
    assert stream.getvalue().splitlines() == ["download x", "verify x"]


def test_auto_is_plain_when_the_stream_is_not_a_terminal():
    with progress.display("auto", stream=io.StringIO()) as report:
        assert isinstance(report, progress.PlainProgress)


def test_bar_keeps_a_line_per_finished_epoch():
    stream = io.StringIO()
    with progress.display("bar", stream=stream) as report:
        feed(report, [START, *STEPS, TRAIN, EVAL])
    assert "epoch 1/2     train  loss 0.5000" in stream.getvalue()
    assert "epoch 1/2     test   loss 0.2500" in stream.getvalue()


def test_none_prints_nothing_and_unknown_modes_are_refused():
    stream = io.StringIO()
    with progress.display("none", stream=stream) as report:
        feed(report, [START, *STEPS, TRAIN])
    assert stream.getvalue() == ""
    with pytest.raises(ValueError, match="progress mode must be one of auto, bar, plain, none"):
        with progress.display("fancy"):
            pass


RUN = {"kind": "run", "run_dir": "runs/x", "config": "runs/x/config.toml", "name": "x",
       "model": "lenet", "parameters": 61706, "dataset": "fashion-mnist",
       "sizes": {"train": 54000, "validation": 6000, "test": 10000}, "epochs": 2,
       "steps_per_epoch": 4, "resumed_at_step": None, "cpu_path": "avx2", "threads": 2}


@pytest.mark.parametrize("mode", ["plain", "bar"])
def test_both_displays_show_the_run_context_before_the_first_step(mode):
    stream = io.StringIO()
    with progress.display(mode, stream=stream) as report:
        feed(report, [START, RUN, *STEPS, TRAIN])
    assert stream.getvalue().splitlines()[:5] == [
        "run runs/x", "  config runs/x/config.toml",
        "model lenet, 61,706 parameters; data fashion-mnist",
        "  train 54,000, validation 6,000, test 10,000",
        "2 epochs x 4 steps; kernels avx2, 2 threads"]
    resumed = progress.context_lines({**RUN, "threads": 1, "resumed_at_step": 1234})
    assert resumed[-1].endswith("1 thread; resuming after step 1,234")


def test_the_bar_estimates_the_whole_run_from_its_pace(monkeypatch):
    clock = iter([100.0, 110.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    bar = progress.BarProgress(io.StringIO())
    bar(RUN)                        # 2 epochs x 4 steps
    assert bar._run_eta(1) == ""    # the first step sets the pace's origin
    assert bar._run_eta(3) == "run 0:25"   # 2 steps in 10 s, 5 steps left
