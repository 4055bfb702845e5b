"""Least privilege in template.yaml (issue 11): each function's DynamoDB permissions are exactly what its code
calls, its writes are confined to the key prefixes its repository writes, and no function holds a managed policy
that reaches every queue of the account.

What the code calls is read from the source, not listed by hand: the modules a function's handler imports
(transitively, deferred imports included), the repository methods those modules call, and the table operations
those methods (and the helpers they call) perform. A new table call without its permission, or a permission
no code uses any more, fails here."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from benchmark_qa_local.intrinsics import references
from benchmark_qa_local.template import SamTemplate

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
PACKAGE_ROOT = REPO / "shared"
STORE = PACKAGE_ROOT / "benchmark_qa" / "store"
TABLE = "StateTable"

# boto3 table / client operations -> the IAM action each needs
TABLE_CALLS = {
    "get_item": "GetItem",
    "put_item": "PutItem",
    "update_item": "UpdateItem",
    "delete_item": "DeleteItem",
    "batch_get_item": "BatchGetItem",
    "batch_writer": "BatchWriteItem",
    "query": "Query",
    "scan": "Scan",
}
# A TransactWriteItems request needs the permission of each action in it (there is no TransactWriteItems action).
TRANSACT_OPS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
KEY_PREFIX = re.compile(r"^([A-Z][A-Z_]*#)")


@dataclass(frozen=True)
class Access:
    """One DynamoDB action on the table itself or on one of its indexes."""

    action: str
    on_index: bool = False

    def __str__(self) -> str:
        return f"dynamodb:{self.action}{' (index)' if self.on_index else ''}"


# ---------------------------------------------------------------------- reading the code


def _module_path(name: str) -> Path | None:
    base = PACKAGE_ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def imported_modules(entry: Path) -> set[Path]:
    """entry and every benchmark_qa module it imports, transitively (imports inside functions included)."""
    seen: set[Path] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for node in ast.walk(_tree(path)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            for name in names:
                found = _module_path(name) if name.startswith("benchmark_qa") else None
                if found:
                    todo.append(found)
    return seen


def _accesses_in(node: ast.AST) -> set[Access]:
    """The table operations one function body performs itself: a call (table.put_item(...), or the table module's
    paging helpers query(...) and scan(...); IndexName makes it an index query), a table method passed on to be
    called (conditional(table.put_item, ...)), or an action named in a transaction's items ("Put", "Update")."""
    found: set[Access] = set()
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            func = child.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if name in TABLE_CALLS:
                found.add(Access(TABLE_CALLS[name], any(k.arg == "IndexName" for k in child.keywords)))
        elif isinstance(child, ast.Attribute) and child.attr in TABLE_CALLS and id(child) not in called:
            found.add(Access(TABLE_CALLS[child.attr]))
        elif isinstance(child, ast.Constant) and child.value in TRANSACT_OPS:
            found.add(Access(TRANSACT_OPS[str(child.value)]))
    return found


@dataclass
class Repository:
    """A store module: its public methods -> the table operations each performs and the partition-key prefixes
    it reads or writes (the helpers it calls followed)."""

    methods: dict[str, set[Access]] = field(default_factory=dict)
    prefixes: dict[str, set[str]] = field(default_factory=dict)


