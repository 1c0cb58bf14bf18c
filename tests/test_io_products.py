"""Sensor products read as their agencies lay them out (issue 15), on layout fixtures."""

import shutil
import zipfile

import numpy as np
import pytest

from cubescope import CubeError, load_cube
from cubescope.io import list_arrays
from cubescope.store import CubeStore
from tests.products import (
    lonlat_of,
    write_aviris3,
    write_desis,
    write_emit,
    write_enmap,
    write_neon,
    write_pace,
    write_prisma,
    write_tanager,
)


def hwb(cube):
    """The cube as physical values laid out (rows, cols, bands)."""
    return np.stack([cube.band(b) for b in range(cube.n_bands)], axis=-1)


# ---------------------------------------------------------------------- EMIT
@pytest.mark.parametrize("variable", ["reflectance", "radiance"])
def test_emit_opens_orthorectified_through_its_glt(tmp_path, variable):
    path = tmp_path / "EMIT_L2A_RFL_001_20230123T004529_2302216_003.nc"
    truth = write_emit(path, variable)
    cube = load_cube(path)
    assert cube.shape == (*truth["glt_x"].shape, 6)
    values = hwb(cube)
    valid = truth["glt_x"] > 0
    rows, cols = np.nonzero(valid)
    expected = truth["data"][truth["glt_y"][valid] - 1, truth["glt_x"][valid] - 1]
    expected = np.where(expected == -9999, np.nan, expected)
    np.testing.assert_array_equal(values[rows, cols], expected)
    assert np.isnan(values[~valid]).all()  # GLT 0: no swath pixel
    assert np.isnan(values[3, 5]).all()  # swath pixel (2, 3) is the fill value, shown at ortho (3, 5)
    np.testing.assert_allclose(cube.wavelengths, truth["wavelengths"])
    np.testing.assert_array_equal(cube.bad_bands, truth["good"] == 0)
    assert cube.quantity == ("reflectance" if variable == "reflectance" else "radiance (uW/cm^2/SR/nm)")
    # Lon/lat is defined on the ortho grid for every pixel, GLT 0 included: the pixel centre.
    gt = truth["gt"]
    for r, c in [(0, 0), (10, 9), (5, 4), (0, 9)]:
        lon, lat = cube.lonlat(r, c)
        assert lon == pytest.approx(gt[0] + (c + 0.5) * gt[1], abs=1e-12)
        assert lat == pytest.approx(gt[3] + (r + 0.5) * gt[5], abs=1e-12)
    assert cube.geotransform == tuple(gt)


def test_emit_swath_geometry_is_one_choice_away(tmp_path):
    path = tmp_path / "EMIT_L2A_RFL.nc"
    truth = write_emit(path)
    offered = list_arrays(path)
    assert [a.name for a in offered] == ["reflectance", "reflectance:swath"]
    assert [a.alternative for a in offered] == [False, True]  # the upload opens the first, asking nothing
    cube = load_cube(path, dataset="reflectance:swath")
    assert cube.shape == (9, 7, 6)
    np.testing.assert_array_equal(hwb(cube), np.where(truth["data"] == -9999, np.nan, truth["data"]))
    assert cube.geotransform is None and cube.crs == "EPSG:4326"
    assert cube.lonlat(4, 6) == (pytest.approx(truth["lon"][4, 6]), pytest.approx(truth["lat"][4, 6]))


# ---------------------------------------------------------------------- PACE
def test_pace_rrs_is_scaled_with_fill_as_nan_and_swath_lonlat(tmp_path):
    path = tmp_path / "PACE_OCI.20240501T180000.L2.OC_AOP.V2_0.nc"
    truth = write_pace(path)
    cube = load_cube(path)
    assert cube.shape == (8, 6, 5)
    np.testing.assert_allclose(hwb(cube), truth["physical"], rtol=1e-6, atol=1e-9)
    assert np.isnan(cube.spectrum(0, 0)).all()
    assert cube.quantity == "remote-sensing reflectance (sr^-1)"
    np.testing.assert_allclose(cube.wavelengths, truth["wavelengths"])
    for r, c in [(0, 0), (7, 0), (0, 5), (4, 3)]:
        assert cube.lonlat(r, c) == (pytest.approx(truth["lon"][r, c]), pytest.approx(truth["lat"][r, c]))
    assert np.isnan(cube.lonlat(7, 5)[1])  # the navigation fill value is no coordinate


