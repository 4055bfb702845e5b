"""The Encord side of a deployment, found or created through the SDK only: the cloud integration (found, never
created: the SDK cannot), the two storage folders, the two datasets, the ontology, the Benchmark and Production
Projects (each from its workflow template), then the Production workflow's shape.

Everything is looked up by name first, so a second run finds what the first made and creates nothing. That also
covers a creation whose answer was lost: the SDK never retries these POSTs (encord_double/workspace.py cites
where), the resource exists, and the next run finds it. A name that matches several resources is a problem to
resolve (rename one, or pin it by id in the setup file), never a guess.

With `dry_run` nothing is created: each step says what exists and what would be created."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from benchmark_qa_local.setup.config import Named, SetupConfig
from benchmark_qa_local.setup.workflow_shape import workflow_problems

if TYPE_CHECKING:
    from encord.project import Project
    from encord.user_client import EncordUserClient

BENCHMARK, PRODUCTION = "benchmark", "production"


class Outcome(StrEnum):
    EXISTS = "exists"
    CREATED = "created"
    WOULD_CREATE = "would create"
    OK = "ok"
    PROBLEM = "PROBLEM"


@dataclass(frozen=True)
class Step:
    kind: str  # integration, folder, dataset, ontology, project, workflow
    role: str  # benchmark, production, or "" for the shared ones
    name: str
    outcome: Outcome
    id: str | None = None
    detail: str = ""  # for a problem: what is wrong and what to do


@dataclass
class WorkspaceReport:
    steps: list[Step] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)  # "folder.benchmark" -> uuid, "project.production" -> hash

    @property
    def problems(self) -> list[Step]:
        return [s for s in self.steps if s.outcome is Outcome.PROBLEM]

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        if step.id and step.outcome is not Outcome.PROBLEM:
            self.ids[f"{step.kind}.{step.role}" if step.role else step.kind] = step.id
        return step


class SetupAborted(RuntimeError):
    """Encord cannot be used at all (the key is refused, the domain is unreachable). Says what to do."""


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


class Workspace:
    def __init__(self, client: EncordUserClient, config: SetupConfig, *, dry_run: bool) -> None:
        self.client = client
        self.config = config
        self.dry_run = dry_run
        self.report = WorkspaceReport()

    # ------------------------------------------------------------------ the whole run
    def run(self) -> WorkspaceReport:
        from encord.exceptions import AuthenticationError, RequestException

        try:
            self._integration()
            for role in (BENCHMARK, PRODUCTION):
                self._folder(role, getattr(self.config.folders, role))
            for role in (BENCHMARK, PRODUCTION):
                self._dataset(role, getattr(self.config.datasets, role))
            self._ontology()
            self._project(BENCHMARK, [BENCHMARK])
            self._project(PRODUCTION, [BENCHMARK, PRODUCTION])
        except AuthenticationError:
            raise SetupAborted(
                f"Encord at {self.config.encord.domain} does not accept the key: add its public half in Encord "
                "(Settings > Public keys), or use https://api.us.encord.com for the US platform"
            ) from None
        except RequestException as error:
            raise SetupAborted(f"cannot reach Encord at {self.config.encord.domain}: {error.message}") from None
        return self.report

    def _problem(self, kind: str, role: str, named: Named | str, detail: str) -> None:
        name = named if isinstance(named, str) else named.label()
        self.report.add(Step(kind, role, name, Outcome.PROBLEM, detail=detail))

    def _match(self, kind: str, role: str, name: str, found: list[str], pin_key: str) -> bool:
        """Record what the lookup by name found (ids in `found`); False when nothing is named so."""
        if len(found) > 1:
            self._problem(
                kind,
                role,
                name,
                f"{len(found)} {kind}s are named '{name}' ({', '.join(found)}): rename all but one "
                f"in Encord, or set {pin_key}.id to the one to use",
            )
        elif found:
            self.report.add(Step(kind, role, f"'{name}'", Outcome.EXISTS, found[0]))
        return bool(found)

    def _created(self, kind: str, role: str, name: str, make: Any) -> str | None:
        if self.dry_run:
            self.report.add(Step(kind, role, f"'{name}'", Outcome.WOULD_CREATE))
            return None
        created = str(make())
        self.report.add(Step(kind, role, f"'{name}'", Outcome.CREATED, created))
        return created

    # ------------------------------------------------------------------ integration
    def _integration(self) -> None:
        named = self.config.cloud_integration
        if named.id is not None:
            if not _is_uuid(named.id):
                self._problem("integration", "", named, f"cloud_integration.id {named.id!r} is not a UUID")
                return
            found = self.client.get_cloud_integrations(filter_integration_uuids=[named.id])
        else:
            found = self.client.get_cloud_integrations(filter_integration_titles=[str(named.name)])
        ids = [str(i.id) for i in found]
        if not self._match("integration", "", named.label().strip("'"), ids, "cloud_integration"):
            self._problem(
                "integration",
                "",
                named,
                f"no cloud integration the key's user can use has this {'id' if named.id else 'title'}: create it "
                "in Encord (docs/setup.md, step 4) and add the key's user to it as Admin, then run setup again. "
                "Everything else is set up meanwhile; registration waits until it exists.",
            )

    # ------------------------------------------------------------------ folders and datasets
    def _folder(self, role: str, named: Named) -> None:
        from encord.exceptions import AuthorisationError, ResourceNotFoundError

        if named.id is not None:
            try:
                folder = self.client.get_storage_folder(named.id)
            except (ValueError, AuthorisationError, ResourceNotFoundError):
                detail = f"folders.{role}.id: no storage folder {named.id} the key can open"
                self._problem("folder", role, named, detail)
                return
            self.report.add(Step("folder", role, f"'{folder.name}'", Outcome.EXISTS, str(folder.uuid)))
            return
        name = str(named.name)
        listed = self.client.list_storage_folders(search=name)
        if self._match("folder", role, name, [str(f.uuid) for f in listed if f.name == name], f"folders.{role}"):
            return
        self._created(
            "folder",
            role,
            name,
            lambda: self.client.create_storage_folder(name, f"benchmark-qa: {role} uploads").uuid,
        )

    def _dataset(self, role: str, named: Named) -> None:
        from encord.exceptions import AuthorisationError, ResourceNotFoundError
        from encord.orm.dataset import StorageLocation

        if named.id is not None:
            try:
                dataset = self.client.get_dataset(named.id, include_data_rows=False)
            except (AuthorisationError, ResourceNotFoundError):
                self._problem("dataset", role, named, f"datasets.{role}.id: no dataset {named.id} the key can open")
                return
            self.report.add(Step("dataset", role, f"'{dataset.title}'", Outcome.EXISTS, dataset.dataset_hash))
            return
        name = str(named.name)
        found = [str(d["dataset"].dataset_hash) for d in self.client.get_datasets(title_eq=name)]
        if self._match("dataset", role, name, found, f"datasets.{role}"):
            return
        # No backing folder: items are uploaded into our own storage folder and linked (registration.py).
        self._created(
            "dataset",
            role,
            name,
            lambda: (
                self.client.create_dataset(
                    name, StorageLocation.AWS, f"benchmark-qa: {role} data units", create_backing_folder=False
                ).dataset_hash
            ),
        )

    # ------------------------------------------------------------------ ontology
    def _ontology(self) -> None:
        from encord.exceptions import AuthorisationError, ResourceNotFoundError

        named = self.config.ontology
        if named.id is not None:
            try:
                ontology = self.client.get_ontology(named.id)
            except (AuthorisationError, ResourceNotFoundError):
                self._problem("ontology", "", named, f"ontology.id: no ontology {named.id} the key can open")
                return
            self.report.add(Step("ontology", "", f"'{ontology.title}'", Outcome.EXISTS, ontology.ontology_hash))
            return
        name = str(named.name)
        found = [str(o["ontology"].ontology_hash) for o in self.client.get_ontologies(title_eq=name)]
        if self._match("ontology", "", name, found, "ontology"):
            return
        structure = self._structure()
        if structure is None:
            return
        self._created(
            "ontology",
            "",
            name,
            lambda: self.client.create_ontology(name, "benchmark-qa: shared by both projects", structure).ontology_hash,
        )

    def _structure(self) -> Any:
        """The ontology structure from the file, or None after recording why not."""
        from encord.objects import OntologyStructure

        path = self.config.ontology.structure_file
        if path is None:
            self._problem(
                "ontology",
                "",
                self.config.ontology,
                "not found in Encord and ontology.structure_file is not set: "
                "give the structure file to create it, or ontology.id of an existing ontology",
            )
            return None
        try:
            import yaml

            document = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML too
            return OntologyStructure.from_dict(document)
        except OSError as error:
            detail = f"ontology.structure_file {path}: cannot read it ({error.strerror})"
        except Exception as error:  # the SDK's parser raises several kinds for a bad structure
            detail = (
                f"ontology.structure_file {path}: not an Encord ontology structure ({type(error).__name__}: "
                f"{error}); export it from Encord or see docs/setup.md"
            )
        self._problem("ontology", "", self.config.ontology, detail)
        return None

    # ------------------------------------------------------------------ projects
    def _project(self, role: str, dataset_roles: list[str]) -> None:
        config = getattr(self.config.projects, role)
        if config.id is not None:
            project = self._open(role, config, config.id)
            if project is not None:
                self.report.add(Step("project", role, f"'{project.title}'", Outcome.EXISTS, project.project_hash))
                self._check_project(role, project, dataset_roles)
            return
        name = str(config.name)
        try:
            matches = list(self.client.list_projects(title_eq=name))
        except AssertionError as error:  # the SDK builds each listed project's workflow
            self._problem("project", role, config, self._unreadable(error))
            return
        if self._match("project", role, name, [m.project_hash for m in matches], f"projects.{role}"):
            if len(matches) == 1:
                self._check_project(role, matches[0], dataset_roles)
            return
        if config.workflow_template is None:
            self._problem(
                "project",
                role,
                config,
                f"not found, and projects.{role}.workflow_template is not set: make the "
                "workflow template in Encord (docs/setup.md, step 3) and put its UUID there",
            )
            return
        needed = [f"dataset.{r}" for r in dataset_roles] + ["ontology"]
        missing = [k for k in needed if k not in self.report.ids]
        if missing and not self.dry_run:
            self._problem("project", role, config, f"cannot create it without its {' and '.join(missing)}")
            return
        template = config.workflow_template
        created = self._created(
            "project",
            role,
            name,
            lambda: self.client.create_project(
                name,
                [self.report.ids[f"dataset.{r}"] for r in dataset_roles],
                config.description or f"benchmark-qa {role} project",
                ontology_hash=self.report.ids["ontology"],
                workflow_template_hash=template,
            ),
        )
        if created is not None and role == PRODUCTION:
            self._check_workflow(self._open(role, config, created))

    @staticmethod
    def _unreadable(error: AssertionError) -> str:
        return (
            f"its workflow has a stage this SDK cannot read ({error}), so the stack could not open it either: "
            "remove router stages from the workflow template and create the project again"
        )

    def _open(self, role: str, config: Named, project_hash: str) -> Project | None:
        from encord.exceptions import AuthorisationError, ResourceNotFoundError

        try:
            return self.client.get_project(project_hash)
        except (AuthorisationError, ResourceNotFoundError):
            self._problem(
                "project",
                role,
                config,
                f"project {project_hash} cannot be opened with this key: make the key's user an Admin of it",
            )
        except AssertionError as error:  # the SDK's Workflow() refuses stage types it does not know (routers)
            self._problem("project", role, config, self._unreadable(error))
        return None

    def _check_project(self, role: str, project: Project, dataset_roles: list[str]) -> None:
        """An existing project is checked, never changed: its datasets, its ontology, its workflow."""
        expected = {self.report.ids[f"dataset.{r}"] for r in dataset_roles if f"dataset.{r}" in self.report.ids}
        attached = {str(d.dataset_hash) for d in project.list_datasets()}
        config = getattr(self.config.projects, role)
        if expected - attached:
            self._problem(
                "project",
                role,
                config,
                f"project {project.project_hash} lacks the dataset(s) "
                f"{sorted(expected - attached)}: attach them in Encord (Settings > Datasets of the project)",
            )
        if role == BENCHMARK and attached - expected:
            self._problem(
                "project",
                role,
                config,
                f"the Benchmark Project must hold only the benchmark dataset; it also has "
                f"{sorted(attached - expected)}: detach them in Encord",
            )
        ontology = self.report.ids.get("ontology")
        if ontology and project.ontology_hash != ontology:
            self._problem(
                "project",
                role,
                config,
                f"project {project.project_hash} uses ontology {project.ontology_hash}, not "
                f"{ontology}: both projects must share the ontology ground truth is labelled with",
            )
        if role == PRODUCTION:
            self._check_workflow(project)

    def _check_workflow(self, project: Project | None) -> None:
        if project is None:
            return
        problems = workflow_problems(project.project_hash, project.workflow.stages, self.config.workflow)
        name = "stages and pathways"
        if not problems:
            self.report.add(Step("workflow", PRODUCTION, name, Outcome.OK, project.project_hash))
        for problem in problems:
            self.report.add(Step("workflow", PRODUCTION, name, Outcome.PROBLEM, detail=problem))
