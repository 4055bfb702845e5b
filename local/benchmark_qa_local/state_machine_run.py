"""A Docker-free run of a template state machine on the local stack: what Step Functions does with the definition
the template deploys (provisioning_state_machines.definition), for the states and fields that definition uses, with
its Lambda tasks run in-process by the invoker. moto's own Step Functions cannot run it: its parser has no
ItemBatcher, no EXPRESS child workflows and no MANIFEST reader (docs/backfill.md, "What moto covers").

Covered, as the Amazon States Language defines them: Pass (Parameters, with `.$` paths and States.StringToJson),
Choice (IsPresent, NumericGreaterThan; Default), Task `arn:aws:states:::lambda:invoke` (Parameters, ResultSelector,
ResultPath, OutputPath; the result is {"Payload": ...}), Map in DISTRIBUTED mode with an S3 ItemReader
(`s3:listObjectsV2`, paginated; `s3:getObject` with InputType MANIFEST: an S3 Inventory's CSV rows), ItemBatcher
(MaxItemsPerBatch[Path], MaxInputBytesPerBatch, BatchInput: each child gets {"Items", "BatchInput"}),
MaxConcurrency[Path], ToleratedFailurePercentage 0, ResultPath null; Succeed. Anything else is refused by name.
Child executions run on up to MaxConcurrency threads (their Lambda invocations are the invoker's, one at a time
in this process). Not emulated: Retry (a failed task fails the run) and timeouts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from benchmark_qa.ingest.inventory import InventoryManifest, rows

from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.provisioning_state_machines import definition
from benchmark_qa_local.stack import LocalStack

STRING_TO_JSON = re.compile(r"^States\.StringToJson\('(.*)'\)$")


class UnsupportedState(ValueError):
    """The definition uses something this runner does not emulate."""


@dataclass
class Run:
    output: Any = None
    visited: list[str] = field(default_factory=list)  # state names, in order (a Map's children not included)
    batches: list[dict[str, Any]] = field(default_factory=list)  # every child input a Map handed over


def _path(document: Any, path: str) -> Any:
    if path == "$":
        return document
    if not path.startswith("$."):
        raise UnsupportedState(f"path {path}: only $ and $.a.b paths are emulated")
    for part in path[2:].split("."):
        document = document[part]
    return document


def _set(document: Any, path: str | None, value: Any) -> Any:
    """ResultPath: None discards the result; $ replaces the input; $.a.b sets a field of a copy."""
    if path is None:
        return document
    if path == "$":
        return value
    result = json.loads(json.dumps(document))
    target = result
    *parents, last = path[2:].split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
    return result


def _parameters(template: Any, document: Any) -> Any:
    if isinstance(template, Mapping):
        resolved: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                match = STRING_TO_JSON.match(str(value))
                resolved[key[:-2]] = json.loads(match.group(1)) if match else _path(document, str(value))
            else:
                resolved[key] = _parameters(value, document)
        return resolved
    if isinstance(template, list):
        return [_parameters(v, document) for v in template]
    return template


class StateMachineRun:
    def __init__(self, stack: LocalStack, invoker: Invoker, logical_id: str) -> None:
        self.stack = stack
        self.invoker = invoker
        self.document = json.loads(definition(stack.deployment, stack.template.properties(logical_id)))
        self._functions = {
            stack.deployment.resource(spec.logical_id).attributes["Arn"]: spec.logical_id
            for spec in stack.template.functions()
        }

    def start(self, execution_input: Mapping[str, Any]) -> Run:
        run = Run()
        run.output = self._states(self.document, dict(execution_input), run, top=True)
        return run

    def _states(self, machine: Mapping[str, Any], document: Any, run: Run, *, top: bool) -> Any:
        name = machine["StartAt"]
        while True:
            state = machine["States"][name]
            if top:
                run.visited.append(name)
            kind = state["Type"]
            if kind == "Succeed":
                return document
            if kind == "Pass":
                # without Parameters a Pass state passes its input on (States Language, "Pass State")
                result = _parameters(state["Parameters"], document) if "Parameters" in state else document
                document = _set(document, state.get("ResultPath", "$"), result)
            elif kind == "Choice":
                name = self._choose(state, document)
                continue
            elif kind == "Task":
                document = self._task(state, document)
            elif kind == "Map":
                document = self._map(state, document, run)
            else:
                raise UnsupportedState(f"state {name}: Type {kind}")
            if state.get("End"):
                return document
            name = state["Next"]

    @staticmethod
    def _choose(state: Mapping[str, Any], document: Any) -> str:
        for rule in state["Choices"]:
            try:
                value, present = _path(document, rule["Variable"]), True
            except (KeyError, TypeError):
                value, present = None, False
            if "IsPresent" in rule:
                matched = present == rule["IsPresent"]
            elif "NumericGreaterThan" in rule:
                matched = present and value > rule["NumericGreaterThan"]
            else:
                raise UnsupportedState(f"choice rule {sorted(rule)}")
            if matched:
                return str(rule["Next"])
        return str(state["Default"])

    def _task(self, state: Mapping[str, Any], document: Any) -> Any:
        if state["Resource"] != "arn:aws:states:::lambda:invoke":
            raise UnsupportedState(f"task resource {state['Resource']}")
        parameters = _parameters(state["Parameters"], document)
        logical_id = self._functions[parameters["FunctionName"]]
        result: Any = {"Payload": self.invoker.invoke(logical_id, parameters["Payload"]).raise_for_error()}
        if "ResultSelector" in state:
            result = _parameters(state["ResultSelector"], result)
        document = _set(document, state.get("ResultPath", "$"), result)
        return _path(document, state.get("OutputPath", "$"))

    def _map(self, state: Mapping[str, Any], document: Any, run: Run) -> Any:
        processor = state["ItemProcessor"]
        if processor.get("ProcessorConfig", {}).get("Mode") != "DISTRIBUTED":
            raise UnsupportedState("only DISTRIBUTED Map states are emulated")
        if state.get("ToleratedFailurePercentage", 0) != 0:
            raise UnsupportedState("ToleratedFailurePercentage other than 0")
        items = list(self._items(state["ItemReader"], document))
        batcher = state["ItemBatcher"]
        size = int(batcher.get("MaxItemsPerBatch") or _path(document, batcher["MaxItemsPerBatchPath"]))
        concurrency = int(state.get("MaxConcurrency") or _path(document, state["MaxConcurrencyPath"]))
        batch_input = _parameters(batcher.get("BatchInput", {}), document)
        children = [{"Items": b, "BatchInput": batch_input} for b in _batches(items, size, batcher)]
        run.batches.extend(children)
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(lambda child: self._states(processor, child, run, top=False), children))
        return _set(document, state.get("ResultPath", "$"), results)

    def _items(self, reader: Mapping[str, Any], document: Any) -> Iterator[dict[str, Any]]:
        parameters = _parameters(reader["Parameters"], document)
        s3 = self.stack.boto3_client("s3")
        if reader["Resource"] == "arn:aws:states:::s3:listObjectsV2":
            for page in s3.get_paginator("list_objects_v2").paginate(**parameters):
                for entry in page.get("Contents", []):  # Step Functions' item: Etag, Key, LastModified, Size, ...
                    yield {
                        "Etag": entry["ETag"],
                        "Key": entry["Key"],
                        "LastModified": int(entry["LastModified"].timestamp()),
                        "Size": entry["Size"],
                        "StorageClass": entry.get("StorageClass", "STANDARD"),
                    }
        elif (
            reader["Resource"] == "arn:aws:states:::s3:getObject" and reader["ReaderConfig"]["InputType"] == "MANIFEST"
        ):
            raw = s3.get_object(Bucket=parameters["Bucket"], Key=parameters["Key"])["Body"].read()
            manifest = InventoryManifest.parse(raw, f"s3://{parameters['Bucket']}/{parameters['Key']}")
            body = lambda key: s3.get_object(Bucket=manifest.destination_bucket, Key=key)["Body"].read()  # noqa: E731
            yield from rows(manifest, body)  # each row by its fileSchema names, the key as the CSV holds it
        else:
            raise UnsupportedState(f"ItemReader {reader['Resource']} {reader.get('ReaderConfig')}")


def _batches(items: list[dict[str, Any]], size: int, batcher: Mapping[str, Any]) -> Iterator[list[dict[str, Any]]]:
    limit = int(batcher.get("MaxInputBytesPerBatch", 256 * 1024))
    batch: list[dict[str, Any]] = []
    used = 0
    for item in items:
        cost = len(json.dumps(item))
        if batch and (len(batch) == size or used + cost > limit):
            yield batch
            batch, used = [], 0
        batch.append(item)
        used += cost
    if batch:
        yield batch