# ---------------------------------------------------------------------- PRISMA
def test_prisma_l2d_joins_detectors_sorted_with_per_detector_scale(tmp_path):
    path = tmp_path / "PRS_L2D_STD_20230815101530_20230815101534_0001.he5"
    truth = write_prisma(path)
    cube = load_cube(path)
    # Every delivered band of both detectors, overlap included, ascending; the unused (0 nm) one dropped.
    expected_wl = np.sort(np.concatenate([truth["vnir_cw"][truth["vnir_cw"] > 0], truth["swir_cw"]]))
    np.testing.assert_allclose(cube.wavelengths, expected_wl)
    assert cube.shape == (7, 5, 8)
    values = hwb(cube)
    for det, key, centres in (("Vnir", "vnir", truth["vnir_cw"]), ("Swir", "swir", truth["swir_cw"])):
        low, high = truth["scales"][det]
        for b, centre in enumerate(centres):
            if centre == 0:
                continue
            k = int(np.flatnonzero(cube.wavelengths == centre)[0])
            dn = truth[key][:, b, :].astype(np.float64)
            low32, high32 = np.float32(low), np.float32(high)
            np.testing.assert_allclose(values[:, :, k], low32 + dn * (high32 - low32) / 65535, rtol=1e-5, atol=1e-6)
            assert not np.allclose(values[:, :, k], dn / 65535)  # the plain DN / 65535 is wrong
    assert cube.bad_bands[list(cube.wavelengths).index(2490.0)]  # flagged in List_Cw_Swir_Flags
    assert cube.quantity == "reflectance"


def test_prisma_lonlat_agrees_with_its_own_latitude_longitude_arrays(tmp_path):
    path = tmp_path / "PRS_L2D_STD.he5"
    truth = write_prisma(path)
    cube = load_cube(path)
    for r, c in [(0, 0), (6, 4), (3, 2), (0, 4), (6, 0)]:
        lon, lat = cube.lonlat(r, c)
        assert lon == pytest.approx(truth["lon"][r, c], abs=1e-7)
        assert lat == pytest.approx(truth["lat"][r, c], abs=1e-7)
    # Reading the corners as outer edges (HyperCoast) would be most of a pixel off.
    x0, y0 = truth["ul"]
    edge_lon, _ = lonlat_of("EPSG:32633", x0 + (30.0 * 4 / 5) * 0.5, y0)
    assert abs(edge_lon - truth["lon"][0, 0]) > 1e-4


def test_prisma_l2c_is_placed_by_its_arrays(tmp_path):
    path = tmp_path / "PRS_L2C_STD.he5"
    truth = write_prisma(path, level="L2C")
    cube = load_cube(path)
    assert cube.geotransform is None
    assert cube.lonlat(3, 1) == (pytest.approx(truth["lon"][3, 1]), pytest.approx(truth["lat"][3, 1]))


# ---------------------------------------------------------------------- Tanager
def test_tanager_reads_bands_first_with_flags_fill_and_nodata_pixels(tmp_path):
    path = tmp_path / "20250101_tanager_basic_sr.h5"
    truth = write_tanager(path)
    cube = load_cube(path)
    assert cube.shape == (6, 4, 5)  # (bands, y, x) in the file
    expected = np.moveaxis(truth["data"], 0, -1).copy()
    expected[expected == -9999] = np.nan
    expected[truth["nodata"].astype(bool)] = np.nan
    np.testing.assert_array_equal(hwb(cube), expected)
    np.testing.assert_array_equal(cube.bad_bands, truth["good"] == 0)
    assert cube.fwhm[0] == pytest.approx(5.5)
    assert cube.lonlat(5, 3) == (pytest.approx(truth["lon"][5, 3]), pytest.approx(truth["lat"][5, 3]))


