"""Which locked package each Lambda layer ships (`sam build` runs `make build-<Layer>` from shared/Makefile).

Every function has CoreLayer; the ones that read uploads' content add IngestLayer (pydicom, filetype), the
Encord-facing ones EncordLayer (the SDK and its HTTP and crypto stack) and the scoring ones ScoringLayer (numpy
and the typed JSON decoder), so no function carries what it never imports (numpy alone is 55 MB unzipped).
botocore is the runtime's: Lambda's python3.12 image has boto3 and botocore, and a copy in a layer would only
shadow the runtime's with another version under the runtime's boto3.

    python layers.py LAYER    the lines of requirements.txt for that layer (pins and hashes), for pip --no-deps
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

LAYERS: dict[str, frozenset[str]] = {
    "CoreLayer": frozenset({
        "aws-lambda-powertools", "jmespath", "aws-xray-sdk", "wrapt", "pydantic", "pydantic-core", "annotated-types",
        "typing-extensions", "typing-inspection", "pydantic-settings", "python-dotenv", "orjson",
    }),
    # ingest's content checks (DICOM headers, file types by their first bytes): only the functions that read
    # uploads' content carry them (14.2 MB built, `bench handlers`: in CoreLayer they took the scoring functions
    # to 112.6 MB, past the 100 MB target)
    "IngestLayer": frozenset({"pydicom", "filetype"}),
    "EncordLayer": frozenset({
        "encord", "cryptography", "cffi", "pycparser", "requests", "urllib3", "idna", "certifi", "charset-normalizer",
        "python-dateutil", "six", "tqdm", "colorama",
    }),
    "ScoringLayer": frozenset({"numpy", "msgspec", "pyyaml"}),
}  # fmt: skip
RUNTIME = frozenset({"botocore"})  # in Lambda's python3.12 runtime, not shipped
LOCK = Path(__file__).resolve().parent / "requirements.txt"
_PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def blocks(lock: str) -> dict[str, str]:
    """Each pinned package's block of lines (the pin and its hashes), by canonical name."""
    out: dict[str, str] = {}
    name = ""
    for line in lock.splitlines():
        if match := _PIN.match(line):
            name = canonical(match.group(1))
            out[name] = line
        elif line.startswith(" ") and name and line.strip().startswith("--hash"):
            out[name] += "\n" + line
        else:
            name = ""
    return out


def requirements(layer: str) -> str:
    pinned = blocks(LOCK.read_text())
    return "\n".join(block for name, block in pinned.items() if name in LAYERS[layer]) + "\n"


if __name__ == "__main__":
    sys.stdout.write(requirements(sys.argv[1]))
