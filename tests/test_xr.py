"""Cubes as xarray DataArrays for notebooks (issue 25): lazy, with wavelengths, fwhm, bad bands
and the CRS in rioxarray's convention."""

import numpy as np
import pytest
import xarray as xr

from cubescope import Cube
from cubescope.geo import Georef

RNG = np.random.default_rng(25)


def scaled_cube():
    stored = RNG.integers(0, 10000, (6, 8, 5)).astype(np.int16)
    stored[0, 0, :] = -9999
    bad = np.array([False, False, True, False, False])
    geo = Georef(6, 8, crs="EPSG:32611", geotransform=(700000.0, 5.0, 0.0, 4000000.0, 0.0, -5.0))
    return stored, Cube.from_array(stored, [450.0, 550.0, 650.0, 750.0, 850.0], wavelength_units="nm",
                                   fwhm=[10.0] * 5, bad_bands=bad, nodata=-9999, gain=1e-4,
                                   quantity="reflectance", geo=geo)


def test_to_xarray_is_lazy_scaled_and_placed():
    stored, cube = scaled_cube()
    array = cube.to_xarray()
    assert array.dims == ("band", "y", "x") and array.shape == (5, 6, 8)
    assert type(array.data).__module__.startswith("dask")  # nothing read yet
    values = array.values
    np.testing.assert_allclose(values[:, 1, 2], stored[1, 2] * 1e-4, rtol=1e-6)
    assert np.isnan(values[:, 0, 0]).all()
    np.testing.assert_array_equal(array.wavelength.values, cube.wavelengths)
    assert array.wavelength.attrs["units"] == "nm"
    assert array.good_band.values.tolist() == [True, True, False, True, True]
    assert array.attrs["grid_mapping"] == "spatial_ref" and "UTM zone 11N" in array.spatial_ref.attrs["crs_wkt"]
    assert array.x.values[0] == 700002.5 and array.y.values[0] == 3999997.5


def test_from_xarray_round_trips_and_reads_hypercoast_layouts():
    _, cube = scaled_cube()
    back = Cube.from_xarray(cube.to_xarray())
    np.testing.assert_allclose(back.bsq, np.stack([cube.band(b) for b in range(5)]), equal_nan=True)
    np.testing.assert_array_equal(back.wavelengths, cube.wavelengths)
    assert back.wavelength_units == "nm" and back.fwhm.tolist() == [10.0] * 5
    assert back.bad_bands.tolist() == cube.bad_bands.tolist() and back.geo == cube.geo
    assert back.quantity == "reflectance"

    # HyperCoast's EMIT/PACE arrays: (latitude, longitude, wavelength), a wavelength coordinate.
    lat, lon = 34.0 - 0.01 * np.arange(4), -118.0 + 0.01 * np.arange(3)
    data = RNG.random((4, 3, 2))
    hc = xr.DataArray(data, dims=("latitude", "longitude", "wavelength"),
                      coords={"latitude": lat, "longitude": lon, "wavelength": [550.0, 650.0]})
    cube = Cube.from_xarray(hc, wavelength_units="nm")
    assert cube.shape == (4, 3, 2) and cube.wavelengths.tolist() == [550.0, 650.0]
    assert cube.lonlat(2, 1) == pytest.approx((lon[1], lat[2]))
    np.testing.assert_array_equal(cube.spectrum(2, 1), data[2, 1])


def test_a_swath_keeps_its_coordinates_both_ways():
    lon, lat = np.meshgrid(np.linspace(-75, -74, 4), np.linspace(35, 34, 3))
    cube = Cube.from_array(RNG.random((3, 4, 2)), [1.0, 2.0], geo=Georef(3, 4, lonlat=np.stack([lon, lat])))
    array = cube.to_xarray()
    assert array.longitude.dims == ("y", "x")
    assert Cube.from_xarray(array).lonlat(2, 3) == pytest.approx((-74.0, 34.0))
