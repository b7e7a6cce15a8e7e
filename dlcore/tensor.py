"""Tensor: an ndarray plus the autograd tape (micrograd lifted to arrays).

Every differentiable op returns ``Tensor._make(data, parents, backward)``, where
``backward(grad)`` gives one gradient per parent (``None`` where a parent needs none). Nothing
is recorded under :class:`no_grad` or when no parent requires grad. :meth:`Tensor.backward`
sorts the recorded graph topologically and walks it in reverse, summing the gradients that
reach each node; leaves that require grad accumulate theirs into ``.grad`` (an ndarray), like
PyTorch. The ops live in :mod:`dlcore.ops`; the end of this module attaches them as methods and
operators. Factories (``zeros``, ``randn``, …) close the module.
"""
from __future__ import annotations

import functools
import sys
from collections.abc import Sequence

import numpy as np

from . import random as _random

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)

_grad_enabled = True


class no_grad:
    """Context manager (or decorator) under which ops record nothing: evaluation, optimizer
    steps."""

    _mode = False

    def __enter__(self):
        global _grad_enabled
        self._previous, _grad_enabled = _grad_enabled, self._mode
        return self

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class enable_grad(no_grad):
    """Context manager (or decorator) that turns recording back on inside a :class:`no_grad`."""

    _mode = True


def is_grad_enabled() -> bool:
    return _grad_enabled


def _as_array(data, dtype=None, copy: bool = False) -> np.ndarray:
    """``data`` as an ndarray; floating data becomes float32 unless ``dtype`` says otherwise."""
    if isinstance(data, Tensor):
        data = data.data
    array = np.array(data, dtype=dtype, copy=copy or None)
    if dtype is None and array.dtype.kind == "f" and array.dtype != float32:
        array = array.astype(float32)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"tensor data must be numbers or booleans, got dtype {array.dtype} "
                        f"from {type(data).__name__}")
    return array


class device:
    """The one device dlcore computes on, the CPU: there so that PyTorch-style code moving
    tensors and modules with ``.to(device)`` runs unchanged; any other device is a clear
    error rather than a silent no-op."""

    __slots__ = ("type",)

    def __init__(self, spec="cpu"):
        name = spec.type if isinstance(spec, device) else spec
        if not isinstance(name, str) or name.split(":")[0] != "cpu":
            raise ValueError(f"dlcore computes on the CPU only; device {spec!r} is not "
                             "available (use 'cpu')")
        self.type = "cpu"

    def __eq__(self, other) -> bool:
        return isinstance(other, (device, str)) and str(other).split(":")[0] == "cpu"

    def __hash__(self) -> int:
        return hash("cpu")

    def __str__(self) -> str:
        return "cpu"

    def __repr__(self) -> str:
        return "device(type='cpu')"


CPU = device()
_Device = device  # for functions whose `device` argument hides the class


def to_arguments(args: tuple, kwargs: dict, owner: str):
    """The dtype (or None) that PyTorch-style ``.to(...)`` arguments ask for: ``to(dtype)``,
    ``to(device)``, ``to(tensor)`` (its dtype), ``to(device, dtype)``, ``dtype=``/``device=``
    keywords; a device other than the CPU is a ValueError."""
    unknown = set(kwargs) - {"dtype", "device", "non_blocking", "copy"}
    if unknown or len(args) > 2:
        raise TypeError(f"{owner}.to() takes a dtype, a device or a tensor (and dtype=, "
                        f"device=), got {args!r} {kwargs!r}")
    dtype = kwargs.get("dtype")
    if kwargs.get("device") is not None:
        device(kwargs["device"])
    for arg in args:
        if isinstance(arg, Tensor):
            dtype = arg.dtype
        elif isinstance(arg, device):
            pass
        elif isinstance(arg, str):
            try:
                dtype = np.dtype(arg)
            except TypeError:
                device(arg)
        else:
            dtype = np.dtype(arg)
    return None if dtype is None else np.dtype(dtype)


