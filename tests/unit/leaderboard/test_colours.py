"""The page's colours stay apart for readers with the common colour-vision deficiencies: each pair that carries a
meaning is compared after simulating protanopia, deuteranopia and tritanopia (Machado, Oliveira & Fernandes 2009,
severity 1.0, applied to linear RGB), and the heat scale stays ordered in lightness, so it reads in greyscale too."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from benchmark_qa.leaderboard import html

MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
# Pairs a reader must tell apart: ranked vs unranked bars, an annotator's line vs the team's, right vs confused
# cells, and the bar blue vs the line vermillion.
PAIRS = [
    (html.BAR, html.BAR_UNRANKED),
    (html.LINE, html.TEAM),
    (html.RIGHT, html.CONFUSED),
    (html.BAR, html.LINE),
]
MIN_DELTA_E = 15.0  # CIE76; about 2.3 is "just noticeable"


def _linear(hex_colour: str) -> np.ndarray:
    srgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255.0
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _seen(hex_colour: str, vision: str | None) -> np.ndarray:
    linear = _linear(hex_colour)
    if vision is not None:
        linear = np.clip(np.array(MACHADO[vision]) @ linear, 0.0, 1.0)
    return _lab(linear)


@pytest.mark.parametrize("vision", [None, *MACHADO])
@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_meaningful_colour_pairs_stay_apart(first: str, second: str, vision: str | None) -> None:
    delta = float(np.linalg.norm(_seen(first, vision) - _seen(second, vision)))
    assert delta >= MIN_DELTA_E, f"{first} and {second} look alike with {vision or 'normal vision'}: dE {delta:.1f}"


def test_the_simulation_would_catch_a_red_green_pair() -> None:
    # The classic mistake: a red and a green of similar lightness become one colour for a deuteranope.
    delta = float(np.linalg.norm(_seen("#D62728", "deuteranopia") - _seen("#7F9F00", "deuteranopia")))
    assert delta < MIN_DELTA_E


@pytest.mark.parametrize("vision", [None, *MACHADO])
def test_the_heat_scale_is_ordered_in_lightness(vision: str | None) -> None:
    steps = [html._heat(v / 20)[0] for v in range(21)]
    lightness = [_seen(c, vision)[0] for c in steps]
    assert all(b > a for a, b in itertools.pairwise(lightness)), lightness


def test_heat_cells_print_their_number_in_a_readable_ink() -> None:
    for value in (0.0, 0.3, 0.6, 1.0):
        fill, ink = html._heat(value)
        contrast = abs(_seen(fill, None)[0] - _seen(ink, None)[0])
        assert contrast > 40, (value, fill, ink)
