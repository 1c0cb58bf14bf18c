"""GeoTIFF and netCDF as the field writes them (issue 25): GDAL in, GDAL out.

The files here are written by rasterio (GDAL) with each metadata convention, compression and
tiling that GDAL, QGIS, ENVI and EnMAP-Box use; Cubescope's exports are opened with rasterio as
QGIS would open them.
"""

import json
import warnings

import h5netcdf
import numpy as np
import pytest
import rasterio
from pyproj import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from rasterio.transform import Affine

from cubescope import Cube, CubeError, export, load_cube
from cubescope.geo import Georef
from tests.products import write_emit

RNG = np.random.default_rng(25)
UTM33 = "EPSG:32633"


def write_gdal(path, data, *, band_tags=None, imagery=None, descriptions=None, scales=None, offsets=None,
               nodata=None, crs=UTM33, transform=None, **profile):
    """A GeoTIFF written by GDAL, (bands, rows, cols)."""
    bands, rows, cols = data.shape
    transform = transform or Affine(30.0, 0.0, 399960.0, 0.0, -30.0, 5800020.0)
    with rasterio.open(path, "w", driver=profile.pop("driver", "GTiff"), width=cols, height=rows, count=bands,
                       dtype=data.dtype.name, crs=crs, transform=transform, nodata=nodata, **profile) as ds:
        ds.write(data)
        for b in range(bands):
            if band_tags:
                ds.update_tags(b + 1, **band_tags[b])
            if imagery:
                ds.update_tags(b + 1, ns="IMAGERY", **imagery[b])
            if descriptions:
                ds.set_band_description(b + 1, descriptions[b])
        if scales is not None:
            ds.scales, ds.offsets = scales, offsets
    return path


def hwb(cube):
    return np.stack([cube.band(b) for b in range(cube.n_bands)], axis=-1)


def test_an_enmap_l2a_tile_as_gdal_writes_it(tmp_path):
    """A real EnMAP L2A GeoTIFF tile: int16 reflectance x 10000, per-band wavelength, fwhm and bbl
    in GDAL_METADATA, SCALE 0.0001, nodata -32768, UTM 33N, LZW, tiled."""
    stored = RNG.integers(100, 6000, (224, 32, 32)).astype(np.int16)
    stored[:, 0, :3] = -32768
    wavelengths = np.r_[np.linspace(418.24, 993.6, 91), np.linspace(902.5, 2445.5, 133)]
    bbl = np.ones(224, int)
    bbl[[130, 131, 132, 160, 161, 162]] = 0
    tags = [{"wavelength": f"{w:.3f}", "fwhm": "6.5", "bbl": str(g), "wavelength_units": "Nanometers"}
            for w, g in zip(wavelengths, bbl, strict=True)]
    path = write_gdal(tmp_path / "ENMAP01-____L2A-DT0000001_SPECTRAL_IMAGE.TIF", stored, band_tags=tags,
                      scales=[1e-4] * 224, offsets=[0.0] * 224, nodata=-32768, compress="LZW", tiled=True,
                      blockxsize=16, blockysize=16)
    cube = load_cube(path)
    assert cube.shape == (32, 32, 224) and cube.wavelength_units == "nm"
    np.testing.assert_allclose(cube.wavelengths, np.round(wavelengths, 3))
    assert cube.fwhm[0] == 6.5 and int(cube.bad_bands.sum()) == 6
    expected = np.where(stored == -32768, np.nan, stored * 1e-4)
    np.testing.assert_allclose(np.moveaxis(hwb(cube), 2, 0), expected, rtol=1e-6)
    assert cube.as_stored().band(5)[5, 5] == stored[5, 5, 5]  # the stored values stay available
    assert cube.crs == UTM33 and cube.geotransform == (399960.0, 30.0, 0.0, 5800020.0, 0.0, -30.0)
    assert cube.summary().endswith("reflectance = stored ÷ 10000 (the file's scaling)") or "÷ 10000" in cube.summary()


