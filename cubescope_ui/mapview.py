"""The map: a georeferenced cube's image over a basemap (custom component v2, ``assets/map.js``).

The image is warped on the server onto a Web Mercator grid (:mod:`cubescope.mapping`) and drawn
by the browser over basemap tiles it loads itself; nothing is downloaded by the server, and
with no network the image draws on a plain background. A click comes back as longitude and
latitude, and the pixel there is found with the cube's own georeferencing, exactly.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from cubescope import Cube, display
from cubescope.mapping import MercatorGrid
from cubescope_ui import session
from cubescope_ui.viewer import component_event, finite_numbers

_ASSETS = Path(__file__).parent / "assets"
_MAP = st.components.v2.component(
    "cubescope_map", js=(_ASSETS / "common.js").read_text() + (_ASSETS / "map.js").read_text(),
    css=(_ASSETS / "map.css").read_text())

#: The basemap the browser loads, unless ``CUBESCOPE_BASEMAP_URL`` names another tile server
#: (``{z}/{x}/{y}`` template) or is empty (no basemap).
BASEMAP = {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "credit": "© OpenStreetMap contributors",
           "max_zoom": 19}


def basemap() -> dict[str, Any] | None:
    """The basemap the browser is told to load, from the environment."""
    url = os.environ.get("CUBESCOPE_BASEMAP_URL")
    if url is None:
        return dict(BASEMAP)
    if not url.strip():
        return None
    return {"url": url.strip(), "credit": os.environ.get("CUBESCOPE_BASEMAP_CREDIT", ""), "max_zoom": 19}


def pack(grid: MercatorGrid, values: np.ndarray, rgba: np.ndarray, cube: Cube, *, key: str, scene: str,
         image: str, pins: Sequence[dict], channel_names: Sequence[str], quantity: str,
         tiles: dict[str, Any] | None, opacity: float) -> bytes:
    """The map's payload: uint32 header length, JSON header (padded to 4 bytes), RGBA, values
    ``(channels, h, w)`` float32, each cell's cube pixel (int32 ``row * cols + col``, -1), and
    the lon/lat of that pixel's centre (float32 ``(2, h, w)``, degrees from ``origin``)."""
    h, w = grid.shape
    header = {"key": key, "scene": scene, "image": image, "bounds": list(grid.bounds), "w": w, "h": h,
              "rows": cube.rows, "cols": cube.cols, "channels": int(values.shape[0]),
              "channel_names": list(channel_names), "quantity": quantity, "pins": list(pins), "basemap": tiles,
              "opacity": opacity, "origin": list(grid.origin)}
    text = json.dumps(header, allow_nan=False).encode()
    text += b" " * (-(4 + len(text)) % 4)
    index = np.where(grid.inside, grid.rows.astype(np.int64) * cube.cols + grid.cols, -1).astype("<i4")
    return b"".join([np.uint32(len(text)).astype("<u4").tobytes(), text,
                     np.ascontiguousarray(rgba, dtype=np.uint8).tobytes(),
                     np.ascontiguousarray(values, dtype="<f4").tobytes(), index.tobytes(),
                     np.ascontiguousarray(grid.centres, dtype="<f4").tobytes()])


def pins_on_map(cube: Cube) -> list[dict[str, Any]]:
    """The session's pins at their pixel centres' lon/lat, in their colours."""
    placed = []
    for k, (r, c) in enumerate(session.pins_in(cube)):
        lon, lat = cube.lonlat(r, c)
        if np.isfinite(lon) and np.isfinite(lat):
            placed.append({"lon": lon, "lat": lat, "colour": display.MARKER_COLOURS[k % len(display.MARKER_COLOURS)],
                           "row": r, "col": c})
    return placed


def map_view(key: str, cube_id: str, cube: Cube, grid: MercatorGrid, values: np.ndarray, rgba: np.ndarray, *,
             image: str, channel_names: Sequence[str] = ("",), quantity: str = "", opacity: float = 1.0) -> None:
    """Show the image on the map; a click pins the cube pixel under it."""
    payload = pack(grid, values, rgba, cube, key=key, scene=cube_id, image=image, pins=pins_on_map(cube),
                   channel_names=channel_names, quantity=quantity, tiles=basemap(), opacity=opacity)
    _MAP(key=key, data=payload, on_click_change=functools.partial(_on_click, key, cube))


def _on_click(key: str, cube: Cube) -> None:
    click = finite_numbers(component_event(key, "click"), 2)
    if click is None:
        return
    lon, lat = click
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return
    row, col = (int(v) for v in cube.geo.pixel_at(lon, lat))
    if row >= 0:
        session.pin(row, col)
