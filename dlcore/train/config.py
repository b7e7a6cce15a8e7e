"""Experiment configs: TOML → a validated :class:`Experiment`, before any work starts.

A config has five sections. Each has fixed keys (``[train] epochs``) and, in ``model``,
``data``, ``optim`` and ``schedule``, the keyword options of the component its ``name``
selects (``[model] dropout`` is a parameter of the ``mlp`` builder). Fixed keys are checked
against :data:`FIELDS`; options against the component's signature (the type of the default
value, or a plain ``int``/``float``/``bool``/``str`` annotation), so a typo, a wrong type or a
bad value is reported with the key, the value and what is allowed. Components then check
their own ranges when :mod:`dlcore.train.components` builds them.

Options annotated as paths (``os.PathLike``) resolve against the config file's folder: the
process never changes directory.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import json
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

SECTIONS = ("model", "data", "optim", "schedule", "train")
_MISSING = object()


class ConfigError(ValueError):
    """A config that cannot run; the message names the key, the value and what is allowed."""


@dataclasses.dataclass(frozen=True)
class Field:
    """A fixed key: its type, default (``_MISSING`` = required) and an optional value check."""

    type: type
    default: object = _MISSING
    check: Callable[[object], bool] | None = None
    allowed: str = ""


def _at_least(low):
    return lambda value: value >= low


FIELDS: dict[str, dict[str, Field]] = {
    "model": {"name": Field(str)},
    "data": {
        "name": Field(str),
        "batch_size": Field(int, 64, _at_least(1), ">= 1"),
        "eval_split": Field(str, "test"),
        "shuffle": Field(bool, True),
    },
    "optim": {"name": Field(str, "sgd")},
    "schedule": {
        "name": Field(str, "none"),
        "interval": Field(str, "epoch", lambda v: v in ("epoch", "step"), '"epoch" or "step"'),
    },
    "train": {
        "epochs": Field(int, 10, _at_least(1), ">= 1"),
        "seed": Field(int, 0, _at_least(0), ">= 0"),
        "eval_every": Field(int, 1, _at_least(1), ">= 1 (epochs)"),
        "patience": Field(int, 0, _at_least(0), ">= 0 (evaluations without improvement; 0 = off)"),
        "clip_grad_norm": Field(float, 0.0, lambda v: v >= 0 and math.isfinite(v),
                                ">= 0 (0 = off)"),
    },
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'epochs'?)`` when ``word`` is a likely typo of one of ``choices``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A validated, fully resolved config: every section as a plain dict, defaults filled in."""

    model: dict
    data: dict
    optim: dict
    schedule: dict
    train: dict
    name: str = "experiment"

    def sections(self) -> dict[str, dict]:
        return {section: getattr(self, section) for section in SECTIONS}

    def options(self, section: str) -> dict:
        """The keyword options of the component ``section`` names (its fixed keys removed)."""
        return {k: v for k, v in getattr(self, section).items() if k not in FIELDS[section]}

    def to_toml(self) -> str:
        """The resolved config as TOML; :func:`parse` reads it back to an equal Experiment."""
        blocks = []
        for section, values in self.sections().items():
            lines = [f"[{section}]"] + [f"{_toml_key(k)} = {_toml_value(v)}"
                                        for k, v in values.items()]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"

    def diff(self, other: Experiment) -> list[str]:
        """``section.key: old -> new`` for every key whose value differs."""
        changes = []
        for section in SECTIONS:
            mine, theirs = getattr(self, section), getattr(other, section)
            for key in sorted(set(mine) | set(theirs)):
                old, new = mine.get(key, "(unset)"), theirs.get(key, "(unset)")
                if old != new:
                    changes.append(f"{section}.{key}: {_show(old)} -> {_show(new)}")
        return changes


