"""Containers: Sequential (a pipeline), ModuleList and ModuleDict (registered collections)."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping

from dlcore.nn.module import Module


def _check_module(value, container: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{container} holds Modules, got {type(value).__name__}")
    return value


class _IndexedModules(Module):
    """Children named ``"0"``, ``"1"``, …, renumbered when the order changes (PyTorch's keys)."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        for module in modules:
            self.append(module)

    def _renumber(self, modules: list[Module]) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for module in modules:
            self.append(module)

    def _position(self, index: int) -> int:
        if not isinstance(index, int):
            raise TypeError(f"{type(self).__name__} indices must be ints or slices, "
                            f"got {type(index).__name__}")
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {type(self).__name__} of "
                             f"length {len(self)}")
        return index % len(self)

    def append(self, module: Module) -> _IndexedModules:
        self.add_module(str(len(self)), _check_module(module, type(self).__name__))
        return self

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            sliced = type(self)()
            for module in modules[index]:
                sliced.append(module)
            return sliced
        return modules[self._position(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        name = list(self._modules)[self._position(index)]
        self.add_module(name, _check_module(module, type(self).__name__))

    def __delitem__(self, index) -> None:
        modules = list(self._modules.values())
        del modules[index if isinstance(index, slice) else self._position(index)]
        self._renumber(modules)

    def insert(self, index: int, module: Module) -> None:
        modules = list(self._modules.values())
        modules.insert(index, _check_module(module, type(self).__name__))
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())


class Sequential(_IndexedModules):
    """Apply the given modules in order: ``Sequential(Linear(784, 10), ReLU())``, or with
    names: ``Sequential(OrderedDict(fc=Linear(784, 10), act=ReLU()))``."""

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            super().__init__()
            for name, module in modules[0].items():
                self.add_module(name, _check_module(module, "Sequential"))
        else:
            super().__init__(modules)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(_IndexedModules):
    """A list whose modules are registered (their parameters belong to the owner)."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__(modules or ())

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self


class ModuleDict(Module):
    """A dict whose modules are registered under their keys, in insertion order."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, _check_module(module, "ModuleDict"))

    def __delitem__(self, key: str) -> None:
        delattr(self, key)

    def __contains__(self, key: str) -> bool:
        return key in self._modules

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module
