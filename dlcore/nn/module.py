"""Module: the base class of every layer and model.

Assigning a :class:`Parameter`, a :class:`Module` or (through :meth:`Module.register_buffer`) a
buffer to an attribute registers it. The object is stored both as an ordinary instance
attribute, so that reading ``self.weight`` in ``forward`` costs a plain attribute lookup, and in
an ordered registry (``_parameters``, ``_buffers``, ``_modules``) that fixes the order of
:meth:`Module.state_dict` and the ``repr``. ``__call__`` is ``forward`` and nothing else.

A module learns its path in the model (``"classifier.2"``) when a parent registers it, so that
its errors can say which layer rejected an input.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

import numpy as np

from dlcore.nn.parameter import Parameter
from dlcore.tensor import Tensor, to_arguments


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` with ``strict=False`` did not match."""
    missing_keys: list[str]
    unexpected_keys: list[str]


def _join(prefix: str | None, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _as_buffer(value) -> Tensor | None:
    if value is None or isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return Tensor(value, dtype=value.dtype)
    raise TypeError(f"a buffer must be a Tensor, an ndarray or None, got {type(value).__name__}")


class Module:
    """Base class: subclasses call ``super().__init__()``, assign their layers and parameters as
    attributes, and define ``forward``."""

    training: bool

    def __init__(self):
        state = self.__dict__  # plain writes: __setattr__ needs these registries to exist
        state["training"] = True
        state["_parameters"] = {}
        state["_buffers"] = {}
        state["_non_persistent"] = set()
        state["_modules"] = {}
        state["_path"] = None

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # --- registration -----------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        state = self.__dict__
        if isinstance(value, Parameter):
            self.register_parameter(name, value)
        elif isinstance(value, Module):
            self.add_module(name, value)
        elif name in state.get("_parameters", ()):
            self.register_parameter(name, value)
        elif name in state.get("_modules", ()):
            self.add_module(name, value)
        elif name in state.get("_buffers", ()):
            value = _as_buffer(value)
            state["_buffers"][name] = value
            state[name] = value
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    def _registries(self) -> tuple[dict, dict, dict]:
        try:
            return self._parameters, self._buffers, self._modules
        except AttributeError:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning "
                                 "parameters, buffers or submodules") from None

    def _forget(self, name: str) -> None:
        for registry in self._registries():
            registry.pop(name, None)
        self._non_persistent.discard(name)

    def _check_new_name(self, name, kind: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"{kind} name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise ValueError(f"{kind} name must be non-empty and contain no '.', got {name!r}")
        registered = any(name in registry for registry in self._registries())
        if not registered and name in self.__dict__:
            raise KeyError(f"{type(self).__name__} already has a plain attribute {name!r}; "
                           f"it cannot also be a {kind}")

    def _register(self, registry: str, kind: str, name: str, value, expected: type,
                  hint: str) -> None:
        """Store ``value`` (an ``expected`` or None) as ``name`` in the registry named
        ``registry`` and as an attribute, in place of whatever the name held."""
        self._check_new_name(name, kind)
        if value is not None and not isinstance(value, expected):
            raise TypeError(f"cannot assign {type(value).__name__} as {kind} {name!r} of "
                            f"{type(self).__name__}: {hint}")
        self._forget(name)
        self.__dict__[registry][name] = value
        self.__dict__[name] = value

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None: a declared but absent parameter, like ``bias=False``)."""
        self._register("_parameters", "parameter", name, param, Parameter,
                       "wrap it in nn.Parameter, or assign None")

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Register state that is not trained (e.g. BatchNorm's running mean): it follows
        ``to()`` and, when ``persistent``, is saved by :meth:`state_dict`."""
        self._check_new_name(name, "buffer")
        tensor = _as_buffer(tensor)
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        self.__dict__[name] = tensor

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the child ``name`` (also what ``self.name = module`` does)."""
        self._register("_modules", "submodule", name, module, Module, "it is not a Module")
        if module is not None:
            module._set_path(_join(self._path, name))

    def _set_path(self, path: str) -> None:
        self.__dict__["_path"] = path
        for name, child in self._modules.items():
            if child is not None:
                child._set_path(f"{path}.{name}")

    def _describe(self) -> str:
        """How errors name this module: ``Linear 'classifier.2'``, or the class alone at the top."""
        name = type(self).__name__
        return f"{name} '{self._path}'" if self._path else name

    def _require_tensor(self, x) -> None:
        if not isinstance(x, Tensor):
            hint = (" (wrap NumPy arrays such as DataLoader batches with dlcore.from_numpy(x) "
                    "or dlcore.tensor(x))" if isinstance(x, np.ndarray) else "")
            raise TypeError(f"{self._describe()} expects a Tensor input, got "
                            f"{type(x).__name__}{hint}")

    def _check_input(self, x, dtype=None) -> None:
        """Refuse a non-Tensor or a non-floating input, and, when ``dtype`` is given (the
        parameters' dtype), an input of another dtype."""
        self._require_tensor(x)
        if dtype is not None and x.dtype != dtype:
            raise TypeError(f"{self._describe()} expects a {dtype} input (the dtype of its "
                            f"parameters), got {x.dtype}")
        if x.dtype.kind != "f":
            raise TypeError(f"{self._describe()} expects a floating-point input, got {x.dtype}")

    # --- traversal --------------------------------------------------------------------------
    def children(self) -> Iterator[Module]:
        return (module for _, module in self.named_children())

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def modules(self) -> Iterator[Module]:
        return (module for _, module in self.named_modules())

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every descendant, pre-order, each once (a shared module is listed
        under its first name)."""
        return self._walk(prefix, seen=set())

    def _walk(self, prefix: str, seen: set | None) -> Iterator[tuple[str, Module]]:
        """Pre-order traversal; ``seen=None`` keeps repeats (state_dict lists tied weights under
        every name, like PyTorch)."""
        if seen is not None:
            if id(self) in seen:
                return
            seen.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child._walk(_join(prefix, name), seen)

    def _named_members(self, registry: str, prefix: str, recurse: bool):
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        seen = set()
        for module_prefix, module in modules:
            for name, member in getattr(module, registry).items():
                if member is not None and id(member) not in seen:
                    seen.add(id(member))
                    yield _join(module_prefix, name), member

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted name, parameter)`` pairs, each parameter once even when shared."""
        return self._named_members("_parameters", prefix, recurse)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        return (param for _, param in self.named_parameters(recurse=recurse))

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        return (buffer for _, buffer in self.named_buffers(recurse=recurse))

    def num_parameters(self, trainable_only: bool = False) -> int:
        """How many scalars the parameters hold (only those that require grad, if asked)."""
        return sum(p.data.size for p in self.parameters()
                   if p.requires_grad or not trainable_only)

    # --- modes and bulk updates -------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout drops, BatchNorm uses batch statistics) for the whole tree."""
        for module in self.modules():
            module.training = bool(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Freeze (False) or unfreeze every parameter, e.g. to fine-tune only a new head."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.fill(0)

    def apply(self, fn: Callable[[Module], object]) -> Module:
        """Call ``fn`` on every descendant, children before parents, then on self (e.g. a
        custom initialisation)."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Cast floating parameters, their gradients and floating buffers to a dtype in place
        (same Parameter objects, so an optimizer built before keeps working); takes what
        ``Tensor.to`` takes, and ``to("cpu")`` changes nothing."""
        dtype = to_arguments(args, kwargs, "Module")
        if dtype is None:
            return self
        if dtype.kind != "f":
            raise TypeError(f"Module.to expects a floating dtype, got {dtype}")
        for tensor in (*self.parameters(), *self.buffers()):
            if tensor.dtype.kind == "f":
                tensor.data = tensor.data.astype(dtype)
                if tensor.grad is not None:
                    tensor.grad = tensor.grad.astype(dtype)
        return self

    def cpu(self) -> Module:
        """Itself: every module lives on the CPU."""
        return self

    # --- state_dict -------------------------------------------------------------------------
    def _state_tensors(self) -> OrderedDict[str, Tensor]:
        """Every saved tensor by its key: per module its parameters, then its persistent
        buffers, then its children (PyTorch's order and names)."""
        state = OrderedDict()
        for prefix, module in self._walk("", seen=None):
            for name, param in module._parameters.items():
                if param is not None:
                    state[_join(prefix, name)] = param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    state[_join(prefix, name)] = buffer
        return state

    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Parameters and persistent buffers as copied ndarrays, keyed like PyTorch
        (``features.0.weight``, ``bn.running_mean``)."""
        return OrderedDict((key, tensor.data.copy())
                           for key, tensor in self._state_tensors().items())

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> IncompatibleKeys:
        """Copy ``state_dict`` (name -> ndarray or Tensor) into the parameters and buffers in
        place. Nothing is copied unless every key fits: a shape or dtype mismatch always
        raises, missing or unexpected keys raise when ``strict``."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict expects a mapping of name -> array, "
                            f"got {type(state_dict).__name__}")
        own = self._state_tensors()
        missing = [key for key in own if key not in state_dict]
        unexpected = [key for key in state_dict if key not in own]
        values, mismatched = {}, []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            value = np.asarray(value.data if isinstance(value, Tensor) else value)
            if value.shape != target.shape:
                mismatched.append(f"{key!r}: checkpoint has shape {value.shape}, "
                                  f"the model {target.shape}")
            elif not np.can_cast(value.dtype, target.dtype, "same_kind"):
                mismatched.append(f"{key!r}: checkpoint has dtype {value.dtype}, "
                                  f"the model {target.dtype}")
            values[key] = value
        if mismatched or (strict and (missing or unexpected)):
            problems = [f"{kind} keys: {', '.join(map(repr, keys))}"
                        for kind, keys in (("missing", missing), ("unexpected", unexpected))
                        if keys]
            problems += [f"mismatch for {line}" for line in mismatched]
            raise ValueError(f"Error(s) in loading state_dict for {type(self).__name__}:\n  "
                             + "\n  ".join(problems))
        for key, value in values.items():
            np.copyto(own[key].data, value, casting="same_kind")
        return IncompatibleKeys(missing, unexpected)

    # --- repr -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        """The layer's own settings for the ``repr`` (e.g. ``in_features=8, out_features=4``)."""
        return ""

    def __repr__(self) -> str:
        lines = self.extra_repr().splitlines()
        lines += [f"({name}): " + repr(module).replace("\n", "\n  ")
                  for name, module in self._modules.items()]
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
