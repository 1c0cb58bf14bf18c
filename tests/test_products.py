"""Typed image products: each analysis's product is its function's result, keyed by what it is."""

from __future__ import annotations

import numpy as np
import pytest

from cubescope import continuum, indices, library, pca, smoothing, unmixing
from cubescope.compress import Reconstruction, ReconstructionImage
from cubescope.demo import demo_cube
from cubescope.mnf import MNFImage, mnf
from cubescope.products import Band, applied, direct
from cubescope.viewport import Window, crop


@pytest.fixture(scope="module")
def cube():
    return demo_cube()


def remembering(cube):
    """A compute that remembers by function and arguments, as the app's cache does, and counts calls."""
    calls, kept = [], {}

    def compute(function, *args, **kwargs):
        key = (function, tuple(id(a) if not isinstance(a, int | float | str | tuple | None) else a for a in args),
               tuple(sorted(kwargs.items())))
        if key not in kept:
            calls.append(function.__name__)
            kept[key] = function(cube, *args, **kwargs)
        return kept[key]
    return compute, calls


def test_each_product_is_its_analysis_s_result(cube):
    compute = direct(cube)
    spectra = np.stack([cube.spectrum(5, 5), cube.spectrum(120, 100)]).astype(np.float64)
    expected = {
        Band(12): cube.band(12),
        smoothing.SavgolImage(12, 11, 3, 1, 10.0): smoothing.savgol_band(cube, 12, 11, 3, 1, 10.0),
        pca.PCImage(3, None, 1): pca.fit_pca(cube, 3).transform(cube)[:, :, 1],
        pca.ErrorImage(3, (0, 50, 0, 60)): pca.fit_on_region(cube, 3, (0, 50, 0, 60)).reconstruction_error(cube),
        MNFImage(3, 2): mnf(cube, 3).transform(cube)[:, :, 2],
        indices.BandMathImage("NDVI"): indices.band_math(cube, "NDVI"),
        continuum.BandDepthImage(2120.0, 2250.0): continuum.band_depth(cube, cube.wavelengths_nm,
                                                                        feature=(2120.0, 2250.0)),
        library.AngleImage(spectra[1]): library.spectral_angles(cube, spectra[1:])[:, :, 0],
        unmixing.AbundanceImage(spectra, True, 0): unmixing.unmix(cube, spectra, sum_to_one=True)[:, :, 0],
        unmixing.AbundanceImage(spectra, True, 2): unmixing.residual_error(
            cube, spectra, unmixing.unmix(cube, spectra, sum_to_one=True)),
    }
    for product, image in expected.items():
        got = product.image(cube, compute)
        assert got.shape == (cube.rows, cube.cols), product.name
        np.testing.assert_allclose(got, image, rtol=1e-5, atol=1e-6, equal_nan=True, err_msg=product.name)


def test_a_fit_is_computed_once_for_all_its_images(cube):
    compute, calls = remembering(cube)
    for component in range(3):
        pca.PCImage(3, None, component).image(cube, compute)
    pca.ErrorImage(3, None).image(cube, compute)
    assert calls == ["fit_on_region", "applied"]


def test_keys_name_the_kind_and_every_parameter():
    assert Band(3).key == Band(3).key != Band(4).key
    # Same parameters, different analyses: different keys.
    assert pca.PCImage(3, None, 0).key != MNFImage(3, 0).key
    assert pca.ErrorImage(3, None).key != pca.ErrorImage(3, (0, 5, 0, 5)).key
    assert Band(21).name == "band-21"
    assert smoothing.SavgolImage(4, 11, 3).name == "savgolimage-4-11-3-0-1.0-False"


def test_arrays_are_keyed_by_value_and_named_by_a_digest():
    a = library.AngleImage(np.array([0.1, 0.2, 0.3]))
    b = library.AngleImage(np.array([0.1, 0.2, 0.3]))
    c = library.AngleImage(np.array([0.1, 0.2, 0.31]))
    assert a.name == b.name != c.name
    assert a.name.startswith("angleimage-") and len(a.name) == len("angleimage-") + 16


def test_what_a_key_does_not_cover_is_carried_but_not_keyed(cube):
    codes = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    made = Reconstruction(np.zeros(4), np.ones((2, 3)), np.zeros((2, 3)), codes, 0.0)
    other = Reconstruction(np.zeros(4), np.full((2, 3), 7.0), np.zeros((2, 3)), codes * 2, 0.0)
    fit = ("demo", 2, None, 0)
    assert ReconstructionImage(fit, "PCA", 1, made).key == ReconstructionImage(fit, "PCA", 1, other).key
    np.testing.assert_array_equal(ReconstructionImage(fit, "PCA", 1, made).image(cube, direct(cube)), codes[:, :, 1])
    np.testing.assert_array_equal(ReconstructionImage(fit, "PCA", None, made).image(cube, direct(cube)), 1.0)


def test_a_band_is_read_only_where_it_is_shown(cube):
    window = Window(10, 90, 30, 200)

    def whole():
        raise AssertionError("a band's window is read from the cube, never from a whole image")

    np.testing.assert_array_equal(Band(7).samples(cube, window, 3, whole), crop(cube.band(7), window, 3))
    assert not Band(7).held and pca.PCImage(2, None, 0).held


def test_applied_calls_the_model_s_method(cube):
    fitted = pca.fit_pca(cube, 2)
    np.testing.assert_allclose(applied(cube, fitted), fitted.transform(cube))
    np.testing.assert_allclose(applied(cube, fitted, "explained_variance_on"), fitted.explained_variance_on(cube))
