"""Running doctor's checks in a test: by name, and the failures among them."""

from __future__ import annotations

from benchmark_qa_local.doctor import Check, Deployed, Doctor, Status
from benchmark_qa_local.encord_access import client_from_text


def doctor(deployed: Deployed) -> dict[str, Check]:
    checks = Doctor(deployed, client_factory=lambda key, domain: client_from_text(key, domain, source="test")).run()
    return {check.name: check for check in checks}


def failures(checks: dict[str, Check]) -> dict[str, str]:
    return {name: check.message for name, check in checks.items() if check.status is Status.FAIL}