def _called_names(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            if isinstance(child.func, ast.Name):
                names.add(child.func.id)
            elif (
                isinstance(child.func, ast.Attribute)
                and isinstance(child.func.value, ast.Name)
                and child.func.value.id in {"self", "cls"}
            ):
                names.add(child.func.attr)
    return names


@cache
def repository(path: Path) -> Repository:
    tree = _tree(path)
    functions: dict[str, ast.FunctionDef] = {}
    public: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    functions[item.name] = item
                    if not item.name.startswith("_"):
                        public.append(item.name)

    def closure(name: str, seen: set[str]) -> tuple[set[Access], set[str]]:
        if name in seen or name not in functions:
            return set(), set()
        seen.add(name)
        accesses, prefixes = _accesses_in(functions[name]), _key_prefixes_in(functions[name])
        for called in _called_names(functions[name]):
            more, more_prefixes = closure(called, seen)
            accesses |= more
            prefixes |= more_prefixes
        return accesses, prefixes

    repo = Repository()
    for name in public:
        accesses, prefixes = closure(name, set())
        if accesses:
            repo.methods[name], repo.prefixes[name] = accesses, prefixes
    return repo


# Where a partition key is spelled: an item's or key's "pk", a query's ":p"/":pk" value, a *_pk() helper's return,
# a variable named pk.
PK_FIELDS = {"pk", ":p", ":pk"}


def _key_prefixes_in(node: ast.AST) -> set[str]:
    values: list[ast.AST] = []
    if isinstance(node, ast.FunctionDef) and node.name.endswith("_pk"):
        values += [r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value is not None]
    for child in ast.walk(node):
        if isinstance(child, ast.Dict):
            values += [v for k, v in zip(child.keys, child.values, strict=True) if _constant_in(k, PK_FIELDS)]
        if isinstance(child, ast.Assign) and any(isinstance(n, ast.Name) and n.id == "pk" for n in child.targets):
            values.append(child.value)
    prefixes: set[str] = set()
    for value in values:
        if not isinstance(value, (ast.Constant, ast.JoinedStr)):
            continue  # a helper's result (counted through its own return) or a parameter (counted at the caller)
        match = KEY_PREFIX.match(_leading_text(value) or "")
        assert match, f"a partition key without a constant PREFIX#: {ast.unparse(value)}"
        prefixes.add(match.group(1))
    return prefixes


def _constant_in(node: ast.AST | None, values: set[str]) -> bool:
    return isinstance(node, ast.Constant) and node.value in values


def _leading_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    return None


def attribute_names(modules: Iterable[Path]) -> set[str]:
    """Every attribute name used anywhere in modules: repo.put_result(...), or passed on as repo.put_result. A
    repository's calls of its own methods (self.x) are not uses: `repository` follows them from the method used."""
    return {
        node.attr
        for path in modules
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Attribute) and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    }


@dataclass(frozen=True)
class CodeUse:
    accesses: frozenset[Access]
    key_prefixes: frozenset[str]


def code_use(handler_source: Path) -> CodeUse:
    modules = imported_modules(handler_source)
    stores = sorted(m for m in modules if m.parent == STORE and m.name not in {"__init__.py", "table.py"})
    used = attribute_names(modules)
    accesses: set[Access] = set()
    prefixes: set[str] = set()
    for store in stores:
        repo = repository(store)
        for method in used & set(repo.methods):
            accesses |= repo.methods[method]
            prefixes |= repo.prefixes[method]
    return CodeUse(frozenset(accesses), frozenset(prefixes))


# ---------------------------------------------------------------------- reading the template


def _statements(template: SamTemplate, function: str) -> Iterator[Mapping[str, Any]]:
    """Every statement of a function's permissions: its SAM Policies, or the inline policies of its own Role."""
    properties = template.properties(function)
    role = properties.get("Role")
    if role is not None:
        (role_id,) = references(role)
        documents = [p["PolicyDocument"] for p in template.properties(role_id).get("Policies", [])]
    else:
        documents = [p for p in properties.get("Policies", []) if isinstance(p, dict) and "Statement" in p]
    for document in documents:
        for entry in document["Statement"]:
            # a statement that depends on a condition counts as granted
            yield entry["Fn::If"][1] if isinstance(entry, dict) and set(entry) == {"Fn::If"} else entry


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _is_index(resource: Any) -> bool:
    return isinstance(resource, dict) and "Fn::Sub" in resource and "/index/" in str(resource["Fn::Sub"])


def granted(template: SamTemplate, function: str) -> tuple[set[Access], set[str] | None]:
    """The table accesses a function's policy allows, and the LeadingKeys its table writes are confined to
    (None when some table statement has no LeadingKeys condition)."""
    accesses: set[Access] = set()
    leading: set[str] | None = set()
    for statement in _statements(template, function):
        actions = [a for a in _as_list(statement.get("Action", [])) if str(a).startswith("dynamodb:")]
        if not actions:
            continue
        assert statement.get("Effect") == "Allow"
        for resource in _as_list(statement["Resource"]):
            assert TABLE in references(resource), f"{function}: a dynamodb statement on {resource}"
            on_index = _is_index(resource)
            accesses |= {Access(a.removeprefix("dynamodb:"), on_index) for a in actions}
            if not on_index:
                keys = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
                if keys is None:
                    leading = None
                elif leading is not None:
                    leading |= set(_as_list(keys))
    return accesses, leading


@pytest.fixture(scope="module")
def template() -> SamTemplate:
    return SamTemplate.load(TEMPLATE)


def _handler_source(template: SamTemplate, function: str) -> Path:
    spec = template.function(function)
    module = spec.handler.rsplit(".", 1)[0]
    return spec.code_dir / f"{module.replace('.', '/')}.py"


