"""Unmixing against scipy's NNLS and a constrained optimiser; ATGP endmembers."""

import numpy as np
from scipy.optimize import minimize, nnls

from cubescope import Cube
from cubescope.unmixing import atgp, residual_error, unmix
from tests.scenes import RNG, mixed_scene


def test_unmixing_equals_scipy_nnls_per_pixel():
    ends = RNG.random((5, 40))
    spectra = RNG.random((300, 40))
    expected = np.array([nnls(ends.T, x)[0] for x in spectra])
    np.testing.assert_allclose(unmix(spectra, ends), expected, atol=1e-10)


def test_unmixing_is_exact_on_noiseless_mixtures_and_on_a_cube():
    clean, ends, abundances = mixed_scene()
    np.testing.assert_allclose(unmix(clean, ends), abundances, atol=1e-9)
    np.testing.assert_allclose(unmix(clean, ends, sum_to_one=True), abundances, atol=1e-9)
    bad = np.zeros(30, bool)
    bad[[2, 9]] = True
    corrupted = clean.copy()
    corrupted[..., bad] = 99.0  # bad bands carry garbage; they must not count
    cube = Cube.from_array(corrupted, np.linspace(400, 1000, 30), bad_bands=bad)
    np.testing.assert_allclose(unmix(cube, ends), abundances, atol=1e-9)
    assert residual_error(cube, ends, unmix(cube, ends)).max() < 1e-9


def test_fully_constrained_unmixing_is_the_constrained_optimum_not_a_rescaled_nnls():
    ends = RNG.random((4, 25))
    spectra = RNG.random((40, 25)) * 2
    ours = unmix(spectra, ends, sum_to_one=True)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0, atol=1e-12)
    assert (ours >= 0).all()
    for x, a in zip(spectra, ours, strict=True):
        reference = minimize(lambda v, x=x: np.sum((ends.T @ v - x) ** 2), np.full(4, 0.25), method="SLSQP",
                             jac=lambda v, x=x: 2 * ends @ (ends.T @ v - x), bounds=[(0, None)] * 4,
                             constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1}],
                             options={"ftol": 1e-15, "maxiter": 1000}).x
        assert np.sum((ends.T @ a - x) ** 2) <= np.sum((ends.T @ reference - x) ** 2) + 1e-10
    rescaled = unmix(spectra, ends)
    rescaled /= rescaled.sum(axis=1, keepdims=True)
    cost = np.sum((ours @ ends - spectra) ** 2, axis=1)
    assert (cost <= np.sum((rescaled @ ends - spectra) ** 2, axis=1) + 1e-12).all()
    assert (cost < np.sum((rescaled @ ends - spectra) ** 2, axis=1) - 1e-6).any()


def test_nan_spectra_give_nan_abundances_and_atgp_finds_the_pure_pixels():
    clean, ends, _ = mixed_scene(rows=20, cols=20)
    for k in range(4):  # plant each endmember pure somewhere
        clean[3 + k, 5 + 2 * k] = ends[k]
    cube = Cube.from_array(clean.copy())
    clean[0, 0, 4] = np.nan
    result = unmix(clean, ends)
    assert np.isnan(result[0, 0]).all() and np.isfinite(result[1:]).all()
    pixels, spectra = atgp(cube, 4)
    assert set(pixels) == {(3 + k, 5 + 2 * k) for k in range(4)}
    assert spectra.shape == (4, 30)
