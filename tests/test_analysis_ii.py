"""Analysis II (issue 17): MNF against Spectral Python, unmixing against scipy, k-means, ROIs."""

import numpy as np
import pytest
import spectral
from scipy.optimize import minimize, nnls

from cubescope import Cube, CubeError
from cubescope.cluster import kmeans
from cubescope.geo import Georef
from cubescope.mnf import mnf
from cubescope.pca import fit_pca
from cubescope.roi import ROI, decode_rois, encode_rois, from_geojson, polygon_mask, roi_stats, to_geojson
from cubescope.unmixing import atgp, residual_error, unmix

RNG = np.random.default_rng(17)


def smooth_abundances(rows, cols, n=4):
    """Abundances that vary smoothly across the image, as land cover does (neighbouring pixels
    alike: the premise of noise from neighbour differences)."""
    r, c = np.mgrid[0:rows, 0:cols] / max(rows, cols)
    weights = np.stack([np.exp(np.sin(2 * np.pi * (f * r + g * c) + phase))
                        for f, g, phase in RNG.uniform(0.3, 1.2, (n, 3))], axis=-1)
    return weights / weights.sum(axis=-1, keepdims=True)


def mixed_scene(rows=40, cols=36, bands=30, noise=None, smooth=False):
    ends = np.abs(np.cumsum(RNG.normal(size=(4, bands)), axis=1)) + 0.5
    abundances = smooth_abundances(rows, cols) if smooth else RNG.dirichlet(np.ones(4), size=(rows, cols))
    clean = abundances @ ends
    if noise is None:
        return clean, ends, abundances
    return clean + RNG.normal(size=clean.shape) * noise, ends, abundances


# ---------------------------------------------------------------------- MNF
def test_mnf_eigenvalues_and_scores_equal_spectral_python():
    data, _, _ = mixed_scene(noise=np.linspace(0.01, 0.3, 30))
    ours = mnf(Cube.from_array(data), 6)
    theirs = spectral.mnf(spectral.calc_stats(data), spectral.noise_from_diffs(data, direction="right"))
    np.testing.assert_allclose(ours.all_eigenvalues_, theirs.napc.eigenvalues, rtol=1e-9)
    np.testing.assert_allclose(ours.snr_, ours.eigenvalues_ - 1)
    scores = ours.transform(Cube.from_array(data))
    reduced = theirs.reduce(data, num=6)
    np.testing.assert_allclose(np.abs(scores), np.abs(reduced), rtol=1e-7, atol=1e-9)  # signs are a convention


def test_mnf_first_component_has_more_snr_than_pca_with_band_dependent_noise():
    sigma = np.r_[np.full(25, 0.005), np.full(5, 3.0)]
    clean, _, _ = mixed_scene(rows=60, cols=60, smooth=True)
    data = clean + RNG.normal(size=clean.shape) * sigma
    cube = Cube.from_array(data)
    first_mnf = mnf(cube, 3).components_[0]
    first_pca = fit_pca(cube, 3).components_[0]
    signal, noise = np.cov(clean.reshape(-1, 30).T), np.diag(sigma ** 2)  # the true ones

    def snr(w):
        return (w @ signal @ w) / (w @ noise @ w)

    assert snr(first_mnf) > 100 * snr(first_pca)  # PCA's first axis follows the noisy bands


def test_mnf_inverse_with_all_components_is_exact_and_fewer_reduce_noise():
    clean, _, _ = mixed_scene(smooth=True)
    noisy = clean + RNG.normal(size=clean.shape) * 0.05
    cube = Cube.from_array(noisy)
    full = mnf(cube, 30)
    np.testing.assert_allclose(full.inverse_transform(full.transform(cube)), noisy, atol=1e-8)
    few = mnf(cube, 4)
    denoised = few.inverse_transform(few.transform(cube))
    assert np.sqrt(np.mean((denoised - clean) ** 2)) < 0.5 * np.sqrt(np.mean((noisy - clean) ** 2))


def test_mnf_refuses_a_noiseless_band():
    data, _, _ = mixed_scene(noise=0.01)
    data[..., 3] = 1.0
    with pytest.raises(CubeError, match="no pixel-to-pixel noise"):
        mnf(Cube.from_array(data), 2)


# ---------------------------------------------------------------------- unmixing
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


# ---------------------------------------------------------------------- k-means
def test_kmeans_separates_planted_classes_reproducibly():
    rows, cols, bands = 30, 40, 12
    centres = RNG.random((3, bands)) * 5
    truth = RNG.integers(0, 3, (rows, cols))
    data = centres[truth] + RNG.normal(size=(rows, cols, bands)) * 0.05
    data[0, 0, 2] = np.nan
    cube = Cube.from_array(data)
    first, again = kmeans(cube, 3, seed=4), kmeans(cube, 3, seed=4)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert first.labels[0, 0] == -1 and first.counts.sum() == rows * cols - 1
    mapping = {int(t): int(first.labels[r, c]) for (r, c), t in np.ndenumerate(truth) if first.labels[r, c] >= 0}
    assert len(set(mapping.values())) == 3
    valid = first.labels >= 0
    agree = np.vectorize(mapping.get)(truth[valid]) == first.labels[valid]
    assert agree.all()
    np.testing.assert_allclose(np.sort(first.centers[:, 0]), np.sort(centres[:, 0]), atol=0.05)


# ---------------------------------------------------------------------- ROIs
def pnpoly(vertices, x, y):
    """W. R. Franklin's point-in-polygon test: the rasterisation reference."""
    inside = False
    n = len(vertices)
    for i in range(n):
        xi, yi = vertices[i]
        xj, yj = vertices[i - 1]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
    return inside


