"""template.yaml's setup parameters (docs/setup.md), resolved as CloudFormation would for each choice: the stage
and pathway names, the stack's own bucket or an existing one (EventBridge, nothing owned), and the AWS side of
Encord's cloud integration (a read-only role with an external ID, the CORS rule)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from benchmark_qa_local.deployment import LocalDeployment
from benchmark_qa_local.template import SamTemplate

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
STACK = "bqa"
OWN_BUCKET = f"{STACK}-uploads-123456789012"


@pytest.fixture(scope="module")
def template() -> SamTemplate:
    return SamTemplate.load(TEMPLATE)


def _deployed(template: SamTemplate, **parameters: str) -> LocalDeployment:
    return LocalDeployment(template, stack_name=STACK, parameters=parameters)


def _exists(deployment: LocalDeployment, logical_id: str) -> bool:
    condition = deployment.template.resources[logical_id].get("Condition")
    return condition is None or deployment.intrinsics.condition(str(condition))


def _policy_resources(deployment: LocalDeployment, function: str, sid: str) -> Any:
    statements = [
        s
        for p in deployment.resolve(deployment.template.function(function).properties["Policies"])
        for s in p["Statement"]
    ]
    return next(s["Resource"] for s in statements if s["Sid"] == sid)


def test_every_stage_and_pathway_name_is_a_parameter(template):
    deployment = _deployed(
        template,
        AgentStage="Is it a benchmark?",
        YesPathway="Benchmark",
        NoPathway="Production",
        ReviewStage="Consensus 2",
        ArchiveStage="Done",
    )

    route = deployment.function_environment("RouteFunction")
    score = deployment.function_environment("ScoreFunction")

    assert (route["AGENT_STAGE"], route["YES_PATHWAY"], route["NO_PATHWAY"]) == (
        "Is it a benchmark?",
        "Benchmark",
        "Production",
    )
    assert (score["REVIEW_STAGE"], score["ARCHIVE_STAGE"]) == ("Consensus 2", "Done")
    defaults = _deployed(template).function_environment("RouteFunction")
    assert (defaults["AGENT_STAGE"], defaults["YES_PATHWAY"], defaults["NO_PATHWAY"]) == (
        "Benchmark Task?",
        "YES",
        "NO",
    )


def test_without_an_existing_bucket_the_stack_owns_one_with_notifications_and_cors(template):
    deployment = _deployed(template)

    assert _exists(deployment, "UploadBucket")
    assert _exists(deployment, "UploadBucketPolicy")
    assert not _exists(deployment, "UploadsEventRule")
    assert not _exists(deployment, "ManifestsEventRule")
    assert deployment.function_environment("ManifestFunction")["UPLOAD_BUCKET"] == OWN_BUCKET
    assert deployment.outputs()["UploadBucketName"] == OWN_BUCKET
    [cors] = deployment.resolve(template.properties("UploadBucket")["CorsConfiguration"])["CorsRules"]
    assert cors["AllowedMethods"] == ["GET"]
    assert cors["AllowedOrigins"] == ["https://app.encord.com", "https://app.us.encord.com"]
    without_cors = _deployed(template, EncordCorsOrigins="")
    assert "CorsConfiguration" not in without_cors.resolve(template.properties("UploadBucket"))


def test_an_existing_bucket_is_subscribed_through_eventbridge_and_never_owned(template):
    deployment = _deployed(template, ExistingBucketName="my-data", BenchmarkPrefix="gt", ProductionPrefix="live")

    assert not _exists(deployment, "UploadBucket")
    assert not _exists(deployment, "UploadBucketPolicy")
    assert deployment.outputs()["UploadBucketName"] == "my-data"
    assert deployment.function_environment("ManifestFunction")["UPLOAD_BUCKET"] == "my-data"
    assert deployment.function_environment("RegisterFunction")["UPLOAD_BUCKET"] == "my-data"
    assert _policy_resources(deployment, "ManifestFunction", "ReadUploads") == [
        "arn:aws:s3:::my-data/gt/*",
        "arn:aws:s3:::my-data/live/*",
    ]
    uploads = deployment.resolve(template.properties("UploadsEventRule"))
    assert uploads["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created", "Object Deleted"],
        "detail": {"bucket": {"name": ["my-data"]}, "object": {"key": [{"prefix": "gt/"}, {"prefix": "live/"}]}},
    }
    assert uploads["Targets"][0]["Arn"].endswith(f":{STACK}-IngestQueue")
    manifests = deployment.resolve(template.properties("ManifestsEventRule"))
    assert manifests["EventPattern"]["detail"]["object"]["key"] == [{"prefix": "manifests/"}]
    assert manifests["Targets"][0]["Arn"].endswith(f":{STACK}-RegisterQueue")
    # The queues accept these rules' events only; no resource of the stack touches the user's bucket. The stack's
    # S3 resources are its own reports bucket (issue 14: the leaderboard is published there whatever bucket the
    # uploads live in) and that bucket's policy, never the user's bucket by name.
    [statement] = deployment.resolve(template.properties("IngestQueuePolicy"))["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": deployment.resource("UploadsEventRule").attributes["Arn"]}
    }
    s3_resources = {
        logical_id: deployment.resolve(resource.get("Properties", {}))
        for logical_id, resource in template.resources.items()
        if _exists(deployment, logical_id) and resource["Type"].startswith("AWS::S3::")
    }
    assert sorted(s3_resources) == ["ReportsBucket", "ReportsBucketPolicy"]
    assert "my-data" not in repr(s3_resources)


def test_the_encord_integration_role_is_optional_read_only_and_needs_the_external_id(template):
    assert not _exists(_deployed(template), "EncordIntegrationRole")
    deployment = _deployed(
        template, EncordIntegrationPrincipal="arn:aws:iam::111122223333:root", EncordIntegrationExternalId="ext-42"
    )

    role = deployment.resolve(template.properties("EncordIntegrationRole"))
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    [policy] = role["Policies"]

    assert trust["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "ext-42"}}
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "ReadUploads",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": [f"arn:aws:s3:::{OWN_BUCKET}/benchmark/*", f"arn:aws:s3:::{OWN_BUCKET}/production/*"],
        }
    ]
    assert "EncordIntegrationRoleArn" in deployment.outputs()
    writing = _deployed(
        template,
        EncordIntegrationPrincipal="111122223333",
        EncordIntegrationExternalId="ext-42",
        EncordIntegrationWrite="true",
    ).resolve(template.properties("EncordIntegrationRole"))
    actions = {a for s in writing["Policies"][0]["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert actions == {"s3:GetObject", "s3:PutObject"}


@pytest.mark.parametrize(
    ("principal", "external_id", "accepted"),
    [("", "", True), ("111122223333", "ext-42", True), ("111122223333", "", False)],
)
def test_a_principal_without_an_external_id_is_refused_by_the_template_rule(template, principal, external_id, accepted):
    """The Rules section CloudFormation evaluates before it creates anything (a confused deputy otherwise)."""
    deployment = _deployed(template, EncordIntegrationPrincipal=principal, EncordIntegrationExternalId=external_id)
    rule = template.body["Rules"]["EncordRoleNeedsExternalId"]

    applies = deployment.resolve(rule["RuleCondition"])
    holds = all(deployment.resolve(a["Assert"]) for a in rule["Assertions"])

    assert (not applies or holds) is accepted
