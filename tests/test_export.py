"""Exports keep the numbers: scaling, no-data, round trips."""

import io
import json

import numpy as np
import pytest
import spectral
from PIL import Image

from cubescope import Cube, CubeError, load_cube
from cubescope.export import (
    envi_zip,
    normalize_for_export,
    read_png_scaling,
    safe_filename,
    spectra_to_csv,
    to_envi,
    to_npy,
    to_png,
    to_tiff,
)


def png_array(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_negative_floats_map_to_full_range_in_order():
    image = np.linspace(-300, 300, 61, dtype=np.float32).reshape(1, -1).repeat(3, axis=0)
    pixels = png_array(to_png(image))
    assert pixels.dtype == np.uint8 and pixels.ndim == 2
    assert pixels[0, 0] == 0 and pixels[0, -1] == 255
    assert np.all(np.diff(pixels[0].astype(int)) > 0)  # order kept: no wrap-around
    assert pixels[0, 30] in (127, 128)  # 0.0 sits in the middle


def test_nan_pixels_are_transparent_and_others_opaque():
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    image[1, 2] = np.nan
    image[0, 0] = np.inf
    rgba = np.asarray(Image.open(io.BytesIO(to_png(image))).convert("RGBA"))
    assert rgba[1, 2, 3] == 0 and rgba[0, 0, 3] == 0
    assert (rgba[..., 3] == 255).sum() == 10
    coloured = np.asarray(Image.open(io.BytesIO(to_png(image, colormap="viridis"))))
    assert coloured.shape == (3, 4, 4) and coloured[1, 2, 3] == 0


def test_constant_and_all_nan_images():
    pixels = png_array(to_png(np.full((4, 4), 7.5)))
    assert np.all(pixels == pixels[0, 0])
    record = read_png_scaling(to_png(np.full((4, 4), 7.5)))
    assert record["normalization"]["low"] == record["normalization"]["high"] == 7.5
    assert pixels[0, 0] in (127, 128)
    assert "constant" in normalize_for_export(np.full((4, 4), 7.5))[1].describe()
    with pytest.raises(CubeError, match="nothing to export"):
        to_png(np.full((4, 4), np.nan))
    sixteen = png_array(to_png(np.full((4, 4), -2.0), bits=16))
    assert np.all(sixteen == 32768)


def test_text_chunks_carry_the_scaling_and_source():
    image = np.linspace(-1, 3, 20, dtype=np.float32).reshape(4, 5)
    data = to_png(image, metadata={"cube": "scene", "band": 41, "wavelength": "652.3 nm"})
    record = read_png_scaling(data)
    assert record["cube"] == "scene" and record["band"] == 41
    assert record["normalization"]["low"] == pytest.approx(-1) and record["normalization"]["high"] == pytest.approx(3)
    pixels = png_array(data).astype(float)
    low, high = record["normalization"]["low"], record["normalization"]["high"]
    recovered = low + pixels / 255 * (high - low)
    assert np.abs(recovered - image).max() <= 0.5 * 4 / 255 + 1e-6


def test_16_bit_round_trip_within_half_a_step():
    rng = np.random.default_rng(0)
    image = rng.normal(-50, 400, (30, 40))
    image[3, 3] = np.nan
    data = to_png(image, bits=16)
    record = read_png_scaling(data)
    pixels = png_array(data).astype(np.float64)
    assert pixels[3, 3] == 0
    valid = pixels > 0
    recovered = record["offset"] + record["scale"] * pixels
    assert np.abs(recovered[valid] - image[valid]).max() <= record["scale"] / 2 * (1 + 1e-9)
    assert Image.open(io.BytesIO(data)).info.get("transparency") == 0


def test_percentile_stretch_reports_clipping():
    image = np.arange(100, dtype=float).reshape(10, 10)
    _, normalization = normalize_for_export(image, "percentile", 10, 90)
    assert normalization.n_below == 10 and normalization.n_above == 10
    assert "clipped" in normalization.describe()


def test_float_tiff_round_trip_bit_exact_with_wavelengths(tmp_path):
    rng = np.random.default_rng(1)
    cube = rng.normal(size=(5, 6, 7)).astype(np.float32) * 1000
    cube[0, 0, 0], cube[1, 1, 1], cube[2, 2, 2] = np.nan, -np.inf, -0.0
    data = to_tiff(cube, wavelengths=[400, 500, 600, 700, 800], wavelength_units="nm", metadata={"cube": "x"})
    back = gdal_read(data)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back.view(np.uint32), cube.view(np.uint32))  # bit for bit
    path = tmp_path / "pc.tif"
    path.write_bytes(data)
    loaded = load_cube(path)
    assert loaded.shape == (6, 7, 5)
    np.testing.assert_array_equal(loaded.wavelengths, [400, 500, 600, 700, 800])
    assert loaded.wavelength_units == "nm"
    single = gdal_read(to_tiff(cube[3], wavelengths=[700], wavelength_units="nm"))
    np.testing.assert_array_equal(single[0].view(np.uint32), cube[3].view(np.uint32))


