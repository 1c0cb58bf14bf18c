"""Spectra lines break where the wavelengths jump across bands cut out of a file or step back."""

import json

import numpy as np

from cubescope import export
from cubescope.display import MARKER_COLOURS
from cubescope.plots import Trace, marker_sizes, spectra_figure, spectra_spec
from cubescope.wavelengths import line_breaks, wide_gaps

#: A real habit: water-vapour bands removed from the file (no bad-band list), 10 nm steps
#: otherwise, and a second detector stepping back at 1000 nm.
WAVELENGTHS = np.r_[np.arange(400, 1010, 10.0), np.arange(990, 1355, 10.0), np.arange(1414, 1813, 10.0),
                    np.arange(1939, 2500, 10.0)]
STEP_BACK, FIRST_GAP, SECOND_GAP = 61, 98, 138


def test_line_breaks_are_the_gaps_and_the_step_backs():
    assert WAVELENGTHS[FIRST_GAP - 1: FIRST_GAP + 1].tolist() == [1350.0, 1414.0]
    assert WAVELENGTHS[SECOND_GAP - 1: SECOND_GAP + 1].tolist() == [1804.0, 1939.0]
    assert line_breaks(WAVELENGTHS).tolist() == [STEP_BACK, FIRST_GAP, SECOND_GAP]
    # Even spacing, uneven but smooth spacing (a prism), and a multispectral set: no gap.
    assert wide_gaps(np.linspace(400, 2500, 224)).size == 0
    assert wide_gaps(400 + np.cumsum(np.linspace(2, 12, 200))).size == 0
    assert wide_gaps(np.array([443, 490, 560, 665, 705, 740, 783, 842, 865, 945, 1610, 2190.0])).size == 0


def test_the_chart_the_plotly_figure_and_the_csv_break_there():
    values = np.linspace(0.1, 0.5, WAVELENGTHS.size)
    values[FIRST_GAP + 1:SECOND_GAP - 1] = np.nan  # leaves band FIRST_GAP alone between a gap and NaN
    spec = spectra_spec([Trace("p", values)], WAVELENGTHS, "nm")
    assert spec["breaks"] == [STEP_BACK, FIRST_GAP, SECOND_GAP]
    assert FIRST_GAP in spec["traces"][0]["markers"]  # a lone sample no line can show keeps a marker
    figure = spectra_figure([Trace("p", values)], WAVELENGTHS, "nm")
    x = np.asarray(figure.data[-1].x, dtype=float)
    gaps = np.flatnonzero(np.isnan(x))
    assert x.size == WAVELENGTHS.size + 3 and gaps.size == 3
    # No segment of the drawn line runs across a gap or back in wavelength.
    y = np.asarray(figure.data[-1].y, dtype=float)
    joined = np.isfinite(x[:-1]) & np.isfinite(x[1:]) & np.isfinite(y[:-1]) & np.isfinite(y[1:])
    assert np.all(np.diff(x)[joined] > 0) and np.all(np.diff(x)[joined] <= 20)
    rows = export.spectra_to_csv({"p": values}, WAVELENGTHS, "nm").decode().splitlines()
    assert rows[0].split(",")[2] == "line breaks before"
    marked = {int(r.split(",")[0]): r.split(",")[2] for r in rows[1:] if r.split(",")[2]}
    assert marked == {STEP_BACK: "step back", FIRST_GAP: "gap", SECOND_GAP: "gap"}


def test_training_figure_shows_both_curves_and_pca_s_error_on_a_log_scale():
    from cubescope.plots import training_figure

    figure = training_figure([1.0, 0.5, 0.25], [1.1, 0.6, 0.4], 0.3, "#d62728", "#1f77b4")
    assert [t.name for t in figure.data] == ["training", "held out"]
    assert list(figure.data[1].y) == [1.1, 0.6, 0.4] and figure.layout.yaxis.type == "log"
    (line,) = figure.layout.shapes
    assert line.y0 == line.y1 == 0.3 and line.line.color == "#1f77b4"
    low, high = figure.layout.yaxis.range  # the errors' own decades, not plotly's wider guess
    assert 10 ** low < 0.25 and 10 ** high > 1.1 and high - low < 1.0


def test_isolated_samples_get_markers_and_text_is_escaped():
    y = np.array([np.nan] * 30 + [1.0] + [np.nan] * 5 + [2.0, 3.0])
    sizes = marker_sizes(y)
    assert sizes[30] > 0 and sizes[36] == 0 and sizes[0] == 0
    assert marker_sizes(np.array([1.0])).tolist() == [6]
    figure = spectra_figure([Trace("<b>x</b>", np.ones(3))], np.arange(3.0), '<a href="x">nm</a>')
    assert "<a href" not in figure.layout.xaxis.title.text and "&lt;a" in figure.layout.xaxis.title.text


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


def test_a_transect_of_wavelengths_stepping_back_is_drawn_in_wavelength_order():
    from cubescope.plots import transect_figure

    wavelengths = np.array([400.0, 600.0, 800.0, 1000.0, 950.0, 1500.0, 2000.0])  # a second spectrometer from 950
    spectra = np.arange(3 * 7, dtype=float).reshape(3, 7)
    figure = transect_figure(np.arange(3.0), "pixels", spectra, wavelengths, "nm", band=4)
    heat = figure.data[0]
    assert list(heat.y) == sorted(wavelengths)
    np.testing.assert_array_equal(np.asarray(heat.z)[3], spectra[:, 4])  # 950 nm's row, now fourth
    assert figure.layout.shapes[0].y0 == 950.0  # the band shown is marked at its own wavelength
