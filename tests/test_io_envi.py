"""ENVI and ERDAS .lan loading, compared with the written arrays and with Spectral Python."""


import numpy as np
import pytest
import spectral

import cubescope
from cubescope import CubeError, load_cube
from cubescope.io.limits import Limits
from tests.writers import ENVI_CODES, sample_cube, write_envi, write_lan

ALL_TYPES = [str(d) for d in ENVI_CODES]


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("byte_order", [0, 1])
@pytest.mark.parametrize("dtype", ALL_TYPES)
def test_every_layout_and_type_reads_back_exactly(tmp_path, interleave, byte_order, dtype):
    data = sample_cube(dtype=dtype)
    header, _ = write_envi(tmp_path, data, interleave=interleave, byte_order=byte_order, offset=37)
    cube = load_cube(header)
    assert cube.shape == data.shape
    np.testing.assert_array_equal(np.moveaxis(np.asarray(cube.bsq), 0, 2), data)
    np.testing.assert_array_equal(cube.band(3), data[:, :, 3].astype(cube.float_dtype))
    np.testing.assert_array_equal(cube.spectrum(2, 4), data[2, 4, :].astype(cube.float_dtype))
    reference = spectral.envi.open(str(header)).open_memmap(interleave="bip")
    np.testing.assert_array_equal(np.moveaxis(np.asarray(cube.bsq), 0, 2), np.asarray(reference))


