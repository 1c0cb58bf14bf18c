import csv
import io

import numpy as np
import pytest

from cubescope import Cube, CubeError
from cubescope.demo import demo_cube
from cubescope.geo import Georef
from cubescope.transect import MAX_PIXELS, line_pixels, transect, transect_csv
from tests.writers import sample_cube


def _crosses(pixel, start, end) -> bool:
    """Whether the segment between the centres of start and end passes through the square of
    ``pixel`` (sides half a pixel from its centre), not only touching a corner."""
    (r0, c0), (r1, c1) = np.asarray(start, float), np.asarray(end, float)
    t = np.linspace(0, 1, 20001)
    rows, cols = r0 + t * (r1 - r0), c0 + t * (c1 - c0)
    inside = (np.abs(rows - pixel[0]) < 0.5 - 1e-9) & (np.abs(cols - pixel[1]) < 0.5 - 1e-9)
    return bool(inside.any())


@pytest.mark.parametrize(("start", "end"), [
    ((0, 0), (0, 9)), ((5, 5), (0, 5)), ((0, 0), (7, 7)), ((2, 1), (9, 4)), ((9, 3), (0, 8)),
    ((4, 4), (4, 4)), ((0, 7), (13, 0)), ((3, 0), (5, 11)),
])
def test_a_line_visits_every_pixel_it_crosses_in_order_and_no_other(start, end):
    pixels = line_pixels(start, end)
    assert tuple(pixels[0]) == start and tuple(pixels[-1]) == end
    steps = np.abs(np.diff(pixels, axis=0))
    assert (steps.max(axis=1) == 1).all()  # neighbours, each pixel once
    assert len({tuple(p) for p in pixels.tolist()}) == len(pixels)
    lo, hi = np.minimum(start, end), np.maximum(start, end)
    box = [(r, c) for r in range(lo[0], hi[0] + 1) for c in range(lo[1], hi[1] + 1)]
    assert {tuple(p) for p in pixels.tolist()} == {p for p in box if _crosses(p, start, end)} | {start, end}
    # In order from the start: the distance of each visited pixel from the start never drops by
    # more than a pixel's diagonal.
    along = (pixels - start) @ (np.subtract(end, start) / max(np.hypot(*np.subtract(end, start)), 1))
    assert (np.diff(along) > -1).all()


def test_the_spectra_are_the_pixels_own_and_the_profile_a_band_of_them():
    cube = demo_cube()
    line = transect(cube, (10, 20), (150, 200))
    assert line.unit == "m"  # the demo scene lies on a UTM grid
    for (row, col), spectrum in zip(line.pixels, line.spectra, strict=True):
        np.testing.assert_array_equal(spectrum, cube.spectrum(row, col))
    np.testing.assert_array_equal(line.profile(40), cube.band(40)[line.pixels[:, 0], line.pixels[:, 1]])


def test_distances_are_metres_on_the_ground_and_pixels_without_georeferencing():
    array = sample_cube(rows=20, cols=30, bands=4, dtype="f4")
    geo = Georef(20, 30, crs="EPSG:32633", geotransform=(380000.0, 30.0, 0.0, 5810000.0, 0.0, -30.0))
    placed = transect(Cube.from_array(array, geo=geo), (0, 0), (0, 29))
    # 29 pixels of 30 m east along a UTM row: 870 m (grid scale near the central meridian ~0.9996).
    assert placed.distance[-1] == pytest.approx(870, rel=2e-3)
    assert np.all(np.diff(placed.distance) > 0)
    plain = transect(Cube.from_array(array), (0, 0), (12, 16))
    assert plain.unit == "pixels" and plain.distance[-1] == pytest.approx(20.0)


def test_a_line_through_pixels_without_a_location_is_measured_in_pixels():
    array = sample_cube(rows=10, cols=12, bands=3, dtype="f4")
    lon, lat = np.meshgrid(np.linspace(10, 10.1, 12), np.linspace(45.1, 45, 10))
    lon[0, 0] = lat[0, 0] = np.nan  # the swath's corner has no location
    cube = Cube.from_array(array, geo=Georef(10, 12, lonlat=np.stack([lon, lat])))
    through = transect(cube, (0, 0), (9, 11))
    assert through.unit == "pixels" and np.isfinite(through.distance).all()
    assert through.distance[-1] == pytest.approx(np.hypot(9, 11))
    placed = transect(cube, (1, 1), (1, 11))
    east = np.radians(0.1 * 10 / 11) * 6378137 * np.cos(np.radians(lat[1, 1]))  # along a parallel, spherical
    assert placed.unit == "m" and placed.distance[-1] == pytest.approx(east, rel=0.01)


def test_the_csv_holds_row_col_distance_place_and_one_column_per_band():
    cube = demo_cube()
    line = transect(cube, (100, 10), (100, 14))
    rows = list(csv.reader(io.StringIO(transect_csv(line, cube).decode())))
    assert rows[0][:5] == ["row", "col", "distance (m)", "longitude", "latitude"]
    assert len(rows[0]) == 5 + cube.n_bands and rows[0][5].endswith(" nm")
    assert [r[:2] for r in rows[1:]] == [["100", str(c)] for c in range(10, 15)]
    lon, lat = cube.lonlat(100, 12)
    assert float(rows[3][3]) == pytest.approx(lon) and float(rows[3][4]) == pytest.approx(lat)
    np.testing.assert_allclose([float(v) for v in rows[3][5:]], cube.spectrum(100, 12), rtol=1e-6)


def test_nan_samples_are_empty_fields_and_a_plain_cube_has_no_place_columns():
    array = sample_cube(rows=6, cols=6, bands=3, dtype="f4")
    array[2, 2, 1] = np.nan
    cube = Cube.from_array(array)
    text = transect_csv(transect(cube, (0, 0), (5, 5)), cube).decode().splitlines()
    assert text[0] == "row,col,distance (pixels),band 0,band 1,band 2"
    assert text[3].split(",")[:2] == ["2", "2"] and text[3].split(",")[4] == ""


def test_a_line_outside_the_image_or_too_long_is_a_message():
    cube = Cube.from_array(sample_cube(rows=6, cols=6, bands=3, dtype="f4"))
    with pytest.raises(CubeError, match="outside the 6 x 6 image"):
        transect(cube, (0, 0), (6, 2))
    wide = Cube.from_array(np.zeros((1, MAX_PIXELS + 1, 1), np.float32))
    with pytest.raises(CubeError, match="shorter line"):
        transect(wide, (0, 0), (0, MAX_PIXELS))
