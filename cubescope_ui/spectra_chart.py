"""The spectra chart every page plots its spectra in: a custom component (Streamlit
components v2, no iframe) that draws :func:`cubescope.plots.spectra_spec` on a canvas.

Why not ``st.plotly_chart``: on pages where a click adds a spectrum, Streamlit names a plotly
chart by its figure, so every new pin builds the chart anew (plotly's ``newPlot``: 36 ms for
five spectra in Chromium, with the page's layout after it); this chart is updated in place and
draws in about a millisecond. It hovers, zooms (drag; double-click for all), hides spectra
from its legend, downloads a PNG, and (given ``on_band``) a click on it shows that band. It
shades the bad bands, and (given ``on_bad_bands``) a click or a drag marks or unmarks them. The
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
                  on_band: Callable[[int], None] | None = None,
                  on_bad_bands: Callable[[list[int], bool], None] | None = None,
                  name_parts: tuple = ("spectra",), height: int = 360, n_bands: int | None = None,
                  band_viewer: str | None = None) -> None:
    """Draw ``traces`` (see :func:`cubescope.plots.spectra_spec`) in the chart with key
    ``key``. ``on_band(band)`` is called, before the run, when the chart is clicked at a band;
    without it a click does nothing. Given ``on_bad_bands(bands, bad)``, a click or a drag
    instead marks (``bad`` True) or unmarks the bands it names. ``name_parts`` (cube name,
    product) name its PNG download; ``n_bands`` the band axis of a chart without traces or
    wavelengths. ``band_viewer`` is the image viewer whose band a click picks: it paints the
    band's preview at once."""
    spec = spectra_spec(traces, wavelengths, units, bad_bands, y_title=y_title, height=height, marks=marks,
                        n_bands=n_bands)
    n_bands = len(spec["x"])
    spec.update(key=key, clickable=on_band is not None, editing=on_bad_bands is not None, band_viewer=band_viewer,
                file_name=export.safe_filename(*name_parts))
    on_band_change = None if on_band is None else functools.partial(_on_band, key, n_bands, on_band)
    on_bad_change = None if on_bad_bands is None else functools.partial(_on_bad, key, n_bands, on_bad_bands)
    _CHART(key=key, data=spec, on_band_change=on_band_change, on_bad_change=on_bad_change)


def _on_band(key: str, n_bands: int, on_band: Callable[[int], None]) -> None:
    band = component_event(key, "band")
    if _band_number(band, n_bands):
        on_band(band)


def _on_bad(key: str, n_bands: int, on_bad_bands: Callable[[list[int], bool], None]) -> None:
    event = component_event(key, "bad")
    if not hasattr(event, "get") or not isinstance(event.get("bad"), bool):
        return
    bands = event.get("bands")
    if isinstance(bands, list) and 0 < len(bands) <= n_bands and all(_band_number(b, n_bands) for b in bands):
        on_bad_bands(bands, event["bad"])


def _band_number(value: object, n_bands: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < n_bands
