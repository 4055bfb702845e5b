"""The Lambda layers (shared/layers.py, built by shared/Makefile): every locked runtime package is shipped by exactly
one layer or is the python3.12 runtime's, and each layer's installs come from the lock, pins and hashes."""

from __future__ import annotations

from benchmark_qa_local.lambda_modules import layer_definitions
from benchmark_qa_local.template import SamTemplate

from tests.unit.test_lock_files import LAYER_LOCK, ROOT, _pins


def test_every_locked_package_is_in_exactly_one_layer() -> None:
    layers = layer_definitions()
    pinned = set(_pins(LAYER_LOCK))
    placed = [name for members in layers.LAYERS.values() for name in members]
    assert len(placed) == len(set(placed)), "a package is in two layers"
    assert set(placed) | layers.RUNTIME == pinned, (
        f"not placed: {sorted(pinned - set(placed) - layers.RUNTIME)}; not locked: {sorted(set(placed) - pinned)}"
    )


def test_a_layer_installs_its_pins_with_their_hashes() -> None:
    layers = layer_definitions()
    text = layers.requirements("ScoringLayer")
    pins = {line.split("==")[0] for line in text.splitlines() if "==" in line}
    assert pins == {"msgspec", "numpy", "pyyaml"}
    assert text.count("--hash=sha256:") >= 3
    assert all(line.startswith(("msgspec==", "numpy==", "pyyaml==", "    --hash")) for line in text.splitlines())


def test_every_layer_is_built_by_the_makefile_and_used() -> None:
    template = SamTemplate.load(ROOT / "template.yaml")
    makefile = (ROOT / "shared" / "Makefile").read_text()
    used = {str(layer["Ref"]) for spec in template.functions() for layer in spec.layers if isinstance(layer, dict)}
    for name in layer_definitions().LAYERS:
        assert template.resource_type(name) == "AWS::Serverless::LayerVersion"
        assert template.resources[name]["Metadata"]["BuildMethod"] == "makefile"
        assert f"build-{name}:" in makefile
        assert name in used