@pytest.mark.parametrize("convention", ["envi items", "imagery domain", "band descriptions"])
def test_wavelengths_in_each_gdal_convention(tmp_path, convention):
    data = RNG.random((4, 6, 5)).astype(np.float32)
    nm = [472.0, 561.5, 660.25, 853.0]
    kwargs = {
        "envi items": {"band_tags": [{"wavelength": str(w), "wavelength_units": "nm", "fwhm": "10"} for w in nm]},
        "imagery domain": {"imagery": [{"CENTRAL_WAVELENGTH_UM": str(w / 1000), "FWHM_UM": "0.01"} for w in nm]},
        "band descriptions": {"descriptions": [f"band {b + 1} ({w} Nanometers)" for b, w in enumerate(nm)]},
    }[convention]
    path = write_gdal(tmp_path / "ang20190624t181214_rfl_cut.tif", data, crs="EPSG:4087", nodata=-9999.0,
                      transform=Affine(5.0, 0.0, -1.3e7, 0.0, -5.0, 4.2e6), **kwargs)
    cube = load_cube(path)
    np.testing.assert_allclose(cube.wavelengths_nm, nm, rtol=1e-9)
    if convention != "band descriptions":
        np.testing.assert_allclose(cube.fwhm_nm, 10.0)
    assert cube.nodata == -9999.0 and cube.crs == "EPSG:4087"


@pytest.mark.parametrize("compression", ["LZW", "DEFLATE", "ZSTD"])
def test_cloud_optimized_and_compressed_geotiffs_open(tmp_path, compression):
    data = RNG.normal(size=(3, 600, 520)).astype(np.float32)
    path = write_gdal(tmp_path / "cog.tif", data, driver="COG", compress=compression, blocksize=256)
    with rasterio.open(path) as ds:
        assert ds.overviews(1)  # a real COG, overviews and all
    cube = load_cube(path)
    np.testing.assert_array_equal(np.moveaxis(hwb(cube), 2, 0), data)


@pytest.mark.parametrize("interleave", ["pixel", "band"])
@pytest.mark.parametrize("masked", [False, True])
def test_a_geotiff_read_a_few_rows_at_a_time_is_the_file(tmp_path, monkeypatch, interleave, masked):
    """Rows are read window by window straight into place (the last window shorter); with an
    internal mask, masked pixels become NaN."""
    import cubescope.io.gdal as gdal_module

    data = RNG.normal(size=(4, 23, 7)).astype(np.float32)
    monkeypatch.setattr(gdal_module, "WINDOW_BYTES", 4 * 7 * 4 * 5)  # five rows per window
    path = tmp_path / "rows.tif"
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        write_gdal(path, data, interleave=interleave)
        if masked:
            with rasterio.open(path, "r+") as ds:
                mask = np.full((23, 7), 255, np.uint8)
                mask[21, 6] = 0
                ds.write_mask(mask)
    expected = np.moveaxis(data, 0, 2).copy()
    if masked:
        expected[21, 6] = np.nan
    np.testing.assert_array_equal(hwb(load_cube(path)), expected)


def test_an_internal_mask_and_a_pam_sidecar(tmp_path):
    data = RNG.integers(0, 1000, (3, 8, 9)).astype(np.uint16)
    path = tmp_path / "masked.tif"
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        write_gdal(path, data)
        with rasterio.open(path, "r+") as ds:
            mask = np.full((8, 9), 255, np.uint8)
            mask[2, 3] = 0
            ds.write_mask(mask)
    # GDAL's PAM: wavelengths in an .aux.xml beside the file (as ENVI and QGIS leave them).
    items = "".join(f'<PAMRasterBand band="{b + 1}"><Metadata><MDI key="wavelength">{500 + 100 * b}</MDI>'
                    f'<MDI key="wavelength_units">Nanometers</MDI></Metadata></PAMRasterBand>' for b in range(3))
    (tmp_path / "masked.tif.aux.xml").write_text(f"<PAMDataset>{items}</PAMDataset>")
    cube = load_cube(path)
    assert np.isnan(cube.spectrum(2, 3)).all() and np.isfinite(cube.spectrum(2, 4)).all()
    np.testing.assert_array_equal(cube.spectrum(0, 0), data[:, 0, 0])
    np.testing.assert_array_equal(cube.wavelengths, [500, 600, 700])


def test_a_single_band_geotiff_is_refused_with_a_message(tmp_path):
    path = write_gdal(tmp_path / "one.tif", np.zeros((1, 4, 4), np.float32), compress="LZW")
    with pytest.raises(CubeError, match="not a cube"):
        load_cube(path)


def _open(data: bytes):
    warnings.simplefilter("ignore", NotGeoreferencedWarning)
    return MemoryFile(data).open()


