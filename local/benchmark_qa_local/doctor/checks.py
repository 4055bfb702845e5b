"""`benchmark-qa doctor`: every check a deployment needs to run the Benchmark QA workflow, one line each with
what to do when it fails. The AWS side is read from the stack (deployed.py); the Encord side goes through the
SDK with the key the functions use (the EncordKeySecretArn secret), so a passing doctor means the functions can
do the same calls.

Checks after `encord access` need a working key: when it fails they are reported as skipped, not as failures of
their own."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from benchmark_qa_local.doctor.deployed import Deployed
from benchmark_qa_local.setup.config import WorkflowNames
from benchmark_qa_local.setup.workflow_shape import workflow_problems

if TYPE_CHECKING:
    from encord.user_client import EncordUserClient

WORK_QUEUES = ("IngestQueueUrl", "RegisterQueueUrl", "ScoreQueueUrl")
DEAD_LETTER_QUEUES = (
    "IngestDeadLetterQueueUrl",
    "RegisterDeadLetterQueueUrl",
    "ScoreDeadLetterQueueUrl",
    "ScheduleDeadLetterQueueUrl",
)
REQUIRED_OUTPUTS = ("UploadBucketName", "StateTableName", "EncordKeySecretArn", "WebhookSecretArn", *WORK_QUEUES,
                    *DEAD_LETTER_QUEUES, "ReportsBucketName")  # fmt: skip


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str  # what was found, and for a failure what to do


def _ok(name: str, message: str) -> Check:
    return Check(name, Status.OK, message)


def _fail(name: str, message: str) -> Check:
    return Check(name, Status.FAIL, message)


def _name(check: Callable[[], Check]) -> str:
    return check.__name__.replace("_", " ")


def key_fingerprint(private_openssh: str) -> str:
    """ssh-keygen's SHA256 fingerprint of the key's public half, to find it among Encord's public keys."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_ssh_private_key(private_openssh.encode(), password=None)
    blob = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    digest = hashlib.sha256(base64.b64decode(blob.split()[1])).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class Doctor:
    def __init__(self, deployed: Deployed, *, client_factory: Callable[[str, str], EncordUserClient]) -> None:
        """`client_factory(key_text, domain)` builds the SDK client (the CLI: encord_access.client_from_text)."""
        self.deployed = deployed
        self.client_factory = client_factory
        self.encord: EncordUserClient | None = None
        self._projects: dict[str, Any] = {}

    # ------------------------------------------------------------------ running
    def run(self) -> Iterator[Check]:
        yield self.outputs()
        if any(o not in self.deployed.outputs for o in REQUIRED_OUTPUTS):
            return  # nothing else can be found without them
        yield self.encord_key()
        access = self.encord_access() if self.encord else Check("encord access", Status.SKIP, "needs the key (above)")
        yield access
        for check in (
            self.integration,
            self.folders,
            self.datasets,
            self.projects,
            self.workflow,
            self.uploads_readable,
        ):
            if access.status is Status.OK:
                yield self._guarded(check)
            else:
                yield Check(_name(check), Status.SKIP, "needs Encord access (above)")
        for check in (
            self.bucket,
            self.cors,
            self.schedules,
            self.queues,
            self.dead_letter_queues,
            self.webhook_secret,
        ):
            yield self._guarded(check)

    @staticmethod
    def _guarded(check: Callable[[], Check]) -> Check:
        """A check that crashes is reported, never raised: the other checks still run."""
        try:
            return check()
        except Exception as error:
            return _fail(_name(check), f"could not check it: {type(error).__name__}: {error}")

    def _param(self, name: str) -> str:
        return self.deployed.parameter(name)

    # ------------------------------------------------------------------ the stack
    def outputs(self) -> Check:
        missing = [o for o in REQUIRED_OUTPUTS if o not in self.deployed.outputs]
        if missing:
            return _fail(
                "stack", f"{self.deployed.where} lacks outputs {missing}: deploy the current template (make deploy)"
            )
        outputs = self.deployed.outputs
        found = f"bucket {outputs['UploadBucketName']}, reports in {outputs['ReportsBucketName']}"
        return _ok("stack", f"{self.deployed.where}: {found}")

    def encord_key(self) -> Check:
        from benchmark_qa.encord.client import EncordKeyError, normalise_key

        arn = self.deployed.outputs["EncordKeySecretArn"]
        secrets = self.deployed.client("secretsmanager")
        try:
            value = str(secrets.get_secret_value(SecretId=arn)["SecretString"])
        except secrets.exceptions.ResourceNotFoundException:
            return _fail(
                "encord key",
                f"no key stored yet (the functions skip their Encord work until there is): aws secretsmanager "
                f"put-secret-value --secret-id {arn} --secret-string file://<private key file>",
            )
        domain = self._param("EncordDomain")
        try:
            self.encord = self.client_factory(value, domain)
            fingerprint = key_fingerprint(normalise_key(value))
        except (EncordKeyError, ValueError) as error:
            return _fail("encord key", f"{error}")
        return _ok("encord key", f"stored; public key {fingerprint} (find its user in Encord: Settings > Public keys)")

    def encord_access(self) -> Check:
        from encord.exceptions import AuthenticationError, RequestException

        assert self.encord is not None
        domain = self._param("EncordDomain")
        try:
            self.encord.get_cloud_integrations()
        except AuthenticationError:
            return _fail(
                "encord access",
                f"{domain} refuses the key: add its public half in Encord (Settings > Public keys) for the user "
                "that owns the projects; US accounts set EncordDomain to https://api.us.encord.com",
            )
        except RequestException as error:
            return _fail("encord access", f"cannot reach {domain}: {error.message}")
        return _ok("encord access", f"{domain} accepts the key")

    # ------------------------------------------------------------------ Encord
    def integration(self) -> Check:
        assert self.encord is not None
        integration = self._param("EncordIntegrationId")
        if not integration:
            return _fail(
                "integration",
                "EncordIntegrationId is empty, so uploads wait: create the cloud integration in Encord, run "
                "benchmark-qa setup, then make deploy (docs/setup.md, step 4)",
            )
        found = self.encord.get_cloud_integrations(filter_integration_uuids=[integration])
        if not found:
            return _fail(
                "integration",
                f"the key's user cannot use cloud integration {integration}: add them to it as Admin in Encord "
                "(Integrations > the integration > Add or remove users), or fix EncordIntegrationId",
            )
        return _ok("integration", f"'{found[0].title}' ({integration})")

    def _open_each(self, name: str, parameters: tuple[str, ...], title: Callable[[str], str], fix: str) -> Check:
        """Open the resource each parameter names; fail naming those that cannot be opened."""
        from encord.exceptions import AuthorisationError, ResourceNotFoundError

        titles, problems = [], []
        for parameter in parameters:
            value = self._param(parameter)
            try:
                titles.append(f"'{title(value)}'")
            except (ValueError, AuthorisationError, ResourceNotFoundError):  # ValueError: not a UUID
                problems.append(f"{parameter} {value or '(empty)'}")
        if problems:
            return _fail(name, f"cannot open {', '.join(problems)}: run benchmark-qa setup and make deploy, or {fix}")
        return _ok(name, ", ".join(titles))

    def folders(self) -> Check:
        assert self.encord is not None
        client = self.encord
        return self._open_each(
            "folders",
            ("BenchmarkFolderUuid", "ProductionFolderUuid"),
            lambda uuid: client.get_storage_folder(uuid).name,
            "give the key's user access to the folder in Encord",
        )

    def datasets(self) -> Check:
        assert self.encord is not None
        client = self.encord
        return self._open_each(
            "datasets",
            ("BenchmarkDatasetHash", "ProductionDatasetHash"),
            lambda dataset_hash: client.get_dataset(dataset_hash, include_data_rows=False).title,
            "make the key's user an Admin of the dataset",
        )

    def _project(self, parameter: str) -> Any:
        """The project a parameter names (opened once per run), or why it cannot be opened."""
        if parameter not in self._projects:
            self._projects[parameter] = self._open_project(parameter)
        return self._projects[parameter]

    def _open_project(self, parameter: str) -> Any:
        from encord.exceptions import AuthorisationError, ResourceNotFoundError

        assert self.encord is not None
        try:
            return self.encord.get_project(self._param(parameter))
        except (AuthorisationError, ResourceNotFoundError):
            return f"cannot open {parameter} {self._param(parameter) or '(empty)'}: make the key's user an Admin of it"
        except AssertionError as error:
            return f"{parameter}: its workflow has a stage this SDK cannot read ({error}); remove router stages"

    def projects(self) -> Check:
        problems, names = [], []
        expected = {
            "BenchmarkProjectHash": {self._param("BenchmarkDatasetHash")},
            "ProductionProjectHash": {self._param("BenchmarkDatasetHash"), self._param("ProductionDatasetHash")},
        }
        for parameter, datasets in expected.items():
            project = self._project(parameter)
            if isinstance(project, str):
                problems.append(project)
                continue
            names.append(f"'{project.title}'")
            attached = {str(d.dataset_hash) for d in project.list_datasets()}
            if datasets - attached:
                problems.append(f"'{project.title}' lacks dataset(s) {sorted(datasets - attached)}: attach them")
        if problems:
            return _fail("projects", "; ".join(problems))
        return _ok("projects", ", ".join(names) + "; datasets attached")

    def workflow(self) -> Check:
        project = self._project("ProductionProjectHash")
        if isinstance(project, str):
            return _fail("workflow", project)
        names = WorkflowNames(
            agent_stage=self._param("AgentStage"),
            yes_pathway=self._param("YesPathway"),
            no_pathway=self._param("NoPathway"),
            review_stage=self._param("ReviewStage"),
            archive_stage=self._param("ArchiveStage"),
            after_scoring=self._param("AfterScoring") or "archive",
        )
        problems = workflow_problems(project.project_hash, project.workflow.stages, names)
        if problems:
            return _fail("workflow", "; ".join(problems))
        return _ok(
            "workflow",
            f"'{names.agent_stage}' ({names.yes_pathway}/{names.no_pathway}) -> '{names.review_stage}' -> "
            f"'{names.archive_stage}'",
        )

    def uploads_readable(self) -> Check:
        """Encord reads each object through the integration when it registers it, so a registered manifest shows
        the integration can read the bucket; its item is then looked up in Encord."""
        from benchmark_qa.store.uploads import UploadsRepository
        from encord.exceptions import AuthorisationError, ResourceNotFoundError

        assert self.encord is not None
        uploads = UploadsRepository(self.deployed.table(self.deployed.outputs["StateTableName"]))
        finished = [m for s in ("registered", "partly_failed", "failed") for m in uploads.manifests_with_status(s)]
        if not finished:
            prefix = self._param("BenchmarkPrefix")
            return Check(
                "uploads readable",
                Status.WARN,
                f"nothing registered yet: upload a file under {prefix}/ and run doctor again in a minute",
            )
        latest = max(finished, key=lambda m: str(m.get("updated_at", "")))
        if latest.get("status") == "failed":
            return _fail(
                "uploads readable",
                f"the latest manifest {latest.get('manifest_id')} failed: "
                f"{latest.get('reason') or latest.get('last_error')}",
            )
        registered = next(
            (
                o
                for o in uploads.objects_in_manifest(str(latest["manifest_id"]))
                if o.status == "registered" and o.encord and o.encord.get("item_uuid")
            ),
            None,
        )
        if registered is None or registered.encord is None:
            return _fail(
                "uploads readable",
                f"manifest {latest.get('manifest_id')} registered no object: see benchmark-qa status",
            )
        item_uuid = str(registered.encord["item_uuid"])
        try:
            self.encord.get_storage_item(item_uuid)
        except (AuthorisationError, ResourceNotFoundError):
            return _fail(
                "uploads readable",
                f"Encord no longer has item {item_uuid} of s3://{registered.bucket}/{registered.key}: was it deleted, "
                "or the key's user removed from the folder?",
            )
        return _ok("uploads readable", f"Encord imported s3://{registered.bucket}/{registered.key} as item {item_uuid}")

    # ------------------------------------------------------------------ AWS
    def bucket(self) -> Check:
        bucket = self.deployed.outputs["UploadBucketName"]
        s3 = self.deployed.client("s3")
        try:
            s3.head_bucket(Bucket=bucket)
        except s3.exceptions.ClientError as error:
            return _fail("bucket", f"cannot reach bucket {bucket} ({error.response['Error'].get('Code')})")
        notifications = s3.get_bucket_notification_configuration(Bucket=bucket)
        if self._param("ExistingBucketName"):
            if "EventBridgeConfiguration" not in notifications:
                return _fail(
                    "bucket",
                    f"{bucket} does not send events to EventBridge, so uploads never reach the stack: turn on "
                    "Properties > Event notifications > Amazon EventBridge on the bucket (docs/setup.md, step 5)",
                )
            return _ok("bucket", f"{bucket} (yours) sends its events to EventBridge")
        if not notifications.get("QueueConfigurations"):
            return _fail("bucket", f"{bucket} has no notifications to the ingest queue: deploy again (make deploy)")
        return _ok("bucket", f"{bucket} notifies the ingest and register queues")

    def cors(self) -> Check:
        bucket = self.deployed.outputs["UploadBucketName"]
        s3 = self.deployed.client("s3")
        try:
            rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
        except s3.exceptions.ClientError as error:
            if error.response["Error"].get("Code") != "NoSuchCORSConfiguration":
                raise
            rules = []
        if any("GET" in r.get("AllowedMethods", []) for r in rules):
            origins = sorted({o for r in rules for o in r.get("AllowedOrigins", [])})
            return _ok("cors", f"GET allowed from {', '.join(origins)}")
        if not self._param("ExistingBucketName") and not self._param("EncordCorsOrigins"):
            return Check(
                "cors", Status.WARN, "turned off (EncordCorsOrigins is empty): the label editor may not load files"
            )
        return _fail(
            "cors",
            f"no CORS rule lets Encord's web app GET files from {bucket}, so the label editor cannot load them: "
            "add the rule of docs/setup.md (step 5)",
        )

    def schedules(self) -> Check:
        scheduler = self.deployed.client("scheduler")
        problems, enabled = [], 0
        for schedule in self.deployed.schedules:
            try:
                state = scheduler.get_schedule(Name=schedule.name, GroupName=schedule.group)["State"]
            except scheduler.exceptions.ResourceNotFoundException:
                problems.append(f"{schedule.logical_id} does not exist (deploy again: make deploy)")
                continue
            if state != "ENABLED":
                problems.append(
                    f"{schedule.logical_id} is {state}: enable schedule {schedule.name} in the EventBridge Scheduler "
                    "console, or deploy again"
                )
            else:
                enabled += 1
        if not self.deployed.schedules:
            return _fail("schedules", "the stack has no schedules: deploy the current template (make deploy)")
        if problems:
            return _fail("schedules", "; ".join(problems))
        return _ok("schedules", f"{enabled} enabled ({', '.join(s.logical_id for s in self.deployed.schedules)})")

    def _depth(self, output: str) -> int:
        attributes = self.deployed.client("sqs").get_queue_attributes(
            QueueUrl=self.deployed.outputs[output],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def queues(self) -> Check:
        depths = {o.removesuffix("Url"): self._depth(o) for o in WORK_QUEUES}
        return _ok("queues", ", ".join(f"{name} {depth}" for name, depth in depths.items()) + " message(s) waiting")

    def dead_letter_queues(self) -> Check:
        full = {o: self._depth(o) for o in DEAD_LETTER_QUEUES}
        full = {o: n for o, n in full.items() if n}
        if full:
            return _fail(
                "dead-letter queues",
                "; ".join(
                    f"{n} message(s) in {o.removesuffix('Url')}: read them with aws sqs receive-message --queue-url "
                    f"{self.deployed.outputs[o]} (docs/observability.md says what each means)"
                    for o, n in full.items()
                ),
            )
        return _ok("dead-letter queues", "all empty")

    def webhook_secret(self) -> Check:
        arn = self.deployed.outputs["WebhookSecretArn"]
        secrets = self.deployed.client("secretsmanager")
        try:
            secrets.get_secret_value(SecretId=arn)
        except secrets.exceptions.ResourceNotFoundException:
            return Check(
                "webhook",
                Status.WARN,
                "Encord's webhook secret is not stored: routing runs on its schedule only. For immediate routing add "
                f"the webhook in Encord and store its secret in {arn} (docs/routing.md#webhook-immediate-trigger)",
            )
        return _ok("webhook", "Encord's webhook secret is stored")
