"""URL state: round trips and hostile query strings."""

import pytest

from cubescope import state


@pytest.mark.parametrize("pins", [[], [[0, 0]], [[10, 20], [150, 100], [199, 239]]])
def test_pins_round_trip(pins):
    assert state.decode_pins(state.encode_pins(pins), 200, 240) == (pins, [])


def test_region_round_trip():
    assert state.decode_region(state.encode_region([10, 30, 5, 40]), 200, 240) == ([10, 30, 5, 40], [])


@pytest.mark.parametrize("text, expected, problem", [
    ("<script>alert(1)</script>", [], "not a pixel"),
    ("1-2,1-2,3-4", [[1, 2], [3, 4]], None),
    ("500-1", [], "outside"),
    ("-1-5", [], "not a pixel"),
    ("1.5-2", [], "not a pixel"),
    ("9" * 5000, [], "too long"),
    (",".join(f"{i}-{i}" for i in range(30)), [[i, i] for i in range(8)], "first 8"),
    ("", [], None),
    (None, [], None),
    (["1-2"], [], None),
])
def test_hostile_pins(text, expected, problem):
    pins, problems = state.decode_pins(text, 200, 240)
    assert pins == expected
    assert (problem is None and not problems) or any(problem in p for p in problems)


@pytest.mark.parametrize("text, expected", [
    ("10-5-0-3", None), ("0-9999-0-9999", [0, 200, 0, 240]), ("a-b-c-d", None), ("300-400-0-5", None),
    ("1-2-3", None), ("0-1-0-1" * 200, None),
])
def test_hostile_regions(text, expected):
    assert state.decode_region(text, 200, 240)[0] == expected


@pytest.mark.parametrize("cube_id, ok", [
    ("demo", True), ("0123456789abcdef0123456789abcdef", True), ("../../etc/passwd", False),
    ("0123456789ABCDEF0123456789ABCDEF", False), ("demo/../x", False), ("", False), (None, False), (5, False),
])
def test_cube_ids(cube_id, ok):
    assert state.valid_cube_id(cube_id) is ok


def test_share_link_keeps_repeated_keys_and_drops_old_query():
    params = {"cube": "demo", "pct": ["2.0", "98.0"], "px": "1-2,3-4"}
    link = state.share_link("http://host:8501/smoothing?old=1", params)
    assert link == "http://host:8501/smoothing?cube=demo&pct=2.0&pct=98.0&px=1-2%2C3-4"
