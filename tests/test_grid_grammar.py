"""The CLI grid grammar: linspace, value lists, quoting, JSON lists, clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gmat_sweep_dask.design.grid_grammar import parse_axes, parse_axis
from gmat_sweep_dask.errors import SpecError


def test_linspace_is_inclusive_and_evenly_spaced() -> None:
    name, values = parse_axis("Sat.SMA=7000:8000:5")
    assert name == "Sat.SMA"
    assert values == [7000.0, 7250.0, 7500.0, 7750.0, 8000.0]


def test_value_lists_are_typed() -> None:
    assert parse_axis("V.Value=1,2.5,true,abc")[1] == [1, 2.5, True, "abc"]


def test_quoted_values_may_hold_colons_and_commas() -> None:
    token = "Sat.Epoch='01 Jan 2026 00:00:00.000', \"02 Jan 2026, 12:00:00.000\""
    assert parse_axis(token)[1] == ["01 Jan 2026 00:00:00.000", "02 Jan 2026, 12:00:00.000"]


def test_json_lists() -> None:
    assert parse_axis('Sat.Epoch=["01 Jan 2026 00:00:00.000", 3]')[1] == [
        "01 Jan 2026 00:00:00.000",
        3,
    ]


def test_axes_keep_order_and_refuse_duplicates() -> None:
    axes = parse_axes(["B.X=1,2", "A.Y=3"])
    assert list(axes) == ["B.X", "A.Y"]
    with pytest.raises(SpecError, match="given twice"):
        parse_axes(["A.Y=1", "A.Y=2"])


@pytest.mark.parametrize(
    ("token", "needle"),
    [
        ("Sat.SMA", "expected NAME=VALUES"),
        ("SMA=1,2", "not a dotted GMAT path"),
        ("Sat.SMA=", "no values"),
        ("Sat.SMA=1,,2", "empty value"),
        ("Sat.SMA=7000:8000:1", "COUNT must be >= 2"),
        ("Sat.SMA=7000:8000", "contains ':'"),
        ("Sat.SMA=nan", "not finite"),
        ("Sat.Epoch='01 Jan", "unterminated quote"),
        ("Sat.SMA=[1,", "not a valid JSON list"),
        ("Sat.SMA=[]", "non-empty JSON list"),
    ],
)
def test_errors_name_the_token(token: str, needle: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_axis(token)
    assert needle in str(info.value)
    assert repr(token) in str(info.value)


@given(st.text(max_size=40))
def test_any_text_parses_or_gives_a_spec_error(text: str) -> None:
    try:
        name, values = parse_axis(text)
    except SpecError as exc:
        assert "--grid" in str(exc)
    else:
        assert "." in name and values
