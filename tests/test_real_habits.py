"""Habits of real files (issue: real files never break a page or mislead)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.signal import savgol_filter

import cubescope
from cubescope import Cube
from cubescope.display import MARKER_COLOURS
from cubescope.plots import Trace, marker_sizes, spectra_figure, spectra_spec
from cubescope.smoothing import savgol_band, savgol_spectrum
from cubescope.wavelengths import step_backs, wavelength_order
from cubescope.words import ordinal, plural
from tests.writers import sample_cube, write_envi


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


def test_scaled_cube_survives_the_store_and_pca_sees_physical_values(tmp_path):
    from cubescope.pca import fit_pca
    from cubescope.store import CubeStore

    rng = np.random.default_rng(1)
    stored = rng.integers(0, 5000, (20, 30, 6)).astype("i2")
    gain = np.array([1e-4, 2e-4, 1e-4, 5e-4, 1e-4, 1e-4])
    cube = Cube.from_array(stored, gain=gain, quantity="reflectance")
    store = CubeStore(tmp_path)
    reopened = store.open(store.put(cube, "c" * 32))
    np.testing.assert_allclose(reopened.spectrum(3, 4), stored[3, 4] * gain, rtol=1e-6)
    physical = Cube.from_array((stored * gain).astype("f4"))
    a, b = fit_pca(reopened, 3), fit_pca(physical, 3)
    np.testing.assert_allclose(a.explained_variance_, b.explained_variance_, rtol=1e-4)


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


def test_wavelength_order_is_described():
    w = np.array([650.0, 675.6, 664.1, 690.0])
    assert step_backs(w).tolist() == [2]
    assert "step back at band 2 (675.6 -> 664.1 nm)" in wavelength_order(w, "nm")
    assert "descending" in wavelength_order(w[::-1].copy() * 0 + np.array([4, 3, 2, 1.0]), "nm")
    assert wavelength_order(np.arange(5.0), "nm") is None
    cube = Cube.from_array(np.ones((2, 2, 4), "f4"), w, wavelength_units="nm")
    assert "step back" in cube.describe()["wavelength order"]


def test_savgol_fits_each_spectrometer_on_its_own():
    rng = np.random.default_rng(0)
    first, second = np.linspace(400, 675.6, 30), np.linspace(664.1, 1000, 25)
    w = np.r_[first, second]
    x = rng.random(w.size)
    out = savgol_spectrum(x, 11, 3, wavelengths=w)
    # Each segment on its own equals the uniform-axis result of scipy on that segment.
    np.testing.assert_allclose(out[:30], savgol_filter(x[:30], 11, 3), atol=1e-10)
    np.testing.assert_allclose(out[30:], savgol_filter(x[30:], 11, 3), atol=1e-10)
    # Derivatives per nm, on a descending axis too (the sign follows the wavelength).
    ramp = 2.0 * np.linspace(1000, 400, 40)
    d = savgol_spectrum(ramp, 7, 2, 1, wavelengths=np.linspace(1000, 400, 40))
    np.testing.assert_allclose(d, 2.0, atol=1e-9)


def test_savgol_short_segment_uses_all_its_bands():
    w = np.r_[np.linspace(400, 700, 20), np.linspace(690, 720, 5)]
    x = np.r_[np.zeros(20), np.arange(5.0)]
    out = savgol_spectrum(x, 11, 2, wavelengths=w)
    np.testing.assert_allclose(out[20:], np.arange(5.0), atol=1e-9)  # a line is fitted exactly


def test_nan_sample_does_not_blank_its_window():
    x = np.sin(np.linspace(0, 3, 40))
    gap = x.copy()
    gap[20] = np.nan
    out = savgol_spectrum(gap, 9, 2)
    assert np.isnan(out).sum() == 1 and np.isnan(out[20])
    # Exactly as a bad band: the same as leaving band 20 out.
    bad = np.zeros(40, bool)
    bad[20] = True
    np.testing.assert_allclose(out, savgol_spectrum(x, 9, 2, bad_bands=bad), equal_nan=True)


def test_band_image_refits_windows_with_nan():
    rng = np.random.default_rng(2)
    values = np.cumsum(rng.random((6, 7, 30)), axis=2).astype("f8")
    values[2, 3, 14] = np.nan
    cube = Cube.from_array(values)
    image = savgol_band(cube, 15, 7, 2)
    assert np.isfinite(image).all()
    window = np.delete(np.arange(12, 19), 2)  # band 14 left out
    coefficients = np.polyfit(window, values[2, 3, window], 2)
    assert image[2, 3] == pytest.approx(np.polyval(coefficients, 15), rel=1e-9)


def test_isolated_samples_get_markers_and_text_is_escaped():
    y = np.array([np.nan] * 30 + [1.0] + [np.nan] * 5 + [2.0, 3.0])
    sizes = marker_sizes(y)
    assert sizes[30] > 0 and sizes[36] == 0 and sizes[0] == 0
    assert marker_sizes(np.array([1.0])).tolist() == [6]
    figure = spectra_figure([Trace("<b>x</b>", np.ones(3))], np.arange(3.0), '<a href="x">nm</a>')
    assert "<a href" not in figure.layout.xaxis.title.text and "&lt;a" in figure.layout.xaxis.title.text


def test_words():
    assert plural(1, "band") == "1 band" and plural(3, "band") == "3 bands"
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 103)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "103rd",
    ]


def test_default_band_avoids_water_absorption():
    wl = np.linspace(380, 2510, 425)
    cube = Cube.from_array(np.zeros((2, 2, 425), "f4"), wl, wavelength_units="nm")
    assert abs(cube.wavelengths[cube.default_band()] - 650) < 5
    assert Cube.from_array(np.zeros((2, 2, 5), "f4"), default_bands=(3, 2, 1)).default_band() == 3
    assert Cube.from_array(np.zeros((2, 2, 5), "f4")).default_band() == 2


def test_exports_say_which_values_they_hold():
    import json

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


def test_spectrum_line_breaks_where_wavelengths_step_back():
    w = np.array([600.0, 650, 700, 680, 720])
    figure = spectra_figure([Trace("p", np.arange(5.0))], w, "nm")
    x = np.asarray(figure.data[0].x, dtype=float)
    assert np.isnan(x[3]) and x.size == 6 and figure.data[0].connectgaps is False


def test_spectra_are_lines_and_markers_only_where_no_line_shows_a_sample():
    w = np.linspace(400.0, 900.0, 60)
    gappy = np.arange(60.0)
    gappy[[10, 12]] = np.nan  # band 11 is alone between two gaps: only a marker can show it
    smooth, isolated = spectra_figure([Trace("a", np.ones(60)), Trace("b", gappy)], w, "nm").data
    assert smooth.mode == "lines" and isolated.mode == "lines+markers"
    assert np.flatnonzero(np.asarray(isolated.marker.size)).tolist() == [11]


def test_spectra_chart_data_keeps_gaps_breaks_marks_and_plain_text():
    w = np.array([600.0, 650, 700, 680, 720])  # a second spectrometer starts at band 3
    values = np.array([1.0, np.nan, 3.0, 4.0, 5.0])
    spec = spectra_spec([Trace("<b>p</b>", values, spread=np.full(5, 0.5), dash="dot", marker=2)], w, "µm",
                        bad_bands=np.array([False, False, False, False, True]), y_title="reflectance",
                        marks=[(2, "#555555")])
    assert spec["x"] == w.tolist() and spec["breaks"] == [3] and spec["x_unit"] == "µm"
    assert spec["x_title"] == "wavelength (µm)" and spec["y_title"] == "reflectance"
    (trace,) = spec["traces"]
    assert trace["name"] == "<b>p</b>"  # drawn as text by the chart, so not escaped
    assert trace["y"] == [1.0, None, 3.0, 4.0, None] and trace["spread"] == [0.5, 0.5, 0.5, 0.5, None]
    assert trace["markers"] == [0, 2, 3]  # few bands: every sample keeps a marker
    assert trace["dash"] == "dot" and trace["colour"] == MARKER_COLOURS[2]
    assert spec["marks"] == [{"x": 700.0, "colour": "#555555"}]
    json.dumps(spec, allow_nan=False)  # what Streamlit sends: no NaN in it
    assert spectra_spec([Trace("a", np.ones(3))], None, None)["x_unit"] == "band"
