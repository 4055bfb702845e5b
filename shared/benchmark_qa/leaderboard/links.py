"""Links into Encord's label editor, in the form the editor itself shows and encord-agents parses:
`https://app.encord.com/label_editor/<project hash>/<data hash>/<frame>?objectHash=<objectHash>`
(encord-agents `encord_agents/core/constants.py` EDITOR_URL_PARTS_REGEX, `encord_agents/cli/test.py`
parse_editor_url; the objectHash query is the editor's "Copy URL" of one object, encord-agents docs
"editor_agents" tip). The app domain follows the API domain: api.encord.com -> app.encord.com,
api.us.encord.com -> app.us.encord.com; any other domain (the local Encord double) is used as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit


def app_url(encord_domain: str) -> str:
    parts = urlsplit(encord_domain)
    host = parts.hostname or ""
    if host.startswith("api.") and host.endswith("encord.com"):
        return f"https://app.{host.removeprefix('api.')}"
    return encord_domain.rstrip("/")


@dataclass(frozen=True)
class EditorLinks:
    app: str
    benchmark_project: str | None = None

    def editor(self, project_hash: str, data_hash: str, frame: int = 0, object_hash: str | None = None) -> str:
        url = f"{self.app}/label_editor/{quote(project_hash)}/{quote(data_hash)}/{frame}"
        return url + (f"?objectHash={quote(object_hash)}" if object_hash else "")

    def truth(self, data_hash: str, frame: int = 0, object_hash: str | None = None) -> str | None:
        """The same frame in the Benchmark Project, where the ground truth lives."""
        if not self.benchmark_project:
            return None
        return self.editor(self.benchmark_project, data_hash, frame, object_hash)
