"""What a function can import on Lambda: its layers' packages (shared/layers.py), the python3.12 runtime's boto3
stack and the standard library; nothing else of this development venv (moto, pytest, awscrt, pyOpenSSL, ...).

`guard_code(...)` is Python source that, run first in a fresh interpreter, makes every other installed
distribution's top-level modules unimportable, so an import test or an import timing sees Lambda's module set
(botocore, for one, imports awscrt and pyOpenSSL when they are installed, as they are here but not on Lambda).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType

from benchmark_qa_local.template import FunctionSpec, SamTemplate

REPO = Path(__file__).resolve().parents[2]
# In Lambda's python3.12 image (boto3 and its dependencies), not in a layer.
RUNTIME = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"})


@cache
def layer_definitions() -> ModuleType:
    spec = importlib.util.spec_from_file_location("layers", REPO / "shared" / "layers.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Parameters whose empty default means "left out" (the engine's defaults, no annotator policy, no hourly rate). The
# other empty defaults are values a deployment must give (`benchmark-qa setup` writes them: folders, datasets).
OPTIONAL_PARAMETERS = frozenset({"ScoringConfig", "AnnotatorPolicy", "AnnotatorHourlyRate"})


def import_parameters(template: SamTemplate, placeholder: str = "x") -> dict[str, str]:
    """Parameter values that let every handler import as it would in a deployment (the import test and `bench
    handlers`): `placeholder` for each value a deployment must give, empty for the optional settings."""
    return {
        name: "" if name in OPTIONAL_PARAMETERS else placeholder
        for name, spec in template.body.get("Parameters", {}).items()
        if not spec.get("Default")
    }


def function_layers(spec: FunctionSpec) -> list[str]:
    return [str(layer["Ref"]) for layer in spec.layers if isinstance(layer, dict) and "Ref" in layer]


def allowed_distributions(layers: list[str]) -> set[str]:
    definitions = layer_definitions()
    return {name for layer in layers for name in definitions.LAYERS[layer]} | RUNTIME


def _top_level(dist: importlib.metadata.Distribution) -> set[str]:
    names: set[str] = set()
    for file in dist.files or []:
        first = file.parts[0]
        if first.endswith((".dist-info", ".egg-info", ".data", ".pth")) or first in ("__pycache__", "..", "bin"):
            continue
        names.add(first.removesuffix(".py") if len(file.parts) == 1 else first)
    return {n.split(".")[0] for n in names if n.isidentifier() or n.split(".")[0].isidentifier()}


def blocked_modules(layers: list[str]) -> set[str]:
    """Top-level modules of installed distributions a function with these layers would not have on Lambda."""
    canonical = layer_definitions().canonical
    allowed = allowed_distributions(layers)
    blocked: set[str] = {"benchmark_qa_local", "tests", "bench"}
    kept: set[str] = {"benchmark_qa"}  # CoreLayer ships the package itself
    for dist in importlib.metadata.distributions():
        names = _top_level(dist)
        (kept if canonical(dist.metadata["Name"]) in allowed else blocked).update(names)
    return blocked - kept


def guard_code(layers: list[str]) -> str:
    """Source to run first: imports of the blocked modules fail as they would on Lambda."""
    blocked = sorted(blocked_modules(layers))
    return f"""
import sys
class _NotOnLambda:
    blocked = frozenset({blocked!r})
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ModuleNotFoundError(f"No module named {{name!r}} (not in this function's layers)", name=name)
        return None
sys.meta_path.insert(0, _NotOnLambda())
"""
