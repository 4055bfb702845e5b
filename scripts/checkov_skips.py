"""Print the template-wide checkov skips as a comma list. Each one must carry its reason in the template's
Metadata.checkov.justification, so a skip cannot be added without saying why."""

from __future__ import annotations

import sys

from cfnlint.decode import decode


def main(path: str) -> int:
    template, _ = decode(path)
    justification = (template or {}).get("Metadata", {}).get("checkov", {}).get("justification", {})
    unjustified = [check for check, reason in justification.items() if not str(reason).strip()]
    if unjustified:
        print(f"checkov skips without a reason in {path}: {unjustified}", file=sys.stderr)
        return 1
    print(",".join(sorted(justification)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "template.yaml"))
