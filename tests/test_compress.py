"""Compression (issue 18): the autoencoder beside PCA and Fourier, and standardized products."""

import io

import numpy as np
import pytest

from cubescope import Cube, CubeError, export, load_cube
from cubescope.compress import (
    compare,
    destandardize,
    fit_autoencoder,
    fourier_codec,
    parameters_npz,
    reconstruct_pixels,
    standardization,
    standardize,
)
from cubescope.pca import fit_pca

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
    first = fit_autoencoder(cube, 2, seed=7, epochs=60)
    again = fit_autoencoder(cube, 2, seed=7, epochs=60)
    codes = first.transform(cube)
    assert codes.shape == (30, 30, 2)
    np.testing.assert_array_equal(codes, again.transform(cube))
    other = fit_autoencoder(cube, 2, seed=8, epochs=60)
    assert first.epoch_ > 0 and other.epoch_ > 0  # both learnt beyond PCA
    assert not np.array_equal(codes, other.transform(cube))
    back = first.inverse_transform(codes)
    assert back.shape == (30, 30, 20)
    assert len(first.loss_curve_) == 61 and first.loss_curve_[-1] < first.loss_curve_[0]
    parameters = first.parameters()
    m = parameters["components"].shape[0]
    assert parameters["components"].shape == (m, 20) and parameters["W1"].shape == (m, 64)
    assert parameters["A"].shape == (2, m) and parameters["W2"].shape == (64, 2)


def test_the_autoencoder_starts_as_pca_and_never_ends_worse():
    """Epoch 0 is PCA's code and reconstruction exactly; on a cube PCA fits perfectly (linear
    mixtures of 2 spectra), no epoch can improve on it and PCA's own solution is kept."""
    cube = beer_lambert(30, 30, 20)
    start = fit_autoencoder(cube, 2, seed=3, epochs=0)
    from cubescope.pca import fit_pca

    pca = fit_pca(cube, 2)
    spectra = cube.bsq.reshape(20, -1).T.astype(np.float64)
    scores = (spectra - pca.mean_) @ pca.components_.T
    np.testing.assert_allclose(start.encode(spectra) * start.sigma_[:2], scores, atol=1e-9)
    np.testing.assert_allclose(start.decode(start.encode(spectra)), scores @ pca.components_ + pca.mean_, atol=1e-9)
    assert start.epoch_ == 0 and start.validation_curve_ == [start.pca_mse_]
    same = compare(cube, 2, autoencoder=start, pca=pca)
    assert same["autoencoder"].rmse == pytest.approx(same["PCA"].rmse, rel=1e-9)

    a = RNG.uniform(0, 1, (40, 40, 1))
    two = Cube.from_array(a * np.linspace(0.1, 0.9, 20) + (1 - a) * np.linspace(0.8, 0.2, 20), np.arange(20.0))
    linear = fit_autoencoder(two, 1, seed=0, epochs=5)
    results = compare(two, 1, autoencoder=linear)
    assert results["autoencoder"].rmse <= results["PCA"].rmse + 1e-12
    assert min(linear.validation_curve_) == pytest.approx(linear.validation_curve_[linear.epoch_])