class Tensor:
    """An n-dimensional array that records the ops applied to it, for :meth:`backward`.

    ``Tensor(data)`` wraps an ndarray without copying when its dtype is already right;
    :func:`tensor` always copies. ``.grad`` is an ndarray shaped like ``.data``.
    """

    __slots__ = ("data", "grad", "requires_grad", "_parents", "_backward", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Tensor defers to Tensor's reflected operators
    __hash__ = object.__hash__  # == is elementwise, yet tensors stay usable as dict keys

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        self.data = _as_array(data, dtype)
        self.grad = None
        self._parents = ()
        self._backward = None
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    @staticmethod
    def _make(data, parents: tuple, backward) -> Tensor:
        """The result of an op: records ``parents`` and ``backward`` only if a gradient can flow."""
        out = object.__new__(Tensor)
        out.data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        if _grad_enabled:
            for parent in parents:
                if parent.requires_grad:
                    out.requires_grad, out._parents, out._backward = True, parents, backward
                    return out
        out.requires_grad, out._parents, out._backward = False, (), None
        return out

    # --- autograd -------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require grad, got dtype {self.dtype}")
        if self._backward is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach() instead")
        self.requires_grad = bool(requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return self._backward is None

    def backward(self, gradient=None) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``, seeded with ``gradient``."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no input of it "
                               "requires grad, or it was computed under no_grad()")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError("backward() without a gradient needs a single-element tensor, "
                                   f"got shape {self.shape}; pass gradient=")
            gradient = np.ones_like(self.data)
        else:
            gradient = _as_array(gradient, self.dtype)
            if gradient.shape != self.shape:
                raise ValueError(f"backward(gradient=) expects shape {self.shape}, "
                                 f"got {gradient.shape}")
        grads = {id(self): gradient}
        for node in reversed(self._topological_order()):
            grad = grads.pop(id(node), None)
            if grad is None:
                continue
            if node._backward is None:
                node._accumulate(grad)
            else:
                _send_to_parents(node, node._backward(grad), grads)

    def _topological_order(self) -> list[Tensor]:
        """Nodes that require grad, parents before children (iterative: graphs can be deep)."""
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                stack.extend((p, False) for p in node._parents
                             if p.requires_grad and id(p) not in visited)
        return order

    def _accumulate(self, grad: np.ndarray) -> None:
        if grad.shape != self.data.shape:
            raise RuntimeError(f"internal error: gradient of shape {grad.shape} reached a tensor "
                               f"of shape {self.data.shape}")
        if self.grad is None:
            unshared = _unshared(grad, self.data.dtype)
            self.grad = grad if unshared else np.array(grad, dtype=self.data.dtype)
        else:
            self.grad += grad

    def detach(self) -> Tensor:
        """The same data (shared, not copied), cut from the graph."""
        return Tensor._make(self.data, (), None)

    # --- array facts and conversions ------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def size(self, dim: int | None = None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self) -> int:
        return self.data.size

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self.data

    @property
    def device(self) -> device:
        return CPU

    def cpu(self) -> Tensor:
        """Itself: every tensor lives on the CPU."""
        return self

    def __array__(self, dtype=None, copy=None):
        return np.array(self.data, dtype=dtype, copy=copy)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a single-element tensor, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __setitem__(self, index, value) -> None:
        if self.requires_grad and _grad_enabled:
            raise RuntimeError("in-place assignment to a tensor that requires grad; do it under "
                               "dlcore.no_grad() or on .data")
        self.data[_index_array(index)] = value.data if isinstance(value, Tensor) else value

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(")
        extras = "" if self.dtype in (float32, int64) else f", dtype={self.dtype}"
        if self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"


def _send_to_parents(node: Tensor, parent_grads: tuple, grads: dict) -> None:
    """Add each parent's gradient into ``grads`` (keyed by id). A function of its own, so that
    no loop variable outlives it holding a gradient, which :func:`_unshared` would count."""
    for parent, parent_grad in zip(node._parents, parent_grads):
        if parent_grad is not None and parent.requires_grad:
            key = id(parent)
            grads[key] = grads[key] + parent_grad if key in grads else parent_grad


def _unshared(grad: np.ndarray, dtype: np.dtype) -> bool:
    """Whether ``_accumulate`` may keep ``grad`` as ``.grad`` instead of copying it (PyTorch's
    AccumulateGrad steals a gradient the same way): it owns its memory, is writeable, has the
    leaf's dtype, and only ``_accumulate``'s frame and its caller's refer to it. Anything else (an
    array an op backward also gave another parent, kept in its closure, or a view) is copied."""
    return (grad.base is None and grad.flags.writeable and grad.dtype == dtype
            and sys.getrefcount(grad) <= _ACCUMULATE_REFERENCES)


# references to an unshared gradient while _unshared runs: backward()'s local, _accumulate's and
# _unshared's arguments, and getrefcount's own. CPython 3.14 may leave borrowed references out
# of the count, which would make a shared array look unshared: there, always copy.
_ACCUMULATE_REFERENCES = 4 if sys.version_info < (3, 14) else 0


def _index_array(index):
    """An index with any Tensors in it replaced by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def operand(value, like: Tensor) -> Tensor:
    """``value`` as a Tensor for a binary op with ``like``; a Python number takes the dtype NumPy
    would give it next to ``like`` (a float next to float32 stays float32)."""
    if isinstance(value, Tensor):
        return value
    if not isinstance(value, np.ndarray):
        value = np.asarray(value, dtype=np.result_type(like.data, value))
    return Tensor._make(value, (), None)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes along which an input of ``shape`` was broadcast."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    axes = tuple(range(extra)) + tuple(
        extra + i for i, n in enumerate(shape) if n == 1 and grad.shape[extra + i] != 1)
    return grad.sum(axis=axes).reshape(shape)


# --- methods and operators: each is the op of the same name in dlcore.ops ---------------------
from .ops import activation, elementwise, linalg, reduce, shape  # noqa: E402 (they import Tensor)

Tensor.__add__ = Tensor.__radd__ = elementwise.add
Tensor.__sub__, Tensor.__rsub__ = elementwise.sub, elementwise.rsub
Tensor.__mul__ = Tensor.__rmul__ = elementwise.mul
Tensor.__truediv__, Tensor.__rtruediv__ = elementwise.div, elementwise.rdiv
Tensor.__pow__, Tensor.__rpow__ = elementwise.pow, elementwise.rpow
Tensor.__matmul__, Tensor.__rmatmul__ = linalg.matmul, linalg.rmatmul
Tensor.__neg__ = elementwise.neg
Tensor.__eq__, Tensor.__ne__ = elementwise.eq, elementwise.ne
Tensor.__lt__, Tensor.__le__ = elementwise.lt, elementwise.le
Tensor.__gt__, Tensor.__ge__ = elementwise.gt, elementwise.ge
Tensor.__getitem__ = shape.getitem

for _module, _names in (
    (elementwise, ("add", "sub", "mul", "div", "pow", "neg", "exp", "log", "sqrt", "abs",
                   "clamp", "masked_fill", "maximum", "minimum", "eq", "ne", "lt", "le", "gt",
                   "ge", "clone", "to", "float", "double", "long")),
    (linalg, ("matmul",)),
    (activation, ("relu", "sigmoid", "tanh", "softmax", "log_softmax")),
    (reduce, ("sum", "mean", "max", "min", "var", "std", "argmax", "argmin", "logsumexp")),
    (shape, ("reshape", "view", "transpose", "permute", "flatten", "squeeze", "unsqueeze",
             "expand", "split", "chunk", "index_select", "contiguous")),
):
    for _name in _names:
        setattr(Tensor, _name, getattr(_module, _name))
Tensor.T = property(lambda self: shape.permute(self, *range(self.ndim - 1, -1, -1)))


# --- factories ------------------------------------------------------------------------------

def _on_cpu(factory):
    """Let ``factory`` take PyTorch's ``device=`` keyword: the CPU, or a clear error."""
    @functools.wraps(factory)
    def make(*args, device=None, **kwargs):
        if device is not None:
            _Device(device)
        return factory(*args, **kwargs)
    return make


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and keeping its dtype (float64 stays float64), like
    ``torch.from_numpy``: writes to either show in both."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array, dtype=array.dtype)


@_on_cpu
def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    """A new tensor holding a copy of ``data``: floats become float32 (unless ``dtype``), Python
    ints int64, bools bool."""
    return _leaf(_as_array(data, dtype, copy=True), requires_grad)


def _leaf(data: np.ndarray, requires_grad: bool = False) -> Tensor:
    """A tensor around a freshly made array, keeping its dtype."""
    return Tensor(data, requires_grad, dtype=data.dtype)


def _shape(size: tuple) -> tuple[int, ...]:
    """Sizes given as ``f(2, 3)`` or ``f((2, 3))``."""
    if len(size) == 1 and isinstance(size[0], Sequence):
        size = size[0]
    if not all(isinstance(n, (int, np.integer)) and n >= 0 for n in size):
        raise ValueError(f"sizes must be non-negative ints, got {tuple(size)}")
    return tuple(int(n) for n in size)


def _float_dtype(dtype) -> np.dtype:
    dtype = float32 if dtype is None else np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"random floats need a floating dtype, got {dtype}")
    return dtype


@_on_cpu
def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.zeros(_shape(size), dtype or float32), requires_grad)


