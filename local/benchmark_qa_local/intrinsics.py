"""CloudFormation intrinsic functions, evaluated against local physical ids: Ref, Fn::GetAtt, Fn::Sub,
Fn::Join, Fn::Select, Fn::Split, Fn::If (with Conditions), Fn::FindInMap, Fn::Base64, Fn::GetAZs.
Fn::ImportValue and anything unknown raise: a guessed value would hide a broken wiring."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping
from typing import Any

from benchmark_qa_local.template import TemplateError

NO_VALUE = object()  # AWS::NoValue: the property is dropped
SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")

RefLookup = Callable[[str], Any]
AttLookup = Callable[[str, str], Any]


def references(value: Any) -> set[str]:
    """Logical ids (and parameter / pseudo-parameter names) a value refers to: Ref, Fn::GetAtt, and ${X} /
    ${X.Attr} inside Fn::Sub, less the Sub's own variables."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref":
                found.add(str(argument))
            elif key == "Fn::GetAtt":
                found.add(str(argument.split(".")[0] if isinstance(argument, str) else argument[0]))
            elif key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
                names = {m.group(1).strip().split(".")[0] for m in SUB_VARIABLE.finditer(str(text))}
                found |= (names - set(variables)) | references(variables)
            else:
                found |= references(argument)
    return found


class Intrinsics:
    def __init__(
        self,
        *,
        pseudo: Mapping[str, str],
        parameters: Mapping[str, str],
        ref: RefLookup,
        get_att: AttLookup,
        conditions: Mapping[str, Any] | None = None,
        mappings: Mapping[str, Any] | None = None,
    ) -> None:
        self._pseudo = pseudo
        self._parameters = parameters
        self._ref = ref
        self._get_att = get_att
        self._conditions = conditions or {}
        self._mappings = mappings or {}

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._function(key, argument)
        return {k: r for k, r in ((k, self.resolve(v)) for k, v in value.items()) if r is not NO_VALUE}

    def resolve_str(self, value: Any) -> str:
        """Environment variables and names are strings in AWS; numbers and booleans render as CloudFormation does."""
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return "true" if resolved else "false"
        if isinstance(resolved, (str, int, float)):
            return str(resolved)
        raise TemplateError(f"expected a string, got {resolved!r} from {value!r}")

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            raise TemplateError(f"no condition {name!r}")
        return bool(self.resolve(self._conditions[name]))

    def _function(self, key: str, argument: Any) -> Any:
        if key == "Ref":
            return self._reference(str(argument))
        if key == "Condition":
            return self.condition(str(argument))
        evaluate = _FUNCTIONS.get(key)
        if evaluate is None:
            raise TemplateError(f"{key} cannot be resolved locally (argument {argument!r})")
        return evaluate(self, argument)

    def _get_att_function(self, argument: Any) -> Any:
        logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        return self._get_att(str(logical_id), str(self.resolve(attribute)))

    def _join(self, argument: Any) -> str:
        delimiter, items = argument
        return str(delimiter).join(self.resolve_str(i) for i in self.resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        return self.resolve(items)[int(self.resolve(index))]

    def _split(self, argument: Any) -> list[str]:
        delimiter, text = argument
        return self.resolve_str(text).split(str(delimiter))

    def _base64(self, argument: Any) -> str:
        return base64.b64encode(self.resolve_str(argument).encode()).decode()

    def _get_azs(self, argument: Any) -> list[str]:
        region = self.resolve(argument) or self._pseudo["AWS::Region"]
        return [f"{region}{zone}" for zone in "abc"]

    def _find_in_map(self, argument: Any) -> Any:
        name, top, second = (self.resolve_str(a) for a in argument[:3])
        return self._mappings[name][top][second]

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(str(name)) else when_false)

    def _equals(self, argument: Any) -> bool:
        left, right = (self.resolve(a) for a in argument)
        return str(left) == str(right)

    def _not(self, argument: Any) -> bool:
        return not self.resolve(argument[0])

    def _and(self, argument: Any) -> bool:
        return all(self.resolve(a) for a in argument)

    def _or(self, argument: Any) -> bool:
        return any(self.resolve(a) for a in argument)

    def _reference(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        return self._ref(name)

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        local = {k: self.resolve_str(v) for k, v in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in local:
                return local[name]
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self._get_att(logical_id, attribute))
            return str(self._reference(name))

        # ${!Literal} is an escaped "${Literal}".
        return SUB_VARIABLE.sub(substitute, str(text)).replace("${!", "${")


_FUNCTIONS: dict[str, Callable[[Intrinsics, Any], Any]] = {
    "Fn::GetAtt": Intrinsics._get_att_function,
    "Fn::Sub": Intrinsics._sub,
    "Fn::Join": Intrinsics._join,
    "Fn::Select": Intrinsics._select,
    "Fn::Split": Intrinsics._split,
    "Fn::Base64": Intrinsics._base64,
    "Fn::GetAZs": Intrinsics._get_azs,
    "Fn::FindInMap": Intrinsics._find_in_map,
    "Fn::If": Intrinsics._if,
    "Fn::Equals": Intrinsics._equals,
    "Fn::Not": Intrinsics._not,
    "Fn::And": Intrinsics._and,
    "Fn::Or": Intrinsics._or,
}
