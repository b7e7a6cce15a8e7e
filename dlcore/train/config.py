"""Experiment configs: TOML → a validated :class:`Experiment`, before any work starts.

A config has six sections. Each has fixed keys (``[train] epochs``) and the keyword options of
the component its ``name`` selects (``[model] dropout`` is a parameter of the ``mlp``
builder, ``[task] label_smoothing`` of the adversarial task, ``[train] n_critic`` of the
updater the task runs with). Fixed keys are checked against :data:`FIELDS`; options against
the component's signature (its type hints, else its default's type), so a typo, a wrong type
or a bad value is reported with the key, the value and what is allowed. Components then check
their own ranges when :mod:`dlcore.train.components` builds them.

``[optim]`` and ``[schedule]`` hold one table per optimizer. An updater with one optimizer
(role ``model``) takes them flat; one with several names them: ``[optim.generator]`` and
``[optim.discriminator]``, where keys written directly under ``[optim]`` are defaults that
every role's table inherits.

Model options that the data determines (``num_classes``, ``vocab_size``: see
:data:`dlcore.models.DATA_OPTIONS`) are left unset unless the config gives them;
:func:`dlcore.train.components.resolve_data` fills them from the dataset's metadata.

Options typed as paths (``os.PathLike``) resolve against the config file's folder: the
process never changes directory.
"""
from __future__ import annotations

import dataclasses
import inspect
import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from dlcore.models import DATA_OPTIONS

from . import components
from .errors import ConfigError, did_you_mean
from .triggers import Trigger

SECTIONS = ("model", "data", "task", "optim", "schedule", "train")
ROLE_SECTIONS = ("optim", "schedule")  # one table per optimizer
SINGLE_ROLE = "model"
_MISSING = object()

__all__ = ["ConfigError", "Experiment", "FIELDS", "SECTIONS", "apply_overrides", "did_you_mean",
           "load", "parse"]


@dataclasses.dataclass(frozen=True)
class Field:
    """A fixed key: its type, default (``_MISSING`` = required) and an optional check that
    returns the value (normalised) or raises ValueError saying what is allowed."""

    type: type
    default: object = _MISSING
    check: Callable[[object], object] | None = None


def _at_least(low: int, note: str = ""):
    def check(value):
        if value < low:
            raise ValueError(f"must be >= {low}{note}, got {value!r}")
        return value
    return check


def _one_of(*choices: str):
    def check(value):
        if value not in choices:
            raise ValueError(f"must be {' or '.join(json.dumps(c) for c in choices)}, "
                             f"got {json.dumps(value)}")
        return value
    return check


def _fraction(value):
    if not 0.0 <= value < 1.0:
        raise ValueError(f"must be in [0, 1) (0: no validation part; evaluate on the test "
                         f"split while training), got {value!r}")
    return value


def _trigger(clock: bool = False):
    return lambda value: Trigger.parse(value, clock=clock).text


