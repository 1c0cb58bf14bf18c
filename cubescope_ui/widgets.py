"""Widgets shared by pages: band choice, stretch controls, the clickable image, pinned pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from cubescope import Cube, display
from cubescope.state import MAX_PINS
from cubescope.wavelengths import band_label

#: A drag shorter than this (in CSS pixels) is a click.
_CLICK_SLOP = 4
#: Keys of every clickable image in the app (all show the cube's pixels on the same grid).
IMAGE_KEYS = ("image", "image_raw", "image_sg", "image_pca")


@dataclass(frozen=True)
class Stretch:
    method: str
    low: float
    high: float
    vmin: float | None
    vmax: float | None
    colormap: str


def band_slider(cube: Cube, key: str, label: str = "Band", default: int | None = None) -> int:
    """A slider over bands that reads in wavelengths (and units) when the cube has them."""
    n = cube.n_bands
    default = cube.default_band() if default is None else default
    if st.session_state.get(key) not in (None, *range(n)):
        del st.session_state[key]  # left from a cube with more bands
    return st.select_slider(
        label,
        options=list(range(n)),
        value=default,
        format_func=lambda i: band_label(i, cube.wavelengths, cube.wavelength_units),
        key=key,
        bind="query-params",
    )


def stretch_controls(prefix: str = "", colormap: bool = True,
                     value_range: tuple[float, float] = (0.0, 1.0)) -> Stretch:
    """Stretch method, its parameters and the colormap, laid out on one row.

    ``value_range`` (the shown image's finite extremes) is where a user range starts. Settings
    that cannot be used as they stand (low above high, equal percentiles, a range that is not
    a number) are corrected, and the page says how.
    """
    left, middle, right = st.columns([1.1, 1.6, 1])
    method = left.radio(
        "Stretch", display.STRETCHES, key=f"{prefix}stretch", bind="query-params", horizontal=True,
        help="percentile: clip the darkest and brightest tails; min-max: full range; range: your values",
    )
    low, high, vmin, vmax = 2.0, 98.0, None, None
    if method == "percentile":
        low, high = middle.slider("Percentiles", 0.0, 100.0, (2.0, 98.0), 0.5, key=f"{prefix}pct",
                                  bind="query-params")
        if high - low < 0.5:
            low, high = max(0.0, min(low, 99.5)), min(100.0, max(high, 0.5))
            low, high = (low, low + 0.5) if low + 0.5 <= 100 else (high - 0.5, high)
            middle.caption(f"Both percentiles were equal; showing {low:g}–{high:g}.")
    elif method == "range":
        a, b = middle.columns(2)
        start_low, start_high = (float(v) if np.isfinite(v) else d for v, d in zip(value_range, (0.0, 1.0),
                                                                                   strict=True))
        vmin = a.number_input("Low value", value=start_low, key=f"{prefix}vmin", bind="query-params", format="%g")
        vmax = b.number_input("High value", value=start_high, key=f"{prefix}vmax", bind="query-params",
                              format="%g")
        if not (np.isfinite(vmin) and np.isfinite(vmax)):
            vmin, vmax = start_low, start_high
            middle.caption(f"The range was not a number; showing the image's range {vmin:g}–{vmax:g}.")
        elif vmin > vmax:
            vmin, vmax = vmax, vmin
            middle.caption(f"Low was above High; showing {vmin:g}–{vmax:g}.")
    cmap = "gray"
    if colormap:
        cmap = right.selectbox("Colormap", display.COLORMAPS, key=f"{prefix}cmap", bind="query-params")
    return Stretch(method, float(low), float(high), vmin, vmax, cmap)


class _EncodedPng:
    """Hands an already encoded PNG to streamlit-image-coordinates without re-encoding it."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def save(self, buffer, format: str = "PNG", **_: object) -> None:
        buffer.write(self.data)


def clickable_image(png: bytes, grid: display.DisplayGrid, key: str) -> None:
    """Show an image; a click pins the pixel under it, a drag selects a region.

    ``key`` must be one of :data:`IMAGE_KEYS`: their clicks are taken at the top of the page
    (:func:`take_clicks`), so the run that receives a click already draws its pin; a click found
    only here costs one more run.
    """
    streamlit_image_coordinates(_EncodedPng(png), key=key, click_and_drag=True, width="content", cursor="crosshair")
    if take_clicks(grid, key):
        st.rerun()


def take_clicks(grid: display.DisplayGrid, *keys: str) -> bool:
    """Apply clicks and drags not yet seen on the images with these keys; True if any was new.

    A click pins the pixel under it (``st.session_state["pins"]``, list of ``[row, col]``); a
    drag sets ``st.session_state["region"]`` (``[row0, row1, col0, col1]``, end-exclusive).
    """
    changed = False
    for key in keys:
        value = st.session_state.get(key)
        if not value or value.get("unix_time") == st.session_state.get(f"{key}_seen"):
            continue
        st.session_state[f"{key}_seen"] = value.get("unix_time")
        changed = True
        width, height = value["width"], value["height"]
        r1, c1 = grid.to_pixel(value["x1"], value["y1"], width, height)
        if abs(value["x2"] - value["x1"]) < _CLICK_SLOP and abs(value["y2"] - value["y1"]) < _CLICK_SLOP:
            pin(r1, c1)
        else:
            r2, c2 = grid.to_pixel(value["x2"], value["y2"], width, height)
            st.session_state["region"] = [min(r1, r2), max(r1, r2) + 1, min(c1, c2), max(c1, c2) + 1]
    return changed


def pins() -> list[list[int]]:
    return st.session_state.setdefault("pins", [])


def pin(row: int, col: int) -> None:
    """Pin a pixel (once); the oldest pin goes when there are more than :data:`MAX_PINS`."""
    current = pins()
    if [row, col] in current:
        return
    current.append([int(row), int(col)])
    del current[:-MAX_PINS]


def overlay_points() -> list[tuple[int, int, int]]:
    """Pins as ``(row, col, marker number)`` for :func:`cubescope.display.draw_overlay`."""
    return [(r, c, k) for k, (r, c) in enumerate(pins())]


def region_box() -> tuple[int, int, int, int] | None:
    """The selected region as ``(row0, row1, col0, col1)``, end-exclusive, or None."""
    region = st.session_state.get("region")
    return tuple(region) if region else None


def reset_view() -> None:
    """Forget pins, region and band choices: called when another cube is opened."""
    st.session_state["pins"] = []
    for key in ("region", "band", "rgb_r", "rgb_g", "rgb_b", "vmin", "vmax", "pca_vmin", "pca_vmax",
                "band_axis_choice"):
        st.session_state.pop(key, None)


def pin_controls(cube: Cube) -> None:
    """Type a pixel to pin it; clear pins and region."""
    with st.form("pin_form", border=False):
        a, b, c = st.columns([1, 1, 1], vertical_alignment="bottom")
        size = f"{cube.rows}x{cube.cols}"
        row = a.number_input("Row", 0, cube.rows - 1, cube.rows // 2, key=f"pin_row_{size}")
        col = b.number_input("Column", 0, cube.cols - 1, cube.cols // 2, key=f"pin_col_{size}")
        if c.form_submit_button("Pin pixel", width="stretch", key="pin_submit"):
            pin(int(row), int(col))
    left, right = st.columns(2)
    if left.button("Clear pins", width="stretch", key="clear_pins", disabled=not pins()):
        st.session_state["pins"] = []
        st.rerun()
    if right.button("Clear region", width="stretch", key="clear_region", disabled=not st.session_state.get("region")):
        st.session_state.pop("region", None)
        st.rerun()
