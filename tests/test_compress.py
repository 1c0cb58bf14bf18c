"""Compression (issue 18): the autoencoder beside PCA and Fourier, and standardized products."""

import numpy as np
import pytest

from cubescope import Cube, CubeError, export, load_cube
from cubescope.compress import (
    compare,
    destandardize,
    fit_autoencoder,
    fourier_codec,
    standardization,
    standardize,
)

RNG = np.random.default_rng(18)


def beer_lambert(rows=60, cols=60, bands=40):
    """Spectra of a non-linear model with 3 free parameters: an illumination factor times the
    transmission of two absorbers (Beer-Lambert): ``a exp(-c1 k1 - c2 k2)``."""
    wl = np.linspace(400, 2400, bands)
    k1 = 2 * np.exp(-((wl - 900) / 150) ** 2)
    k2 = 2 * np.exp(-((wl - 1700) / 250) ** 2)
    a, c1, c2 = (RNG.uniform(lo, hi, (rows, cols, 1)) for lo, hi in ((0.5, 1.5), (0, 2), (0, 2)))
    return Cube.from_array((a * np.exp(-c1 * k1 - c2 * k2)).astype(np.float32), wl, wavelength_units="nm")


def test_autoencoder_beats_pca_on_a_nonlinear_three_parameter_cube():
    cube = beer_lambert()
    results = compare(cube, 3, seed=1)
    assert results["autoencoder"].rmse < 0.5 * results["PCA"].rmse
    assert results["Fourier"].rmse > results["PCA"].rmse  # a fixed basis does worst here
    for name, result in results.items():
        assert result.codes.shape == (60, 60, 3), name
        assert result.pixel_rmse.shape == (60, 60) and result.band_rmse.shape == (40,)
        assert np.isfinite(result.angle).all() and (result.angle >= 0).all()
        # The per-band RMSE and the overall one agree.
        assert np.sqrt(np.mean(result.band_rmse ** 2)) == pytest.approx(result.rmse, rel=1e-6)


def test_same_seed_same_codes_and_shapes_through_the_cube():
    cube = beer_lambert(30, 30, 20)
    first = fit_autoencoder(cube, 2, seed=7, epochs=10)
    again = fit_autoencoder(cube, 2, seed=7, epochs=10)
    codes = first.transform(cube)
    assert codes.shape == (30, 30, 2)
    np.testing.assert_array_equal(codes, again.transform(cube))
    other = fit_autoencoder(cube, 2, seed=8, epochs=10)
    assert not np.array_equal(codes, other.transform(cube))
    back = first.inverse_transform(codes)
    assert back.shape == (30, 30, 20)
    assert len(first.loss_curve_) == 10 and first.loss_curve_[-1] < first.loss_curve_[0]
    parameters = first.parameters()
    assert parameters["weights_0"].shape == (20, 24) and int(parameters["encoder_layers"]) == 2  # width: 24 at least


def test_training_leaves_out_nan_and_bad_bands_and_follows_the_mask():
    data = beer_lambert(30, 30, 20).bsq.copy()
    data[:, :5] = np.nan  # the top rows have no data
    bad = np.zeros(20, bool)
    bad[4] = True
    cube = Cube(data, wavelengths=np.linspace(400, 2400, 20), bad_bands=bad)
    mask = np.zeros((30, 30), bool)
    mask[10:, :] = True
    ae = fit_autoencoder(cube, 3, seed=0, mask=mask, epochs=5)
    assert ae.bands_.size == 19 and 4 not in ae.bands_
    assert ae.n_samples_ == 20 * 30
    codes = ae.transform(cube)
    assert np.isnan(codes[:5]).all() and np.isfinite(codes[5:]).all()
    assert np.isnan(ae.inverse_transform(codes[6:7])[..., 4]).all()
    with pytest.raises(CubeError, match="code size"):
        fit_autoencoder(cube, 20)


def test_fourier_codes_are_the_lowest_rfft_coefficients_and_invert_exactly_when_complete():
    cube = beer_lambert(8, 9, 16)
    codec = fourier_codec(cube, 16)
    spectra = cube.bsq.reshape(16, -1).T.astype(np.float64)
    np.testing.assert_allclose(codec.decode(codec.encode(spectra)), spectra, atol=1e-12)
    small = fourier_codec(cube, 3).encode(spectra)
    coefficients = np.fft.rfft(spectra, axis=-1)
    np.testing.assert_allclose(small, np.column_stack([coefficients[:, 0].real, coefficients[:, 1].real,
                                                       coefficients[:, 1].imag]))


@pytest.mark.parametrize("method", ["z-score", "min-max"])
def test_standardization_round_trips_exactly_and_exports_keep_the_parameters(tmp_path, method):
    data = RNG.normal(5, 3, (20, 25, 6))
    data[0, 0, 2] = np.nan
    data[..., 5] = 4.0  # a constant band
    cube = Cube.from_array(data, np.linspace(400, 900, 6), wavelength_units="nm")
    values, params = standardize(cube, method, dtype=np.float64)
    back = destandardize(values, params)
    np.testing.assert_allclose(back, cube.bsq, rtol=1e-13, atol=1e-12, equal_nan=True)
    if method == "z-score":
        np.testing.assert_allclose(np.nanmean(values[0]), 0, atol=1e-12)
        np.testing.assert_allclose(np.nanstd(values[0]), 1, rtol=1e-12)
    else:
        assert np.nanmin(values[:5]) == 0 and np.nanmax(values[:5]) == 1
    assert params.scale[5] == 1.0 and np.all(values[5] == 4.0 - params.offset[5])
    # ENVI: the parameters as gain and offset, so that reading it back gives the original values.
    header, _ = export.to_envi(values.astype(np.float32), tmp_path, "z", wavelengths=cube.wavelengths,
                               wavelength_units="nm", gains=params.scale, offsets=params.offset,
                               description=f"standardized: {method}")
    reread = load_cube(header)
    np.testing.assert_allclose(np.stack([reread.band(b) for b in range(6)]), cube.bsq, rtol=1e-5, atol=1e-5,
                               equal_nan=True)
    assert "data gain values" in header.read_text()
    tiff = tmp_path / "z.tif"
    tiff.write_bytes(export.to_tiff(values.astype(np.float32), metadata=params.metadata()))
    import tifffile

    with tifffile.TiffFile(tiff) as handle:
        described = handle.shaped_metadata[0]
    assert described["standardization"] == method and np.allclose(described["scale"], params.scale)


def test_standardization_refuses_an_unknown_method():
    with pytest.raises(CubeError, match="z-score"):
        standardization(beer_lambert(4, 4, 3), "log")
