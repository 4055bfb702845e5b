"""The committed scoring fixtures are what tests/fixtures/scoring/generate.py writes: a change to the generator
without regenerating (or a hand edit of a fixture) would otherwise go unnoticed."""

from __future__ import annotations

from tests.fixtures.scoring import generate


def test_every_fixture_file_matches_the_generator() -> None:
    expected = generate.files()
    assert len(expected) == 1 + 2 * len(generate.PAIRS)
    for name, text in expected.items():
        assert (generate.HERE / name).read_text() == text, f"{name}: run python tests/fixtures/scoring/generate.py"