FIELDS: dict[str, dict[str, Field]] = {
    "model": {"name": Field(str)},
    "data": {
        "name": Field(str),
        "batch_size": Field(int, 64, _at_least(1)),
        "val_fraction": Field(float, 0.1, _fraction),
        "test_split": Field(str, "test"),
        "shuffle": Field(bool, True),
    },
    "task": {"name": Field(str, "")},  # "": the model's task
    "optim": {"name": Field(str, "sgd")},
    "schedule": {"name": Field(str, "none"), "interval": Field(str, "epoch",
                                                               _one_of("epoch", "step"))},
    "train": {
        "epochs": Field(int, 10, _at_least(1)),
        "seed": Field(int, 0, _at_least(0)),
        "eval_every": Field(object, "1 epoch", _trigger()),
        "log_every": Field(object, "1 epoch", _trigger()),
        "checkpoint_every": Field(object, "1 epoch", _trigger(clock=True)),
        "patience": Field(int, 0, _at_least(0, " (evaluations without improvement; 0 = off)")),
        "monitor": Field(str, ""),  # "": the task's
    },
}


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A validated, fully resolved config: every section a plain dict, defaults filled in.

    ``optim`` and ``schedule`` map each optimizer's role to its table.
    """

    model: dict
    data: dict
    task: dict
    optim: dict[str, dict]
    schedule: dict[str, dict]
    train: dict
    name: str = "experiment"
    #: what loading changed beyond the overrides themselves (a schedule's horizon that follows
    #: an overridden ``train.epochs``), for the caller to show
    notes: tuple[str, ...] = dataclasses.field(default=(), compare=False)

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(self.optim)

    def sections(self) -> dict[str, dict]:
        """The config as TOML nests it: role tables flat for a single optimizer."""
        out = {}
        for section in SECTIONS:
            values = getattr(self, section)
            if section in ROLE_SECTIONS and self.roles == (SINGLE_ROLE,):
                values = values[SINGLE_ROLE]
            out[section] = values
        return out

    def options(self, section: str, role: str = SINGLE_ROLE) -> dict:
        """The keyword options of the component ``section`` (of ``role``) names."""
        values = getattr(self, section)
        if section in ROLE_SECTIONS:
            values = values[role]
        return {k: v for k, v in values.items() if k not in FIELDS[section]}

    def to_toml(self) -> str:
        """The resolved config as TOML; :func:`parse` reads it back to an equal Experiment."""
        blocks = []
        for section, values in self.sections().items():
            flat = {k: v for k, v in values.items() if not isinstance(v, dict)}
            if flat or len(flat) == len(values):
                blocks.append("\n".join([f"[{section}]"] + [
                    f"{_toml_key(k)} = {_toml_value(v)}" for k, v in flat.items()]))
            for role, table in values.items():
                if isinstance(table, dict):
                    blocks.append("\n".join([f"[{section}.{role}]"] + [
                        f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]))
        return "\n\n".join(blocks) + "\n"

    def diff(self, other: Experiment) -> list[str]:
        """``section.key: old -> new`` for every key whose value differs."""
        mine, theirs = _flatten(self.sections()), _flatten(other.sections())
        return [f"{key}: {_show(mine.get(key, '(unset)'))} -> {_show(theirs.get(key, '(unset)'))}"
                for key in sorted(set(mine) | set(theirs)) if mine.get(key) != theirs.get(key)]


def _flatten(tree: Mapping, prefix: str = "") -> dict:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def load(path: str | Path, overrides: Iterable[str] = ()) -> Experiment:
    """Read the TOML file ``path``, apply ``--set`` style ``overrides``, validate. A
    ``[sweep]`` table is the sweep's (:mod:`dlcore.train.sweep`), not the run's."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {str(path)!r}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    raw.pop("sweep", None)  # how to sweep this config (dlcore.train.sweep); one run ignores it
    changed = apply_overrides(raw, overrides)
    notes = follow_epochs(raw, changed)
    experiment = parse(changed, base_dir=path.parent.resolve(), name=path.stem)
    return dataclasses.replace(experiment, notes=notes)


#: schedule name → the option that is its horizon in epochs (with ``interval = "epoch"``; for
#: onecycle, always)
HORIZONS = {"cosine": "T_max", "linear": "total_iters", "onecycle": "epochs"}


def follow_epochs(before: Mapping, after: dict) -> tuple[str, ...]:
    """When ``after`` (``before`` with overrides) changes ``train.epochs`` and a schedule's
    horizon equalled the old epoch count without being overridden itself, set it to the new
    count in ``after``; one note per change. A cosine ``T_max = 10`` written for 10 epochs
    would otherwise stop annealing half-way through ``--set train.epochs=20``."""
    default = FIELDS["train"]["epochs"].default
    old = before.get("train", {}).get("epochs", default)
    new = after.get("train", {}).get("epochs", default)
    if old == new or not isinstance(new, int):
        return ()
    notes = []
    for role, table, original in _schedule_tables(after.get("schedule"), before.get("schedule")):
        key = HORIZONS.get(table.get("name"))
        per_epoch = table.get("name") == "onecycle" or table.get("interval", "epoch") == "epoch"
        if key and per_epoch and original.get(key) == old and table.get(key) == old:
            table[key] = new
            notes.append(f"schedule{'.' + role if role else ''}.{key} follows train.epochs: "
                         f"{old} -> {new}")
    return tuple(notes)


