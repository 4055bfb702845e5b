"""One function's execution environment inside this process: its own copy of the function and layer
modules, and its own os.environ while it runs.

Every function has an app.py and the layer package is shared by all of them, while Lambda gives each
function a fresh interpreter. A sandbox loads the handler module under a unique name and keeps the modules
imported from the function's CodeUri and layers private: they are swapped into sys.modules for the duration
of a call and swapped out afterwards, so two functions (or a test importing the same package) never see each
other's module state - e.g. settings cached at cold start."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

# Variables a Lambda function never inherits from the developer's shell: a stray AWS_PROFILE or
# AWS_ENDPOINT_URL would point the function at real AWS or another stack.
_LAMBDA_OWNED_PREFIXES = ("AWS_", "POWERTOOLS_", "LAMBDA_", "_HANDLER", "_X_AMZN_")


@contextmanager
def lambda_environment(variables: Mapping[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.startswith(_LAMBDA_OWNED_PREFIXES)]:
            del os.environ[name]
        os.environ.update(variables)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _module_file(module: ModuleType) -> str | None:
    location = getattr(module, "__file__", None)
    if location:
        return str(location)
    paths = getattr(module, "__path__", None)  # namespace packages have no __file__
    return str(next(iter(paths), "")) if paths is not None else None


class FunctionSandbox:
    """A warm execution environment: the handler plus the private modules it imported."""

    def __init__(self, module_name: str, handler_file: Path, handler_name: str, roots: Sequence[Path]) -> None:
        self.module_name = module_name
        self.handler_file = handler_file
        self.handler_name = handler_name
        self.roots = [str(root.resolve()) for root in roots]
        self.modules: dict[str, ModuleType] = {}
        self.handler: Callable[[Any, Any], Any] | None = None

    def _private(self, module: ModuleType) -> bool:
        location = _module_file(module)
        return bool(location) and any(str(location).startswith(root + os.sep) for root in self.roots)

    @contextmanager
    def active(self) -> Iterator[None]:
        """sys.path and sys.modules as this function sees them, for the duration of a call."""
        saved_path = list(sys.path)
        shadowed = {name: m for name, m in sys.modules.items() if self._private(m)}
        for name in shadowed:
            del sys.modules[name]
        sys.modules.update(self.modules)
        sys.path[:0] = self.roots
        try:
            yield
        finally:
            # Keep what the call imported (lazy imports included) for the next warm call.
            self.modules = {name: m for name, m in sys.modules.items() if self._private(m)}
            for name in self.modules:
                del sys.modules[name]
            sys.modules.pop(self.module_name, None)
            sys.modules.update(shadowed)
            sys.path[:] = saved_path

    def load(self) -> None:
        """The cold start: execute the handler module (inside `active()` and the function's environment)."""
        spec = importlib.util.spec_from_file_location(self.module_name, self.handler_file)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {self.handler_file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[self.module_name] = module
        spec.loader.exec_module(module)
        handler = getattr(module, self.handler_name, None)
        if not callable(handler):
            raise AttributeError(f"{self.handler_file} has no callable {self.handler_name!r}")
        self.handler = handler
