"""Widgets shared by pages: band choice, stretch controls, pinned pixels.

Every setting widget is made through :func:`kept`: it starts at the session's value (from the
link, or set earlier on another page) and its value is kept for the link.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from cubescope import Cube, display, state
from cubescope.wavelengths import band_label
from cubescope_ui import session

#: The settings of the shared controls: the band slider, the RGB bands, and the stretch of the
#: Bands page's images (which the Smoothing and Map pages share). Another image's stretch has
#: its own prefix, declared by its page (:func:`cubescope.state.stretch_settings`).
SETTINGS = {
    "band": state.Setting("band", state.band, lambda c: c.default_band, show=state.band_shown, per_cube=True),
    **{key: state.Setting(f"{name} band", state.band, lambda c, i=i: c.rgb_bands[i], show=state.band_shown,
                          per_cube=True)
       for i, (key, name) in enumerate((("rgb_r", "red"), ("rgb_g", "green"), ("rgb_b", "blue")))},
    **state.stretch_settings(""),
}


@dataclass(frozen=True)
class Stretch:
    method: str
    low: float
    high: float
    vmin: float | None
    vmax: float | None
    colormap: str


def kept(widget: Callable[..., Any], key: str, context: state.LinkContext, label: str,
         allowed: Callable[[Any], bool] | None = None, **kwargs: Any) -> Any:
    """``widget(label, key=key, **kwargs)`` started at the session's value for ``key`` and
    remembered afterwards.

    ``kwargs`` give the widget's own default (``value``, ``index`` with ``options``, or
    ``default``); the session's value, when there is one, takes its place. The widget's default
    is thus always the value it shows, which is what Streamlit's frontend falls back on (after
    browser Back, for one). ``allowed`` says whether a kept value suits this widget here.
    """
    options = kwargs.get("options")
    if options is not None:
        check = allowed
        allowed = (lambda v: v in options and (check is None or check(v))) if "default" not in kwargs else allowed
    value = session.initial(key, context, allowed)
    if value is not None:
        if "index" in kwargs:
            kwargs["index"] = list(options).index(value)
        elif "default" in kwargs:
            kwargs["default"] = value
        else:
            kwargs["value"] = value
    chosen = widget(label, key=key, **kwargs)
    session.remember(key, chosen)
    return chosen


def band_slider(cube: Cube, context: state.LinkContext, key: str, label: str = "Band",
                default: int | None = None) -> int:
    """A slider over bands that reads in wavelengths (and units) when the cube has them."""
    n = cube.n_bands
    default = cube.default_band() if default is None else default
    if st.session_state.get(key) not in (None, *range(n)):
        del st.session_state[key]  # left from a cube with more bands
    return kept(st.select_slider, key, context, label, options=list(range(n)), value=default,
                allowed=lambda b: isinstance(b, int) and 0 <= b < n,
                format_func=lambda i: band_label(i, cube.wavelengths, cube.wavelength_units))


def stretch_controls(context: state.LinkContext, prefix: str = "", colormap: bool = True,
                     value_range: tuple[float, float] | None = (0.0, 1.0)) -> Stretch:
    """Stretch method, its parameters and the colormap, laid out on one row.

    ``value_range`` (the shown image's finite extremes) is where a user range starts; None when
    the caller asks for the range itself (one per channel of an RGB composite). Settings
    that cannot be used as they stand (low above high, equal percentiles, a range that is not
    a number) are corrected, and the page says how.
    """
    # Two rows, so that the controls keep their size in a narrow column: the method and the
    # colormap, then the method's parameters.
    left, right = st.columns([2.2, 1], vertical_alignment="bottom")
    method = kept(left.radio, f"{prefix}stretch", context, "Stretch", options=display.STRETCHES, index=0,
                  horizontal=True,
                  help="percentile: clip the darkest and brightest tails; min-max: full range; range: your values")
    middle = st.container()
    low, high, vmin, vmax = 2.0, 98.0, None, None
    if method == "percentile":
        low, high = kept(middle.slider, f"{prefix}pct", context, "Percentiles", min_value=0.0, max_value=100.0,
                          value=(2.0, 98.0), step=0.5)
        if high - low < 0.5:
            low, high = max(0.0, min(low, 99.5)), min(100.0, max(high, 0.5))
            low, high = (low, low + 0.5) if low + 0.5 <= 100 else (high - 0.5, high)
            middle.caption(f"Both percentiles were equal; showing {low:g}–{high:g}.")
    elif method == "range" and value_range is not None:
        a, b = middle.columns(2)
        start_low, start_high = (float(v) if np.isfinite(v) else d
                                 for v, d in zip(value_range, (0.0, 1.0), strict=True))
        vmin = kept(a.number_input, f"{prefix}vmin", context, "Low value", value=start_low, format="%g")
        vmax = kept(b.number_input, f"{prefix}vmax", context, "High value", value=start_high, format="%g")
        if not (np.isfinite(vmin) and np.isfinite(vmax)):
            vmin, vmax = start_low, start_high
            middle.caption(f"The range was not a number; showing the image's range {vmin:g}–{vmax:g}.")
        elif vmin > vmax:
            vmin, vmax = vmax, vmin
            middle.caption(f"Low was above High; showing {vmin:g}–{vmax:g}.")
    cmap = "gray"
    if colormap:
        cmap = kept(right.selectbox, f"{prefix}cmap", context, "Colormap", options=display.COLORMAPS, index=0)
    return Stretch(method, float(low), float(high), vmin, vmax, cmap)


def pin_controls(cube: Cube) -> None:
    """Type a pixel to pin it (applied before the page is drawn, so it shows at once); clear
    pins and region."""
    with st.form("pin_form", border=False):
        a, b = st.columns(2)
        size = f"{cube.rows}x{cube.cols}"
        a.number_input("Row", 0, cube.rows - 1, cube.rows // 2, key=f"pin_row_{size}")
        b.number_input("Column", 0, cube.cols - 1, cube.cols // 2, key=f"pin_col_{size}")
        st.form_submit_button("Pin this pixel", width="stretch", key="pin_submit", on_click=_pin_typed, args=(size,))
    # A row that wraps, so that the buttons keep their labels in a narrow column.
    with st.container(horizontal=True):
        st.button("Clear pins", key="clear_pins", disabled=not session.pins(),
                  on_click=session.clear_pins)
        st.button("Clear region", key="clear_region", disabled=session.region() is None,
                  on_click=session.set_region, args=(None,))


def _pin_typed(size: str) -> None:
    session.pin(int(st.session_state[f"pin_row_{size}"]), int(st.session_state[f"pin_col_{size}"]))


@dataclass(frozen=True)
class RGBStretch:
    method: str
    low: float
    high: float
    ranges: tuple[tuple[float, float], ...] | None


def rgb_stretch_controls(context: state.LinkContext, prefix: str,
                         starts: tuple[tuple[float, float], ...]) -> RGBStretch:
    """The stretch of an RGB composite: every channel on its own limits (its own percentiles,
    its own extremes, or a range typed per channel; ``starts`` are where those ranges begin)."""
    stretch = stretch_controls(context, prefix=prefix, colormap=False, value_range=None)
    if stretch.method != "range":
        return RGBStretch(stretch.method, stretch.low, stretch.high, None)
    ranges = []
    for column, channel, name, start in zip(st.columns(3), "rgb", ("Red", "Green", "Blue"), starts, strict=True):
        lo, hi = (float(v) if np.isfinite(v) else d for v, d in zip(start, (0.0, 1.0), strict=True))
        with column:
            low = kept(st.number_input, f"{prefix}range_{channel}_low", context, f"{name} low", value=lo, format="%g")
            high = kept(st.number_input, f"{prefix}range_{channel}_high", context, f"{name} high", value=hi,
                        format="%g")
        if not (np.isfinite(low) and np.isfinite(high)) or low > high:
            column.caption(f"Showing {name.lower()} {lo:g}–{hi:g}: low must be a number below high.")
            low, high = lo, hi
        ranges.append((float(low), float(high)))
    return RGBStretch("range", stretch.low, stretch.high, tuple(ranges))


def show_band(band_key: str) -> Callable[[int], None]:
    """A spectra chart's ``on_band``: show the band clicked (the slider ``band_key`` moves to it)."""
    def show(band: int) -> None:
        st.session_state[band_key] = band
        session.remember(band_key, band)
    return show
