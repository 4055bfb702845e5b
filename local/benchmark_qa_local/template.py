"""template.yaml as data: parameters, resources, and each function's properties merged with Globals the way
SAM merges them. Everything local (stack, invoker, event sources) reads the template through this module."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FUNCTION_TYPE = "AWS::Serverless::Function"

# Globals.Function keys SAM merges as maps (function keys win) or concatenates as lists (Globals first).
_MERGED_MAPS = ("Tags",)
_CONCATENATED_LISTS = ("Layers",)


class TemplateError(ValueError):
    """The template cannot be read or uses something the local tooling cannot emulate."""


def _plain(value: Any) -> Any:
    """cfn-lint's nodes subclass dict/str/list; plain copies keep json and equality boring."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


@dataclass(frozen=True)
class EventSource:
    """One entry of a function's Events: {Name: {Type, Properties}}."""

    name: str
    type: str
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    """A function's properties after the Globals merge; values may still hold intrinsics."""

    logical_id: str
    properties: Mapping[str, Any]
    base_dir: Path

    @property
    def handler(self) -> str:
        handler = self.properties.get("Handler")
        if not isinstance(handler, str) or "." not in handler:
            raise TemplateError(f"{self.logical_id}: Handler must be 'module.function', got {handler!r}")
        return handler

    @property
    def code_dir(self) -> Path:
        code_uri = self.properties.get("CodeUri")
        if not isinstance(code_uri, str):
            raise TemplateError(f"{self.logical_id}: CodeUri must be a local folder, got {code_uri!r}")
        return (self.base_dir / code_uri).resolve()

    @property
    def timeout_seconds(self) -> int:
        return int(self.properties.get("Timeout", 3))

    @property
    def memory_mb(self) -> int:
        return int(self.properties.get("MemorySize", 128))

    @property
    def layers(self) -> list[Any]:
        return list(self.properties.get("Layers", []))

    @property
    def environment(self) -> Mapping[str, Any]:
        variables: Mapping[str, Any] = self.properties.get("Environment", {}).get("Variables", {})
        return variables

    @property
    def events(self) -> list[EventSource]:
        events: Mapping[str, Any] = self.properties.get("Events", {})
        return [EventSource(name, spec["Type"], spec.get("Properties", {})) for name, spec in events.items()]


@dataclass(frozen=True)
class SamTemplate:
    path: Path
    body: Mapping[str, Any] = field(repr=False)

    @classmethod
    def load(cls, path: str | Path) -> SamTemplate:
        # cfn-lint's decoder understands the short intrinsic tags (!Ref, !Sub, ...) and turns them into
        # their long form, so one resolver serves both spellings.
        from cfnlint.decode import decode

        source = Path(path).resolve()
        if not source.is_file():
            raise TemplateError(f"{source}: no such template")
        body, matches = decode(str(source))
        if matches or body is None:
            raise TemplateError(f"{source}: cannot parse: {[str(m) for m in matches]}")
        return cls(source, _plain(body))

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def parameters(self) -> Mapping[str, Mapping[str, Any]]:
        parameters: Mapping[str, Mapping[str, Any]] = self.body.get("Parameters", {})
        return parameters

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.body.get("Resources", {})
        return resources

    @property
    def outputs(self) -> Mapping[str, Mapping[str, Any]]:
        outputs: Mapping[str, Mapping[str, Any]] = self.body.get("Outputs", {})
        return outputs

    @property
    def conditions(self) -> Mapping[str, Any]:
        conditions: Mapping[str, Any] = self.body.get("Conditions", {})
        return conditions

    @property
    def mappings(self) -> Mapping[str, Any]:
        mappings: Mapping[str, Any] = self.body.get("Mappings", {})
        return mappings

    def resource_type(self, logical_id: str) -> str:
        try:
            return str(self.resources[logical_id]["Type"])
        except KeyError:
            raise TemplateError(f"no resource {logical_id!r} in {self.path.name}") from None

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        self.resource_type(logical_id)
        properties: Mapping[str, Any] = self.resources[logical_id].get("Properties", {})
        return properties

    def of_type(self, *types: str) -> Iterator[str]:
        return (logical_id for logical_id, r in self.resources.items() if r.get("Type") in types)

    def function(self, logical_id: str) -> FunctionSpec:
        if self.resource_type(logical_id) != FUNCTION_TYPE:
            raise TemplateError(f"{logical_id} is a {self.resource_type(logical_id)}, not a {FUNCTION_TYPE}")
        merged: dict[str, Any] = dict(self.body.get("Globals", {}).get("Function", {}))
        own = self.properties(logical_id)
        for key, value in own.items():
            if key == "Environment":
                variables = {**merged.get("Environment", {}).get("Variables", {}), **value.get("Variables", {})}
                merged["Environment"] = {**merged.get("Environment", {}), **value, "Variables": variables}
            elif key in _MERGED_MAPS:
                merged[key] = {**merged.get(key, {}), **value}
            elif key in _CONCATENATED_LISTS:
                merged[key] = [*merged.get(key, []), *value]
            else:
                merged[key] = value
        return FunctionSpec(logical_id, merged, self.base_dir)

    def functions(self) -> list[FunctionSpec]:
        return [self.function(logical_id) for logical_id in self.of_type(FUNCTION_TYPE)]
