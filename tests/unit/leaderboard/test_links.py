"""Links into Encord's label editor, in the form encord-agents parses from the editor's own URLs."""

from __future__ import annotations

import re

import pytest
from benchmark_qa.leaderboard.links import EditorLinks, app_url

# encord-agents `encord_agents/core/constants.py` EDITOR_URL_PARTS_REGEX (what its `parse_editor_url` accepts).
EDITOR_URL_PARTS_REGEX = (
    r"(?P<domain>https:\/\/app.(us\.)?encord.com)\/label_editor\/(?P<projectHash>.*?)\/"
    r"(?P<dataHash>[\w\d]{8}-[\w\d]{4}-[\w\d]{4}-[\w\d]{4}-[\w\d]{12})(\/(?P<frame>\d+))?\??"
)
PROJECT = "1704cae4-aced-4141-ba34-216698f16520"
DATA = "e262cefc-cb58-4722-82dd-01033dd1682a"


@pytest.mark.parametrize(
    ("domain", "app"),
    [
        ("https://api.encord.com", "https://app.encord.com"),
        ("https://api.us.encord.com", "https://app.us.encord.com"),
        ("https://api.encord.com/", "https://app.encord.com"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ],
)
def test_the_app_follows_the_api_domain(domain: str, app: str) -> None:
    assert app_url(domain) == app


def test_an_editor_link_is_what_encord_agents_reads_back() -> None:
    url = EditorLinks(app_url("https://api.us.encord.com")).editor(PROJECT, DATA, 7, "anCar001")

    found = re.match(EDITOR_URL_PARTS_REGEX, url)

    assert found is not None
    assert (found["projectHash"], found["dataHash"], found["frame"]) == (PROJECT, DATA, "7")
    assert url.endswith("?objectHash=anCar001")


def test_the_ground_truth_link_needs_the_benchmark_project() -> None:
    assert EditorLinks("https://app.encord.com").truth(DATA, 2) is None
    assert EditorLinks("https://app.encord.com", "bench").truth(DATA, 2) == (
        f"https://app.encord.com/label_editor/bench/{DATA}/2"
    )
