"""Continuum removal and band depth (issue 16) against Spectral Python."""

import numpy as np
import pytest
from spectral.algorithms.continuum import remove_continuum

import cubescope
from cubescope import Cube, band_depth, continuum_removed, undefined_continuum

RNG = np.random.default_rng(5)


def spectra(n: int, x: np.ndarray) -> np.ndarray:
    """Smooth spectra with absorption features of random depth and place."""
    base = 0.3 + 0.2 * np.sin(x[None] / 400 + RNG.uniform(0, 6, (n, 1)))
    dips = RNG.uniform(0.05, 0.3, (n, 1)) * np.exp(-((x[None] - RNG.uniform(900, 2300, (n, 1))) / 40) ** 2)
    return base - dips + 0.003 * RNG.standard_normal((n, x.size))


@pytest.mark.parametrize("x", [np.linspace(400, 2500, 150),
                               np.sort(RNG.uniform(400, 2500, 150)),  # non-uniform spacing
                               np.r_[np.linspace(400, 1000, 60), np.linspace(1003, 2500, 90) ** 1.01]])
def test_equals_spectral_python(x):
    y = spectra(300, x)
    np.testing.assert_allclose(continuum_removed(y, x), remove_continuum(y.copy(), x), rtol=1e-12, atol=1e-12)
    three_d = y.reshape(20, 15, x.size).astype(np.float32)
    ours = continuum_removed(three_d, x)
    assert ours.shape == three_d.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, remove_continuum(three_d.astype(np.float64), x), rtol=1e-5)


def test_hull_is_over_true_wavelengths_not_band_indices():
    x = np.array([400.0, 410.0, 420.0, 1500.0, 2500.0])
    y = np.array([[1.0, 0.9, 0.95, 0.5, 0.8]])
    # Over wavelengths the hull is the line from 400 nm to 2500 nm (420 nm lies under it).
    on_line = 1.0 + (0.8 - 1.0) * (1500 - 400) / (2500 - 400)
    assert continuum_removed(y, x)[0, 3] == pytest.approx(0.5 / on_line)
    # Over band indices 420 nm would be a hull vertex, and the value would differ.
    assert continuum_removed(y, np.arange(5.0))[0, 3] == pytest.approx(0.5 / 0.875)


def test_nan_and_bad_bands_stay_out_of_the_hull():
    x = np.linspace(400, 2500, 50)
    y = spectra(10, x)
    spiked = y.copy()
    spiked[:, 20] = 5.0  # a spike that would lift the hull
    bad = np.zeros(50, bool)
    bad[20] = True
    with_bad = continuum_removed(spiked, x, bad)
    assert np.isnan(with_bad[:, 20]).all()
    clean = np.delete(y, 20, axis=1)
    np.testing.assert_allclose(np.delete(with_bad, 20, axis=1), remove_continuum(clean.copy(), np.delete(x, 20)),
                               rtol=1e-12)
    gappy = y.copy()
    gappy[3, [0, 1, 30]] = np.nan
    out = continuum_removed(gappy, x)
    assert np.isnan(out[3, [0, 1, 30]]).all() and out[3, 2] == pytest.approx(1.0)
    assert np.isnan(continuum_removed(np.full((2, 50), np.nan), x)).all()


def test_unsorted_wavelengths_are_sorted_and_put_back():
    x = np.r_[np.linspace(400, 1000, 30), np.linspace(950, 2500, 40)]  # two spectrometers overlapping
    y = spectra(5, x)
    order = np.argsort(x, kind="stable")
    expected = np.empty_like(y)
    expected[:, order] = remove_continuum(y[:, order].copy(), x[order])
    np.testing.assert_allclose(continuum_removed(y, x), expected, rtol=1e-12)


def test_cube_and_band_depth():
    x = np.linspace(400, 2500, 40)
    y = spectra(6 * 5, x).reshape(6, 5, 40).astype(np.float32)
    bad = np.zeros(40, bool)
    bad[7] = True
    cube = Cube.from_array(y, x, wavelength_units="nm", bad_bands=bad)
    np.testing.assert_allclose(continuum_removed(cube, x), continuum_removed(y, x, bad), rtol=1e-6)
    at = band_depth(y, x, at=1500.0)
    band = int(np.argmin(np.abs(x - 1500)))
    np.testing.assert_allclose(at, 1 - continuum_removed(y, x)[..., band], rtol=1e-6)
    # A feature between shoulders: a straight line between them, the deepest point below it.
    flat = np.ones(40)
    flat[(x > 1900) & (x < 2300)] = 0.6
    assert band_depth(flat[None], x, feature=(1800, 2400))[0] == pytest.approx(0.4)
    depth = band_depth(cube, x, feature=(1800, 2400))
    assert depth.shape == (6, 5) and np.isfinite(depth).all()


def test_a_zero_on_the_hull_gives_nan_there_and_spectral_python_elsewhere():
    """1 pixel in 50 of a real scene had reflectance 0 at a hull vertex: division by zero."""
    wl = np.linspace(400, 2500, 60)
    rng = np.random.default_rng(24)
    spectra = rng.uniform(0.05, 0.6, (50, 60))
    spectra[3, 0] = 0.0   # first band: always a hull vertex
    spectra[7, -1] = 0.0  # last band
    spectra[9, :] = 0.0   # a black pixel
    removed = continuum_removed(spectra, wl)
    with np.errstate(divide="ignore", invalid="ignore"):
        reference = remove_continuum(spectra, wl)
    defined = np.isfinite(reference) & (reference < 1e30)
    np.testing.assert_allclose(removed[defined], reference[defined], rtol=1e-12)
    assert np.isnan(removed[3, 0]) and np.isnan(removed[7, -1]) and np.isnan(removed[9]).all()
    assert np.isfinite(removed[3, 1:]).all()
    touched = undefined_continuum(spectra, removed)
    assert touched.tolist() == [i in (3, 7, 9) for i in range(50)]


def test_a_whole_cube_with_zeros_on_hulls_is_continuum_removed():
    wl = np.linspace(400, 2500, 30)
    data = np.random.default_rng(1).uniform(0.1, 0.5, (20, 25, 30)).astype(np.float32)
    data[::7, ::5, 0] = 0.0
    cube = Cube.from_array(data, wl, wavelength_units="nm")
    removed = cubescope.continuum_removed(cube, cube.wavelengths)
    assert removed.shape == (20, 25, 30)
    assert np.isnan(removed[0, 0, 0]) and np.isfinite(removed[1, 1]).all()
