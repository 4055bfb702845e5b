"""`benchmark-qa setup` end to end: the Encord workspace (workspace.py), then the deployment parameters file
(parameters.py), written once every hash the stack needs is known."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from benchmark_qa_local.setup.config import SetupConfig
from benchmark_qa_local.setup.parameters import merge, read_parameters, write_parameters
from benchmark_qa_local.setup.workspace import Workspace, WorkspaceReport

if TYPE_CHECKING:
    from encord.user_client import EncordUserClient

# Template parameter -> the id setup found or created (WorkspaceReport.ids keys).
HASH_PARAMETERS = {
    "BenchmarkFolderUuid": "folder.benchmark",
    "ProductionFolderUuid": "folder.production",
    "BenchmarkDatasetHash": "dataset.benchmark",
    "ProductionDatasetHash": "dataset.production",
    "BenchmarkProjectHash": "project.benchmark",
    "ProductionProjectHash": "project.production",
}


@dataclass
class SetupResult:
    workspace: WorkspaceReport
    parameters_file: Path
    parameters: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)
    written: bool = False
    missing: list[str] = field(default_factory=list)  # parameters setup could not fill (why: the problems)

    @property
    def ok(self) -> bool:
        return not self.workspace.problems and not self.missing


def setup_parameters(config: SetupConfig, ids: dict[str, str], current: dict[str, str]) -> dict[str, str]:
    """The parameters setup owns. An integration not found yet keeps what the file had (or stays empty: the
    stack then waits for it, docs/setup.md)."""
    names = config.workflow
    deployment = config.deployment
    values = {
        "EncordDomain": config.encord.domain,
        "EncordIntegrationId": ids.get("integration", current.get("EncordIntegrationId", "")),
        **{parameter: ids[key] for parameter, key in HASH_PARAMETERS.items() if key in ids},
        "AgentStage": names.agent_stage,
        "YesPathway": names.yes_pathway,
        "NoPathway": names.no_pathway,
        "ReviewStage": names.review_stage,
        "ArchiveStage": names.archive_stage,
        "AfterScoring": names.after_scoring,
        "ExistingBucketName": deployment.bucket,
        "EncordIntegrationPrincipal": deployment.encord_aws_principal,
        "EncordIntegrationExternalId": deployment.encord_external_id,
    }
    return values


def run_setup(client: EncordUserClient, config: SetupConfig, *, dry_run: bool = False) -> SetupResult:
    report = Workspace(client, config, dry_run=dry_run).run()
    path = config.deployment.parameters_file
    current = read_parameters(path)
    updates = setup_parameters(config, report.ids, current)
    merged, changed = merge(current, updates)
    result = SetupResult(report, path, merged, changed)
    if dry_run:
        return result  # the ids of what would be created are not known yet: nothing is missing, nothing written
    result.missing = [p for p in HASH_PARAMETERS if p not in updates]
    if not result.missing:
        result.written = write_parameters(path, merged)
    return result
