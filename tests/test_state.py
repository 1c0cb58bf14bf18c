"""URL state: round trips and hostile query strings."""

import pytest

from cubescope import state


@pytest.mark.parametrize("pins", [[], [[0, 0]], [[10, 20], [150, 100], [199, 239]]])
def test_pins_round_trip(pins):
    assert state.decode_pins(state.encode_pins(pins), 200, 240) == (pins, [])


def test_region_round_trip():
    assert state.decode_region(state.encode_region([10, 30, 5, 40]), 200, 240) == ([10, 30, 5, 40], [])


@pytest.mark.parametrize(
    "text, expected, problem",
    [
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
    ],
)
def test_hostile_pins(text, expected, problem):
    pins, problems = state.decode_pins(text, 200, 240)
    assert pins == expected
    assert (problem is None and not problems) or any(problem in p for p in problems)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10-5-0-3", None),
        ("0-9999-0-9999", [0, 200, 0, 240]),
        ("a-b-c-d", None),
        ("300-400-0-5", None),
        ("1-2-3", None),
        ("0-1-0-1" * 200, None),
    ],
)
def test_hostile_regions(text, expected):
    assert state.decode_region(text, 200, 240)[0] == expected


@pytest.mark.parametrize(
    "cube_id, ok",
    [
        ("demo", True),
        ("0123456789abcdef0123456789abcdef", True),
        ("../../etc/passwd", False),
        ("0123456789ABCDEF0123456789ABCDEF", False),
        ("demo/../x", False),
        ("", False),
        (None, False),
        (5, False),
    ],
)
def test_cube_ids(cube_id, ok):
    assert state.valid_cube_id(cube_id) is ok


def test_share_link_keeps_repeated_keys_and_drops_old_query():
    params = {"cube": "demo", "pct": ["2.0", "98.0"], "px": "1-2,3-4"}
    link = state.share_link("http://host:8501/smoothing?old=1", params)
    assert link == "http://host:8501/smoothing?cube=demo&pct=2.0&pct=98.0&px=1-2%2C3-4"


# ----------------------------------------------------------------------------- page settings
CONTEXT = state.LinkContext(
    rows=200,
    cols=240,
    n_bands=224,
    usable_bands=220,
    default_band=54,
    rgb_bands=(30, 20, 10),
    uniform_spacing=True,
    band_label=lambda i: f"band {i}",
)

# Settings as a page declares them: the parsers here, a stretch with and without a prefix.
SETTINGS = state.joined(
    {
        "view": state.Setting("view", state.choice(("Band", "RGB")), lambda c: "Band"),
        "band": state.Setting("band", state.band, lambda c: c.default_band, show=state.band_shown),
        "window": state.Setting("window", state.integer(3, lambda c: c.n_bands, odd=True), lambda c: 11),
        "k": state.Setting("number of components", state.integer(1, lambda c: min(20, c.usable_bands)),
                           lambda c: 5),
        "exact": state.Setting("fit on true wavelengths", state.flag, lambda c: False, encode=state.flag_text),
        "pair": state.Setting("feature", state.number_pair, lambda c: (1.0, 2.0), encode=state.pair_text),
        "angle": state.Setting("largest angle", state.angle, lambda c: 0.1, encode=state.number_text),
    },
    state.stretch_settings(""),
    state.stretch_settings("pca_"),
)


