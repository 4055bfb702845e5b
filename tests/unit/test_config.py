"""ScoringSettings reads SCORING_CONFIG once, at cold start: a bad config fails there, naming the variable."""

from __future__ import annotations

import pytest
from benchmark_qa.config import ScoringSettings
from pydantic import ValidationError


@pytest.fixture(autouse=True)
def scoring_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "STATE_TABLE": "state",
        "ENCORD_KEY_SECRET": "key",
        "PRODUCTION_PROJECT_HASH": "production",
        "BENCHMARK_PROJECT_HASH": "benchmark",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SCORING_CONFIG", raising=False)


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_no_or_a_blank_config_means_the_engine_defaults(monkeypatch: pytest.MonkeyPatch, text: str | None) -> None:
    if text is not None:
        monkeypatch.setenv("SCORING_CONFIG", text)

    assert ScoringSettings().engine_config() is None


@pytest.mark.parametrize("text", ['{"mode": "class_aware"}', "mode: class_aware"])
def test_a_config_is_parsed_once_as_json_or_yaml_text(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setenv("SCORING_CONFIG", text)

    settings = ScoringSettings()

    config = settings.engine_config()
    assert config is not None
    assert config.mode == "class_aware"
    assert settings.engine_config() is config


def test_a_bad_config_fails_at_load_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCORING_CONFIG", '{"mode": "nope"}')

    with pytest.raises(ValidationError, match="SCORING_CONFIG: invalid scoring config"):
        ScoringSettings()


def test_ingest_layout_takes_content_checks_and_batch_sizes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from benchmark_qa.config import LayoutSettings

    monkeypatch.setenv("CHECK_CONTENT", "false")
    monkeypatch.setenv("MANIFEST_BATCH_SIZE", "250")
    monkeypatch.setenv("MANIFEST_VIDEO_BATCH_SIZE", "20")
    layout = LayoutSettings()
    assert (layout.check_content, layout.manifest_batch_size, layout.manifest_video_batch_size) == (False, 250, 20)
    monkeypatch.setenv("MANIFEST_BATCH_SIZE", "600000")
    with pytest.raises(ValueError, match="manifest_batch_size"):
        LayoutSettings()
