"""The template's Step Functions state machines in moto (AWS::Serverless::StateMachine): the definition as SAM
deploys it (its DefinitionSubstitutions applied, intrinsics resolved), the role, type and tracing (not the logging
configuration: moto keeps no log delivery), so a
test can read back, and run what moto can run of, exactly what the template deploys (docs/backfill.md says what
moto's Step Functions covers)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from benchmark_qa_local.deployment import PhysicalResource

if TYPE_CHECKING:
    from benchmark_qa_local.deployment import LocalDeployment
    from benchmark_qa_local.provisioning import Provisioner

STATE_MACHINE_TYPE = "AWS::Serverless::StateMachine"


def definition(deployment: LocalDeployment, properties: Mapping[str, Any]) -> str:
    """The definition JSON Step Functions receives: SAM substitutes each `${Name}` of DefinitionSubstitutions into
    the definition's text (so a number can be written inside a string and parsed by the definition itself)."""
    text = json.dumps(deployment.resolve(properties["Definition"]))
    for name, value in deployment.resolve(properties.get("DefinitionSubstitutions", {})).items():
        text = text.replace("${" + name + "}", str(value))
    return text


def build_state_machine(p: Provisioner, logical_id: str, properties: Mapping[str, Any]) -> PhysicalResource:
    physical = p.deployment.resource(logical_id)
    props = p.resolve({k: v for k, v in properties.items() if k not in ("Definition", "DefinitionSubstitutions")})
    request: dict[str, Any] = {
        "name": physical.name,
        "definition": definition(p.deployment, properties),
        "roleArn": str(props["Role"]),
        "type": str(props.get("Type", "STANDARD")),
    }
    if "Tracing" in props:
        request["tracingConfiguration"] = {"enabled": str(props["Tracing"].get("Enabled")).lower() == "true"}
    arn = str(p.client("stepfunctions").create_state_machine(**request)["stateMachineArn"])
    return PhysicalResource(logical_id, physical.type, physical.name, arn, {"Arn": arn, "Name": physical.name})


def delete_state_machine(p: Provisioner, physical: PhysicalResource) -> None:
    p.client("stepfunctions").delete_state_machine(stateMachineArn=physical.ref)