def _schedule_tables(after, before):
    """(role or None, table in ``after``, the same table in ``before``) of every schedule."""
    if not isinstance(after, dict):
        return
    before = before if isinstance(before, Mapping) else {}
    yield None, after, before
    for role, table in after.items():
        if isinstance(table, dict):
            original = before.get(role)
            yield role, table, original if isinstance(original, Mapping) else {}


def apply_overrides(raw: dict, overrides: Iterable[str]) -> dict:
    """``raw`` with each ``section.key=value`` (or ``section.role.key=value``) set; values are
    TOML (``0.1``, ``true``, ``[1, 2]``, ``"x"``), or a bare string when they do not parse as
    TOML (``name=mlp``)."""
    raw = json.loads(json.dumps(raw))  # a deep copy: the caller's dict stays as it was
    for override in overrides:
        key, sep, text = override.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) not in (2, 3) or not all(parts):
            raise ConfigError(f"--set expects section.key=value (or section.role.key=value), "
                              f"got {override!r}")
        _check_section_name(parts[0])
        table = raw
        for depth, part in enumerate(parts[:-1]):
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"[{'.'.join(parts[:depth + 1])}] must be a table, "
                                  f"got {_show(table)}")
        table[parts[-1]] = parse_value(text.strip())
    return raw


