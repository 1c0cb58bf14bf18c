"""PCA against scikit-learn's full SVD on float64 data."""


import numpy as np
import pytest
from sklearn.decomposition import PCA

from cubescope import Cube, CubeError
from cubescope.pca import fit_pca
from cubescope.stats import pixel_moments


def mixed_cube(rows=40, cols=30, bands=12, seed=0, offset=0.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(rows, cols, 4)) * [5, 3, 1, 0.5]
    data = latent @ rng.normal(size=(4, bands)) + rng.normal(0, 0.1, (rows, cols, bands)) + offset
    return data.astype(dtype)


def assert_matches_sklearn(result, pixels, k, rtol=1e-6):
    reference = PCA(k, svd_solver="full").fit(pixels)
    np.testing.assert_allclose(result.explained_variance_ratio_, reference.explained_variance_ratio_, rtol=rtol)
    np.testing.assert_allclose(result.explained_variance_, reference.explained_variance_, rtol=rtol)
    np.testing.assert_allclose(result.mean_, reference.mean_, rtol=rtol, atol=1e-12)
    for ours, theirs in zip(result.components_, reference.components_, strict=True):
        sign = np.sign(ours @ theirs)  # up to sign
        np.testing.assert_allclose(ours * sign, theirs, rtol=rtol, atol=1e-6 * np.abs(theirs).max())
    return reference


@pytest.mark.parametrize("k", [1, 3, 12])
def test_matches_sklearn_full_svd(k):
    data = mixed_cube()
    result = fit_pca(Cube.from_array(data), k)
    reference = assert_matches_sklearn(result, data.reshape(-1, 12), k)
    np.testing.assert_allclose(result.cumulative_variance_ratio_, np.cumsum(reference.explained_variance_ratio_))
    assert result.n_samples_ == 40 * 30
    # Deterministic signs: scikit-learn's convention, so they agree exactly here.
    np.testing.assert_allclose(result.components_, reference.components_, atol=1e-9)


def test_transform_inverse_and_reconstruction():
    data = mixed_cube()
    cube = Cube.from_array(data)
    result = fit_pca(cube, 4)
    reference = PCA(4, svd_solver="full").fit(data.reshape(-1, 12))
    scores = result.transform(cube)
    assert scores.shape == (40, 30, 4)
    np.testing.assert_allclose(scores.reshape(-1, 4), reference.transform(data.reshape(-1, 12)), atol=1e-9)
    back = result.inverse_transform(scores)
    expected = reference.inverse_transform(reference.transform(data.reshape(-1, 12)))
    np.testing.assert_allclose(back.reshape(-1, 12), expected, atol=1e-9)
    error = result.reconstruction_error(cube)
    np.testing.assert_allclose(error, np.sqrt(((back - data) ** 2).mean(axis=2)), atol=1e-12)
    full = fit_pca(cube, 12)
    assert np.nanmax(full.reconstruction_error(cube)) < 1e-9


def test_large_offset_gives_same_ratios():
    data = mixed_cube() * 0.2
    shifted = data + 10000.0
    a, b = fit_pca(Cube.from_array(data), 5), fit_pca(Cube.from_array(shifted), 5)
    np.testing.assert_allclose(b.explained_variance_ratio_, a.explained_variance_ratio_, rtol=1e-6)
    np.testing.assert_allclose(np.abs(b.components_), np.abs(a.components_), atol=1e-6)
    assert_matches_sklearn(b, shifted.reshape(-1, 12), 5)
    # float32 storage of the offset cube: still right to float32 precision.
    c = fit_pca(Cube.from_array(shifted.astype(np.float32)), 5)
    np.testing.assert_allclose(c.explained_variance_ratio_, a.explained_variance_ratio_, rtol=2e-3)


def test_float32_cube_close_to_float64():
    data = mixed_cube(rows=300, cols=200)
    a = fit_pca(Cube.from_array(data), 4)
    b = fit_pca(Cube.from_array(data.astype(np.float32)), 4)
    np.testing.assert_allclose(b.explained_variance_ratio_, a.explained_variance_ratio_, rtol=1e-5)


