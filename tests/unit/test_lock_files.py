"""The lock files are what a fresh clone installs: they must satisfy pyproject.toml's ranges, carry a hash for
every pin, and give the Lambda layer exactly the versions the tests ran with."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DEV_LOCK = ROOT / "requirements" / "dev.lock"
LAYER_LOCK = ROOT / "shared" / "requirements.txt"
LAYER_IN = ROOT / "shared" / "requirements.in"
CHECKOV_LOCK = ROOT / "requirements" / "checkov.lock"

_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\],]+)==([^\s;\\]+)")


def _pins(lock: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        if match := _PIN.match(line):
            name = canonicalize_name(match.group(1).split("[")[0])
            assert name not in pins, f"{lock.name}: {name} is pinned twice (a fork by platform or Python version)"
            pins[name] = match.group(2)
    return pins


def _requirements(lines: list[str]) -> list[Requirement]:
    return [Requirement(line) for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _project() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": project["dependencies"], "dev": project["optional-dependencies"]["dev"]}


@pytest.mark.parametrize("group", ["runtime", "dev"])
def test_dev_lock_satisfies_every_pyproject_range(group: str) -> None:
    pins = _pins(DEV_LOCK)
    for requirement in _requirements(_project()[group]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is in pyproject.toml but not in requirements/dev.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements/dev.lock pins {name}=={pins[name]}, outside pyproject.toml's {requirement}: run `make lock`"
        )


def test_layer_lock_has_the_tested_versions() -> None:
    dev, layer = _pins(DEV_LOCK), _pins(LAYER_LOCK)
    for requirement in _requirements(LAYER_IN.read_text().splitlines()):
        assert canonicalize_name(requirement.name) in layer, f"{requirement} is not locked in shared/requirements.txt"
    different = {name: (version, dev.get(name)) for name, version in layer.items() if dev.get(name) != version}
    assert not different, f"the layer would ship versions the tests did not run (layer, dev): {different}"


def test_layer_requirements_are_the_runtime_dependencies_without_boto3() -> None:
    runtime = {str(r) for r in _requirements(_project()["runtime"]) if r.name != "boto3"}
    assert {str(r) for r in _requirements(LAYER_IN.read_text().splitlines())} == runtime


@pytest.mark.parametrize("lock", [DEV_LOCK, LAYER_LOCK, CHECKOV_LOCK], ids=lambda p: p.name)
def test_every_pin_carries_a_hash(lock: Path) -> None:
    blocks = re.split(r"\n(?=\S)", lock.read_text())
    unhashed = [block.split()[0] for block in blocks if _PIN.match(block) and "--hash=sha256:" not in block]
    assert not unhashed, f"{lock.name}: pins without a hash: {unhashed}"


def test_make_installs_only_from_the_locks() -> None:
    makefile = (ROOT / "Makefile").read_text()
    installs = [line.strip() for line in makefile.splitlines() if re.search(r"pip install", line)]
    for line in installs:
        assert (
            "--require-hashes" in line
            or "pip==" in line
            or "uv==" in line
            or "--no-deps -e ." in line.replace("--no-build-isolation ", "")
        ), f"Makefile installs something unlocked: {line}"
