"""Cold starts: each handler imports only what it needs at import time (`make bench` times them; this checks what
they import), and what it imports then and on its first event comes from its own layers. Every handler is imported
in a fresh interpreter with the environment the template gives it and Lambda's module set (lambda_modules)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from benchmark_qa_local.deployment import LocalDeployment
from benchmark_qa_local.lambda_modules import function_layers, guard_code, import_parameters
from benchmark_qa_local.template import SamTemplate

REPO = Path(__file__).resolve().parents[2]
# imported on the first event or never, not when a handler is imported
NEVER_AT_IMPORT = {"aws_xray_sdk", "boto3", "numpy", "scipy", "encord", "msgspec"}
MANIFEST_NEVER = NEVER_AT_IMPORT | {"requests", "cryptography", "yaml"}

_IMPORT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("handler_under_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""
# what the first event imports, by the layer that brings it
_FIRST_EVENT = {
    "CoreLayer": (
        "import aws_xray_sdk.core, boto3, aws_lambda_powertools.utilities.batch, benchmark_qa.ingest.pipeline\n"
        "from benchmark_qa.bucket import S3Bucket\n"
        "boto3.client('s3', region_name='us-east-1')"
    ),
    "IngestLayer": "import pydicom, filetype",
    "EncordLayer": "import encord, benchmark_qa.encord.client, benchmark_qa.encord.consensus",
    "ScoringLayer": (
        "import pathlib\n"
        "from benchmark_qa.scoring import Ontology, ScoringConfig, score_label_rows\n"
        "fixtures = pathlib.Path(sys.argv[2])\n"
        "ontology = Ontology.from_dict(json.loads((fixtures / 'ontology.json').read_text()))\n"
        "config = ScoringConfig.load('mode: two_stage')\n"
        "for kind in ('video', 'image'):\n"
        "    row = (fixtures / f'{kind}.truth.json').read_bytes()\n"
        "    assert score_label_rows(ontology, row, row, config).score == 1.0"
    ),
}


# ingest's content checks as a function's first upload runs them: each imports its package (pydicom, filetype) only
# then, so a function without them in its layers imports cleanly and fails on its first DICOM or unknown file
_CONTENT_CHECKS = (
    "from benchmark_qa.ingest import content, dicom\n"
    "assert content.detect(b'\\x89PNG\\r\\n\\x1a\\n' + bytes(64)) == 'image/png'\n"
    "try:\n"
    "    dicom.parse_header(bytes(128) + b'DICM' + bytes(64))\n"
    "except dicom.NotDicom:\n"
    "    pass"
)


def imported_by(logical_id: str, first_event: bool = False, then: str = "") -> tuple[set[str], Any]:
    template = SamTemplate.load(REPO / "template.yaml")
    deployment = LocalDeployment(template, endpoint_url="http://127.0.0.1:9", parameters=import_parameters(template))
    spec = next(f for f in template.functions() if f.logical_id == logical_id)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env |= deployment.function_environment(logical_id) | {"PYTHONPATH": str(REPO / "shared")}
    module_file = spec.code_dir / (spec.handler.split(".")[0] + ".py")
    layers = function_layers(spec)
    code = guard_code(layers) + _IMPORT
    if first_event:
        code += "\n".join(_FIRST_EVENT[layer] for layer in layers) + "\n"
    if then:
        code += then + "\n"
    if first_event or then:
        code += _IMPORT.splitlines()[-1]
    fixtures = REPO / "tests" / "fixtures" / "scoring"
    done = subprocess.run(
        [sys.executable, "-c", code, str(module_file), str(fixtures)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"{logical_id} with only its layers {layers}: {done.stderr[-3000:]}"
    return set(json.loads(done.stdout.strip().splitlines()[-1])), spec


FUNCTIONS = [
    "ManifestFunction",
    "BackfillBatchFunction",
    "RegisterFunction",
    "RouteFunction",
    "ScoreFunction",
    "ScoreWorkerFunction",
    "ReportFunction",
]


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_a_function_runs_with_only_its_layers(logical_id: str) -> None:
    """The handler and what its first event imports (tracing, boto3, the encord SDK, the scoring engine scoring
    fixtures from JSON bytes) import with only the packages of the function's layers and Lambda's runtime."""
    modules, spec = imported_by(logical_id, first_event=True)
    layers = function_layers(spec)
    assert layers[0] == "CoreLayer"
    assert ("numpy" in modules) == ("ScoringLayer" in layers)
    assert ("encord" in modules) == ("EncordLayer" in layers)


@pytest.mark.parametrize("logical_id", ["ManifestFunction", "BackfillBatchFunction"])
def test_the_functions_that_read_uploads_run_the_content_checks_with_only_their_layers(logical_id: str) -> None:
    """Both run the ingest scan on uploads: detecting a file type and reading a DICOM header work with only the
    function's layers (IngestLayer), and import the packages they need then, not when the handler is imported."""
    at_import, _ = imported_by(logical_id)
    modules, _ = imported_by(logical_id, then=_CONTENT_CHECKS)
    assert not {"pydicom", "filetype"} & at_import
    assert {"pydicom", "filetype"} <= modules


def test_manifest_function_imports_neither_encord_nor_numpy() -> None:
    modules, _ = imported_by("ManifestFunction")
    assert not modules & MANIFEST_NEVER, f"ManifestFunction imports {sorted(modules & MANIFEST_NEVER)} at import"


@pytest.mark.parametrize("logical_id", ["RegisterFunction", "RouteFunction", "ScoreFunction", "ScoreWorkerFunction"])
def test_encord_facing_functions_defer_the_sdk_and_tracing(logical_id: str) -> None:
    modules, _ = imported_by(logical_id)
    assert not modules & NEVER_AT_IMPORT, f"{logical_id} imports {sorted(modules & NEVER_AT_IMPORT)} at import"


_TRACED = """
from benchmark_qa.observability import DeferredTracer
deferred = DeferredTracer("benchmark-qa")
calls = []

@deferred.capture_lambda_handler(capture_response=False)
def handler(event, context):
    calls.append(event)
    return {"ok": event["n"]}

assert deferred._tracer is None
assert handler({"n": 1}, None) == {"ok": 1}
first = deferred._tracer
assert first is not None and first.disabled
assert handler({"n": 2}, None) == {"ok": 2}
assert deferred._tracer is first
assert calls == [{"n": 1}, {"n": 2}] and handler.__name__ == "handler"
print("traced")
"""


def test_the_tracer_is_made_on_the_first_event_and_traces_it() -> None:
    """The deferred Tracer builds Powertools' Tracer once, on the first call, and the handler runs through it (in a
    fresh interpreter: the X-Ray recorder opens its UDP socket, which unit tests block)."""
    env = os.environ | {"POWERTOOLS_TRACE_DISABLED": "1", "PYTHONPATH": str(REPO / "shared")}
    done = subprocess.run([sys.executable, "-c", _TRACED], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["traced"]
