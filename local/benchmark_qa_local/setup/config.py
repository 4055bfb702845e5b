"""The setup file (YAML) that `benchmark-qa setup` reads: which Encord resources to find or create, the workflow
names the stack must use, and where the deployment parameters go. docs/setup.example.yaml is the documented
example; every key and its default is described there and in docs/setup.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

DEFAULT_PARAMETERS_FILE = "benchmark-qa-parameters.yaml"


class SetupConfigError(ValueError):
    """The setup file cannot be used; the message names the file, the key and what to write instead."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Named(_Model):
    """A resource found by its name, or pinned by its id (then the name is only what it is called)."""

    name: str | None = Field(None, min_length=1)
    id: str | None = Field(None, min_length=1, description="hash or uuid of an existing resource")

    @model_validator(mode="before")
    @classmethod
    def _plain_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_of(self) -> Named:
        if self.name is None and self.id is None:
            raise ValueError("give a name, or an id of an existing resource")
        return self

    def label(self) -> str:
        return f"'{self.name}'" if self.name else self.id or ""


class Pair(_Model):
    benchmark: Named
    production: Named


class OntologyConfig(Named):
    structure_file: Path | None = Field(
        None, description="ontology structure (editor JSON or YAML: {objects, classifications}); needed to create it"
    )


class ProjectConfig(Named):
    workflow_template: str | None = Field(
        None, min_length=1, description="UUID of the workflow template made in Encord's UI; needed to create it"
    )
    description: str = ""


class Projects(_Model):
    benchmark: ProjectConfig
    production: ProjectConfig


class WorkflowNames(_Model):
    """Stage and pathway names of the Production workflow (the template parameters of the same meaning)."""

    agent_stage: str = Field("Benchmark Task?", min_length=1)
    yes_pathway: str = Field("YES", min_length=1)
    no_pathway: str = Field("NO", min_length=1)
    review_stage: str = Field("Consensus 1", min_length=1)
    archive_stage: str = Field("Archive", min_length=1)
    after_scoring: Literal["archive", "reject", "none"] = "archive"


class EncordAccess(_Model):
    domain: str = Field("https://api.encord.com", pattern=r"^https?://")
    key_file: Path | None = Field(None, description="OpenSSH Ed25519 private key; --key-file overrides it")


class Deployment(_Model):
    parameters_file: Path = Path(DEFAULT_PARAMETERS_FILE)
    bucket: str = Field("", description="existing bucket to subscribe to (ExistingBucketName); empty: a new one")
    encord_aws_principal: str = Field("", description="Encord's AWS principal for the integration role")
    encord_external_id: str = Field("", description="the external ID Encord shows for the integration")

    @field_validator("bucket")
    @classmethod
    def _bucket_name(cls, value: str) -> str:
        if value.startswith("s3://") or "/" in value:
            raise ValueError("give the bucket's name only, e.g. my-data (no s3:// and no prefix)")
        return value

    @model_validator(mode="after")
    def _role_needs_external_id(self) -> Deployment:
        if self.encord_aws_principal and not self.encord_external_id:
            raise ValueError("encord_aws_principal needs encord_external_id (the external ID Encord shows)")
        return self


class SetupConfig(_Model):
    encord: EncordAccess = Field(default_factory=EncordAccess)
    cloud_integration: Named
    folders: Pair
    datasets: Pair
    ontology: OntologyConfig
    projects: Projects
    workflow: WorkflowNames = Field(default_factory=WorkflowNames)
    deployment: Deployment = Field(default_factory=Deployment)

    def resolved(self, base: Path) -> SetupConfig:
        """Relative file names are relative to the setup file's folder; ~ is expanded."""

        def place(path: Path | None) -> Path | None:
            if path is None:
                return None
            path = path.expanduser()
            return path if path.is_absolute() else base / path

        return self.model_copy(
            update={
                "encord": self.encord.model_copy(update={"key_file": place(self.encord.key_file)}),
                "ontology": self.ontology.model_copy(update={"structure_file": place(self.ontology.structure_file)}),
                "deployment": self.deployment.model_copy(
                    update={"parameters_file": place(self.deployment.parameters_file)}
                ),
            }
        )


def _where(error: ErrorDetails) -> str:
    return ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-")) or "(top level)"


def describe(error: ValidationError) -> str:
    """One line per problem: the dotted key and what is wrong with it."""
    return "\n".join(f"  {_where(e)}: {e['msg'].removeprefix('Value error, ')}" for e in error.errors())


def load_config(path: Path) -> SetupConfig:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SetupConfigError(f"{path}: cannot read it ({error.strerror})") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise SetupConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise SetupConfigError(f"{path}: expected a mapping of settings (see docs/setup.example.yaml)")
    try:
        config = SetupConfig.model_validate(document)
    except ValidationError as error:
        raise SetupConfigError(f"{path}: not a valid setup file:\n{describe(error)}") from None
    return config.resolved(path.resolve().parent)
