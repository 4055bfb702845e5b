"""Users and roles: which key may reach which project, dataset, storage folder and cloud integration.

Encord checks access per resource: `get_project` needs a project admin or team manager
(encord/user_client.py:233-240), storage items a user may not see answer 403 (the double's `get-bulk`), and the
v1 API answers AUTHORISATION_ERROR (encord/http/error_utils.py). Which role each call needs is not published, so
the double models membership only: a key listed in `state.memberships` reaches what its membership names and
nothing else; an unlisted key reaches everything. A cloud integration the state does not know is refused to
every key (Encord's upload jobs name an integration that must exist and be usable by the caller).
"""

from __future__ import annotations

from .messages import HttpRequest
from .state import DoubleState

Resource = tuple[str, str]  # (project | dataset | folder | item | integration, identifier)


def v1_resources(req: HttpRequest) -> list[Resource]:
    """The resource named by the ResourceType/ResourceID headers, and an upload's integration."""
    kind, resource = req.headers.get("resourcetype", ""), req.headers.get("resourceid", "")
    out: list[Resource] = [(kind, resource)] if kind in {"project", "dataset"} and resource else []
    try:
        payload = ((req.json() or {}).get("values") or {}).get("payload")
    except ValueError:
        return out
    if isinstance(payload, dict) and (payload.get("integrationId") or payload.get("integration_id")):
        out.append(("integration", str(payload.get("integrationId") or payload.get("integration_id"))))
    return out


def v2_resources(params: dict[str, str], req: HttpRequest) -> list[Resource]:
    out: list[Resource] = [(k, params[k]) for k in ("project", "folder", "item") if k in params]
    try:
        body = req.json()
    except ValueError:
        return out
    if isinstance(body, dict):
        if body.get("integrationHash") is not None:
            out.append(("integration", str(body["integrationHash"])))
        out += [("item", str(u)) for u in body.get("itemUuids") or [] if isinstance(body.get("itemUuids"), list)]
    return out


def refusal(state: DoubleState, key: str | None, resources: list[Resource]) -> str | None:
    """Why `key` may not make this request, or None."""
    for kind, identifier in resources:
        if kind == "integration" and identifier not in state.integrations:
            return f"Cloud integration {identifier} not found or not accessible"
    membership = state.memberships.get(key.lower()) if key else None
    if membership is None:
        return None
    allowed = {
        "project": membership.projects,
        "dataset": membership.datasets,
        "folder": membership.folders,
        "integration": membership.integrations,
    }
    for kind, identifier in (_through_folder(state, r) for r in resources):
        if kind and identifier not in allowed[kind]:
            return f"You are not authorised to access {kind} {identifier}"
    return None


def _through_folder(state: DoubleState, resource: Resource) -> Resource:
    """An item is reachable through its folder; an unknown item ("", "") is the route's to answer."""
    kind, identifier = resource
    if kind != "item":
        return resource
    item = state.storage_items.get(identifier)
    return ("folder", item.folder_uuid) if item else ("", "")
