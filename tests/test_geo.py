"""Georeferencing: ENVI map info (rotation), GeoTIFF tags, swaths, and exports that keep it (issue 15)."""

import math

import numpy as np
import pytest
from pyproj import Transformer

from cubescope import Cube, CubeError, export, load_cube
from cubescope.geo import Georef, from_envi
from tests.writers import write_envi


def utm(x, y, crs="EPSG:32611"):
    return Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)


def test_envi_map_info_north_up_pixel_centres():
    header = {"map info": ["UTM", "1.000", "1.000", "724522.127", "4074620.759", "1.1", "1.1", "11", "North",
                           "WGS-84", "units=Meters"]}
    geo = from_envi(header, 10, 20)
    assert geo.crs == "EPSG:32611"
    lon, lat = geo.lonlat(0, 0)
    assert (lon, lat) == pytest.approx(utm(724522.127 + 0.55, 4074620.759 - 0.55), abs=1e-10)
    lon, lat = geo.lonlat(9, 19)
    assert (lon, lat) == pytest.approx(utm(724522.127 + 19.5 * 1.1, 4074620.759 - 9.5 * 1.1), abs=1e-10)


def test_envi_rotation_follows_gdal():
    """AVIRIS-NG headers carry rotation=; GDAL's ENVI driver turns the grid by -rotation:
    gt = (E, cos(t) dx, -sin(t) dx, N, -sin(t) dy, -cos(t) dy), t = -rotation in radians."""
    header = {"map info": ["UTM", "1", "1", "500000.0", "4000000.0", "2.0", "3.0", "11", "North", "WGS-84",
                           "units=Meters", "rotation=75.0"]}
    geo = from_envi(header, 5, 6)
    t = math.radians(-75.0)
    expected = (500000.0, math.cos(t) * 2, -math.sin(t) * 2, 4000000.0, -math.sin(t) * 3, -math.cos(t) * 3)
    assert geo.geotransform == pytest.approx(expected)
    row, col = 4, 5
    x = expected[0] + (col + 0.5) * expected[1] + (row + 0.5) * expected[2]
    y = expected[3] + (col + 0.5) * expected[4] + (row + 0.5) * expected[5]
    assert geo.lonlat(row, col) == pytest.approx(utm(x, y), abs=1e-10)
    # And back: the pixel under that point.
    assert tuple(int(v) for v in geo.pixel_at(*geo.lonlat(row, col))) == (row, col)


def test_envi_without_usable_map_info_is_not_georeferenced(tmp_path):
    assert from_envi({"map info": ["Arbitrary", "1", "1", "0", "0", "1", "1"]}, 3, 3) is None
    assert from_envi({}, 3, 3) is None
    write_envi(tmp_path, np.zeros((4, 5, 3), np.float32), name="lab")
    cube = load_cube(tmp_path / "lab.hdr")
    assert cube.geo is None and cube.crs is None
    with pytest.raises(CubeError, match="not georeferenced"):
        cube.lonlat(0, 0)


def test_swath_pixel_at_finds_the_nearest_centre_and_refuses_far_points():
    lon, lat = np.meshgrid(np.linspace(179.9, 180.1, 9), np.linspace(10.0, 9.9, 7))
    geo = Georef(7, 9, lonlat=np.stack([lon, lat]))  # across the antimeridian
    assert geo.lonlat(3, 8)[0] == pytest.approx(-179.9)
    for r, c in [(0, 0), (3, 4), (6, 8), (2, 7)]:
        assert tuple(int(v) for v in geo.pixel_at(*geo.lonlat(r, c))) == (r, c)
    assert tuple(int(v) for v in geo.pixel_at(0.0, 0.0)) == (-1, -1)


def test_georeferencing_checks_its_inputs():
    with pytest.raises(CubeError, match="6 finite"):
        Georef(2, 2, crs="EPSG:4326", geotransform=(0, 1, 0, 0, 0))
    with pytest.raises(CubeError, match="zero pixel size"):
        Georef(2, 2, crs="EPSG:4326", geotransform=(0, 0, 0, 0, 0, 0))
    with pytest.raises(CubeError, match="could not be understood"):
        Georef(2, 2, crs="EPSG:99999999", geotransform=(0, 1, 0, 0, 0, -1))
    with pytest.raises(CubeError, match="outside the globe"):
        Georef(1, 1, lonlat=np.array([[[0.0]], [[95.0]]]))
    with pytest.raises(CubeError, match="georeferencing is for a 3 x 2 image"):
        Cube(np.zeros((2, 3, 3), np.float32), geo=Georef(3, 2, crs="EPSG:4326", geotransform=(0, 1, 0, 0, 0, -1)))