# ---------------------------------------------------------------------- NEON
@pytest.mark.parametrize("windows_on", ["group", "data"])
def test_neon_scale_ignore_value_water_bands_and_map_info(tmp_path, windows_on):
    path = tmp_path / "NEON_D02_SERC_DP1_20190612_reflectance.h5"
    truth = write_neon(path, windows_on=windows_on)
    cube = load_cube(path)
    assert cube.shape == (5, 4, 6)
    expected = np.where(truth["stored"] == -9999, np.nan, truth["stored"] / 10000.0)
    np.testing.assert_allclose(hwb(cube), expected, rtol=1e-6)
    np.testing.assert_array_equal(cube.bad_bands, [False, False, True, True, True, False])
    x0, y0 = truth["origin"]
    for r, c in [(0, 0), (4, 3), (2, 1)]:
        assert cube.lonlat(r, c) == pytest.approx(lonlat_of(truth["crs"], x0 + c + 0.5, y0 - r - 0.5), abs=1e-9)


# ---------------------------------------------------------------------- AVIRIS-3
def test_aviris3_netcdf_grid_from_easting_northing_centres(tmp_path):
    path = tmp_path / "AV320250123t190512_005_L2A_OE_main_27577724_RFL_ORT.nc"
    truth = write_aviris3(path)
    cube = load_cube(path)
    assert cube.shape == (6, 5, 4)
    expected = np.moveaxis(truth["data"], 0, -1)
    np.testing.assert_array_equal(hwb(cube), np.where(expected == -9999, np.nan, expected))
    for r, c in [(0, 0), (5, 4), (3, 2)]:
        assert cube.lonlat(r, c) == pytest.approx(
            lonlat_of(truth["crs"], truth["easting"][c], truth["northing"][r]), abs=1e-9)


# ---------------------------------------------------------------------- EnMAP
def _enmap_expected(truth):
    order = np.argsort(truth["wavelengths"], kind="stable")
    stored = truth["stored"][order].astype(np.float64)
    physical = stored * truth["gains"][order, None, None] + truth["offsets"][order, None, None]
    physical[truth["stored"][order] == -32768] = np.nan
    return order, np.moveaxis(physical, 0, -1)


@pytest.mark.parametrize("entry", ["xml", "image", "folder", "zip", "renamed"])
def test_enmap_from_xml_image_folder_or_zip(tmp_path, entry):
    folder = tmp_path / "product"
    truth = write_enmap(folder)
    stem = truth["stem"]
    if entry == "xml":
        path = folder / f"{stem}-METADATA.XML"
    elif entry == "image":
        path = folder / f"{stem}-SPECTRAL_IMAGE.TIF"
    elif entry == "folder":
        path = folder
    elif entry == "zip":
        path = tmp_path / f"{stem}.ZIP"
        with zipfile.ZipFile(path, "w") as archive:
            for member in folder.iterdir():
                archive.write(member, f"{stem}/{member.name}")
    else:
        path = tmp_path / "renamed" / "my_scene.xml"
        path.parent.mkdir()
        shutil.copy(folder / f"{stem}-METADATA.XML", path)
        shutil.copy(folder / f"{stem}-SPECTRAL_IMAGE.TIF", path.parent / "my_scene-SPECTRAL_IMAGE.TIF")
    cube = load_cube(path)
    order, expected = _enmap_expected(truth)
    np.testing.assert_allclose(cube.wavelengths, truth["wavelengths"][order])
    assert list(cube.wavelengths) == sorted(cube.wavelengths) and cube.n_bands == 7  # overlap kept
    np.testing.assert_allclose(hwb(cube), expected, rtol=1e-6)
    assert cube.bad_bands[list(cube.wavelengths).index(2200.0)]  # band statistics: no data
    x0, y0 = truth["origin"]
    assert cube.lonlat(5, 3) == pytest.approx(lonlat_of(truth["crs"], x0 + 3.5 * 30, y0 - 5.5 * 30), abs=1e-9)
    assert cube.quantity == "reflectance"


