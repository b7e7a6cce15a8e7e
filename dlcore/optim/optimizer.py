"""The optimizer base: parameter groups, the step loop, zero_grad and a pickle-free state_dict.

Subclasses are thin: a constructor naming PyTorch's options and ``_rule(group)``, which checks
a group's options and maps them onto the knobs of the one general update
(:func:`dlcore.optim.update.apply_update`).

State lives per parameter, keyed by the parameter's position in the flattened groups, which is
also the key a checkpoint stores, so saving and loading need no translation.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np

from dlcore import checks
from dlcore.optim.update import STEP, UpdateRule, apply_update


class Optimizer:
    """Updates parameters (objects with an ndarray ``.data`` and ``.grad``) from their grads."""

    def __init__(self, params: Iterable, defaults: dict) -> None:
        if isinstance(params, dict) or isinstance(getattr(params, "data", None), np.ndarray):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of parameters or of dicts "
                f"(parameter groups), got {type(params).__name__}"
            )
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[int, dict] = {}
        self._rules: dict[int, tuple[dict, UpdateRule]] = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def _rule(self, group: dict) -> UpdateRule:
        """Check ``group``'s options and translate them into the general update's knobs."""
        raise NotImplementedError

    def add_param_group(self, param_group: dict) -> None:
        """Append a group; options it leaves out take the constructor's values."""
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{type(self).__name__}: a parameter group must be a dict with a "
                            f"'params' entry")
        params = param_group["params"]
        params = [params] if isinstance(getattr(params, "data", None), np.ndarray) else list(params)
        for i, param in enumerate(params):
            if not isinstance(getattr(param, "data", None), np.ndarray):
                raise TypeError(
                    f"{type(self).__name__}: params[{i}] of group {len(self.param_groups)} is a "
                    f"{type(param).__name__}, not a parameter with an ndarray .data"
                )
        if not params:
            raise ValueError(f"{type(self).__name__}: parameter group {len(self.param_groups)} "
                             f"has no parameters")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if len({id(p) for p in params}) < len(params) or seen & {id(p) for p in params}:
            raise ValueError(f"{type(self).__name__}: a parameter appears more than once in the "
                             f"parameter groups")
        group = {**self.defaults, **param_group, "params": params}
        self._rule(group)
        self.param_groups.append(group)

    def _current_rule(self, group: dict) -> UpdateRule:
        """``group``'s rule, checked and rebuilt only when its options change (a schedule's new
        lr, say), not on every step."""
        options = {k: tuple(v) if isinstance(v, list) else v
                   for k, v in group.items() if k != "params"}
        cached = self._rules.get(id(group))
        if cached is None or cached[0] != options:
            cached = self._rules[id(group)] = (options, self._rule(group))
        return cached[1]

    def _indexed_params(self) -> Iterable[tuple[int, dict, object]]:
        """(position, group, parameter) over all groups, positions counting across groups."""
        index = 0
        for group in self.param_groups:
            for param in group["params"]:
                yield index, group, param
                index += 1

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a grad; ``closure`` re-evaluates the loss first."""
        loss = None if closure is None else closure()
        rules = {id(group): self._current_rule(group) for group in self.param_groups}
        for index, group, param in self._indexed_params():
            if param.grad is None:
                continue
            if param.grad.shape != param.data.shape:
                raise ValueError(
                    f"{type(self).__name__}: parameter {index} has shape {param.data.shape} "
                    f"but its grad has shape {param.grad.shape}"
                )
            apply_update(rules[id(group)], param.data, param.grad, self.state.setdefault(index, {}))
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop the grads (``None``), or fill them with zeros in place when
        ``set_to_none=False``."""
        for _, _, param in self._indexed_params():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.fill(0)

    def state_dict(self) -> dict:
        """``{"state": {index: {name: ndarray | number}}, "param_groups": [{option: value, "params":
        [index, ...]}]}``: numbers, tuples of numbers and copied ndarrays only (no pickle
        needed)."""
        groups, start = [], 0
        for group in self.param_groups:
            count = len(group["params"])
            options = {k: v for k, v in group.items() if k != "params"}
            groups.append({**options, "params": list(range(start, start + count))})
            start += count
        state = {
            index: {name: value.copy() if isinstance(value, np.ndarray) else value
                    for name, value in entries.items()}
            for index, entries in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore options and state saved by :meth:`state_dict` into an optimizer over parameters
        of the same shapes; index keys may be strings and tuples may be lists (a JSON round
        trip)."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{name}.load_state_dict expects a dict with keys 'state' and "
                             f"'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the state dict has {len(saved_groups)} parameter groups, "
                f"the optimizer has {len(self.param_groups)}"
            )
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: parameter group {i} has {len(saved['params'])} "
                    f"parameters in the state dict, {len(group['params'])} in the optimizer"
                )
        params = [param for _, _, param in self._indexed_params()]
        state = {}
        for key, entries in state_dict["state"].items():
            index = int(key)
            if not 0 <= index < len(params):
                raise ValueError(f"{name}.load_state_dict: state for parameter {index}, "
                                 f"but there are {len(params)}")
            state[index] = {entry: _restored_entry(name, index, entry, value, params[index].data)
                            for entry, value in entries.items()}
        groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            options = {k: tuple(v) if isinstance(group.get(k), tuple) else v
                       for k, v in saved.items() if k != "params"}
            groups.append({**options, "params": group["params"]})
        for group in groups:
            self._rule(group)
        self.param_groups, self.state = groups, state

    def _option(self, group: dict, name: str, low: float = 0.0, high: float = math.inf,
                high_open: bool = False) -> float:
        """``group[name]`` as a float, checked to lie in ``[low, high]`` (or ``[low, high)``)."""
        return checks.in_range(self, name, group[name], low, high, high_open=high_open)


def _restored_entry(optimizer: str, index: int, entry: str, value, param: np.ndarray):
    """One saved state entry: the step count as an int, anything else as an array shaped like θ."""
    if entry == STEP:
        return int(value)
    value = np.asarray(value)
    if value.shape != param.shape:
        raise ValueError(
            f"{optimizer}.load_state_dict: state '{entry}' of parameter {index} has shape "
            f"{value.shape}, the parameter has shape {param.shape}"
        )
    return value.astype(param.dtype, copy=True)