@pytest.mark.parametrize("rotation", [0.0, 12.5])
def test_envi_export_keeps_map_info_fwhm_and_band_names(tmp_path, rotation):
    t = math.radians(-rotation)
    gt = (440000.0, math.cos(t) * 5, -math.sin(t) * 5, 3750000.0, -math.sin(t) * 5, -math.cos(t) * 5)
    geo = Georef(6, 4, crs="EPSG:32611", geotransform=gt)
    data = np.arange(3 * 6 * 4, dtype=np.float32).reshape(3, 6, 4)
    header, _ = export.to_envi(data, tmp_path, "scene", wavelengths=[450.0, 550.0, 650.0], wavelength_units="nm",
                               fwhm=[10.0, 11.0, 12.0], band_names=["blue, wide", "green", "red"], geo=geo)
    text = header.read_text()
    assert "map info = {UTM" in text and "coordinate system string" in text
    assert ("rotation=" in text) == bool(rotation)
    cube = load_cube(header)
    assert cube.geotransform == pytest.approx(gt, abs=1e-6)
    assert cube.lonlat(5, 3) == pytest.approx(geo.lonlat(5, 3), abs=1e-10)
    np.testing.assert_allclose(cube.fwhm, [10.0, 11.0, 12.0])
    assert cube.metadata["band names"] == ["blue; wide", "green", "red"]


def test_geotiff_export_keeps_crs_and_transform(tmp_path):
    geo = Georef(5, 7, crs="EPSG:32633", geotransform=(380000.0, 30.0, 0.0, 5810000.0, 0.0, -30.0))
    data = np.linspace(-1, 1, 2 * 5 * 7, dtype=np.float32).reshape(2, 5, 7)
    data[0, 0, 0] = np.nan
    path = tmp_path / "pc.tif"
    path.write_bytes(export.to_tiff(data, wavelengths=[1.0, 2.0], wavelength_units="index", geo=geo))
    cube = load_cube(path)
    assert cube.geo == geo
    assert np.isnan(cube.band(0)[0, 0]) and np.nanmin(cube.band(0)) < 0


def test_geotiff_export_of_a_swath_names_its_corners(tmp_path):
    lon, lat = np.meshgrid(np.linspace(-75, -74, 3), np.linspace(35, 34, 2))
    geo = Georef(2, 3, lonlat=np.stack([lon, lat]))
    path = tmp_path / "swath.tif"
    path.write_bytes(export.to_tiff(np.zeros((2, 3), np.float32), geo=geo))
    import json

    import rasterio

    with rasterio.open(path) as ds:
        assert ds.crs is None  # no GeoKeys: a swath is no grid
        assert json.loads(ds.tags()["corner_lonlat"])[0] == [-75.0, 35.0]


def test_spectra_csv_carries_lon_lat_of_pins():
    text = export.spectra_to_csv({"(1, 2)": np.array([0.1, 0.2])}, np.array([400.0, 500.0]), "nm",
                                 locations={"(1, 2)": (-118.25, 34.05)}).decode()
    lines = text.splitlines()
    assert lines[1] == "longitude,,-118.25" and lines[2] == "latitude,,34.05"
    assert lines[3].startswith("0,400.0,0.1")


BROKEN_CSS = ('{PROJCS["UTM_Zone_10N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",637813.0,'
              '298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION['
              '"Transverse_Mercator"],PARAMETER["False_Easting",50000.0],PARAMETER["False_Northing",0.0],'
              'PARAMETER["Central_Meridian",-123.0],PARAMETER["Scale_Factor",0.9996],PARAMETER['
              '"Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]}')


def test_a_broken_coordinate_system_string_falls_back_to_map_info(tmp_path):
    """A real airborne header: a coordinate system string on an ellipsoid of 637813 m (pyproj and
    GDAL refuse to relate it to WGS84) beside a sound map info. The cube is placed by its map
    info, says so, and every coordinate call works."""
    extra = ("map info = {UTM, 1.000, 1.000, 500000.000, 3800000.000, 2.0, 2.0, 10, North, WGS-84, units=Meters}\n"
             f"coordinate system string = {BROKEN_CSS}\n")
    write_envi(tmp_path, np.ones((6, 8, 3), np.float32), name="f140603t01p00r08", extra=extra)
    cube = load_cube(tmp_path / "f140603t01p00r08.hdr")
    assert cube.crs == "EPSG:32610"
    assert cube.lonlat(0, 0) == pytest.approx(utm(500001.0, 3799999.0, "EPSG:32610"), abs=1e-10)
    assert "coordinate system string could not be used" in cube.summary()
    assert "placed by its map info" in cube.geo.describe()
    assert tuple(int(v) for v in cube.geo.pixel_at(*cube.lonlat(5, 7))) == (5, 7)
    # The note survives the store.
    from cubescope.store import CubeStore

    store = CubeStore(tmp_path / "store")
    cube_id = store.put_path(tmp_path / "f140603t01p00r08.hdr", "0" * 32)
    assert "placed by its map info" in store.open(cube_id).summary()


def test_a_cube_with_nothing_usable_to_place_it_opens_without_a_place(tmp_path):
    extra = ("map info = {UTM, 1.000, 1.000, 500000.000, 3800000.000, 2.0, 2.0, 10, North, Unknown datum}\n"
             f"coordinate system string = {BROKEN_CSS}\n")
    write_envi(tmp_path, np.ones((6, 8, 3), np.float32), name="scene", extra=extra)
    cube = load_cube(tmp_path / "scene.hdr")
    assert cube.geo is None
    assert "not placed on the Earth" in cube.summary()
    with pytest.raises(CubeError):
        cube.lonlat(0, 0)


def test_a_grid_that_lands_off_the_globe_is_refused_when_built():
    with pytest.raises(CubeError, match="does not land on the Earth"):
        Georef(10, 10, crs="EPSG:4326", geotransform=(500000.0, 1.0, 0.0, 4000000.0, 0.0, -1.0))
