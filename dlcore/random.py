"""The one global random-number generator: tensors, dropout masks and initialisers draw from it.

A single :class:`numpy.random.Generator` (PCG64) makes a run reproducible from one seed, and its
state, exported as a JSON-able dict, is what a checkpoint saves so that a resumed run draws the
same numbers it would have drawn had it never stopped.
"""
from __future__ import annotations

import numpy as np

_generator = np.random.default_rng()


def generator() -> np.random.Generator:
    """The global generator (draw from it; reseed it with :func:`manual_seed`)."""
    return _generator


def manual_seed(seed: int) -> None:
    """Reseed the global generator so that everything random after this call is reproducible."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed expects a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))


def get_state() -> dict:
    """The generator's full state as plain ints and strings (``json.dumps`` round-trips it)."""
    return _generator.bit_generator.state


def set_state(state: dict) -> None:
    """Restore a state returned by :func:`get_state`."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64":
        raise ValueError(f"set_state expects a PCG64 state dict from get_state(), got {state!r}")
    _generator.bit_generator.state = state
