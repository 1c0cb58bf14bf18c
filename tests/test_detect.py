"""Target and anomaly detection against Spectral Python: RX, matched filter, ACE (global and
windowed), and CEM against its formula."""

from __future__ import annotations

import json

import numpy as np
import pytest
import spectral

from cubescope import Cube, CubeError, detect
from cubescope.demo import demo_cube
from cubescope.library import library_from_files
from tests.apptest import open_page, share_query, spectra_spec, viewer_overlays, viewer_payload

RNG = np.random.default_rng(28)


def correlated(rows=30, cols=36, bands=8, offset=5.0):
    return (RNG.normal(size=(rows, cols, bands)) @ RNG.normal(size=(bands, bands)) + offset).astype(np.float64)


@pytest.fixture(scope="module")
def scene():
    values = correlated()
    return Cube.from_array(values), values, values[10, 12] + 0.5


def test_global_detectors_equal_spectral_python(scene):
    cube, values, target = scene
    stats = spectral.calc_stats(values)
    np.testing.assert_allclose(detect.rx(cube), spectral.rx(values, background=stats), rtol=1e-10)
    np.testing.assert_allclose(detect.matched_filter(cube, target), spectral.matched_filter(values, target, stats),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(detect.ace(cube, target), spectral.ace(values, target, background=stats),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("window", [(1, 5), (3, 11), (5, 9)])
def test_windowed_detectors_equal_spectral_python_with_the_cube_s_covariance(scene, window):
    cube, values, target = scene
    cov = spectral.calc_stats(values).cov
    # Spectral Python returns float32 for windowed scores.
    np.testing.assert_allclose(detect.rx(cube, window), spectral.rx(values, window=window, cov=cov), rtol=1e-6)
    np.testing.assert_allclose(detect.matched_filter(cube, target, window),
                               spectral.matched_filter(values, target, window=window, cov=cov), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(detect.ace(cube, target, window), spectral.ace(values, target, window=window, cov=cov),
                               rtol=1e-5, atol=1e-6)


def test_windowed_scores_do_not_depend_on_the_chunks(scene, monkeypatch):
    cube, _, target = scene
    whole = detect.ace(cube, target, (3, 7))
    monkeypatch.setattr(detect, "_WINDOW_CHUNK_BYTES", 1)  # one row per chunk
    # Summed-area tables over other rows round differently: equal to ~1e-12 of the scores.
    np.testing.assert_allclose(detect.ace(cube, target, (3, 7)), whole, rtol=1e-9, atol=1e-12)


def test_cem_is_its_formula_and_passes_the_target_with_gain_one(scene):
    cube, values, target = scene
    pixels = values.reshape(-1, values.shape[2])
    correlation = pixels.T @ pixels / len(pixels)
    weights = np.linalg.solve(correlation, target)
    weights /= target @ weights
    np.testing.assert_allclose(detect.cem(cube, target), values @ weights, rtol=1e-10)
    on_target = Cube.from_array(np.concatenate([values, target[None, None].repeat(36, axis=1)]))
    assert detect.cem(on_target, target)[-1, 0] == pytest.approx(1.0)


def test_float32_cube_scores_in_float32_close_to_float64():
    cube = demo_cube()
    target = cube.spectrum(100, 120)
    scores = detect.matched_filter(cube, target)
    assert scores.dtype == np.float32 and scores[100, 120] == pytest.approx(1.0, abs=1e-4)
    good = cube.good_bands
    values = np.moveaxis(np.asarray(cube.bsq, np.float64), 0, 2)[:, :, good]
    reference = spectral.rx(values)
    np.testing.assert_allclose(detect.rx(cube), reference, rtol=2e-3, atol=1e-3 * np.median(reference))


def test_pixels_without_data_score_nothing_and_stay_out_of_the_background(scene):
    values = scene[1]
    holed = values.copy()
    holed[3, 4, 2] = np.nan
    scores = detect.rx(Cube.from_array(holed))
    assert np.isnan(scores[3, 4]) and np.isfinite(np.delete(scores.ravel(), 3 * 36 + 4)).all()
    others = np.delete(values.reshape(-1, 8), 3 * 36 + 4, axis=0)
    stats = spectral.GaussianStats(others.mean(axis=0), np.cov(others, rowvar=False))
    np.testing.assert_allclose(np.delete(scores.ravel(), 3 * 36 + 4),
                               np.delete(spectral.rx(values, background=stats).ravel(), 3 * 36 + 4), rtol=1e-10)
    windowed = detect.rx(Cube.from_array(holed), (1, 5))
    assert np.isnan(windowed[3, 4]) and np.isfinite(windowed[0, 0])


def test_bad_bands_are_left_out(scene):
    cube, values, target = scene
    noisy = np.concatenate([values, RNG.normal(scale=1e6, size=(*values.shape[:2], 1))], axis=2)
    bad = np.array([False] * 8 + [True])
    with_bad = Cube.from_array(noisy, bad_bands=bad)
    np.testing.assert_allclose(detect.rx(with_bad), detect.rx(cube), rtol=1e-10)
    np.testing.assert_allclose(detect.ace(with_bad, np.append(target, 0.0)), detect.ace(cube, target), rtol=1e-10)


def test_a_target_missing_bands_is_matched_on_the_others(scene):
    cube, values, target = scene
    partial = target.copy()
    partial[5] = np.nan
    expected = detect.matched_filter(Cube.from_array(np.delete(values, 5, axis=2)), np.delete(target, 5))
    np.testing.assert_allclose(detect.matched_filter(cube, partial), expected, rtol=1e-10)


@pytest.mark.parametrize("call, message", [
    (lambda c, t: detect.rx(Cube.from_array(np.ones((4, 4, 1)))), "at least two usable bands"),
    (lambda c, t: detect.rx(Cube.from_array(np.ones((4, 4, 3)))), "same spectrum"),
    (lambda c, t: detect.rx(c, (2, 5)), "two odd widths"),
    (lambda c, t: detect.rx(c, (5, 5)), "inner < outer"),
    (lambda c, t: detect.rx(c, (3, 99)), "larger than this 30 x 36 image"),
    (lambda c, t: detect.rx(c, "big"), "two odd widths"),
    (lambda c, t: detect.ace(c, t[:5]), "5 values"),
    (lambda c, t: detect.ace(c, np.full(8, np.nan)), "fewer than two"),
    (lambda c, t: detect.matched_filter(c, detect.background(c).mean), "background's mean"),
])
def test_unusable_requests_get_a_message(scene, call, message):
    cube, _, target = scene
    with pytest.raises(CubeError, match=message):
        call(cube, target)


def test_a_gas_target_scores_the_enhancement_in_the_absorption_s_units():
    """A plume x = b (1 + a k) over a background b: the matched filter with the gas's target
    (the mean seen through one unit) reads a, the formula of the methane matched filter."""
    rows, cols, bands = 40, 50, 12
    background = np.exp(RNG.normal(size=(rows, cols, bands)) * 0.01) * np.linspace(50, 80, bands)
    k = -np.abs(np.sin(np.arange(bands))) * 1e-4  # fractional absorption per ppm m
    plume = np.zeros((rows, cols))
    plume[10:14, 20:26] = 500.0  # ppm m
    values = background * (1 + plume[..., None] * k)
    cube = Cube.from_array(values)
    stats = detect.background(cube)
    target = detect.gas_target(stats, k)
    scores = detect.matched_filter(cube, target, stats=stats)
    shift = stats.mean * k
    inverse = np.linalg.pinv(stats.covariance)
    expected = (values.reshape(-1, bands) - stats.mean) @ inverse @ shift / (shift @ inverse @ shift)
    np.testing.assert_allclose(scores.ravel(), expected, rtol=1e-6, atol=1e-6)
    assert np.median(scores[10:14, 20:26]) == pytest.approx(500, rel=0.1)
    assert abs(np.median(scores[plume == 0])) < 25


def test_a_gas_target_needs_the_absorption_at_the_background_s_bands(scene):
    cube, _, _ = scene
    k = np.zeros(cube.n_bands)
    k[3] = np.nan
    with pytest.raises(CubeError, match="lacks values"):
        detect.gas_target(detect.background(cube), k)


# ----------------------------------------------------------------------------- the page
def test_detection_page_scores_outlines_and_counts_anomalies():
    at = open_page("pages/detect.py")
    assert not at.error and not at.warning
    header, values, _ = viewer_payload(at, "image_dt")
    assert header["label"] == "RX score"
    np.testing.assert_allclose(values[0], detect.rx(demo_cube()), rtol=1e-4)
    outlines = [o for o in viewer_overlays(at, "image_dt") if o.get("name") == "detections"]
    threshold = at.number_input(key="dt_threshold").value
    count = int((detect.rx(demo_cube()) >= threshold).sum())
    assert outlines and any(f"{count} pixels at or above" in c.value for c in at.caption)
    assert len(at.dataframe[0].value) == 5  # the five best-scoring pixels
    assert "dt_threshold" not in share_query(at)  # the starting threshold follows the scores
    at.number_input(key="dt_threshold").set_value(230.0).run()  # the best RX score of the demo is 234.6
    assert share_query(at)["dt_threshold"] == "230" and any("2 pixels at or above" in c.value for c in at.caption)


def test_a_pinned_pixel_is_the_target_and_its_own_best_match():
    at = open_page("pages/detect.py", query={"dt_method": "ACE", "px": "40-60", "dt_local": "true",
                                             "dt_inner": "3", "dt_outer": "11"})
    assert not at.error and not at.warning
    assert at.selectbox(key="dt_target").value == "pixel (40, 60)"
    best = at.dataframe[0].value.iloc[0]
    assert best["pixel"] == "(40, 60)" and float(best["score"]) == pytest.approx(1.0, abs=1e-4)
    link = share_query(at)
    assert link["dt_method"] == "ACE" and link["dt_outer"] == "11" and link["dt_target"] == "pixel (40, 60)"


def test_a_target_file_s_absorption_spectrum_is_the_gas_target():
    cube = demo_cube()
    wavelengths = np.linspace(cube.wavelengths_nm[0] - 5, cube.wavelengths_nm[-1] + 5, 300)
    absorption = -1e-4 * np.exp(-0.5 * ((wavelengths - 2300) / 40) ** 2)
    rows = (f"{w},{a}" for w, a in zip(wavelengths, absorption, strict=True))
    csv = "wavelength (nm),CH4 per ppm m\n" + "\n".join(rows)
    gas = library_from_files([("ch4.csv", csv.encode())])
    at = open_page("pages/detect.py", session={"targets": gas},
                   query={"dt_method": "Matched filter", "dt_target": "file: CH4 per ppm m", "dt_absorb": "true"})
    assert not at.error and not at.warning
    assert at.toggle(key="dt_absorb").value
    on_cube, _ = gas.for_cube(cube)
    bands = np.flatnonzero(cube.good_bands & np.isfinite(on_cube.spectra[0]))
    stats = detect.background(cube, bands=bands)
    expected = detect.matched_filter(cube, detect.gas_target(stats, on_cube.spectra[0]), stats=stats)
    _, values, _ = viewer_payload(at, "image_dt")
    np.testing.assert_allclose(values[0], expected, rtol=1e-3, atol=1e-3 * np.nanmax(np.abs(expected)))
    assert not any(t.get("name", "").startswith("target") for t in json.loads(spectra_spec(at, "dt_spectra"))["traces"])
    link = share_query(at)
    assert link["dt_absorb"] == "true" and link["dt_target"] == "file: CH4 per ppm m"


def test_a_refused_target_file_is_named():
    at = open_page("pages/detect.py", session={"targets_problem": "The CSV cannot be read as a table (x)."},
                   query={"dt_method": "ACE"})
    assert not at.error and any("cannot be read as a table" in w.value for w in at.warning)


def test_without_a_target_the_page_says_how_to_give_one():
    at = open_page("pages/detect.py", query={"dt_method": "CEM"})
    assert any("is the target" in i.value for i in at.info) and not at.error


def test_unusable_link_values_fall_back_to_the_defaults():
    at = open_page("pages/detect.py", query={"dt_method": "evil", "dt_inner": "4", "dt_threshold": "nan",
                                             "dt_target": "<b>x</b>" * 40})
    assert not at.error
    assert at.segmented_control(key="dt_method").value == "RX"
    assert np.isfinite(at.number_input(key="dt_threshold").value)


@pytest.mark.parametrize("query, said", [
    ({"dt_local": "true", "dt_inner": "9", "dt_outer": "5"}, "must be two odd widths with inner"),
    ({"dt_local": "true", "dt_inner": "3", "dt_outer": "41"}, "larger than this 30 x 40 image"),
    ({"dt_method": "ACE", "px": "10-10", "dt_target": "nobody"}, "cannot be used here"),
])
def test_unusable_detection_settings_are_messages(query, said):
    small = Cube.from_array(RNG.random((30, 40, 6)).astype(np.float32), name="small scan")
    at = open_page("pages/detect.py", query=query, cube=small)
    assert not at.error and any(said in w.value for w in at.warning), [w.value for w in at.warning]


def test_values_near_float32_s_largest_are_measured_in_float64():
    values = (RNG.random((12, 14, 4)) * 3e38).astype(np.float32)
    scores = detect.rx(Cube.from_array(values))
    reference = spectral.rx(values.astype(np.float64))
    np.testing.assert_allclose(scores, reference, rtol=1e-3)