@pytest.mark.parametrize(
    "key, text, named, instead",
    [
        ("band", "9999", "band '9999'", "band 54 is used instead"),
        ("cmap", "evil", "colormap 'evil'", "gray is used instead"),
        ("window", "4", "window '4'", "11 is used instead"),
        ("k", "500", "components '500'", "5 is used instead"),
        ("vmin", "nan", "low value 'nan'", "the image's own range is used instead"),
        ("pct", "98-2", "percentiles '98-2'", "2-98 is used instead"),
        ("view", "Both", "view 'Both'", "Band is used instead"),
        ("exact", "maybe", "fit on true wavelengths 'maybe'", "False is used instead"),
        ("pair", "1-2-3", "feature '1-2-3'", "(1.0, 2.0) is used instead"),
        ("band", "9" * 500, "band '99999", "too long"),
        ("angle", "3.5", "largest angle '3.5'", "not an angle between 0 and π"),
        ("angle", "0", "largest angle '0'", "0.1 is used instead"),
    ],
)
def test_unusable_link_values_are_named_with_what_is_used_instead(key, text, named, instead):
    values, problems = state.read_settings({key: text}, CONTEXT, SETTINGS)
    assert key not in values
    assert len(problems) == 1 and named in problems[0] and instead in problems[0]


def test_every_setting_round_trips_through_a_link():
    chosen = {
        "view": "RGB",
        "band": 100,
        "window": 21,
        "k": 12,
        "exact": True,
        "pair": (-1.5, -0.25),
        "angle": 0.05,
        "stretch": "range",
        "vmin": -0.25,
        "vmax": 1.5e-3,
        "cmap": "magma",
        "range_r_low": 0.0,
        "range_r_high": 0.3,
        "pca_pct": (1.0, 99.5),
        "pca_cmap": "turbo",
    }
    query = state.write_settings(chosen, CONTEXT, SETTINGS)
    assert state.read_settings(query, CONTEXT, SETTINGS) == (chosen, [])


def test_a_link_keeps_no_default_and_no_value_its_stretch_does_not_use():
    query = state.write_settings(
        {
            "band": 54,
            "cmap": "gray",
            "stretch": "percentile",
            "vmin": 0.5,
            "pct": (1.0, 99.0),
            "pca_stretch": "min-max",
            "pca_pct": (5.0, 95.0),
            "pca_vmax": 3.0,
        },
        CONTEXT,
        SETTINGS,
    )
    assert query == {"pct": "1-99", "pca_stretch": "min-max"}


@pytest.mark.parametrize("prefix", state.stretch_prefixes(SETTINGS))
def test_every_image_s_link_drops_the_values_its_stretch_does_not_use(prefix):
    # Band math, Continuum, Library and Unmixing carried stale low/high values in their links.
    settings = {f"{prefix}stretch": "percentile", f"{prefix}vmin": 0.5, f"{prefix}vmax": 2.0,
                f"{prefix}range_r_low": 0.1}
    assert state.write_settings(settings, CONTEXT, SETTINGS) == {}
    settings[f"{prefix}stretch"] = "range"
    assert set(state.write_settings(settings, CONTEXT, SETTINGS)) == {
        f"{prefix}stretch", f"{prefix}vmin", f"{prefix}vmax", f"{prefix}range_r_low"}


def test_a_key_declared_twice_is_refused():
    with pytest.raises(ValueError, match="declared twice: band"):
        state.joined(SETTINGS, {"band": SETTINGS["band"]})


def test_cube_ids_are_read_in_any_letter_case():
    assert state.normal_cube_id(" 0123456789ABCDEF0123456789abcdef ") == "0123456789abcdef0123456789abcdef"
    assert state.valid_cube_id(state.normal_cube_id("DEMO"))
    assert state.normal_cube_id(None) == ""


@pytest.mark.parametrize(
    "text, window, problem",
    [
        ("10-50-20-60", [10, 50, 20, 60], False),
        ("0-200-0-240", None, False),  # the whole image: no window
        ("150-400-0-100", [0, 200, 0, 100], False),  # taller than the image: its whole height
        ("190-230-0-100", [160, 200, 0, 100], False),  # moved inside the image
        ("50-10-0-5", None, True),
        ("x", None, True),
        ("", None, False),
    ],
)
def test_zoom_windows_from_links(text, window, problem):
    shown, problems = state.decode_window(text, 200, 240)
    assert (None if shown is None else shown.as_list()) == window
    assert bool(problems) == problem