def test_a_stack_export_is_one_raster_of_n_bands_with_metadata_gdal_reads(tmp_path):
    geo = Georef(40, 50, crs=UTM33, geotransform=(380000.0, 30.0, 0.0, 5810000.0, 0.0, -30.0))
    data = RNG.normal(size=(5, 40, 50)).astype(np.float32)
    data[0, 0, 0] = np.nan
    wavelengths = [450.0, 550.0, 650.0, 750.0, 850.0]
    written = export.to_tiff(data, wavelengths=wavelengths, wavelength_units="nm", fwhm=[10.0] * 5,
                             bad_bands=[False, False, True, False, False], geo=geo, metadata={"product": "test"})
    with _open(written) as ds:
        assert ds.count == 5 and ds.dtypes[0] == "float32" and not ds.subdatasets
        assert ds.tags(3) == {"wavelength": "650.0", "wavelength_units": "Nanometers", "fwhm": "10.0", "bbl": "0"}
        assert ds.tags(1, ns="IMAGERY") == {"CENTRAL_WAVELENGTH_UM": "0.45", "FWHM_UM": "0.01"}
        assert ds.descriptions[0] == "band 1 (450 Nanometers)"
        assert np.isnan(ds.nodata) and ds.crs.to_epsg() == 32633
        assert ds.transform.to_gdal() == geo.geotransform
        assert ds.tags()["product"] == "test"
        np.testing.assert_array_equal(ds.read(), data)
    path = tmp_path / "stack.tif"
    path.write_bytes(written)
    back = load_cube(path)
    np.testing.assert_array_equal(back.wavelengths, wavelengths)
    assert back.wavelength_units == "nm" and back.bad_bands.tolist() == [False, False, True, False, False]
    np.testing.assert_array_equal(back.fwhm, 10.0)
    assert back.geo == geo
    np.testing.assert_array_equal(np.moveaxis(hwb(back), 2, 0), data)


def test_a_large_export_is_cloud_optimized(tmp_path):
    data = np.zeros((2, 1100, 1030), np.float32)
    data[1] = 1.5
    with _open(export.to_tiff(data, band_names=["PC 1", "PC 2"])) as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG" and ds.overviews(1)
        assert ds.profile["tiled"] and ds.profile["compress"] == "deflate"
        assert ds.descriptions == ("PC 1", "PC 2")


def test_a_class_map_carries_its_colours_and_class_names():
    labels = np.array([[0, 1, 2], [-1, 1, 0]])
    written = export.to_tiff(labels + 1, class_names=["water", "soil", "grass"],
                             class_colours=["#1f77b4", "#8c564b", "#2ca02c"])
    with _open(written) as ds:
        assert ds.dtypes[0] == "uint8"
        table = ds.colormap(1)
        assert table[1] == (0x1F, 0x77, 0xB4, 255) and table[3] == (0x2C, 0xA0, 0x2C, 255) and ds.nodata == 0
        assert json.loads(ds.tags(1)["class_names"]) == ["no class", "water", "soil", "grass"]
        np.testing.assert_array_equal(ds.read(1), labels + 1)


def _gdal_category_names(path) -> list[str]:
    """Band 1's category names as GDAL's own C API reads them (the libgdal rasterio carries):
    what QGIS asks GDAL for when it draws a legend."""
    import ctypes
    from pathlib import Path

    libs = sorted((Path(rasterio.__file__).parent.parent / "rasterio.libs").glob("libgdal*.so*"))
    if not libs:
        pytest.skip("rasterio's wheel libgdal not found")
    gdal = ctypes.CDLL(str(libs[0]))
    gdal.GDALOpen.restype = ctypes.c_void_p
    gdal.GDALOpen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    gdal.GDALGetRasterBand.restype = ctypes.c_void_p
    gdal.GDALGetRasterBand.argtypes = [ctypes.c_void_p, ctypes.c_int]
    gdal.GDALGetRasterCategoryNames.restype = ctypes.POINTER(ctypes.c_char_p)
    gdal.GDALGetRasterCategoryNames.argtypes = [ctypes.c_void_p]
    gdal.GDALClose.argtypes = [ctypes.c_void_p]
    gdal.GDALGetDescription.restype = ctypes.c_char_p
    gdal.GDALGetDescription.argtypes = [ctypes.c_void_p]
    gdal.GDALAllRegister()
    ds = gdal.GDALOpen(str(path).encode(), 0)
    assert ds, "GDAL could not open the class map"
    try:
        band = gdal.GDALGetRasterBand(ds, 1)
        # GDAL's GTiff driver loads the sidecar on the first question about the band's own
        # metadata, as QGIS asks before the categories; its category-names call alone does not.
        assert gdal.GDALGetDescription(band) == b"class"
        names = gdal.GDALGetRasterCategoryNames(band)
        out = []
        while names and names[len(out)] is not None:
            out.append(names[len(out)].decode())
        return out
    finally:
        gdal.GDALClose(ds)