@pytest.mark.parametrize("suffix", ["", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip"])
def test_data_file_found_by_any_usual_ending(tmp_path, suffix):
    data = sample_cube()
    header, data_path = write_envi(tmp_path, data, data_suffix=suffix)
    assert load_cube(header).shape == data.shape
    assert load_cube(data_path).shape == data.shape


def test_bsq_stays_memory_mapped(tmp_path):
    header, _ = write_envi(tmp_path, sample_cube(), interleave="bsq")
    assert load_cube(header).is_memory_mapped


def test_header_quirks(tmp_path):
    data = sample_cube(bands=4, dtype="u2")
    extra = (
        "Wavelength Units = Micrometers\n"
        "Wavelength = {0.45, 0.55,\n 0.65, 0.85}\n"
        "FWHM = {0.01, 0.01, 0.01, 0.02}\n"
        "bbl = {1.0, 1.0, 0.0, 1.0}\n"
        "data ignore value = 0\n"
        "default bands = {3, 2, 1}\n"
        "description = {A scan; with, commas}\n"
    )
    header, _ = write_envi(tmp_path, data, extra=extra, keys_upper=True)
    cube = load_cube(header)
    assert cube.wavelength_units == "µm"
    np.testing.assert_allclose(cube.wavelengths_nm, [450, 550, 650, 850])
    np.testing.assert_array_equal(cube.bad_bands, [False, False, True, False])
    assert cube.nodata == 0
    assert np.isnan(cube.spectrum(0, 0)[0])  # the first sample is 0 = no data
    assert not cube.valid_mask[0, 0] and cube.valid_mask[1, 1]
    assert cube.default_bands == (2, 1, 0)
    assert "commas" in cube.metadata["description"]


@pytest.mark.parametrize(
    "units, values, expected",
    [
        ("", "450, 550, 650", "nm"),
        ("Unknown", "0.45, 0.55, 0.65", "µm"),
        ("nanometers", "450, 550, 650", "nm"),
        ("um", "1.2, 1.3, 1.4", "µm"),
    ],
)
def test_wavelength_units_normalised_or_guessed(tmp_path, units, values, expected):
    extra = f"wavelength units = {units}\nwavelength = {{{values}}}\n"
    header, _ = write_envi(tmp_path, sample_cube(bands=3), extra=extra)
    assert load_cube(header).wavelength_units == expected


def test_wavelength_list_of_wrong_length_is_dropped_not_fatal(tmp_path):
    header, _ = write_envi(tmp_path, sample_cube(bands=3), extra="wavelength = {1, 2}\n")
    assert load_cube(header).wavelengths is None


@pytest.mark.parametrize(
    "change, message",
    [
        (("lines = 7", "lines = 8"), "holds only"),
        (("data type = 4", "data type = 6"), "complex"),
        (("data type = 4", "data type = 7"), "not supported"),
        (("interleave = bsq", "interleave = bsx"), "interleave"),
        (("samples = 5", "samples = five"), "whole number"),
        (("byte order = 0", "byte order = 2"), "byte order"),
        (("samples = 5\n", ""), "samples"),
        (("header offset = 0", "header offset = 100000"), "holds only"),
    ],
)
def test_broken_headers_give_clear_errors(tmp_path, change, message):
    header, _ = write_envi(tmp_path, sample_cube())
    header.write_text(header.read_text().replace(*change))
    with pytest.raises(CubeError, match=message):
        load_cube(header)


def test_not_a_header(tmp_path):
    path = tmp_path / "x.hdr"
    path.write_text("samples = 3\n")
    with pytest.raises(CubeError, match="first line"):
        load_cube(path)


def test_binary_header(tmp_path):
    path = tmp_path / "x.hdr"
    path.write_bytes(b"ENVI\n\xff\xfe\x00\x81 = \x9f")
    with pytest.raises(CubeError):
        load_cube(path)


def test_unclosed_brace(tmp_path):
    header, _ = write_envi(tmp_path, sample_cube(), extra="wavelength = {1, 2, 3\n")
    with pytest.raises(CubeError, match="parsed"):
        load_cube(header)


def test_missing_data_file(tmp_path):
    header, data = write_envi(tmp_path, sample_cube())
    data.unlink()
    with pytest.raises(CubeError, match="No data file"):
        load_cube(header)


def test_header_claiming_terabytes_is_refused_before_reading(tmp_path):
    header, _ = write_envi(tmp_path, sample_cube())
    header.write_text(
        header.read_text()
        .replace("lines = 7", "lines = 100000")
        .replace("samples = 5", "samples = 100000")
        .replace("bands = 6", "bands = 1000")
    )
    with pytest.raises(CubeError, match="more than this server accepts"):
        load_cube(header)
    with pytest.raises(CubeError, match="holds only"):
        load_cube(header, limits=Limits(max_bytes=2**62, max_side=10**6))


@pytest.mark.parametrize("dtype", ["u1", "i2"])
@pytest.mark.parametrize("big_endian", [False, True])
def test_lan(tmp_path, dtype, big_endian):
    data = sample_cube(dtype=dtype)
    path = tmp_path / "scene.lan"
    write_lan(path, data, big_endian=big_endian)
    cube = load_cube(path)
    np.testing.assert_array_equal(np.moveaxis(np.asarray(cube.bsq), 0, 2), data)
    if dtype == "i2" and not big_endian:
        np.testing.assert_array_equal(np.asarray(spectral.open_image(str(path)).load()), data)


def test_lan_truncated(tmp_path):
    path = tmp_path / "scene.lan"
    write_lan(path, sample_cube(dtype="i2"))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CubeError, match="holds only"):
        load_cube(path)


def test_reflectance_scale_factor_is_applied_and_stored_values_kept(tmp_path):
    data = (sample_cube(rows=6, cols=5, bands=4, dtype="i2") + 400).astype("i2")
    header, _ = write_envi(tmp_path, data, extra="reflectance scale factor = 10000\ndata ignore value = -9999\n")
    cube = cubescope.load_cube(header)
    assert cube.quantity == "reflectance"
    np.testing.assert_allclose(cube.spectrum(2, 3), data[2, 3] / 10000, rtol=1e-6)
    np.testing.assert_allclose(cube.band(1), data[:, :, 1] / 10000, rtol=1e-6)
    np.testing.assert_array_equal(cube.as_stored().spectrum(2, 3), data[2, 3])
    assert "stored ÷ 10000" in cube.summary()


def test_gain_and_offset_per_band(tmp_path):
    data = sample_cube(rows=4, cols=3, bands=3, dtype="u2")
    header, _ = write_envi(tmp_path, data, extra="data gain values = {0.5, 2, 1}\ndata offset values = {1, 0, -3}\n")
    cube = cubescope.load_cube(header)
    expected = data * np.array([0.5, 2, 1]) + np.array([1, 0, -3])
    np.testing.assert_allclose(cube.spectrum(1, 2), expected[1, 2])
    np.testing.assert_allclose(cube.bands(0, 3), np.moveaxis(expected, 2, 0))
    stats = cubescope.spectra.region_stats(cube, slice(0, 4), slice(0, 3)) if hasattr(cubescope, "spectra") else None
    if stats is None:
        from cubescope.spectra import region_stats

        stats = region_stats(cube, slice(0, 4), slice(0, 3))
    np.testing.assert_allclose(stats.mean, expected.reshape(-1, 3).mean(axis=0), rtol=1e-6)


def test_wavelengths_read_from_band_names(tmp_path):
    data = sample_cube(rows=3, cols=2, bands=3)
    names = "band names = {376.44 Nanometers, 381.45 Nanometers, 386.46 Nanometers}\n"
    header, _ = write_envi(tmp_path, data, extra=names)
    cube = cubescope.load_cube(header)
    np.testing.assert_allclose(cube.wavelengths, [376.44, 381.45, 386.46])
    assert cube.wavelength_units == "nm"
    header, _ = write_envi(tmp_path, data, extra="band names = {Band 1 (0.55 um), Band 2 (0.65 um), Band 3 (0.8 um)}\n")
    cube = cubescope.load_cube(header)
    np.testing.assert_allclose(cube.wavelengths_nm, [550, 650, 800])


def test_latin1_header_is_read(tmp_path):
    data = sample_cube(rows=3, cols=2, bands=3)
    header, _ = write_envi(tmp_path, data)
    header.write_bytes(
        header.read_bytes()
        + "description = {Mesure à 20 °C}\nwavelength units = µm\nwavelength = {0.5, 0.6, 0.7}\n".encode("latin-1")
    )
    cube = cubescope.load_cube(header)
    assert cube.wavelength_units == "µm"