@_on_cpu
def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return _leaf(np.ones(_shape(size), dtype or float32), requires_grad)


@_on_cpu
def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """Filled with ``fill_value``; the dtype follows it (float → float32, int → int64)."""
    return _leaf(np.full(_shape((size,)), fill_value, dtype=dtype or _as_array(fill_value).dtype),
                  requires_grad)


@_on_cpu
def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from :func:`dlcore.random.generator`."""
    data = _random.generator().standard_normal(_shape(size), dtype=_float_dtype(dtype))
    return _leaf(data, requires_grad)


@_on_cpu
def rand(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from :func:`dlcore.random.generator`."""
    data = _random.generator().random(_shape(size), dtype=_float_dtype(dtype))
    return _leaf(data, requires_grad)


@_on_cpu
def randint(low: int, high: int, size) -> Tensor:
    """int64 samples uniform in [low, high)."""
    return _leaf(_random.generator().integers(low, high, _shape((size,)), dtype=np.int64))


@_on_cpu
def randperm(n: int) -> Tensor:
    """A random permutation of ``0 .. n-1`` (int64)."""
    return _leaf(_random.generator().permutation(n))


@_on_cpu
def arange(start, end=None, step=1, dtype=None) -> Tensor:
    """``[start, end)`` by ``step``; int64 when all three are ints, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        exact = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if exact else float32
    return _leaf(np.arange(start, end, step, dtype=dtype))


@_on_cpu
def linspace(start: float, end: float, steps: int, dtype=None) -> Tensor:
    return _leaf(np.linspace(start, end, steps, dtype=dtype or float32))


@_on_cpu
def eye(n: int, m: int | None = None, dtype=None) -> Tensor:
    return _leaf(np.eye(n, m, dtype=dtype or float32))


def _like(factory):
    """``factory_like(t, ...)``: ``factory`` shaped like ``t``, of its dtype unless ``dtype``."""
    @_on_cpu
    def like(t: Tensor, *args, dtype=None, requires_grad: bool = False) -> Tensor:
        return factory(t.shape, *args, dtype=dtype or t.dtype, requires_grad=requires_grad)
    like.__name__ = like.__qualname__ = f"{factory.__name__}_like"
    like.__doc__ = f"``{factory.__name__}`` shaped like ``t`` (and of its dtype unless ``dtype``)."
    return like


zeros_like, ones_like, full_like, randn_like, rand_like = map(_like, (zeros, ones, full, randn,
                                                                    rand))


def manual_seed(seed: int) -> None:
    """Seed everything random in dlcore (see :mod:`dlcore.random`)."""
    _random.manual_seed(seed)
