"""Fixtures for the local stack, the invoker and the event-source pump.

`tiny_*` fixtures build a throwaway SAM template with handlers the tests control (so these tests do not
depend on the project's real functions); `local_stack` builds the real template.yaml once per session."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from benchmark_qa_local.event_sources import EventSourcePump
from benchmark_qa_local.invoker import Invoker
from benchmark_qa_local.stack import LocalStack

REPO = Path(__file__).resolve().parents[3]
REAL_TEMPLATE = REPO / "template.yaml"

TINY_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Greeting: {Type: String, Default: hello}
  IncomingPrefix: {Type: String, Default: incoming}
  Retries: {Type: Number, Default: 2}
Globals:
  Function:
    Runtime: python3.12
    Timeout: 7
    MemorySize: 256
    Layers: [!Ref LibLayer]
    Environment:
      Variables:
        POWERTOOLS_METRICS_NAMESPACE: Tiny
        TABLE: !Ref Table
        GREETING: !Ref Greeting
        LEVEL: global
Resources:
  LibLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: lib/}
    Metadata: {BuildMethod: python3.12}
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: g, AttributeType: S}
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: by-g
          KeySchema: [{AttributeName: g, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
      TimeToLiveSpecification: {AttributeName: expires_at, Enabled: true}
  DeadLetters:
    Type: AWS::SQS::Queue
  Work:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 42
      RedrivePolicy: {deadLetterTargetArn: !GetAtt DeadLetters.Arn, maxReceiveCount: !Ref Retries}
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-bucket-${AWS::AccountId}"
      VersioningConfiguration: {Status: Enabled}
      NotificationConfiguration:
        QueueConfigurations:
          - Event: s3:ObjectCreated:*
            Queue: !GetAtt Work.Arn
            Filter: {S3Key: {Rules: [{Name: prefix, Value: !Sub "${IncomingPrefix}/"}]}}
  Token:
    Type: AWS::SecretsManager::Secret
    Properties:
      GenerateSecretString: {PasswordLength: 20, ExcludePunctuation: true}
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      MemorySize: 1024
      FunctionUrlConfig: {AuthType: NONE}
      Environment:
        Variables:
          LEVEL: function
          QUEUE_URL: !Ref Work
          SECRET: !Ref Token
          BUCKET: !Ref Bucket
          JOINED: !Join ["/", [!Ref Greeting, !GetAtt Work.QueueName]]
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Handler: app.handler
      Events:
        Queue:
          Type: SQS
          Properties:
            Queue: !GetAtt Work.Arn
            BatchSize: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
        Tick:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 minute)
            Input: '{"schedule": "<aws.scheduler.schedule-arn>", "attempt": "<aws.scheduler.attempt-number>"}'
        Legacy:
          Type: Schedule
          Properties: {Schedule: rate(5 minutes)}
  Boom:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: boom/, Handler: app.handler}
  OnUpload:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Handler: app.handler
      Events:
        Direct:
          Type: S3
          Properties:
            Bucket: !Ref Bucket
            Events: s3:ObjectCreated:*
            Filter: {S3Key: {Rules: [{Name: prefix, Value: direct/}]}}
Outputs:
  WorkQueueUrl: {Value: !Ref Work}
  BucketName: {Value: !Ref Bucket}
"""

FILES = {
    "lib/greeting.py": """
        import os

        def hello() -> str:
            return f"{os.environ['GREETING']} from the layer"
    """,
    "echo/app.py": """
        import os
        import uuid

        import greeting  # the layer, as on /opt/python

        INIT_ID = uuid.uuid4().hex
        GREETING_AT_INIT = os.environ["GREETING"]  # settings are read at cold start

        def handler(event, context):
            print("echo handler ran")
            return {
                "init_id": INIT_ID,
                "greeting_at_init": GREETING_AT_INIT,
                "layer": greeting.hello(),
                "env": {k: os.environ.get(k) for k in event.get("keys", [])},
                "event": event,
                "context": {
                    "function_name": context.function_name,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "invoked_function_arn": context.invoked_function_arn,
                    "aws_request_id": context.aws_request_id,
                    "log_group_name": context.log_group_name,
                    "remaining_ms": context.get_remaining_time_in_millis(),
                },
            }
    """,
    "worker/app.py": """
        def handler(event, context):
            if "Records" not in event:
                return {"scheduled": event}
            failures = []
            for record in event["Records"]:
                if record["body"] == "explode":
                    raise RuntimeError("the whole batch fails")
                if record["body"] == "poison":
                    failures.append({"itemIdentifier": record["messageId"]})
            return {"batchItemFailures": failures, "size": len(event["Records"])}
    """,
    "boom/app.py": """
        def fail(reason):
            raise ValueError(f"cannot handle {reason}")

        def handler(event, context):
            fail(event.get("reason", "this"))
    """,
}


def write_tiny_project(root: Path, template: str = TINY_TEMPLATE) -> Path:
    for relative, source in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    (root / "template.yaml").write_text(template)
    return root / "template.yaml"


@pytest.fixture
def tiny_template(tmp_path: Path) -> Path:
    return write_tiny_project(tmp_path)


@pytest.fixture
def tiny_stack(tiny_template: Path) -> Iterator[LocalStack]:
    # moto's state is process-wide: a unique stack name keeps this stack's names apart from the session's.
    with LocalStack(tiny_template, stack_name=f"tiny-{uuid.uuid4().hex[:8]}") as stack:
        yield stack


@pytest.fixture
def tiny_invoker(tiny_stack: LocalStack) -> Invoker:
    return Invoker(stack=tiny_stack)


@pytest.fixture
def tiny_pump(tiny_stack: LocalStack, tiny_invoker: Invoker) -> EventSourcePump:
    return EventSourcePump(tiny_stack, tiny_invoker)


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """The real template, one stack per session."""
    with LocalStack(REAL_TEMPLATE) as stack:
        yield stack