def test_nan_nodata_and_mask_are_left_out():
    data = mixed_cube()
    spoiled = data.copy()
    spoiled[0, 0, 3] = np.nan
    spoiled[5, 5, :] = np.nan
    mask = np.ones((40, 30), bool)
    mask[30:, :] = False
    result = fit_pca(Cube.from_array(spoiled), 3, mask=mask)
    keep = mask.copy()
    keep[0, 0] = keep[5, 5] = False
    assert result.n_samples_ == keep.sum()
    assert_matches_sklearn(result, data[keep], 3)
    scores = result.transform(Cube.from_array(spoiled))
    assert np.isnan(scores[0, 0]).all() and np.isnan(scores[5, 5]).all() and np.isfinite(scores[35, 3]).all()

    ints = np.round(data * 100 + 5000).astype(np.int16)
    ints[2, 2, :] = -9999
    result = fit_pca(Cube.from_array(ints, nodata=-9999), 3)
    assert result.n_samples_ == 40 * 30 - 1


def test_bad_bands_are_left_out():
    data = mixed_cube()
    data[:, :, 7] = np.nan
    bad = np.zeros(12, bool)
    bad[7] = True
    result = fit_pca(Cube.from_array(data, bad_bands=bad), 3)
    assert 7 not in result.bands_ and result.components_.shape == (3, 11)
    assert_matches_sklearn(result, np.delete(data, 7, axis=2).reshape(-1, 11), 3)


def test_explained_variance_on_other_data():
    data = mixed_cube()
    cube = Cube.from_array(data)
    region = np.zeros((40, 30), bool)
    region[:20] = True
    fitted = fit_pca(cube, 3, mask=region)
    # On the fitted pixels it reproduces the fitted ratios.
    np.testing.assert_allclose(fitted.explained_variance_on(cube, region), fitted.explained_variance_ratio_, rtol=1e-9)
    # Elsewhere: variance of the projections over the other data's total variance.
    other = data[~region]
    projected = (other - fitted.mean_) @ fitted.components_.T
    expected = projected.var(axis=0, ddof=1) / other.var(axis=0, ddof=1).sum()
    np.testing.assert_allclose(fitted.explained_variance_on(cube, ~region), expected, rtol=1e-9)


def test_streaming_in_small_chunks_equals_one_pass(monkeypatch):
    import cubescope.pca as module
    import cubescope.stats as stats

    data = mixed_cube(rows=64, cols=50)
    whole = fit_pca(Cube.from_array(data), 4)
    monkeypatch.setattr(stats, "_CHUNK_BYTES", 50 * 12 * 8 * 3)  # 3 rows a chunk
    monkeypatch.setattr(stats, "_BLOCK", 37)  # in the moments' pass
    monkeypatch.setattr(module, "_BLOCK", 37)  # and in the projection
    chunked = fit_pca(Cube.from_array(data), 4)
    np.testing.assert_allclose(chunked.explained_variance_, whole.explained_variance_, rtol=1e-12)
    np.testing.assert_allclose(
        chunked.transform(Cube.from_array(data)), whole.transform(Cube.from_array(data)), atol=1e-10
    )


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: (np.full((5, 5, 4), np.nan), 2), "at least two pixels"),
        (lambda: (np.ones((5, 5, 4)), 2), "constant"),
        (lambda: (mixed_cube(), 13), "between 1 and 12"),
    ],
)
def test_errors(make, message):
    data, k = make()
    with pytest.raises(CubeError, match=message):
        fit_pca(Cube.from_array(data), k)


def test_moments_match_numpy():
    data = mixed_cube(offset=123.0)
    moments = pixel_moments(Cube.from_array(data))
    pixels = data.reshape(-1, 12)
    np.testing.assert_allclose(moments.covariance, np.cov(pixels, rowvar=False), rtol=1e-10)
    np.testing.assert_allclose(moments.mean, pixels.mean(axis=0), rtol=1e-12)


def test_pca_work_is_bounded_by_the_cube_shape():
    from cubescope import Cube
    from cubescope.pca import MAX_FEATURES, fit_pca

    cube = Cube.from_array(np.random.default_rng(0).random((10, 20, 10000)).astype("f4"))  # 8 MB, legal
    with pytest.raises(CubeError, match="up to 2,000 bands"):  # refused before any covariance is formed
        fit_pca(cube, 3)
    assert fit_pca(Cube.from_array(np.random.default_rng(0).random((10, 20, MAX_FEATURES)).astype("f4")), 2)
