"""ROIs: masks against a point-in-polygon reference, statistics, GeoJSON and the link."""

import numpy as np
import pytest

from cubescope import Cube, CubeError
from cubescope.geo import Georef
from cubescope.roi import ROI, decode_rois, encode_rois, from_geojson, polygon_mask, roi_stats, to_geojson
from tests.scenes import RNG


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