def load(path: str | Path, overrides: Iterable[str] = ()) -> Experiment:
    """Read the TOML file ``path``, apply ``--set`` style ``overrides``, validate."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file {str(path)!r}: {error}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    return parse(apply_overrides(raw, overrides), base_dir=path.parent.resolve(), name=path.stem)


def apply_overrides(raw: dict, overrides: Iterable[str]) -> dict:
    """``raw`` with each ``section.key=value`` set; values are TOML (``0.1``, ``true``,
    ``[1, 2]``, ``"x"``), or a bare string when they do not parse as TOML (``name=mlp``)."""
    raw = {section: dict(values) if isinstance(values, dict) else values
           for section, values in raw.items()}
    for override in overrides:
        key, sep, text = override.partition("=")
        section, dot, field = key.strip().partition(".")
        if not sep or not dot or not section or not field or "." in field:
            raise ConfigError(f"--set expects section.key=value, got {override!r}")
        _check_section_name(section)
        raw.setdefault(section, {})
        if not isinstance(raw[section], dict):
            raise ConfigError(f"[{section}] must be a table, got {_show(raw[section])}")
        raw[section][field] = _parse_value(text.strip())
    return raw


def _parse_value(text: str):
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse(raw: Mapping, base_dir: Path | None = None, name: str = "experiment") -> Experiment:
    """Validate ``raw`` (a parsed TOML document) into an :class:`Experiment`.

    ``base_dir`` is the folder that relative paths refer to (the config file's).
    """
    from . import components  # it imports this module (ConfigError): resolve the cycle late

    for section in raw:
        _check_section_name(section)
    resolved = {}
    for section in SECTIONS:
        values = raw.get(section, {})
        if not isinstance(values, Mapping):
            raise ConfigError(f"[{section}] must be a table, got {_show(values)}")
        fixed = {key: _fixed_value(section, key, field, values)
                 for key, field in FIELDS[section].items()}
        component_name = fixed.get("name")
        component = None if component_name is None else components.signature(section,
                                                                              component_name)
        options = _options(section, component_name, component,
                           {k: v for k, v in values.items() if k not in fixed}, base_dir)
        resolved[section] = {**fixed, **options}
    return Experiment(**resolved, name=name)


def _check_section_name(section: str) -> None:
    if section not in SECTIONS:
        raise ConfigError(f"unknown section [{section}]{did_you_mean(section, SECTIONS)}; "
                          f"sections: {', '.join(SECTIONS)}")


def _fixed_value(section: str, key: str, field: Field, values: Mapping):
    value = values.get(key, field.default)
    if value is _MISSING:
        raise ConfigError(f"{section}.{key} is required")
    value = _typed(f"{section}.{key}", value, field.type)
    if field.check is not None and not field.check(value):
        raise ConfigError(f"{section}.{key} must be {field.allowed}, got {_show(value)}")
    return value


def _options(section: str, name: str | None, parameters: Mapping[str, inspect.Parameter] | None,
             given: dict, base_dir: Path | None) -> dict:
    """``given`` checked against the selected component's keyword ``parameters``.

    ``parameters=None`` means there are no options (``[train]``, ``schedule.name = "none"``).
    Parameters without a default are required.
    """
    parameters = parameters or {}
    fixed = FIELDS[section]
    for key in given:
        if key not in parameters:
            allowed = [*fixed, *parameters]
            selected = f" with name = {name!r}" if name is not None else ""
            raise ConfigError(
                f"unknown key {section}.{key}{did_you_mean(key, allowed)}; "
                f"[{section}]{selected} accepts: {', '.join(allowed)}")
    options = {}
    for key, parameter in parameters.items():
        if key in given:
            value = _typed(f"{section}.{key}", given[key], _expected_type(parameter))
            if _is_path(parameter) and base_dir is not None:
                value = str((base_dir / value).resolve())
            options[key] = value
        elif parameter.default is inspect.Parameter.empty:
            raise ConfigError(f"{section}.{key} is required when {section}.name = {name!r}")
        else:
            options[key] = _plain(parameter.default)
    return options


def _expected_type(parameter: inspect.Parameter) -> type | None:
    """The option's type: the first alternative of its annotation when that is a plain type
    (``int | None`` → int), else its default's type (None: anything goes)."""
    annotation = parameter.annotation
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    first = {"int": int, "float": float, "bool": bool, "str": str}.get(text.split("|")[0].strip())
    if first is not None:  # `float | Sequence[float]` takes a float (or the default's type)
        return first
    default = parameter.default
    if default is inspect.Parameter.empty or default is None:
        return None
    return list if isinstance(default, (tuple, list)) else type(default)


def _is_path(parameter: inspect.Parameter) -> bool:
    return "PathLike" in str(parameter.annotation)


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