def parse_value(text: str):
    """A ``--set`` value: TOML (``0.1``, ``true``, ``[1, 2]``), else the bare string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse(raw: Mapping, base_dir: Path | None = None, name: str = "experiment") -> Experiment:
    """Validate ``raw`` (a parsed TOML document) into an :class:`Experiment`.

    ``base_dir`` is the folder that relative paths refer to (the config file's).
    """
    for section in raw:
        _check_section_name(section)
    tables = {section: _table(section, raw.get(section, {})) for section in SECTIONS}
    resolved = {}
    for section in ("model", "data"):
        resolved[section] = _section(section, tables[section], base_dir)
    task_table = dict(tables["task"])
    if not task_table.get("name"):
        task_table["name"] = components.model_task(resolved["model"]["name"])
    resolved["task"] = _section("task", task_table, base_dir)
    roles = components.task_class(resolved["task"]["name"]).updater.roles
    for section in ROLE_SECTIONS:
        resolved[section] = {role: _section(section, values, base_dir,
                                            None if role == SINGLE_ROLE else role)
                             for role, values in _role_tables(section, tables[section],
                                                              roles).items()}
    resolved["train"] = _train(tables["train"], resolved["task"]["name"], base_dir)
    return Experiment(**resolved, name=name)


def _table(section: str, values) -> Mapping:
    if not isinstance(values, Mapping):
        raise ConfigError(f"[{section}] must be a table, got {_show(values)}")
    return values


def _check_section_name(section: str) -> None:
    if section not in SECTIONS:
        raise ConfigError(f"unknown section [{section}]{did_you_mean(section, SECTIONS)}; "
                          f"sections: {', '.join(SECTIONS)}")


def _role_tables(section: str, values: Mapping, roles: tuple[str, ...]) -> dict[str, Mapping]:
    """One table per role: flat for a single optimizer; ``[section.role]`` tables (inheriting
    the flat keys) for several."""
    nested = {key: value for key, value in values.items() if isinstance(value, Mapping)}
    if roles == (SINGLE_ROLE,):
        for key in nested:
            raise ConfigError(f"[{section}.{key}]: this experiment trains one model with one "
                              f"optimizer; write its keys directly under [{section}]")
        return {SINGLE_ROLE: values}
    for key in nested:
        if key not in roles:
            raise ConfigError(f"unknown table [{section}.{key}]{did_you_mean(key, roles)}; "
                              f"this experiment's optimizers are: {', '.join(roles)}")
    shared = {key: value for key, value in values.items() if key not in nested}
    return {role: {**shared, **nested.get(role, {})} for role in roles}


def _section(section: str, values: Mapping, base_dir: Path | None, role: str | None = None
             ) -> dict:
    where = section if role is None else f"{section}.{role}"
    fixed = {key: _fixed_value(where, key, field, values)
             for key, field in FIELDS[section].items()}
    parameters = components.signature(section, fixed["name"])
    given = {k: v for k, v in values.items() if k not in fixed}
    unset = DATA_OPTIONS if section == "model" else ()
    return {**fixed, **_options(where, section, fixed["name"], parameters, given, base_dir,
                                unset)}


def _train(values: Mapping, task_name: str, base_dir: Path | None) -> dict:
    fixed = {key: _fixed_value("train", key, field, values)
             for key, field in FIELDS["train"].items()}
    task = components.task_class(task_name)
    if not fixed["monitor"]:
        fixed["monitor"] = task.monitor
    elif fixed["monitor"] not in task.metrics:
        raise ConfigError(f"train.monitor = {fixed['monitor']!r} is not a metric of the "
                          f"{task_name} task{did_you_mean(fixed['monitor'], task.metrics)}; "
                          f"its metrics: {', '.join(task.metrics)}")
    parameters = components.updater_signature(task.updater)
    given = {k: v for k, v in values.items() if k not in fixed}
    options = _options("train", "train", None, parameters, given, base_dir)
    try:
        task.updater.check_options(**options)
    except ValueError as error:
        raise ConfigError(f"train.{error}") from None
    return {**fixed, **options}


def _fixed_value(where: str, key: str, field: Field, values: Mapping):
    value = values.get(key, field.default)
    if value is _MISSING:
        raise ConfigError(f"{where}.{key} is required")
    if field.type is not object:
        value = _typed(f"{where}.{key}", value, field.type)
    if field.check is not None:
        try:
            value = field.check(value)
        except ValueError as error:
            raise ConfigError(f"{where}.{key} {error}") from None
    return value


def _options(where: str, section: str, name: str | None,
             parameters: Mapping[str, inspect.Parameter] | None, given: Mapping,
             base_dir: Path | None, unset: Iterable[str] = ()) -> dict:
    """``given`` checked against the selected component's keyword ``parameters``.

    ``parameters=None`` means there are no options (``schedule.name = "none"``). Parameters
    without a default are required; those in ``unset`` get no default here.
    """
    parameters = parameters or {}
    for key in given:
        if key not in parameters:
            allowed = [*FIELDS[section], *parameters]
            selected = f" with name = {name!r}" if name is not None else ""
            raise ConfigError(
                f"unknown key {where}.{key}{did_you_mean(key, allowed)}; "
                f"[{where}]{selected} accepts: {', '.join(allowed)}")
    options = {}
    for key, parameter in parameters.items():
        if key in given:
            expected, is_path = components.option_type(parameter)
            value = _typed(f"{where}.{key}", given[key], expected)
            if is_path and base_dir is not None:
                value = str((base_dir / value).resolve())
            options[key] = value
        elif parameter.default is inspect.Parameter.empty:
            raise ConfigError(f"{where}.{key} is required when {where}.name = {name!r}")
        elif key not in unset:
            options[key] = _plain(parameter.default)
    return options


_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
               list: "a list"}


def _type_name(kind: type) -> str:
    return _TYPE_NAMES.get(kind, kind.__name__)


def _typed(key: str, value, expected: type | None):
    """``value`` as ``expected`` (an int is a valid float); TypeError-like ConfigError else."""
    if isinstance(value, dict):
        raise ConfigError(f"{key} must be a single value, got a table {_show(value)}")
    if expected is None:
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if (expected is int and isinstance(value, bool)) or not isinstance(value, expected):
        raise ConfigError(f"{key} must be {_type_name(expected)}, "
                          f"got {_show(value)} ({_type_name(type(value))})")
    return value


def _plain(value):
    """A default as TOML can hold it (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


def _show(value) -> str:
    return json.dumps(value) if isinstance(value, (str, list, dict)) else repr(value)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
                ) if not math.isfinite(value) else repr(value)
    if isinstance(value, (int, str)):
        return json.dumps(value) if isinstance(value, str) else str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} ({type(value).__name__}) to TOML")
