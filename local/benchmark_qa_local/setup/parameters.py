"""The deployment parameters file `benchmark-qa setup` writes: a YAML mapping of template parameters that
`sam deploy --parameter-overrides file://<file>` reads (SAM CLI's CfnParameterOverridesType, samcli/cli/types.py),
so no hash is copied by hand. `make deploy` passes it. Parameters setup does not own (AlarmEmail, schedules,
prefixes, ...) may be added to the file by hand: setup keeps them as they are."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

HEADER = """\
# Template parameters written by `benchmark-qa setup` (docs/setup.md). Deploy with
#   make deploy            (or: sam deploy --guided --parameter-overrides file://{name})
# Setup rewrites the keys it owns on every run; add any other template parameter (AlarmEmail, ...) here and it
# is kept.
"""

# The keys setup owns, in the order they are written.
OWNED = (
    "EncordDomain",
    "EncordIntegrationId",
    "BenchmarkFolderUuid",
    "ProductionFolderUuid",
    "BenchmarkDatasetHash",
    "ProductionDatasetHash",
    "BenchmarkProjectHash",
    "ProductionProjectHash",
    "AgentStage",
    "YesPathway",
    "NoPathway",
    "ReviewStage",
    "ArchiveStage",
    "AfterScoring",
    "ExistingBucketName",
    "EncordIntegrationPrincipal",
    "EncordIntegrationExternalId",
)


class ParametersFileError(ValueError):
    """The parameters file exists but is not a mapping of parameter names to values."""


def read_parameters(path: Path) -> dict[str, str]:
    """The file's parameters ({} when there is no file yet)."""
    import yaml

    if not path.exists():
        return {}
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ParametersFileError(f"{path}: cannot read it as YAML: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, dict) or not all(isinstance(k, str) for k in document):
        raise ParametersFileError(f"{path}: expected a mapping of template parameter names to values")
    return {k: "" if v is None else str(v) for k, v in document.items()}


def render(parameters: Mapping[str, str], path: Path) -> str:
    import yaml

    owned = {k: parameters[k] for k in OWNED if k in parameters}
    others = {k: parameters[k] for k in sorted(parameters) if k not in owned}
    # safe_dump quotes what YAML would read as something else ('YES', 'NO', '', numbers), so SAM gets strings.
    body = yaml.safe_dump({**owned, **others}, sort_keys=False, allow_unicode=True, width=1000)
    return HEADER.format(name=path.name) + body


def merge(current: Mapping[str, str], updates: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """`current` with `updates` applied, and the names whose value changes."""
    changed = [k for k, v in updates.items() if current.get(k) != v]
    return {**current, **updates}, changed


def write_parameters(path: Path, parameters: Mapping[str, str]) -> bool:
    """Write the file if its text would change; True when it was written."""
    text = render(parameters, path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return True
