"""Chunked and Dask paths give the in-memory results (issue 9)."""

import numpy as np
import pytest

from cubescope import Cube, pca, smoothing, stats
from cubescope.store import CubeStore

dask = pytest.importorskip("dask")
from cubescope import dask_arrays  # noqa: E402


def scene(rows=37, cols=23, bands=30, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    spectra = np.cumsum(rng.normal(size=(4, bands)), axis=1)
    abundances = rng.random((rows, cols, 4))
    cube = abundances @ spectra + rng.normal(0, 0.05, (rows, cols, bands)) + 1000.0  # an offset, too
    return cube.astype(dtype)


def nodata_cube():
    values = scene()
    values[3, 4, :] = -9999.0
    values[10, 2, 5] = np.nan
    bad = np.zeros(values.shape[2], bool)
    bad[[0, 17]] = True
    return Cube.from_array(
        values, wavelengths=np.linspace(400, 1000, values.shape[2]) ** 1.05, nodata=-9999.0, bad_bands=bad
    )


def assert_same_pca(a, b, rtol=1e-9, atol=1e-7):
    np.testing.assert_allclose(a.explained_variance_, b.explained_variance_, rtol=rtol)
    np.testing.assert_allclose(a.mean_, b.mean_, rtol=rtol)
    np.testing.assert_allclose(np.abs(a.components_ @ b.components_.T), np.eye(a.n_components_), atol=atol)
    np.testing.assert_allclose(a.components_, b.components_, atol=atol)  # same sign convention
    assert a.n_samples_ == b.n_samples_


def test_many_small_chunks_equal_one_chunk(monkeypatch):
    cube = nodata_cube()
    whole = pca.fit_pca(cube, 4)
    whole_smooth = smoothing.savgol_cube(cube, 7, 2, 1, use_wavelengths=True)
    monkeypatch.setattr(stats, "_CHUNK_BYTES", 1)  # one row per chunk
    monkeypatch.setattr(stats, "_BLOCK", 5)  # five pixels per block, in the moments' pass
    monkeypatch.setattr(pca, "_BLOCK", 5)  # and in the projection
    chunked = pca.fit_pca(cube, 4)
    assert_same_pca(chunked, whole)
    np.testing.assert_allclose(chunked.transform(cube), whole.transform(cube), rtol=1e-9, atol=1e-9)
    rowwise = smoothing.savgol_cube(cube, 7, 2, 1, use_wavelengths=True, max_chunk_bytes=1)
    # BLAS may sum a different number of pixels in another order: equal to rounding (data ~1000).
    np.testing.assert_allclose(np.asarray(rowwise.bsq), np.asarray(whole_smooth.bsq), rtol=0, atol=1e-12)


def test_threaded_dask_equals_in_memory():
    cube = nodata_cube()
    good = np.flatnonzero(cube.good_bands)
    array = dask_arrays.from_cube(cube, rows_per_chunk=6)
    expected = pca.fit_pca(cube, 5)
    result = dask_arrays.fit_pca(array, 5, bands=good, nodata=cube.nodata)
    assert_same_pca(result, expected)
    (scores,) = dask_arrays.compute(dask_arrays.transform(result, array, nodata=cube.nodata))
    np.testing.assert_allclose(np.moveaxis(scores, 0, 2), expected.transform(cube), rtol=1e-8, atol=1e-8)
    assert np.isnan(scores[:, 3, 4]).all() and np.isnan(scores[:, 10, 2]).all()
    smooth = dask_arrays.savgol(
        array, 9, 3, 2, wavelengths=cube.wavelengths, bad_bands=cube.bad_bands, nodata=cube.nodata
    )
    (smoothed,) = dask_arrays.compute(smooth)
    np.testing.assert_allclose(
        smoothed, np.asarray(smoothing.savgol_cube(cube, 9, 3, 2, use_wavelengths=True).bsq), rtol=0, atol=1e-12
    )


def test_chunks_must_hold_whole_spectra():
    array = dask_arrays.from_cube(Cube.from_array(scene())).rechunk((10, 5, 5))
    with pytest.raises(Exception, match="whole spectra"):
        dask_arrays.fit_pca(array, 2)


def test_local_cluster_reads_the_store_and_agrees(tmp_path, monkeypatch):
    """A dask.distributed cluster of two worker processes, each reading its rows of the
    store's file itself; also through the configured scheduler address."""
    distributed = pytest.importorskip("distributed")
    values = scene(rows=64, cols=40, bands=24, dtype=np.float32, seed=4)
    store = CubeStore(tmp_path / "store")
    cube_id = store.put(Cube.from_array(values), "e" * 32)
    cube = store.open(cube_id)
    path = tmp_path / "store" / "objects" / cube_id / "data.npy"
    expected = pca.fit_pca(cube, 3)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        monkeypatch.setenv("CUBESCOPE_DASK_SCHEDULER", cluster.scheduler_address)
        try:
            array = dask_arrays.from_npy(path, rows_per_chunk=9)
            result = dask_arrays.fit_pca(array, 3)
            # float32 cube: products are formed in float32 inside a block (~1e-6 relative)
            assert_same_pca(result, expected, rtol=1e-6, atol=1e-5)
            (scores, smoothed) = dask_arrays.compute(
                dask_arrays.transform(result, array), dask_arrays.savgol(array, 5, 2)
            )
            client = dask_arrays._client(cluster.scheduler_address)
            assert len(client.scheduler_info()["workers"]) == 2
        finally:
            dask_arrays._client(cluster.scheduler_address).close()
            dask_arrays._client.cache_clear()
    np.testing.assert_allclose(np.moveaxis(scores, 0, 2), expected.transform(cube), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(smoothed, np.asarray(smoothing.savgol_cube(cube, 5, 2).bsq), rtol=1e-6, atol=1e-5)


def test_scaled_cube_gives_physical_values_on_the_dask_path():
    rng = np.random.default_rng(4)
    stored = rng.integers(0, 4000, (12, 10, 7)).astype("i2")
    stored[0, 0, :] = -9999
    gain = np.linspace(1e-4, 3e-4, 7)
    cube = Cube.from_array(stored, gain=gain, nodata=-9999)
    array = dask_arrays.from_cube(cube, rows_per_chunk=5)
    np.testing.assert_allclose(array.compute(), cube.plane(np.asarray(cube.bsq)), rtol=1e-6, equal_nan=True)
    fitted = dask_arrays.fit_pca(array, 3)
    np.testing.assert_allclose(fitted.explained_variance_, pca.fit_pca(cube, 3).explained_variance_, rtol=1e-4)


def test_band_math_continuum_and_angles_on_dask_equal_in_memory():
    from cubescope import band_math, continuum_removed, spectral_angles

    cube = nodata_cube()
    array = dask_arrays.from_cube(cube, rows_per_chunk=5)
    for expression in ("b5 / b9", "(b3 - b17) / 2"):  # b17 is a bad band: NaN everywhere
        lazy = dask_arrays.band_math(array, cube, expression)
        np.testing.assert_allclose(dask_arrays.compute(lazy)[0], band_math(cube, expression), equal_nan=True)
    wavelengths = cube.wavelengths
    removed = dask_arrays.continuum_removed(array, wavelengths, bad_bands=cube.bad_bands, nodata=cube.nodata)
    expected = continuum_removed(cube, wavelengths)
    np.testing.assert_allclose(np.moveaxis(dask_arrays.compute(removed)[0], 0, -1), expected, rtol=1e-12,
                               equal_nan=True)
    refs = np.random.default_rng(2).random((3, cube.n_bands))
    angles = dask_arrays.spectral_angles(array, refs, bands=cube.good_bands, nodata=cube.nodata)
    np.testing.assert_allclose(np.moveaxis(dask_arrays.compute(angles)[0], 0, -1), spectral_angles(cube, refs),
                               rtol=1e-10, equal_nan=True)


def test_mnf_and_unmixing_on_dask_equal_in_memory():
    from cubescope.mnf import mnf
    from cubescope.unmixing import unmix

    cube = nodata_cube()
    array = dask_arrays.from_cube(cube, rows_per_chunk=6)
    good = np.flatnonzero(cube.good_bands)
    ours = dask_arrays.fit_mnf(array, 4, bands=good, nodata=cube.nodata)
    expected = mnf(cube, 4)
    np.testing.assert_allclose(ours.all_eigenvalues_, expected.all_eigenvalues_, rtol=1e-9)
    np.testing.assert_allclose(ours.components_, expected.components_, rtol=1e-7, atol=1e-10)
    ends = np.random.default_rng(5).random((3, cube.n_bands)) * 1000
    lazy = dask_arrays.unmix(array, ends, bands=cube.good_bands, nodata=cube.nodata)
    np.testing.assert_allclose(np.moveaxis(dask_arrays.compute(lazy)[0], 0, -1), unmix(cube, ends), rtol=1e-9,
                               equal_nan=True)


def test_detectors_and_classifier_on_dask_equal_the_in_memory_ones():
    from cubescope import classify, detect

    cube = nodata_cube()
    good = np.flatnonzero(cube.good_bands)
    import dask.array

    array = dask.array.from_array(np.asarray(cube.bsq), chunks=(cube.n_bands, 8, 23))
    stats = dask_arrays.background(array, bands=good, nodata=-9999.0)
    np.testing.assert_allclose(stats.covariance, detect.background(cube).covariance, rtol=1e-9)
    np.testing.assert_allclose(dask_arrays.rx(array, stats=stats, nodata=-9999.0).compute(), detect.rx(cube),
                               rtol=1e-9, equal_nan=True)
    target = cube.spectrum(20, 7) + 0.1
    target[cube.bad_bands] = np.nan  # the target has no value at the bad bands: they are left out
    for lazy, eager in ((dask_arrays.matched_filter, detect.matched_filter), (dask_arrays.ace, detect.ace)):
        np.testing.assert_allclose(lazy(array, target, nodata=-9999.0).compute(), eager(cube, target),
                                   rtol=1e-8, atol=1e-10, equal_nan=True)
    labels = np.zeros((cube.rows, cube.cols), int)
    labels[:10] = 1
    labels[25:] = 2
    model = classify.fit_classifier(cube, labels, "sam")
    np.testing.assert_array_equal(dask_arrays.classify(model, array, nodata=-9999.0).compute(), model.predict(cube))
