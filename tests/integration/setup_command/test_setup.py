"""`benchmark-qa setup` against the Encord double through the unmodified SDK: from an empty workspace it creates
everything, a second run changes nothing, a dry run creates nothing, and each problem is reported with what to do."""

from __future__ import annotations

import pytest
import yaml
from benchmark_qa_local.encord_double import FaultKind, FaultRule
from benchmark_qa_local.encord_double.state import Dataset, Pathway, StageType
from benchmark_qa_local.encord_double.workspace import add_workflow_template, production_workflow
from benchmark_qa_local.setup import SetupAborted, load_config, run_setup
from benchmark_qa_local.setup.parameters import read_parameters
from encord import EncordUserClient
from encord.http.constants import RequestsSettings

pytestmark = pytest.mark.integration

FOLDERS = {"Benchmark QA - benchmark files", "Benchmark QA - production files"}


def _client(workspace) -> EncordUserClient:
    settings = RequestsSettings(max_retries=0, backoff_factor=0, connection_retries=0, read_timeout=10)
    return EncordUserClient.create_with_ssh_private_key(
        workspace.key.private_openssh, domain=workspace.double.url, requests_settings=settings
    )


def test_setup_creates_everything_then_a_second_run_changes_nothing(workspace, run_cli):
    config = workspace.config()

    code, out, err = run_cli("setup", "--config", str(config))

    assert (code, err) == (0, "")
    state = workspace.double.state
    folders = {f.name: f for f in state.storage_folders.values()}
    datasets = {d.title: d for d in state.datasets.values()}
    projects = {p.title: p for p in state.projects.values()}
    [ontology] = state.ontologies.values()
    assert set(folders) == FOLDERS
    assert set(datasets) == {"Benchmark Dataset", "Production Dataset"}
    assert all(d.backing_folder_uuid is None for d in datasets.values())  # items are linked from our own folders
    assert ontology.title == "Benchmark QA ontology"
    assert [o["name"] for o in ontology.structure["objects"]] == ["Car"]
    benchmark, production = projects["Benchmark Labels"], projects["Benchmark QA Production Labels"]
    assert benchmark.dataset_hashes == [datasets["Benchmark Dataset"].dataset_hash]
    assert set(production.dataset_hashes) == {d.dataset_hash for d in datasets.values()}
    assert benchmark.ontology_hash == production.ontology_hash == ontology.ontology_hash
    template = state.workflow_templates[workspace.ui.production_template_uuid]
    assert [s.title for s in production.workflow.stages] == [s.title for s in template.workflow.stages]
    assert "workflow     production  stages and pathways" in out
    assert read_parameters(workspace.parameters_file) == {
        "EncordDomain": workspace.double.url,
        "EncordIntegrationId": workspace.ui.integration_uuid,
        "BenchmarkFolderUuid": folders["Benchmark QA - benchmark files"].uuid,
        "ProductionFolderUuid": folders["Benchmark QA - production files"].uuid,
        "BenchmarkDatasetHash": datasets["Benchmark Dataset"].dataset_hash,
        "ProductionDatasetHash": datasets["Production Dataset"].dataset_hash,
        "BenchmarkProjectHash": benchmark.project_hash,
        "ProductionProjectHash": production.project_hash,
        "AgentStage": "Benchmark Task?",
        "YesPathway": "YES",
        "NoPathway": "NO",
        "ReviewStage": "Consensus 1",
        "ArchiveStage": "Archive",
        "AfterScoring": "archive",
        "ExistingBucketName": "",
        "EncordIntegrationPrincipal": "",
        "EncordIntegrationExternalId": "",
    }

    written = workspace.parameters_file.read_bytes()
    before = workspace.double.dump_state()
    workspace.double.counts.reset()
    code, again, _ = run_cli("setup", "--config", str(config))

    assert code == 0
    assert workspace.creations() == 0
    assert workspace.double.dump_state().to_json() == before.to_json()
    assert workspace.parameters_file.read_bytes() == written
    assert "created" not in again
    assert again.count(" exists ") == 8
    assert "unchanged" in again


def test_a_dry_run_reads_what_exists_and_creates_nothing(workspace, run_cli):
    code, out, _ = run_cli("setup", "--config", str(workspace.config()), "--dry-run")

    assert code == 0
    assert workspace.creations() == 0
    assert not workspace.parameters_file.exists()
    assert out.count("would create") == 7  # 2 folders, 2 datasets, the ontology, 2 projects
    assert "integration" in out
    assert " exists " in out


def test_a_creation_whose_answer_was_lost_is_found_by_the_next_run(workspace):
    """Encord's create calls are never retried by the SDK: the dataset exists, its id never reached us."""
    workspace.double.add_fault(FaultRule(endpoint="v2 POST datasets", kind=FaultKind.DROP, times=1))
    config = load_config(workspace.config())

    with pytest.raises(SetupAborted, match="cannot reach Encord"):
        run_setup(_client(workspace), config)
    result = run_setup(_client(workspace), config)

    titles = sorted(d.title for d in workspace.double.state.datasets.values())
    assert titles == ["Benchmark Dataset", "Production Dataset"]  # no second "Benchmark Dataset"
    assert result.ok
    assert [s.outcome.value for s in result.workspace.steps if s.kind == "dataset"] == ["exists", "created"]