def test_a_class_map_archive_names_its_classes_for_gdal_and_qgis(tmp_path):
    import io
    import zipfile

    labels = np.array([[-1, 0, 1], [2, 2, 0]])
    names = ["water", "soil & rock", "<grass>"]
    archive = export.class_map_archive(labels, names, ["#1f77b4", "#8c564b", "#2ca02c"], name="scene_classes")
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert sorted(z.namelist()) == ["scene_classes.tif", "scene_classes.tif.aux.xml"]
        z.extractall(tmp_path)
    assert _gdal_category_names(tmp_path / "scene_classes.tif") == ["no class", *names]
    with rasterio.open(tmp_path / "scene_classes.tif") as ds:
        np.testing.assert_array_equal(ds.read(1), labels + 1)
        assert ds.colormap(1)[2][:3] == (0x8C, 0x56, 0x4B)


def test_a_standardized_export_reads_back_as_the_original_values(tmp_path):
    original = RNG.normal(5, 3, (3, 6, 7))
    scale, offset = original.std(axis=(1, 2)), original.mean(axis=(1, 2))
    z = ((original - offset[:, None, None]) / scale[:, None, None]).astype(np.float32)
    path = tmp_path / "z.tif"
    path.write_bytes(export.to_tiff(z, scales=scale, offsets=offset))
    np.testing.assert_allclose(np.moveaxis(hwb(load_cube(path)), 2, 0), original, rtol=1e-5)


# ---------------------------------------------------------------------- netCDF the GDAL way
def test_an_emit_crop_without_its_location_group_is_placed_by_its_root_geotransform(tmp_path):
    path = tmp_path / "EMIT_L2A_RFL_crop.nc"
    truth = write_emit(path)
    import h5py

    with h5py.File(path, "r+") as f:
        del f["location"]
    cube = load_cube(path)
    assert cube.shape == (9, 7, 6) and cube.geo is not None and cube.geo.kind == "grid"
    assert cube.geotransform == pytest.approx(tuple(truth["gt"]))
    gt = truth["gt"]
    assert cube.lonlat(0, 0) == pytest.approx((gt[0] + gt[1] / 2, gt[3] + gt[5] / 2))
    np.testing.assert_array_equal(cube.bad_bands, truth["good"] == 0)


def test_netcdf_cf_grid_mapping_and_lat_lon_coordinates(tmp_path):
    rows, cols, bands = 5, 6, 4
    data = RNG.random((rows, cols, bands)).astype(np.float32)
    x = 500015.0 + 30.0 * np.arange(cols)
    y = 4000015.0 - 30.0 * np.arange(rows)
    path = tmp_path / "gdal_written.nc"
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"y": rows, "x": cols, "band": bands}
        f.create_variable("y", ("y",), "f8", data=y)
        f.create_variable("x", ("x",), "f8", data=x)
        crs = f.create_variable("spatial_ref", (), "i4")
        crs.attrs["crs_wkt"] = CRS(UTM33).to_wkt()
        v = f.create_variable("reflectance", ("y", "x", "band"), "f4", data=data)
        v.attrs["grid_mapping"] = "spatial_ref"
    cube = load_cube(path, dataset="reflectance")
    assert cube.geotransform == pytest.approx((500000.0, 30.0, 0.0, 4000030.0, 0.0, -30.0))
    assert CRS(cube.crs) == CRS(UTM33)

    lat = 34.0 - 0.001 * np.arange(rows)
    lon = -118.0 + 0.001 * np.arange(cols)
    path = tmp_path / "latlon.nc"
    with h5netcdf.File(path, "w") as f:
        f.dimensions = {"latitude": rows, "longitude": cols, "wavelength": bands}
        f.create_variable("latitude", ("latitude",), "f8", data=lat)
        f.create_variable("longitude", ("longitude",), "f8", data=lon)
        f.create_variable("wavelength", ("wavelength",), "f8", data=[450.0, 550.0, 650.0, 850.0])
        f.create_variable("reflectance", ("latitude", "longitude", "wavelength"), "f4", data=data)
    cube = load_cube(path, dataset="reflectance")
    assert cube.lonlat(2, 3) == pytest.approx((lon[3], lat[2]), abs=1e-12)


def test_a_cube_keeps_its_own_export_metadata_when_made_in_a_notebook():
    cube = Cube.from_array(RNG.random((4, 5, 3)).astype(np.float32), [1.1, 1.2, 1.3], wavelength_units="µm")
    with _open(export.to_tiff(cube.bsq, wavelengths=cube.wavelengths, wavelength_units="µm")) as ds:
        assert ds.tags(2)["wavelength_units"] == "Micrometers"
        assert ds.tags(2, ns="IMAGERY")["CENTRAL_WAVELENGTH_UM"] == "1.2"
