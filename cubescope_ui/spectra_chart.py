"""The spectra chart every page plots its spectra in: a custom component (Streamlit
components v2, no iframe) that draws :func:`cubescope.plots.spectra_spec` on a canvas.

Why not ``st.plotly_chart``: on pages where a click adds a spectrum, Streamlit names a plotly
chart by its figure, so every new pin builds the chart anew (plotly's ``newPlot``: 36 ms for
five spectra in Chromium, with the page's layout after it); this chart is updated in place and
draws in about a millisecond. It hovers, zooms (drag; double-click for all), hides spectra
from its legend, downloads a PNG, and (given ``on_band``) a click on it shows that band. The
scree and loadings plots stay plotly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import streamlit as st

from cubescope import export
from cubescope.plots import Trace, spectra_spec
from cubescope_ui.viewer import component_event

_ASSETS = Path(__file__).parent / "assets"
_CHART = st.components.v2.component(
    "cubescope_spectra", js=(_ASSETS / "common.js").read_text() + (_ASSETS / "spectra.js").read_text(),
    css=(_ASSETS / "spectra.css").read_text(),
)


def spectra_chart(key: str, traces: Sequence[Trace], wavelengths: np.ndarray | None, units: str | None,
                  bad_bands: np.ndarray | None, *, y_title: str = "value", marks: Sequence[tuple[int, str]] = (),
                  on_band: Callable[[int], None] | None = None, name_parts: tuple = ("spectra",),
                  height: int = 360) -> None:
    """Draw ``traces`` (see :func:`cubescope.plots.spectra_spec`) in the chart with key
    ``key``. ``on_band(band)`` is called, before the run, when the chart is clicked at a band;
    without it a click does nothing. ``name_parts`` (cube name, product) name its PNG download."""
    spec = spectra_spec(traces, wavelengths, units, bad_bands, y_title=y_title, height=height, marks=marks)
    n_bands = len(spec["x"])
    spec.update(key=key, clickable=on_band is not None, file_name=export.safe_filename(*name_parts))
    callback = None if on_band is None else functools.partial(_on_band, key, n_bands, on_band)
    _CHART(key=key, data=spec, on_band_change=callback)


def _on_band(key: str, n_bands: int, on_band: Callable[[int], None]) -> None:
    band = component_event(key, "band")
    if isinstance(band, int) and not isinstance(band, bool) and 0 <= band < n_bands:
        on_band(band)
