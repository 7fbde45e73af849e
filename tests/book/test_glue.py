"""advgeom.book.glue: numbers glued as plain Python numbers, estimates as value and half-width."""

from __future__ import annotations

import math

import myst_nb
import numpy as np
import pytest

from advgeom.analysis.uncertainty import t_interval
from advgeom.book.glue import glue_estimate, glue_number


@pytest.fixture
def glued(monkeypatch) -> dict:
    calls: dict = {}

    def fake_glue(name, value, display=True):
        assert display is False  # glued numbers are shown by the prose, never where they are computed
        calls[name] = value

    monkeypatch.setattr(myst_nb, "glue", fake_glue)
    return calls


@pytest.mark.parametrize(
    "value, expected, kind",
    [
        (3, 3, int),
        (np.int64(7), 7, int),
        (np.float32(0.5), 0.5, float),
        (np.float64(0.25), 0.25, float),
        (2.0, 2.0, float),
    ],
)
def test_numbers_are_glued_as_plain_python_numbers(glued, value, expected, kind) -> None:
    glue_number("x", value)
    assert glued["x"] == expected and type(glued["x"]) is kind


def test_an_estimate_glues_its_value_and_half_width(glued) -> None:
    est = t_interval(np.array([0.1, 0.2, 0.3, 0.4]))
    glue_estimate("acc", est)
    assert glued["acc"] == pytest.approx(0.25) and glued["acc_half"] == pytest.approx(est.hi - est.value)
    assert glued["acc_half"] > 0 and set(glued) == {"acc", "acc_half"}


def test_an_estimate_from_one_value_has_an_undefined_half_width(glued) -> None:
    glue_estimate("one", t_interval(np.array([0.5])))
    assert glued["one"] == 0.5 and math.isnan(glued["one_half"])


def test_a_non_number_is_refused(glued) -> None:
    with pytest.raises((TypeError, ValueError)):
        glue_number("x", "not a number")
