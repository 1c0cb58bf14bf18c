"""Savitzky-Golay against scipy (uniform axis) and numpy.polyfit (true wavelengths)."""

import itertools
import math

import numpy as np
import pytest
import scipy.signal
from scipy.signal import savgol_filter

from cubescope import Cube, CubeError
from cubescope.smoothing import check_parameters, savgol_band, savgol_cube, savgol_plan, savgol_spectrum

N_BANDS = 40
CASES = [
    (window, polyorder, deriv)
    for window, polyorder in itertools.product([3, 5, 7, 11, 15, 21, 39], [0, 1, 2, 3, 4, 5, 6])
    if polyorder < window
    for deriv in range(min(polyorder, 3) + 1)
]


@pytest.fixture(scope="module")
def cube64():
    rng = np.random.default_rng(1)
    wl = np.linspace(400, 1000, N_BANDS)
    smooth = np.sin(wl / 60)[None, None, :] * rng.random((9, 7, 1)) + rng.normal(0, 0.05, (9, 7, N_BANDS))
    return Cube.from_array(smooth, wavelengths=wl, wavelength_units="nm")


@pytest.fixture(scope="module")
def cube32(cube64):
    return Cube(np.asarray(cube64.bsq, np.float32), wavelengths=cube64.wavelengths)


def reference(cube, window, polyorder, deriv, delta):
    data = np.moveaxis(np.asarray(cube.bsq, np.float64), 0, 2)
    return scipy.signal.savgol_filter(data, window, polyorder, deriv, delta=delta, mode="interp", axis=2)


@pytest.mark.parametrize("window, polyorder, deriv", CASES)
def test_spectrum_and_cube_match_scipy(cube64, window, polyorder, deriv):
    delta = 600 / (N_BANDS - 1)
    ref = reference(cube64, window, polyorder, deriv, delta)
    data = np.moveaxis(np.asarray(cube64.bsq), 0, 2)
    scale = np.abs(ref).max() + 1e-300
    np.testing.assert_allclose(savgol_spectrum(data, window, polyorder, deriv, delta), ref, atol=1e-9 * scale)
    whole = np.moveaxis(np.asarray(savgol_cube(cube64, window, polyorder, deriv, delta).bsq), 0, 2)
    np.testing.assert_allclose(whole, ref, atol=1e-9 * scale)


@pytest.mark.parametrize("window, polyorder, deriv", CASES[::3])
def test_band_matches_scipy_at_every_band_float32(cube32, window, polyorder, deriv):
    delta = 600 / (N_BANDS - 1)
    ref = reference(cube32, window, polyorder, deriv, delta)
    scale = np.abs(ref).max()
    for band in range(N_BANDS):  # edges included: the first and last window // 2 bands
        image = savgol_band(cube32, band, window, polyorder, deriv, delta)
        assert image.dtype == np.float32
        np.testing.assert_allclose(image, ref[:, :, band], atol=2e-6 * scale * math.sqrt(window))


def test_float32_cube_result_matches_scipy(cube32):
    ref = reference(cube32, 11, 3, 2, 1.0)
    out = np.moveaxis(np.asarray(savgol_cube(cube32, 11, 3, 2, max_chunk_bytes=5000).bsq), 0, 2)
    np.testing.assert_allclose(out, ref, atol=1e-5 * np.abs(ref).max())


@pytest.mark.parametrize("window, polyorder, deriv", [(5, 2, 0), (7, 3, 1), (9, 4, 2), (11, 3, 2), (13, 5, 3)])
def test_true_wavelengths_fit_matches_polyfit_per_window(window, polyorder, deriv):
    rng = np.random.default_rng(2)
    # A non-uniform axis, like a spectrometer whose band spacing grows with wavelength.
    wl = np.cumsum(rng.uniform(3, 12, 30)) + 400
    values = rng.random(30)
    plan = savgol_plan(30, window, polyorder, deriv, wavelengths=wl)
    ours = savgol_spectrum(values, window, polyorder, deriv, wavelengths=wl)
    half = window // 2
    for band in range(30):
        start = min(max(band - half, 0), 30 - window)
        members = np.arange(start, start + window)
        np.testing.assert_array_equal(plan.indices[band], members)
        coef = np.polyfit(wl[members] - wl[band], values[members], polyorder)
        expected = math.factorial(deriv) * coef[polyorder - deriv]
        assert ours[band] == pytest.approx(expected, rel=1e-7, abs=1e-9 * np.abs(values).max())


def test_true_wavelengths_on_uniform_axis_equal_scipy():
    wl = np.linspace(1.0, 2.5, 25)  # µm
    values = np.random.default_rng(3).random(25)
    ours = savgol_spectrum(values, 9, 3, 1, wavelengths=wl)
    ref = scipy.signal.savgol_filter(values, 9, 3, 1, delta=wl[1] - wl[0], mode="interp")
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-10)