def test_a_name_two_resources_share_is_a_problem_not_a_guess(workspace, run_cli):
    with workspace.double.locked() as state:
        for number in (1, 2):
            dataset = Dataset(dataset_hash=f"00000000-0000-4000-8000-00000000000{number}", title="Benchmark Dataset")
            state.datasets[dataset.dataset_hash] = dataset

    code, out, _ = run_cli("setup", "--config", str(workspace.config()))

    assert code == 1
    assert "2 datasets are named 'Benchmark Dataset'" in out
    assert "set datasets.benchmark.id to the one to use" in out
    assert "cannot create it without its dataset.benchmark" in out
    assert not workspace.parameters_file.exists()  # hashes are missing: nothing half-written


def test_a_resource_pinned_by_id_is_used_as_it_is(workspace):
    with workspace.double.locked() as state:
        mine = Dataset(dataset_hash="00000000-0000-4000-8000-0000000000aa", title="My ground truth")
        state.datasets[mine.dataset_hash] = mine

    result = run_setup(
        _client(workspace), load_config(workspace.config(datasets={"benchmark": {"id": mine.dataset_hash}}))
    )

    assert result.ok
    assert result.parameters["BenchmarkDatasetHash"] == mine.dataset_hash
    assert "Benchmark Dataset" not in {d.title for d in workspace.double.state.datasets.values()}


def test_a_missing_integration_is_reported_and_everything_else_is_set_up(workspace, run_cli):
    code, out, _ = run_cli("setup", "--config", str(workspace.config(cloud_integration="not made yet")))

    assert code == 1
    assert "no cloud integration the key's user can use has this title" in out
    parameters = read_parameters(workspace.parameters_file)
    assert parameters["EncordIntegrationId"] == ""  # the stack waits for it (docs/setup.md)
    assert parameters["ProductionProjectHash"] in workspace.double.state.projects


def _template(workspace, change) -> str:
    """A Production workflow template as the user might have drawn it wrongly."""
    workflow = production_workflow(["annotator@example.com"])
    change({s.title: s for s in workflow.stages})
    with workspace.double.locked() as state:
        return add_workflow_template(state, "Drawn wrongly", workflow).template_uuid


def _rename_agent(stages):
    stages["Benchmark Task?"].title = "Is benchmark?"


def _yes_to_annotate(stages):
    agent = stages["Benchmark Task?"]
    agent.pathways = [
        Pathway(name="YES", destination_uuid=stages["Annotate 1"].uuid),
        Pathway(name="NO", destination_uuid=stages["Annotate 1"].uuid),
    ]


def _archive_is_a_review(stages):
    stages["Archive"].stage_type = StageType.REVIEW


def _no_pathway_missing(stages):
    stages["Benchmark Task?"].pathways = stages["Benchmark Task?"].pathways[:1]


@pytest.mark.parametrize(
    ("change", "reported"),
    [
        (_rename_agent, "no workflow stage 'Benchmark Task?'; its agent stages are ['Is benchmark?']"),
        (_no_pathway_missing, "has no pathway 'NO'; its pathways are ['YES']"),
        (_yes_to_annotate, "pathway 'YES' of 'Benchmark Task?' leads to 'Annotate 1' (ANNOTATION), not to a consensus"),
        (_archive_is_a_review, "stage 'Archive' is a REVIEW stage, not a final stage"),
    ],
)
def test_a_production_workflow_the_stack_cannot_run_is_reported(workspace, run_cli, change, reported):
    template = _template(workspace, change)
    config = workspace.config()
    document = yaml.safe_load(config.read_text())
    document["projects"]["production"]["workflow_template"] = template
    config.write_text(yaml.safe_dump(document))

    code, out, _ = run_cli("setup", "--config", str(config))

    assert code == 1
    assert reported in out
    # The hashes are all known, so the parameters are written; the fix is in Encord (a new template/project).
    assert read_parameters(workspace.parameters_file)["ProductionProjectHash"]


def test_an_existing_project_is_checked_never_changed(workspace, run_cli):
    config = workspace.config()
    assert run_cli("setup", "--config", str(config))[0] == 0
    with workspace.double.locked() as state:
        production = next(p for p in state.projects.values() if p.title == "Benchmark QA Production Labels")
        production.dataset_hashes = production.dataset_hashes[:1]
    workspace.double.counts.reset()

    code, out, _ = run_cli("setup", "--config", str(config))

    assert code == 1
    assert "lacks the dataset(s)" in out
    assert workspace.creations() == 0
    assert len(production.dataset_hashes) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--key-file", "/nonexistent/key"], "cannot read the Encord key file /nonexistent/key"),
        (["--config", "/nonexistent/setup.yaml"], "/nonexistent/setup.yaml: cannot read it"),
    ],
)
def test_a_mistake_on_the_command_line_is_one_clear_line(workspace, run_cli, argv, message):
    args = ["setup", "--config", str(workspace.config()), *argv]

    code, out, err = run_cli(*args)

    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_a_key_encord_does_not_know_is_refused_with_what_to_do(workspace, run_cli):
    from benchmark_qa_local.encord_double import generate_key_pair

    stranger = workspace.folder / "stranger.key"
    stranger.write_text(generate_key_pair().private_openssh, encoding="utf-8")

    code, out, err = run_cli("setup", "--config", str(workspace.config()), "--key-file", str(stranger))

    assert code == 2
    assert "does not accept the key: add its public half in Encord (Settings > Public keys)" in err
    assert "BEGIN OPENSSH" not in err + out


def test_a_bad_ontology_file_names_the_file(workspace, run_cli):
    bad = workspace.folder / "ontology.yaml"
    bad.write_text("objects: [{name: Car, shape: not-a-shape}]\nclassifications: []\n", encoding="utf-8")

    code, out, _ = run_cli("setup", "--config", str(workspace.config(ontology={"structure_file": "ontology.yaml"})))

    assert code == 1
    assert f"ontology.structure_file {bad}: not an Encord ontology structure" in out