def test_autoencoder_parameters_decode_in_a_notebook_by_the_stated_formula():
    cube = beer_lambert(20, 20, 30)
    ae = fit_autoencoder(cube, 2, seed=0, epochs=3)
    z = ae.parameters()
    x = cube.bsq.reshape(30, -1).T.astype(np.float64)[:50]
    p = ((x - z["mean"]) @ z["components"].T) / z["sigma"]
    code = p[:, :2] + np.tanh(p @ z["W1"] + z["b1"]) @ z["W2"] + z["b2"]
    q = code @ z["A"] + np.tanh(code @ z["U1"] + z["d1"]) @ z["U2"] + z["d2"]
    np.testing.assert_allclose(code, ae.encode(x), rtol=1e-12)
    np.testing.assert_allclose(z["mean"] + (q * z["sigma"]) @ z["components"], ae.decode(code), rtol=1e-12)
    assert "tanh" in str(z["formula"])


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
    tiff.write_bytes(export.to_tiff(values.astype(np.float32), metadata=params.metadata(), scales=params.scale,
                                    offsets=params.offset))
    import json

    import rasterio

    with rasterio.open(tiff) as ds:
        assert ds.tags()["standardization"] == method and np.allclose(json.loads(ds.tags()["scale"]), params.scale)
        assert np.allclose(ds.scales, params.scale) and np.allclose(ds.offsets, params.offset)
    # GDAL's SCALE and OFFSET: the TIFF reads back as the original values too.
    np.testing.assert_allclose(np.stack([load_cube(tiff).band(b) for b in range(6)]), cube.bsq, rtol=1e-5,
                               atol=1e-5, equal_nan=True)


def test_standardization_refuses_an_unknown_method():
    with pytest.raises(CubeError, match="z-score"):
        standardization(beer_lambert(4, 4, 3), "log")


def test_pixels_are_rebuilt_by_each_method_on_the_bands_it_uses():
    cube = beer_lambert(20, 20, 30)
    ae = fit_autoencoder(cube, 3, seed=0, epochs=3)
    pca = fit_pca(cube, 3, bands=ae.bands_)
    pixels = [(1, 2), (10, 11)]
    spectra, rebuilt = reconstruct_pixels(cube, pixels, ae, pca)
    assert spectra.shape == (2, 30) and set(rebuilt) == {"PCA", "autoencoder", "Fourier"}
    np.testing.assert_allclose(spectra[1], cube.spectrum(10, 11))
    # PCA's reconstruction is the projection on its components.
    centred = spectra[:, ae.bands_] - pca.mean_
    np.testing.assert_allclose(rebuilt["PCA"][:, ae.bands_], centred @ pca.components_.T @ pca.components_ + pca.mean_)
    np.testing.assert_allclose(rebuilt["autoencoder"][:, ae.bands_], ae.decode(ae.encode(spectra[:, ae.bands_])))
    # Three learned numbers rebuild a three-parameter spectrum far better than the mean spectrum does
    # (three Fourier coefficients cannot: the basis is not fitted to the data).
    for name in ("PCA", "autoencoder"):
        assert np.abs(rebuilt[name] - spectra).mean() < 0.25 * np.abs(spectra[:, ae.bands_] - pca.mean_).mean()
    assert np.isfinite(rebuilt["Fourier"]).all()


def test_a_pixel_without_data_is_rebuilt_as_nothing():
    values = np.moveaxis(beer_lambert(6, 6, 12).bsq, 0, -1).copy()
    values[2, 3, 5] = np.nan
    cube = Cube.from_array(values, np.linspace(400, 2400, 12), wavelength_units="nm")
    ae = fit_autoencoder(cube, 2, seed=0, epochs=2)
    spectra, rebuilt = reconstruct_pixels(cube, [(2, 3), (0, 0)], ae, fit_pca(cube, 2, bands=ae.bands_))
    assert all(np.isnan(v[0]).all() and np.isfinite(v[1]).all() for v in (spectra, *rebuilt.values()))


def test_the_model_travels_as_npz_and_reads_as_a_sentence():
    cube = beer_lambert(20, 20, 30)
    ae = fit_autoencoder(cube, 2, seed=0, epochs=2)
    with np.load(io.BytesIO(parameters_npz(ae))) as saved:
        assert set(saved.files) == set(ae.parameters())
        np.testing.assert_array_equal(saved["bands"], ae.parameters()["bands"])
    assert f"{ae.n_samples_:,} sampled spectra" in ae.describe() and "→ 2 →" in ae.describe()
    row = compare(cube, 2, seed=0, autoencoder=ae)["PCA"].summary()
    assert set(row) == {"RMSE", "mean spectral angle (rad)", "median pixel RMSE"} and float(row["RMSE"]) > 0