# ---------------------------------------------------------------------- DESIS
def test_desis_gains_from_its_header_and_geotiff_place(tmp_path):
    truth = write_desis(tmp_path)
    for path in (tmp_path / f"{truth['stem']}-SPECTRAL_IMAGE.tif", tmp_path / f"{truth['stem']}-METADATA.xml"):
        cube = load_cube(path)
        expected = np.moveaxis(np.where(truth["stored"] == 0, np.nan, truth["stored"] * 1e-4), 0, -1)
        np.testing.assert_allclose(hwb(cube), expected, rtol=1e-6)
        np.testing.assert_allclose(cube.wavelengths, truth["wavelengths"])
        x0, y0 = truth["origin"]
        assert cube.lonlat(0, 0) == pytest.approx(lonlat_of(truth["crs"], x0 + 15, y0 - 15), abs=1e-9)


# ---------------------------------------------------------------------- the store keeps it all
@pytest.mark.parametrize("writer, name", [(write_pace, "PACE_OCI.L2.OC_AOP.nc"), (write_prisma, "PRS_L2D_STD.he5"),
                                          (write_emit, "EMIT_L2A_RFL.nc")])
def test_products_keep_georeferencing_through_the_store(tmp_path, writer, name):
    path = tmp_path / name
    writer(path)
    direct = load_cube(path)
    store = CubeStore(tmp_path / "store")
    cube_id = store.put_files([(name, path.read_bytes())])
    stored = store.open(cube_id)
    assert stored.geo == direct.geo
    assert stored.lonlat(1, 1) == direct.lonlat(1, 1)
    np.testing.assert_array_equal(hwb(stored), hwb(direct))
    assert stored.quantity == direct.quantity and stored.metadata["product"] == direct.metadata["product"]


def test_swath_coordinates_changed_on_disk_are_never_served(tmp_path):
    path = tmp_path / "PACE_OCI.L2.OC_AOP.nc"
    write_pace(path)
    store = CubeStore(tmp_path / "store")
    cube_id = store.put_files([(path.name, path.read_bytes())])
    target = next((tmp_path / "store").rglob("lonlat.npy"))
    arrays = np.load(target)
    arrays[0, 0, 0] += 1.0
    np.save(target, arrays)
    with pytest.raises(CubeError, match="damaged"):
        store.open(cube_id)


def test_a_netcdf3_file_gets_a_clear_message(tmp_path):
    path = tmp_path / "old.nc"
    path.write_bytes(b"CDF\x01" + bytes(100))
    with pytest.raises(CubeError, match="netCDF-3"):
        load_cube(path)


@pytest.mark.parametrize("writer", [write_enmap, write_desis])
def test_a_delivered_product_zip_uploads_as_one_cube(tmp_path, writer):
    truth = writer(tmp_path / "product")
    archive = tmp_path / f"{truth['stem']}.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for member in (tmp_path / "product").iterdir():
            handle.write(member, f"{truth['stem']}/{member.name}")
    store = CubeStore(tmp_path / "store")
    cube = store.open(store.put_files([(archive.name, archive.read_bytes())]))
    assert cube.n_bands == truth["wavelengths"].size and cube.geo is not None
    assert cube.metadata["product"].startswith(("EnMAP", "DESIS"))


def test_a_product_declaring_a_huge_lookup_table_is_refused_before_reading(tmp_path):
    import h5py

    path = tmp_path / "EMIT_L2A_RFL_bomb.nc"
    write_emit(path)
    with h5py.File(path, "a") as f:
        for name in ("location/glt_x", "location/glt_y"):
            del f[name]
            f.create_dataset(name, shape=(200_000, 200_000), dtype="i4", chunks=(4096, 4096), compression="gzip")
    with pytest.raises(CubeError, match="more than this server accepts"):
        load_cube(path)


