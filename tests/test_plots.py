"""Spectra lines break where the wavelengths jump across bands cut out of a file or step back."""

import numpy as np

from cubescope import export
from cubescope.plots import Trace, spectra_figure, spectra_spec
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
