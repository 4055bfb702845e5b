"""Render the SAM template to plain CloudFormation offline, so cfn-lint can see what SAM generates
(circular dependencies between a bucket, its notifications and the functions' roles only show there).

usage: python scripts/render_template.py template.yaml build/template.cfn.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cfnlint.decode import decode
from samtranslator.translator.transform import transform


class _OfflinePolicyLoader:
    """The translator asks IAM for AWS managed policy ARNs only when a policy is named, not given."""

    def load(self) -> dict[str, str]:
        return {}


def render(source: Path) -> dict[str, Any]:
    template, matches = decode(str(source))
    if matches or template is None:
        raise SystemExit(f"{source}: cannot parse: {matches}")
    # The translator wants artifacts in S3, as after `sam package`; local paths are replaced by placeholders.
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        for uri in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(uri), str) and not properties[uri].startswith("s3://"):
                properties[uri] = f"s3://rendered-offline/{properties[uri].strip('/')}.zip"
    rendered: dict[str, Any] = transform(template, {}, _OfflinePolicyLoader())
    return rendered


def main(argv: list[str]) -> int:
    source, target = Path(argv[1]), Path(argv[2])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(render(source), indent=1, default=str))
    print(f"rendered {source} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
