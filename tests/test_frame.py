"""The frame's registry of link settings: every page's declared settings, read and written
for a real cube (the demo's) the way a link carries them."""

from __future__ import annotations

import pytest

from cubescope import state
from cubescope.demo import demo_cube
from cubescope_ui import frame, session


@pytest.fixture(scope="module")
def context() -> state.LinkContext:
    return session.link_context(demo_cube())


def test_every_page_declares_its_settings_once():
    declared = frame.link_settings()
    # One key from each page, the frame and the shared widgets: all found, none twice (joined raises).
    for key in ("stored", "band", "view", "sg_window", "pca_k", "bm_expr", "cr_feature", "sam_threshold",
                "um_source", "cz_std", "map_show"):
        assert key in declared
    assert frame.link_settings() is declared  # read once per process


def test_every_default_reads_back_from_a_link(context):
    declared = frame.link_settings()
    defaults = {key: setting.default(context) for key, setting in declared.items()}
    query = {key: setting.encode(defaults[key]) for key, setting in declared.items() if defaults[key] is not None}
    values, problems = state.read_settings(query, context, declared)
    assert problems == []
    for key, value in values.items():
        expected = defaults[key]
        assert (list(value) == list(expected)) if isinstance(value, tuple | list) else value == expected, key


def test_page_defaults_follow_the_cube(context):
    declared = frame.link_settings()
    assert declared["bm_expr"].default(context) == "NDVI"  # the demo has red and near-infrared bands
    assert declared["cr_feature"].default(context) == (2120.0, 2250.0)
    narrow = state.LinkContext(rows=5, cols=5, n_bands=5, usable_bands=5, wavelength_range=(400.0, 700.0))
    assert declared["bm_expr"].default(narrow) == "b0"
    assert declared["cr_feature"].default(narrow) == (500.0, 600.0)
    assert declared["sg_window"].default(narrow) == 5


@pytest.mark.parametrize("key, text, why", [
    ("cr_feature", "900-100", "not within"),
    ("sam_threshold", "4", "not an angle"),
    ("pca_loadings", "0,99", "outside 0 to 19"),
    ("bm_expr", " ", "empty"),
    ("sg_window", "8", "not an odd number"),
])
def test_a_page_s_own_parser_says_why(context, key, text, why):
    values, problems = state.read_settings({key: text}, context, frame.link_settings())
    assert key not in values and len(problems) == 1 and why in problems[0]