def _functions(template: SamTemplate) -> list[str]:
    return [spec.logical_id for spec in template.functions()]


# ---------------------------------------------------------------------- the checks


def test_the_code_reading_finds_what_each_repository_does() -> None:
    # Guards the reading itself: were it to find nothing, the checks below would pass vacuously.
    scores = repository(STORE / "scores.py")
    assert {Access("PutItem"), Access("UpdateItem")} <= scores.methods["put_result"]  # its transaction
    assert Access("DeleteItem") in scores.methods["clear_error"]
    assert Access("Query", True) in scores.methods["results_since"]
    assert scores.prefixes["put_result"] >= {"SCORE#", "AGGREGATE#"}
    assert scores.prefixes["clear_error"] == {"SCORE_ERROR#"}
    routing = repository(STORE / "routing.py")
    assert Access("BatchWriteItem") in routing.methods["record_tasks"]
    assert routing.prefixes["accept_delivery"] == {"WEBHOOK#"}
    assert routing.prefixes["acquire_lock"] == {"ROUTING_LOCK#"}


def test_every_function_is_granted_exactly_the_table_actions_its_code_uses(template: SamTemplate) -> None:
    problems: dict[str, dict[str, list[str]]] = {}
    for function in _functions(template):
        used = code_use(_handler_source(template, function)).accesses
        allowed, _ = granted(template, function)
        missing, unused = sorted(map(str, used - allowed)), sorted(map(str, allowed - used))
        if missing or unused:
            problems[function] = {"missing": missing, "unused": unused}
    assert not problems, f"table permissions differ from what the code calls: {problems}"


def test_table_access_is_confined_to_the_key_prefixes_of_the_functions_repositories(template: SamTemplate) -> None:
    for function in _functions(template):
        use = code_use(_handler_source(template, function))
        allowed, leading = granted(template, function)
        if not allowed:
            continue
        assert leading is not None, f"{function}: every table statement needs a dynamodb:LeadingKeys condition"
        prefixes = {key.removesuffix("*") for key in leading}
        assert all(key.endswith("#*") for key in leading), f"{function}: LeadingKeys must be PREFIX#* ({leading})"
        assert use.key_prefixes <= prefixes, f"{function}: LeadingKeys lack {sorted(use.key_prefixes - prefixes)}"
        writes = {a for a in allowed if a.action not in {"GetItem", "BatchGetItem", "Query"}}
        if writes:
            assert prefixes <= use.key_prefixes, f"{function}: may write keys its code never writes: {prefixes}"


def test_no_function_scans_or_holds_a_managed_sqs_policy(template: SamTemplate) -> None:
    for function in _functions(template):
        allowed, _ = granted(template, function)
        assert not {a for a in allowed if a.action == "Scan"}, f"{function}: Scan cannot be confined by LeadingKeys"
        properties = template.properties(function)
        role = properties.get("Role")
        has_sqs_event = any(e.get("Type") == "SQS" for e in properties.get("Events", {}).values())
        # SAM attaches AWSLambdaSQSQueueExecutionRole (every queue of the account) to a role it generates.
        assert not has_sqs_event or role is not None, f"{function}: an SQS event needs the function's own Role"
        if role is not None:
            (role_id,) = references(role)
            managed = [str(a) for a in template.properties(role_id).get("ManagedPolicyArns", [])]
            assert not [a for a in managed if "SQS" in a], f"{role_id}: {managed}"


def test_queue_permissions_name_only_the_stacks_queues(template: SamTemplate) -> None:
    queues = set(template.of_type("AWS::SQS::Queue"))
    for function in _functions(template):
        for statement in _statements(template, function):
            if any(str(a).startswith("sqs:") for a in _as_list(statement.get("Action", []))):
                for resource in _as_list(statement["Resource"]):
                    assert references(resource), f"{function}: {resource} is not a queue of the stack"
                    assert references(resource) <= queues, f"{function}: {resource}"


def test_a_missing_or_unused_permission_is_seen(template: SamTemplate) -> None:
    use = code_use(_handler_source(template, "ScoreWorkerFunction"))
    allowed, _ = granted(template, "ScoreWorkerFunction")
    assert Access("DeleteItem") in use.accesses
    assert Access("DeleteItem") in allowed
    report = code_use(_handler_source(template, "ReportFunction"))
    # ReportFunction imports the scores store, whose error and pending-tally methods delete their items; it calls
    # none of them, so their keys are not counted for it.
    assert not {"SCORE_ERROR#", "SCORE_PENDING#"} & report.key_prefixes