@pytest.mark.parametrize("vertices", [
    [(2.2, 1.7), (17.9, 4.1), (11.3, 13.6), (3.1, 11.0)],
    [(0, 0), (20, 0), (20, 15), (10, 5), (0, 15)],  # concave, edges along pixel borders
    [(5, 1), (15, 14), (5, 14), (15, 1)],  # self-intersecting bow tie: even-odd
    [(-5, -5), (30, 2), (8, 40)],  # beyond the image
])
def test_polygon_masks_equal_the_reference(vertices):
    rows, cols = 15, 20
    mask = polygon_mask(np.array(vertices, float), rows, cols)
    expected = np.array([[pnpoly(vertices, c + 0.5, r + 0.5) for c in range(cols)] for r in range(rows)])
    np.testing.assert_array_equal(mask, expected)


def test_rectangle_roi_stats_and_round_trips():
    data = RNG.random((12, 10, 5))
    data[4, 3, 1] = np.nan
    cube = Cube.from_array(data, np.linspace(400, 800, 5))
    box = ROI.rectangle("field", 2, 6, 1, 5, colour="#2ca02c", label="crop")
    np.testing.assert_array_equal(box.mask(12, 10), np.pad(np.ones((4, 4), bool), ((2, 6), (1, 5))))
    stats = roi_stats(cube, box)
    pixels = data[2:6, 1:5].reshape(-1, 5)
    pixels = pixels[np.isfinite(pixels).all(axis=1)]
    assert stats.count == 15
    np.testing.assert_allclose(stats.mean, pixels.mean(axis=0))
    np.testing.assert_allclose(stats.std, pixels.std(axis=0))
    assert decode_rois(encode_rois([box])) == [box]
    assert from_geojson(to_geojson([box])) == [ROI("field", box.vertices, colour="#2ca02c", label="crop")]


def test_geojson_in_map_coordinates_round_trips_through_the_georeferencing():
    geo = Georef(12, 10, crs="EPSG:32633", geotransform=(380000.0, 30.0, 0.0, 5810000.0, 0.0, -30.0))
    cube = Cube.from_array(RNG.random((12, 10, 3)), geo=geo)
    roi = ROI("lake", ((1.5, 2.0), (8.0, 2.5), (6.0, 9.0)))
    text = to_geojson([roi], cube)
    assert '"EPSG:4326"' in text and "13.2" in text  # longitudes 120 km west of zone 33's meridian
    back = from_geojson(text, cube)[0]
    np.testing.assert_allclose(back.points, roi.points, atol=1e-5)
    with pytest.raises(CubeError, match="georeferenced"):
        from_geojson(text, Cube.from_array(RNG.random((12, 10, 3))))


def test_a_mask_traced_into_rings_fills_back_exactly_and_round_trips():
    from cubescope.roi import mask_rings, rings_mask

    for trial in range(100):
        mask = RNG.random((RNG.integers(1, 14), RNG.integers(1, 14))) < RNG.uniform(0.1, 0.9)
        rings = mask_rings(mask)
        np.testing.assert_array_equal(rings_mask(rings, *mask.shape), mask, err_msg=str(trial))
        if not mask.any():
            continue
        roi = ROI.from_mask("class 1", mask, colour="#800000")
        for back in (from_geojson(to_geojson([roi]))[0], decode_rois(encode_rois([roi]))[0]):
            np.testing.assert_array_equal(back.mask(*mask.shape), mask)
    ring = np.zeros((7, 7), bool)
    ring[1:6, 1:6] = True
    ring[3, 3] = False  # a hole
    ring[6, 6] = True  # and a separate part touching only by a corner
    text = to_geojson([ROI.from_mask("doughnut", ring)])
    assert '"MultiPolygon"' in text
    import json

    polygons = json.loads(text)["features"][0]["geometry"]["coordinates"]
    assert sorted(len(p) for p in polygons) == [1, 2]  # the square with its hole, and the lone pixel


def test_classes_become_rois_with_their_exact_pixels():
    rows, cols, bands = 24, 30, 8
    labels = np.zeros((rows, cols), int)
    labels[5:15, 4:20] = 1
    labels[8:11, 8:12] = 2  # an island inside class 1
    data = np.stack([labels * 1.0 + b for b in range(bands)], axis=-1) + RNG.normal(0, 0.01, (rows, cols, bands))
    cube = Cube.from_array(data)
    for k in range(3):
        roi = ROI.from_mask(f"class {k}", labels == k)
        stats = roi_stats(cube, roi)
        assert stats.count == int((labels == k).sum())
        np.testing.assert_allclose(stats.mean, data[labels == k].mean(axis=0))


@pytest.mark.parametrize("text, problem", [
    ("[" * 100_000 + "]" * 100_000, "nests more than"),
    ('{"name": "' + "]" * 200 + '", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", "not JSON|nests"),
    ('{"type": "FeatureCollection", "features": 5}', "not a list"),
    ('{"type": "FeatureCollection", "features": "abc"}', "not a list"),
    ("{" * 3, "not JSON"),
    ("", "not JSON"),
    (b"\xff\xfe\x00", "not JSON"),
])
def test_hostile_geojson_gets_a_message(text, problem):
    """Issue 26 #3-5: deep nesting, features that are not a list: a message, never a traceback."""
    with pytest.raises(CubeError, match=problem):
        from_geojson(text)


@pytest.mark.parametrize("properties", ["[1]", '"x"', "5", "null"])
def test_odd_properties_are_ignored_not_fatal(properties):
    square = "[[[1, 1], [5, 1], [5, 5], [1, 5], [1, 1]]]"
    text = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": ' + properties
            + ', "geometry": {"type": "Polygon", "coordinates": ' + square + "}}]}")
    areas = from_geojson(text)
    assert len(areas) == 1 and areas[0].name == "ROI 1"