def gdal_read(data: bytes) -> np.ndarray:
    """The raster as GDAL (and so QGIS) reads it, all bands."""
    import warnings

    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    with warnings.catch_warnings(), MemoryFile(data) as memory:
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with memory.open() as ds:
            return ds.read()


@pytest.mark.parametrize("dtype", ["f4", "f8", "i2", "u2"])
def test_envi_round_trip_bit_exact_with_wavelengths(tmp_path, dtype):
    cube = (np.random.default_rng(2).normal(size=(4, 6, 5)) * 100).astype(dtype)
    wavelengths = [1.1, 1.2, 1.35, 1.5]
    header, _ = to_envi(
        cube,
        tmp_path,
        "my scene/1",
        wavelengths=wavelengths,
        wavelength_units="µm",
        bad_bands=[False, True, False, False],
        nodata=-9999,
    )
    assert header.name == "my_scene_1.hdr"
    reference = spectral.envi.open(str(header))
    np.testing.assert_array_equal(np.asarray(reference.open_memmap(interleave="bsq")), cube)
    assert [float(w) for w in reference.metadata["wavelength"]] == wavelengths
    assert reference.metadata["wavelength units"] == "Micrometers"
    ours = load_cube(header)
    assert ours.wavelength_units == "µm" and list(ours.bad_bands) == [False, True, False, False]
    assert ours.nodata == -9999
    np.testing.assert_array_equal(np.asarray(ours.bsq), cube)


def test_envi_zip_holds_both_files():
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(envi_zip(np.zeros((2, 3, 4), np.float32), "c"))).namelist()
    assert sorted(names) == ["c.hdr", "c.img"]


def test_npy_and_csv():
    array = np.arange(6, dtype=np.int16).reshape(2, 3)
    np.testing.assert_array_equal(np.load(io.BytesIO(to_npy(array)), allow_pickle=False), array)
    csv = spectra_to_csv(
        {"(1, 2)": np.array([0.1, np.nan, 0.3]), "=cmd": np.array([1.0, 2.0, 3.0])},
        np.array([400.0, 500.0, 600.0]),
        "nm",
        np.array([False, True, False]),
    ).decode()
    lines = csv.splitlines()
    assert lines[0] == 'band,wavelength (nm),bad band,"(1, 2)",\'=cmd'
    assert lines[2] == "1,500.0,1,,2.0"


def test_safe_filenames():
    assert safe_filename("../../etc/passwd", extension="png") == "etc_passwd.png"
    assert safe_filename("scène", "band 3", 652.25, "nm", extension="tif") == "sc_ne_band_3_652.25_nm.tif"
    assert safe_filename("", extension="npy") == "cubescope.npy"


def test_exports_say_which_values_they_hold():

    import rasterio

    from cubescope import export

    stored = np.arange(2 * 3 * 4, dtype="i2").reshape(2, 3, 4) * 100
    cube = Cube.from_array(stored, [500, 600, 700, 800.0], wavelength_units="nm", gain=1e-4, quantity="reflectance")
    info = export.image_metadata(cube, 1, product="band")
    assert info["values"] == "reflectance = stored ÷ 10000 (the file's scaling)"
    assert info["wavelengths"] == [600.0] and info["band"] == 1
    png = export.to_png(cube.band(1), 16, "min-max", metadata=info)
    assert "stored ÷ 10000" in json.dumps(export.read_png_scaling(png), ensure_ascii=False)
    tif = export.to_tiff(cube.band(1), metadata=info)
    with rasterio.io.MemoryFile(tif) as memory, memory.open() as ds:
        assert "stored" in ds.tags()["values"] and "stored" in ds.tags()["TIFFTAG_IMAGEDESCRIPTION"]
    stored_info = export.image_metadata(cube.as_stored(), 1)
    assert stored_info["values"] == "stored values, as stored in the file"
