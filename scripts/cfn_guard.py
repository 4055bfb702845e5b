"""Run cfn-guard with AWS Control Tower's proactive rules on the rendered template; honour per-resource
justifications (issue 11).

cfn-guard 3.1 has no suppression of its own, so a resource says which controls it does not follow and why:

    Metadata:
      guard:
        SuppressedRules: [CT.S3.PR.2]
        Justifications: { CT.S3.PR.2: "why" }

A resource SAM generates from a function (its Url, its Url's permissions) carries the function's guard Metadata,
as SAM gives generated resources none. Exit 1 on a failure no resource justifies, a suppression without a
justification, or a suppression that no longer suppresses anything.

usage: python scripts/cfn_guard.py <cfn-guard binary> <rules folder> build/template.cfn.json
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

CONTROL = re.compile(r"\[(CT\.[A-Z0-9]+\.PR\.\d+)\]")
RESOURCE_PATH = re.compile(r"/Resources/([A-Za-z0-9]+)")


def guard_results(binary: str, rules: str, data: str) -> dict[str, Any]:
    command = [binary, "validate", "--rules", rules, "--data", data, "--output-format", "json", "--structured"]
    # the binary and rules come from the Makefile (the locked npm package), never from input
    completed = subprocess.run(  # noqa: S603
        [*command, "--show-summary", "none"], capture_output=True, text=True, check=False
    )
    if completed.returncode not in (0, 19):  # 19: some rule failed
        raise SystemExit(f"cfn-guard failed ({completed.returncode}): {completed.stderr.strip()}")
    (report,) = json.loads(completed.stdout)
    result: dict[str, Any] = report
    return result


def failures(report: Mapping[str, Any]) -> dict[str, set[str]]:
    """Control id -> the resources that fail it."""
    failing: dict[str, set[str]] = {}
    for entry in report["not_compliant"]:
        text = json.dumps(entry)
        controls = set(CONTROL.findall(text))
        name = entry["Rule"]["name"]
        assert len(controls) == 1, f"{name}: expected one Control Tower id in its messages, found {controls}"
        failing.setdefault(controls.pop(), set()).update(RESOURCE_PATH.findall(text))
    return failing


# What SAM generates from a function's FunctionUrlConfig; they carry the function's justifications.
GENERATED_FROM_FUNCTION = {"AWS::Lambda::Url", "AWS::Lambda::Permission"}


def suppressions(template: Mapping[str, Any], guard_of: dict[str, str]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Resource -> {control: justification}, and the problems found (suppressions without a reason); guard_of gets
    each such resource's guard Metadata (its own or its function's), as JSON."""
    resources: Mapping[str, Any] = template["Resources"]
    functions = [r for r, v in resources.items() if v["Type"] == "AWS::Lambda::Function"]
    found: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for logical_id, resource in resources.items():
        guard = resource.get("Metadata", {}).get("guard")
        if guard is None and resource["Type"] in GENERATED_FROM_FUNCTION:
            owner = next((f for f in functions if logical_id != f and logical_id.startswith(f)), None)
            guard = resources[owner].get("Metadata", {}).get("guard") if owner else None
        if not guard:
            continue
        guard_of[logical_id] = json.dumps(guard, sort_keys=True)
        reasons: Mapping[str, str] = guard.get("Justifications", {})
        for control in guard.get("SuppressedRules", []):
            reason = str(reasons.get(control, "")).strip()
            if not reason:
                problems.append(f"{logical_id}: {control} is suppressed without a justification")
            found.setdefault(logical_id, {})[control] = reason
    return found, problems


def _rule_names(entries: list[Any]) -> Iterator[str]:
    for entry in entries:
        yield entry if isinstance(entry, str) else entry["Rule"]["name"] if "Rule" in entry else json.dumps(entry)


def main(argv: list[str]) -> int:
    binary, rules, data = argv[1:4]
    template = json.loads(Path(data).read_text())
    report = guard_results(binary, rules, data)
    failing = failures(report)
    guard_of: dict[str, str] = {}
    suppressed, problems = suppressions(template, guard_of)
    failed: dict[str, set[str]] = {}
    justified: dict[str, set[str]] = {}
    for control, resources in sorted(failing.items()):
        open_ = {r for r in resources if control not in suppressed.get(r, {})}
        (failed if open_ else justified)[control] = open_ or resources
    # A function's guard Metadata reaches what SAM generates from it (SAM copies it to EventInvokeConfig; this
    # script to the Url): a suppression is stale when no resource carrying the same guard Metadata fails its control.
    carriers: dict[tuple[str, str], set[str]] = {}
    for resource, controls in suppressed.items():
        for control in controls:
            carriers.setdefault((guard_of[resource], control), set()).add(resource)
    for (_, control), resources in sorted(carriers.items(), key=lambda c: (sorted(c[1]), c[0][1])):
        if not resources & failing.get(control, set()):
            for resource in sorted(resources):
                problems.append(f"{resource}: {control} is suppressed but the resource does not fail it; remove it")
    # Each rule file holds a template rule and a hook rule of one name; the hook rule is never applicable here.
    failing_names = set(_rule_names(report["not_compliant"]))
    passing_names = set(_rule_names(report["compliant"])) - failing_names
    passed = len(passing_names)
    not_applicable = len(set(_rule_names(report["not_applicable"])) - passing_names - failing_names)
    print(
        f"cfn-guard (Control Tower rules, {Path(data).name}): {passed} passed, {not_applicable} not applicable, "
        f"{len(justified)} justified per resource, {len(failed)} failed"
    )
    for control, resources in justified.items():
        for resource in sorted(resources):
            print(f"  justified {control} on {resource}: {suppressed[resource][control]}")
    for control, resources in failed.items():
        print(f"  FAILED {control}: {', '.join(sorted(resources))}", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    return 1 if failed or problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
