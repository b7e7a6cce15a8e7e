"""Hyper-parameter sweeps: one config trained many times with different ``--set`` overrides,
each trial an ordinary run directory under the sweep's folder (so ``dl eval`` and ``dl train
--resume`` work on it), run by :func:`dlcore.train.run` itself in a local process pool.

A sweep's folder holds ``sweep.json`` (what the sweep is: config, grid, search space, seeds,
metric) and ``sweep.jsonl``, one line per finished trial (overrides, seed, status, the metric,
the best and final evaluations, wall time, the error of a failed trial). Running the same sweep
again skips the trials that finished and resumes the interrupted ones from their ``last.npz``;
a folder holding another sweep is never reused.

The grid is the product of ``key=v1,v2,...`` axes; a random search draws ``random`` points of
a space of ``key=uniform:a:b | loguniform:a:b | randint:a:b | choice:a,b,c`` from the sweep's
seed (with a grid as well: that many draws per grid point), so the same command always means
the same trials.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import json
import math
import multiprocessing
import os
import signal
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import checkpoint, components
from .config import load, parse_value
from .errors import ConfigError
from .runs import read_records

SPEC, RESULTS = "sweep.json", "sweep.jsonl"
EARLY_STOPPED = "early_stopped.json"  # a trial's record once ASHA has stopped it: final
DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")


class SweepError(ConfigError):
    """A sweep that cannot run as asked (the message says why and what to do)."""


class SweepInterrupted(Exception):
    """Ctrl-C stopped the sweep; every running trial saved its ``last.npz``."""

    def __init__(self, out: Path, records: list[dict]):
        self.out, self.records = out, records
        super().__init__(f"sweep interrupted: {sum(r['status'] == 'completed' for r in records)} "
                         f"trials finished; run the same command again to go on")


@dataclass(frozen=True)
class Distribution:
    """One axis of a random search: ``kind`` with its bounds (``args``) or choices."""
    kind: str
    args: tuple

    def sample(self, rng: np.random.Generator):
        if self.kind == "choice":
            return self.args[int(rng.integers(len(self.args)))]
        low, high = self.args
        if self.kind == "randint":
            return int(rng.integers(low, high + 1))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(low), math.log(high))))
        return float(rng.uniform(low, high))


def _key_value(option: str, spec: str) -> tuple[str, str]:
    key, sep, text = spec.partition("=")
    if not sep or len(key.strip().split(".")) not in (2, 3) or not text.strip():
        raise SweepError(f"{option} expects section.key=..., got {spec!r}")
    return key.strip(), text.strip()


def _values(text: str) -> list:
    """``"0.1,[8, 8],x"`` -> ``[0.1, [8, 8], "x"]``: split at the commas outside brackets and
    quotes, each part typed as TOML."""
    parts, depth, quote, start = [], 0, None, 0
    for i, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [parse_value(part.strip()) for part in parts if part.strip()]


def parse_grid(spec: str) -> tuple[str, list]:
    """``"optim.lr=0.01,0.1,1"`` -> ``("optim.lr", [0.01, 0.1, 1])`` (values typed as TOML;
    ``model.hidden=[8],[16, 16]`` is two lists)."""
    key, text = _key_value("--grid", spec)
    return key, _values(text)


def parse_space(spec: str) -> tuple[str, Distribution]:
    """``"optim.lr=loguniform:1e-4:1e-1"`` -> ``("optim.lr", Distribution("loguniform", ...))``."""
    key, text = _key_value("--space", spec)
    kind, _, rest = text.partition(":")
    if kind not in DISTRIBUTIONS:
        raise SweepError(f"--space {key}: unknown distribution {kind!r}; use "
                         f"{', '.join(DISTRIBUTIONS)} (e.g. {key}=loguniform:1e-4:1e-1)")
    if kind == "choice":
        choices = tuple(_values(rest))
        if not choices:
            raise SweepError(f"--space {key}=choice: needs values, e.g. choice:64,128")
        return key, Distribution(kind, choices)
    number = int if kind == "randint" else float
    try:
        low, high = (number(b) for b in rest.split(":"))
    except ValueError:
        low = high = None
    if low is None or not low <= high or (kind == "loguniform" and low <= 0):
        example = "randint:1:4" if kind == "randint" else f"{kind}:1e-4:1e-1"
        raise SweepError(f"--space {key}={text}: {kind} needs bounds low:high ({number.__name__}s, "
                         f"low <= high{', low > 0' if kind == 'loguniform' else ''}), e.g. "
                         f"{example}")
    return key, Distribution(kind, (low, high))


def _show(value) -> str:
    """A value as ``--set`` reads it back (TOML)."""
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


@dataclass(frozen=True)
class Spec:
    """What a sweep is; saved as ``sweep.json`` and compared on every re-run."""
    config: str
    grid: dict[str, list] = field(default_factory=dict)
    space: dict[str, list] = field(default_factory=dict)  # key -> [kind, *args]
    random: int = 0
    seed: int = 0
    overrides: tuple[str, ...] = ()
    metric: str = ""
    mode: str = ""

    def trials(self) -> list[tuple[str, ...]]:
        """Each trial's overrides, in order: grid points (first axis slowest), each with
        ``random`` draws of the space when there is one."""
        points = [tuple(f"{key}={_show(value)}" for key, value in zip(self.grid, values))
                  for values in itertools.product(*self.grid.values())]
        if not self.random:
            return points
        rng = np.random.default_rng(self.seed)
        space = {key: Distribution(kind, tuple(args)) for key, (kind, *args) in
                 self.space.items()}
        return [point + tuple(f"{key}={_show(axis.sample(rng))}" for key, axis in space.items())
                for point in points for _ in range(self.random)]


def build_spec(config: str | os.PathLike, grid: Sequence[str] = (), space: Sequence[str] = (),
               random: int | None = None, seed: int | None = None,
               overrides: Sequence[str] = (), metric: str | None = None,
               mode: str | None = None) -> Spec:
    """The sweep of ``config``: its ``[sweep]`` table (``grid = {"optim.lr" = [0.01, 0.1]}``,
    ``space = {"optim.lr" = "loguniform:1e-4:1e-1"}``, ``random``, ``seed``, ``metric``,
    ``mode``), each part replaced by the command line's when given. The metric defaults to
    the task's monitor on the validation part (``val.<monitor>``); ``mode`` to its direction."""
    path = Path(config)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("sweep", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SweepError(f"cannot read config file {str(path)!r}: {error}") from None
    unknown = set(table) - {"grid", "space", "random", "seed", "metric", "mode"}
    if unknown:
        raise SweepError(f"{path}: unknown key(s) in [sweep]: {', '.join(sorted(unknown))}")
    axes = dict(parse_grid(g) for g in grid) if grid else {
        key: list(values) if isinstance(values, list) else [values]
        for key, values in table.get("grid", {}).items()}
    searched = dict(parse_space(s) for s in space) if space else dict(
        parse_space(f"{key}={text}") for key, text in table.get("space", {}).items())
    random = table.get("random", 0) if random is None else random
    if searched and not random:
        raise SweepError("a search space needs --random N (how many points to draw)")
    if random and not searched:
        raise SweepError("--random N needs a search space: --space section.key=uniform:a:b")
    both = set(axes) & set(searched)
    if both:
        raise SweepError(f"{', '.join(sorted(both))} is both a grid axis and in the search "
                         f"space; give it one of the two")
    if not axes and not searched:
        raise SweepError("nothing to sweep: give --grid section.key=v1,v2 and/or --random N "
                         "--space section.key=loguniform:a:b (or a [sweep] table)")
    experiment = load(path, overrides)  # every trial's base must be a valid config
    for key in (*axes, *searched):
        load(path, [*overrides, f"{key}={_show(_probe(axes, searched, key))}"])
    task = components.task_class(experiment.task["name"])
    split, name = _metric_parts(metric or table.get("metric") or f"val.{task.monitor}")
    directions = task.metrics
    if name not in directions:
        raise SweepError(f"--metric {split}.{name}: the {task.name} task reports "
                         f"{', '.join(directions)}")
    mode = mode or table.get("mode") or directions[name]
    if mode not in ("min", "max"):
        raise SweepError(f"--mode must be min or max, got {mode!r}")
    return Spec(str(path.resolve()), axes,
                {key: [d.kind, *d.args] for key, d in searched.items()}, int(random),
                int(table.get("seed", 0) if seed is None else seed), tuple(overrides),
                f"{split}.{name}", mode)


def _probe(axes: Mapping, searched: Mapping, key: str):
    """A value of axis ``key`` to check the config accepts it."""
    if key in axes:
        return axes[key][0]
    return searched[key].sample(np.random.default_rng(0))


def _metric_parts(metric: str) -> tuple[str, str]:
    split, sep, name = metric.partition(".")
    if not sep:
        return "val", metric
    if split not in ("val", "test"):
        raise SweepError(f"--metric {metric}: use val.<name> (the best evaluation) or "
                         f"test.<name> (the final test)")
    return split, name


def metric_value(record: Mapping, metric: str) -> float | None:
    """The value of ``metric`` ("val.x": the best evaluation's, "test.x": the final test's)."""
    split, name = metric.split(".", 1)
    source = record.get("best" if split == "val" else "test") or {}
    value = source.get(name)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def _trial_name(index: int) -> str:
    return f"trial-{index:03d}"


def run_trial(spec: Spec, index: int, out: str, threads: int,
              on_eval: Callable[[dict], None] | None = None) -> dict:
    """Train trial ``index`` of ``spec`` into ``out/trial-NNN`` (resuming an interrupted one,
    reading back a finished or early-stopped one) and return its record; never raises for
    the trial's own failure, which the record holds. ``on_eval(record)`` receives each
    evaluation (an early-stopping scheduler's input). Runs in a worker process."""
    from .run import checkpoint_path, run as train  # the worker's own import
    from .updaters import NonFiniteLoss
    overrides = spec.trials()[index]
    run_dir = Path(out) / _trial_name(index)
    if (run_dir / EARLY_STOPPED).is_file():
        return json.loads((run_dir / EARLY_STOPPED).read_text())
    record = {"trial": index, "name": run_dir.name, "overrides": list(overrides),
              "run_dir": str(run_dir)}
    started = time.perf_counter()
    try:
        experiment = load(spec.config, [*spec.overrides, *overrides])
        record["seed"] = experiment.train["seed"]
        summary_path = run_dir / "summary.json"
        if summary_path.is_file():
            summary, record["status"] = json.loads(summary_path.read_text()), "completed"
        else:
            last = checkpoint_path(run_dir, "last")
            summary = train(experiment, run_dir=run_dir, threads=threads,
                            resume=run_dir if last.is_file() else None,
                            overwrite=not last.is_file(),
                            report=on_eval and (lambda r: on_eval(r) if r["kind"] == "eval"
                                                else None))
            record["status"] = "completed"
        record.update(best=summary["best"], test=summary["test"],
                      wall_seconds=summary["wall_seconds"], epochs=summary["epochs"])
    except KeyboardInterrupt:  # Ctrl-C between two steps of a run is handled by run() itself
        record.update(status="interrupted")
    except Exception as error:  # noqa: BLE001 - a trial's failure is its record, not the sweep's
        interrupted = type(error).__name__ == "RunInterrupted"
        record.update(status="interrupted" if interrupted else "failed",
                      error=None if interrupted else f"{type(error).__name__}: {error}")
        if isinstance(error, NonFiniteLoss):
            record["error"] = f"non-finite loss: {error}"
        if not interrupted and run_dir.is_dir():  # dl runs shows the trial as failed
            checkpoint.atomic_write(run_dir / "failed.json", lambda f: f.write(
                json.dumps({"error": record["error"], "overrides": record["overrides"]},
                           indent=2).encode()))
    record.setdefault("wall_seconds", time.perf_counter() - started)
    record["value"] = metric_value(record, spec.metric)
    return record


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


def _ignore_sigint() -> None:
    """Idle workers ignore Ctrl-C (a run installs its own handler while it trains, so a trial
    in progress still saves and stops)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def check_resources(workers: int, threads_per_trial: int, cores: int | None = None) -> None:
    cores = cores or os.cpu_count() or 1
    if workers < 1 or threads_per_trial < 1:
        raise SweepError("--workers and --threads-per-trial must be at least 1")
    if workers * threads_per_trial > cores:
        raise SweepError(f"--workers {workers} x --threads-per-trial {threads_per_trial} = "
                         f"{workers * threads_per_trial} threads on a machine with {cores} "
                         f"cores: trials would slow each other and their timings lie; use at "
                         f"most {cores} in total")


def _prepare(spec: Spec, out: Path) -> None:
    """Write ``sweep.json``, or check that ``out`` holds this very sweep."""
    out.mkdir(parents=True, exist_ok=True)
    saved = out / SPEC
    mine = json.loads(json.dumps(asdict(spec)))
    if saved.is_file():
        if json.loads(saved.read_text()) != mine:
            raise SweepError(f"{out} holds another sweep (its {SPEC} differs from this one); "
                             f"give a new --out")
    elif any(out.iterdir()):
        raise SweepError(f"{out} is not empty and holds no sweep; give a new --out")
    else:
        checkpoint.atomic_write(saved, lambda f: f.write(json.dumps(mine, indent=2).encode()))


def _write_results(out: Path, records: Mapping[int, dict]) -> None:
    lines = "".join(json.dumps(records[i]) + "\n" for i in sorted(records))
    checkpoint.atomic_write(out / RESULTS, lambda f: f.write(lines.encode()))


def ranked(records: Sequence[dict], mode: str) -> list[dict]:
    """Best first by the metric; trials without a value (failed, interrupted) last."""
    sign = -1 if mode == "max" else 1
    return sorted(records, key=lambda r: (r.get("value") is None,
                                          sign * (r.get("value") or 0.0), r["trial"]))


EXECUTORS = ("local", "ray")


def _local(spec: Spec, out: Path, indices: list[int], workers: int,
           threads: int) -> Iterator[dict]:
    """Trials in a pool of spawned processes (fork would copy a parent's OpenMP threads), as
    they finish; no more are handed out than there are workers, so that Ctrl-C leaves none
    queued. On Ctrl-C each worker is sent SIGINT (a terminal sends it to them anyway): a trial
    that is training saves its ``last.npz`` and returns "interrupted", and the records of the
    running trials go with the :class:`SweepInterrupted` raised."""
    environment = {name: str(threads) for name in
                   ("DL_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "MKL_NUM_THREADS")}
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)  # read by the spawned workers as they start
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(indices)), mp_context=multiprocessing.get_context("spawn"),
        initializer=_ignore_sigint)
    waiting, running = list(indices), set()
    try:
        try:
            while waiting or running:
                while waiting and len(running) < workers:
                    running.add(pool.submit(run_trial, spec, waiting.pop(0), str(out), threads))
                done, running = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except concurrent.futures.process.BrokenProcessPool:
            raise SweepError("a trial's worker process died (out of memory?); run the same "
                             "command again to go on") from None
        except KeyboardInterrupt:
            for process in list(getattr(pool, "_processes", {}).values()):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)
            records = [future.result() for future in running]
            raise SweepInterrupted(out, records) from None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _ray(spec: Spec, out: Path, indices: list[int], threads: int,
         address: str | None) -> Iterator[dict]:
    """Trials as Ray tasks of ``threads`` CPUs each, on the cluster at ``address`` (or a
    local one started here), as they finish; ``out`` must be on a file system every node
    shares. On Ctrl-C the pending tasks are cancelled; a trial resumes from its last
    checkpoint when the sweep runs again."""
    try:
        import ray
    except ImportError:
        raise SweepError('--executor ray needs Ray: pip install "dlcore[ray]" (or '
                         '"ray[tune]>=2.9")') from None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    try:
        task = ray.remote(num_cpus=threads)(run_trial)
        pending = {task.remote(spec, i, str(out), threads): i for i in indices}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                pending.pop(done[0])
                yield ray.get(done[0])
        except KeyboardInterrupt:
            for ref in pending:
                ray.cancel(ref)
            raise SweepInterrupted(out, []) from None
    finally:
        if started_here:
            ray.shutdown()


def _asha(spec: Spec, out: Path, indices: list[int], threads: int, workers: int,
          address: str | None) -> Iterator[dict]:
    """Trials under Ray Tune's ASHA scheduler (Li et al. 2020): each reports the metric at
    every evaluation, and a trial whose metric trails its rung's is stopped there, freeing its
    CPUs for the next. A stopped trial keeps its run directory as it was (metrics, best.npz)
    and its record, status "stopped early", in ``early_stopped.json``: it is final, a re-run
    reads it back."""
    try:
        import ray
        from ray import tune
        from ray.tune.schedulers import ASHAScheduler
    except ImportError:
        raise SweepError('--early-stop asha needs Ray Tune: pip install "dlcore[ray]"') from None
    split, name = spec.metric.split(".", 1)
    if split != "val":
        raise SweepError(f"--early-stop asha judges trials by their evaluations while they "
                         f"train: use --metric val.<name>, not {spec.metric}")
    epochs = max(load(spec.config, [*spec.overrides, *spec.trials()[i]]).train["epochs"]
                 for i in indices)

    def trainable(config):
        def on_eval(record):
            if name in record:
                tune.report({name: record[name]})
        run_trial(spec, config["trial"], str(out), threads, on_eval)

    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    try:
        tuner = tune.Tuner(
            tune.with_resources(trainable, {"cpu": threads}),
            param_space={"trial": tune.grid_search(indices)},
            tune_config=tune.TuneConfig(
                # max_t past the last evaluation (an epoch's, and the final one): a trial
                # that reaches the end finishes its run (test, summary) rather than being cut
                scheduler=ASHAScheduler(metric=name, mode=spec.mode, max_t=2 * epochs + 2,
                                        grace_period=1, reduction_factor=2),
                max_concurrent_trials=workers),
            run_config=tune.RunConfig(storage_path=str((out / ".tune").resolve()),
                                      name="asha", verbose=0))
        tuner.fit()
        for i in indices:
            record = run_trial(spec, i, str(out), threads) if (
                out / _trial_name(i) / "summary.json").is_file() else _stopped(spec, out, i)
            yield record
    finally:
        if started_here:
            ray.shutdown()


def _stopped(spec: Spec, out: Path, index: int) -> dict:
    """The record of a trial ASHA stopped: its best evaluation so far; saved as final."""
    run_dir = out / _trial_name(index)
    evals = [r for r in read_records(run_dir) if r.get("kind") == "eval"]
    split, name = spec.metric.split(".", 1)
    sign = 1 if spec.mode == "max" else -1
    best = max((r for r in evals if name in r), key=lambda r: sign * r[name], default=None)
    record = {"trial": index, "name": run_dir.name, "overrides": list(spec.trials()[index]),
              "run_dir": str(run_dir), "status": "stopped early", "best": best, "test": None,
              "epochs": best and best["epoch"]}
    record["value"] = metric_value(record, spec.metric)
    if run_dir.is_dir():
        checkpoint.atomic_write(run_dir / EARLY_STOPPED,
                                lambda f: f.write(json.dumps(record, indent=2).encode()))
    return record


def run_sweep(spec: Spec, out: str | os.PathLike, workers: int = 1, threads_per_trial: int = 1,
              report: Callable[[dict], None] | None = None, executor: str = "local",
              address: str | None = None, early_stop: str | None = None) -> list[dict]:
    """Run every trial of ``spec`` under ``out``, ``threads_per_trial`` kernel threads each:
    ``executor`` "local", a pool of ``workers`` processes on this machine; "ray", Ray tasks
    on the cluster at ``address`` (None: a local cluster), and with ``early_stop="asha"``
    under Ray Tune's ASHA scheduler (``workers`` trials at a time). ``report(record)`` as
    each trial ends; finished trials are read back, not run. Returns the records ranked best
    first; raises :class:`SweepInterrupted` on Ctrl-C."""
    if executor not in EXECUTORS:
        raise SweepError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if early_stop not in (None, "asha"):
        raise SweepError(f"--early-stop must be asha, got {early_stop!r}")
    if early_stop and executor != "ray":
        raise SweepError("--early-stop asha runs on Ray Tune: add --executor ray")
    if executor == "local":
        check_resources(workers, threads_per_trial)
    out = Path(out)
    _prepare(spec, out)
    report = report or (lambda record: None)
    records: dict[int, dict] = {}
    todo = []
    for i in range(len(spec.trials())):
        if any((out / _trial_name(i) / name).is_file() for name in ("summary.json",
                                                                     EARLY_STOPPED)):
            records[i] = run_trial(spec, i, str(out), threads_per_trial)  # reads it back
            report(records[i])
        else:
            todo.append(i)
    finished = () if not todo else (
        _local(spec, out, todo, workers, threads_per_trial) if executor == "local" else
        _asha(spec, out, todo, threads_per_trial, workers, address) if early_stop else
        _ray(spec, out, todo, threads_per_trial, address))
    previous = signal.signal(signal.SIGTERM, _terminate)  # a kill stops it as Ctrl-C does
    try:
        for record in finished:
            records[record["trial"]] = record
            _write_results(out, records)
            report(record)
    except (SweepInterrupted, KeyboardInterrupt) as stop:
        if isinstance(stop, KeyboardInterrupt) and isinstance(finished, Iterator):
            try:  # Ctrl-C came while a record was written: the executor still stops its trials
                finished.throw(KeyboardInterrupt)
            except SweepInterrupted as raised:
                stop = raised
            except (KeyboardInterrupt, StopIteration):
                pass
        records.update({record["trial"]: record for record in getattr(stop, "records", ())})
        _write_results(out, records)
        raise SweepInterrupted(out, list(records.values())) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    _write_results(out, records)
    return ranked(list(records.values()), spec.mode)