def test_bad_bands_are_left_out_and_nan():
    rng = np.random.default_rng(4)
    values = rng.random(30)
    bad = np.zeros(30, bool)
    bad[[10, 11, 20]] = True
    spoiled = values.copy()
    spoiled[bad] = 1e6  # would wreck any fit that used them
    out = savgol_spectrum(spoiled, 7, 2, 0, bad_bands=bad)
    assert np.isnan(out[bad]).all()
    good = np.flatnonzero(~bad)
    # The fit runs over the good bands only, on their true band positions.
    expected = savgol_spectrum(values[good], 7, 2, 0, wavelengths=good.astype(float))
    np.testing.assert_allclose(out[good], expected, rtol=1e-9)


def test_nan_pixels_stay_nan_and_others_unaffected():
    data = np.random.default_rng(5).random((4, 4, 20)).astype(np.float32)
    data[1, 2, :] = np.nan
    cube = Cube.from_array(data)
    image = savgol_band(cube, 10, 5, 2, 1)
    assert np.isnan(image[1, 2]) and np.isfinite(np.delete(image.ravel(), 1 * 4 + 2)).all()


def test_nodata_value_becomes_nan():
    data = np.random.default_rng(6).integers(1, 1000, (4, 4, 20)).astype(np.uint16)
    data[0, 0, :] = 0
    cube = Cube.from_array(data, nodata=0)
    assert np.isnan(savgol_band(cube, 3, 5, 2)[0, 0])
    assert np.isnan(np.asarray(savgol_cube(cube, 5, 2).bsq)[:, 0, 0]).all()


@pytest.mark.parametrize(
    "window, polyorder, deriv, n, message",
    [
        (4, 2, 0, 20, "odd"),
        (5, 5, 0, 20, "larger than the polynomial degree"),
        (21, 2, 0, 20, "longer than the spectrum"),
        (5, 2, 3, 20, "derivative of order 3"),
        (5, -1, 0, 20, "negative"),
    ],
)
def test_parameter_messages(window, polyorder, deriv, n, message):
    with pytest.raises(CubeError, match=message):
        check_parameters(window, polyorder, deriv, n)


def test_savgol_cube_into_memory_map(tmp_path, cube32):
    out = np.lib.format.open_memmap(tmp_path / "out.npy", "w+", np.float32, cube32.bsq.shape)
    result = savgol_cube(cube32, 7, 2, 0, out=out, max_chunk_bytes=4000)
    assert result.is_memory_mapped
    np.testing.assert_allclose(np.moveaxis(np.asarray(result.bsq), 0, 2), reference(cube32, 7, 2, 0, 1.0), atol=1e-5)


def test_savgol_fits_each_spectrometer_on_its_own():
    rng = np.random.default_rng(0)
    first, second = np.linspace(400, 675.6, 30), np.linspace(664.1, 1000, 25)
    w = np.r_[first, second]
    x = rng.random(w.size)
    out = savgol_spectrum(x, 11, 3, wavelengths=w)
    # Each segment on its own equals the uniform-axis result of scipy on that segment.
    np.testing.assert_allclose(out[:30], savgol_filter(x[:30], 11, 3), atol=1e-10)
    np.testing.assert_allclose(out[30:], savgol_filter(x[30:], 11, 3), atol=1e-10)
    # Derivatives per nm, on a descending axis too (the sign follows the wavelength).
    ramp = 2.0 * np.linspace(1000, 400, 40)
    d = savgol_spectrum(ramp, 7, 2, 1, wavelengths=np.linspace(1000, 400, 40))
    np.testing.assert_allclose(d, 2.0, atol=1e-9)


def test_savgol_short_segment_uses_all_its_bands():
    w = np.r_[np.linspace(400, 700, 20), np.linspace(690, 720, 5)]
    x = np.r_[np.zeros(20), np.arange(5.0)]
    out = savgol_spectrum(x, 11, 2, wavelengths=w)
    np.testing.assert_allclose(out[20:], np.arange(5.0), atol=1e-9)  # a line is fitted exactly


def test_nan_sample_does_not_blank_its_window():
    x = np.sin(np.linspace(0, 3, 40))
    gap = x.copy()
    gap[20] = np.nan
    out = savgol_spectrum(gap, 9, 2)
    assert np.isnan(out).sum() == 1 and np.isnan(out[20])
    # Exactly as a bad band: the same as leaving band 20 out.
    bad = np.zeros(40, bool)
    bad[20] = True
    np.testing.assert_allclose(out, savgol_spectrum(x, 9, 2, bad_bands=bad), equal_nan=True)


def test_band_image_refits_windows_with_nan():
    rng = np.random.default_rng(2)
    values = np.cumsum(rng.random((6, 7, 30)), axis=2).astype("f8")
    values[2, 3, 14] = np.nan
    cube = Cube.from_array(values)
    image = savgol_band(cube, 15, 7, 2)
    assert np.isfinite(image).all()
    window = np.delete(np.arange(12, 19), 2)  # band 14 left out
    coefficients = np.polyfit(window, values[2, 3, window], 2)
    assert image[2, 3] == pytest.approx(np.polyval(coefficients, 15), rel=1e-9)