# ---------------------------------------------------------------------- attributes of odd types
def _set_attribute(path, dataset, name, value):
    import h5py

    with h5py.File(path, "r+") as f:
        f[dataset].attrs[name] = value


@pytest.mark.parametrize("value", [np.array([2e-06], np.float32), "2e-06", np.array([b"2e-06"]),
                                   np.array([[2e-06]])])
def test_pace_scale_factor_as_text_or_a_one_element_array_is_applied(tmp_path, value):
    path = tmp_path / "PACE_OCI.20240501T180000.L2.OC_AOP.V2_0.nc"
    truth = write_pace(path)
    _set_attribute(path, "geophysical_data/Rrs", "scale_factor", value)
    cube = load_cube(path)
    order = np.argsort(truth["wavelengths"], kind="stable")
    np.testing.assert_allclose(hwb(cube), truth["physical"][..., order], rtol=1e-5)


@pytest.mark.parametrize("writer, dataset, name, value", [
    ("pace", "geophysical_data/Rrs", "scale_factor", "abc"),
    ("pace", "geophysical_data/Rrs", "scale_factor", np.array([2e-6, 3e-6])),
    ("neon", "SERC/Reflectance/Reflectance_Data", "Scale_Factor", "abc"),
    ("neon", "SERC/Reflectance/Reflectance_Data", "Scale_Factor", 0.0),
    ("emit", "reflectance", "_FillValue", np.array([-9999.0, -1.0])),
])
def test_product_attributes_that_are_no_number_are_named_never_ignored(tmp_path, writer, dataset, name, value):
    path = tmp_path / {"pace": "PACE_OCI.L2.nc", "neon": "NEON_reflectance.h5", "emit": "EMIT_L2A_RFL.nc"}[writer]
    {"pace": write_pace, "neon": write_neon, "emit": write_emit}[writer](path)
    _set_attribute(path, dataset, name, value)
    with pytest.raises(CubeError, match=name):
        load_cube(path)


def test_emit_fill_value_as_a_one_element_array_is_no_data(tmp_path):
    path = tmp_path / "EMIT_L2A_RFL_001_20230123T004529_2302216_003.nc"
    truth = write_emit(path)
    _set_attribute(path, "reflectance", "_FillValue", np.array([-9999.0], np.float32))
    cube = load_cube(path, dataset="reflectance:swath")
    assert np.isnan(cube.spectrum(2, 3)).all()
    np.testing.assert_allclose(cube.spectrum(0, 0), truth["data"][0, 0], rtol=1e-6)


def test_radiance_without_units_says_so(tmp_path):
    path = tmp_path / "EMIT_L1B_RAD_001_20230123T004529_2302216_003.nc"
    write_emit(path, "radiance")
    import h5py

    with h5py.File(path, "r+") as f:
        del f["radiance"].attrs["units"]
    assert load_cube(path).quantity == "radiance (units not given)"


def test_a_product_whose_grid_cannot_be_placed_opens_without_a_place_and_says_why(tmp_path):
    path = tmp_path / "NEON_reflectance.h5"
    write_neon(path)
    import h5py

    with h5py.File(path, "r+") as f:  # a grid in metres said to be in degrees: off the globe
        del f["SERC/Reflectance/Metadata/Coordinate_System/EPSG Code"]
        f["SERC/Reflectance/Metadata/Coordinate_System/EPSG Code"] = b"4326"
    cube = load_cube(path)
    assert cube.geo is None and cube.shape == (5, 4, 6)
    assert "not placed on the Earth" in cube.summary() and "does not land on the Earth" in cube.summary()
    with pytest.raises(CubeError, match="not georeferenced"):
        cube.lonlat(0, 0)
