"""The error a config that cannot run raises, and the "did you mean" hint its messages carry."""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class ConfigError(ValueError):
    """A config that cannot run; the message names the key, the value and what is allowed."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'epochs'?)`` when ``word`` is a likely typo of one of ``choices``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def choose(what: str, name: str, table: dict):
    """``table[name]``, or a ConfigError naming ``what`` (``optim.name``) and the choices."""
    if name not in table:
        raise ConfigError(f"{what} = {name!r} is unknown{did_you_mean(name, table)}; "
                          f"choose one of: {', '.join(table)}")
    return table[name]
