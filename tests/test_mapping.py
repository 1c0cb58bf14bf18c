"""Placing cubes on a Web Mercator map (issue 15)."""

import numpy as np
import pytest
from pyproj import Transformer

from cubescope import CubeError
from cubescope.geo import Georef
from cubescope.mapping import from_mercator, mercator_grid, to_mercator


def test_mercator_formulas_equal_pyproj():
    lon, lat = np.array([-118.25, 0.0, 13.4, 179.9]), np.array([34.05, 0.0, 52.5, -60.0])
    x, y = to_mercator(lon, lat)
    ex, ey = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(x, ex, atol=1e-6)
    np.testing.assert_allclose(y, ey, atol=1e-6)
    np.testing.assert_allclose(np.column_stack(from_mercator(x, y)), np.column_stack([lon, lat]), atol=1e-10)


@pytest.mark.parametrize("geo", [
    Georef(40, 60, crs="EPSG:32633", geotransform=(380000.0, 30.0, 0.0, 5810000.0, 0.0, -30.0)),
    Georef(40, 60, crs="EPSG:32611", geotransform=(724522.1, 1.06, 0.28, 4074620.8, 0.28, -1.06)),
])
def test_each_map_cell_shows_the_pixel_under_its_centre(geo):
    grid = mercator_grid(geo, max_side=256)
    h, w = grid.shape
    west, south, east, north = grid.bounds
    size = (east - west) / w
    assert (north - south) / h == pytest.approx(size)
    ii, jj = np.mgrid[0:h, 0:w]
    lon, lat = from_mercator(west + (jj + 0.5) * size, north - (ii + 0.5) * size)
    rows, cols = geo.pixel_at(lon, lat)
    np.testing.assert_array_equal(grid.rows, rows)
    np.testing.assert_array_equal(grid.cols, cols)
    assert grid.inside.mean() > 0.5  # the scene fills the grid, not a corner of it
    # Every pixel of the image is shown somewhere (about a cell per pixel).
    assert len(set(zip(grid.rows[grid.inside], grid.cols[grid.inside], strict=True))) > 0.8 * 40 * 60


def test_warp_takes_values_by_index_and_leaves_outside_nan():
    geo = Georef(4, 5, crs="EPSG:4326", geotransform=(10.0, 0.01, 0.0, 45.0, 0.0, -0.01))
    grid = mercator_grid(geo, max_side=64)
    image = np.arange(20, dtype=np.float32).reshape(4, 5)
    warped = grid.warp(image)
    inside = grid.inside
    np.testing.assert_array_equal(warped[inside], image[grid.rows[inside], grid.cols[inside]])
    assert np.isnan(warped[~inside]).all()


def test_polar_and_antimeridian_scenes_are_refused_with_a_reason():
    lon, lat = np.meshgrid(np.linspace(-10, 10, 5), np.linspace(89.5, 88.5, 4))
    with pytest.raises(CubeError, match="latitudes"):
        mercator_grid(Georef(4, 5, lonlat=np.stack([lon, lat])))
    lon, lat = np.meshgrid(np.linspace(179.9, 180.1, 5), np.linspace(10, 9.9, 4))
    with pytest.raises(CubeError, match="antimeridian"):
        mercator_grid(Georef(4, 5, lonlat=np.stack([lon, lat])))


@pytest.mark.parametrize("geo", [
    Georef(40, 60, crs="EPSG:32633", geotransform=(380000.0, 30.0, 0.0, 5810000.0, 0.0, -30.0)),
    # A bent swath (issue 24: the readout named row 18 but gave a place 0.31 px from row 17's centre).
    Georef(30, 40, lonlat=np.stack(np.meshgrid(np.linspace(-118.3, -118.0, 40), np.linspace(34.2, 34.0, 30)))
           + np.array([0.02, 0.0])[:, None, None] * np.sin(np.linspace(0, 3, 30))[None, :, None]),
])
def test_each_cell_carries_the_centre_of_the_pixel_it_shows(geo):
    grid = mercator_grid(geo, max_side=128)
    inside = grid.inside
    lon, lat = geo.lonlat(grid.rows[inside], grid.cols[inside])
    np.testing.assert_allclose(grid.origin[0] + grid.centres[0][inside].astype(np.float64), lon, rtol=0, atol=2e-7)
    np.testing.assert_allclose(grid.origin[1] + grid.centres[1][inside].astype(np.float64), lat, rtol=0, atol=2e-7)
    assert np.isnan(grid.centres[:, ~inside]).all()
