"""The image viewer: a custom component (Streamlit components v2, no iframe) that fits its
column, zooms and pans, reads out values under the pointer and draws pins, regions, polygons
and the transect's line.

Why a component of our own rather than ``st.image``, plotly or streamlit-image-coordinates:
``st.image`` has no events; a plotly heatmap sends every value as JSON (7 MB a band) and has no
click on image traces; streamlit-image-coordinates is an iframe of fixed size (cut off at narrow
widths) with no zoom. This one is about 600 lines of plain JavaScript bundled with the app
(``assets/viewer.js``), downloads nothing, and receives one binary payload per image: the shown
window's float32 values and its colours, packed by :func:`pack`.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cubescope import Cube, display, preview, roi, viewport
from cubescope.products import Band, Product
from cubescope.wavelengths import band_label
from cubescope.words import ordinal
from cubescope_ui import data, session
from cubescope_ui.widgets import RGBStretch, Stretch

_ASSETS = Path(__file__).parent / "assets"
_COMPONENT = st.components.v2.component(
    "cubescope_viewer", js=(_ASSETS / "common.js").read_text() + (_ASSETS / "viewer.js").read_text(),
    css=(_ASSETS / "viewer.css").read_text(),
)
# Pins and regions travel apart from the image: a new pin re-sends a few bytes, and the image's
# payload, unchanged, goes as a reference to the copy the browser already holds.
_OVERLAYS = st.components.v2.component("cubescope_overlays", js=(_ASSETS / "overlays.js").read_text())
# The image of the next band, sent last in a run: a step of the band slider paints at once from
# it (assets/prefetch.js), before the server's run for that band.
_PREFETCH = st.components.v2.component("cubescope_prefetch", js=(_ASSETS / "common.js").read_text()
                                         + (_ASSETS / "prefetch.js").read_text())
# A compressed copy of the window shown (cubescope.preview), sent last in a run: the viewer paints
# any band from it, and the spectra chart any pixel's spectrum, before the server answers
# (assets/preview.js). Its codes travel as bytes; every band's stretch, small, as JSON beside them.
_PREVIEW = st.components.v2.component("cubescope_preview", js=(_ASSETS / "common.js").read_text()
                                       + (_ASSETS / "preview.js").read_text())
_NOTES = itertools.count()
#: Most samples a preview sends (k codes of 2 bytes each): 512 x 512.
MAX_PREVIEW_SHOWN = 2**18
#: The box assumed until the browser reports the viewer's size: CSS width, height, pixel ratio.
DEFAULT_BOX = (700, 560, 1.0)
#: The largest box a browser may report (a hostile one could otherwise ask for whole bands).
MAX_BOX_SIDE = 4096
REGION_COLOUR = display.MARKER_COLOURS[8]
#: The transect's colour on the image (its end spectra take it too).
LINE_COLOUR = "#111111"


def _step_for(key: str, window: viewport.Window) -> int:
    """The sample step for viewer ``key`` showing ``window`` in the box its browser reported."""
    width, height, ratio = st.session_state.get(f"{key}_box") or DEFAULT_BOX
    return viewport.sample_step(window, width, height, ratio)


def band_tile(key: str, cube_id: str, cube: Cube, product: Product, stretch: Stretch) -> display.Tile:
    """The tile viewer ``key`` shows of one image (a band or another product): the
    session's zoom window at the resolution its box asks for, stretched from the whole image."""
    window = session.window(cube)
    return data.tile(cube_id, product, tuple(window.as_list()), _step_for(key, window), stretch.method,
                     stretch.low, stretch.high, stretch.vmin, stretch.vmax)


def rgb_tile(key: str, cube_id: str, cube: Cube, products: tuple[Product, Product, Product],
             stretch: RGBStretch) -> display.Tile:
    """The tile viewer ``key`` shows of an RGB composite of three products."""
    window = session.window(cube)
    return data.rgb_tile(cube_id, products, tuple(window.as_list()), _step_for(key, window), stretch.method,
                         stretch.low, stretch.high, stretch.ranges)


def class_tile(key: str, cube_id: str, cube: Cube, library_key: str, threshold: float) -> display.Tile:
    """The tile viewer ``key`` shows of a library class map."""
    window = session.window(cube)
    return data.class_tile(cube_id, library_key, threshold, tuple(window.as_list()), _step_for(key, window))


def kmeans_tile(key: str, cube_id: str, cube: Cube, n_classes: int, seed: int) -> display.Tile:
    """The tile viewer ``key`` shows of a k-means class map."""
    window = session.window(cube)
    return data.kmeans_tile(cube_id, n_classes, seed, tuple(window.as_list()), _step_for(key, window))


def labels_tile(key: str, cube_id: str, cube: Cube, name: str, labels: np.ndarray, n_classes: int) -> display.Tile:
    """The tile viewer ``key`` shows of a class map ``labels`` (-1 for no class) named ``name``."""
    window = session.window(cube)
    return data.labels_tile(cube_id, name, tuple(window.as_list()), _step_for(key, window), n_classes, labels)


def overlays(polygons: Sequence[dict] = ()) -> list[dict[str, Any]]:
    """The session's pins and region (and any polygons) as the viewer draws them."""
    drawn: list[dict[str, Any]] = [
        {"kind": "pin", "row": r, "col": c, "colour": display.MARKER_COLOURS[k % len(display.MARKER_COLOURS)]}
        for k, (r, c) in enumerate(session.pins())
    ]
    box = session.region()
    if box is not None:
        drawn.append({"kind": "rect", "box": list(box), "colour": REGION_COLOUR})
    ends = session.line()
    if ends is not None:
        drawn.append({"kind": "line", "ends": [list(ends[:2]), list(ends[2:])], "colour": LINE_COLOUR})
    drawn += [{"kind": "polygon", "points": [[y, x] for x, y in ring], "colour": area.colour, "name": area.name}
              for area in session.rois() for ring in area.rings]
    return drawn + list(polygons)


def pack(tile: display.Tile, rows: int, cols: int, *, key: str = "image", colormap: str = "gray", label: str = "",
         quantity: str = "", channel_names: Sequence[str] = ("",),
         tile_id: str = "", tools: Sequence[str] = ("select", "polygon", "line", "pan"),
         geo: dict[str, Any] | None = None, colorbar: str | None = None,
         value_names: Sequence[str] | None = None, follow: tuple[str, int] | None = None) -> bytes:
    """One image as the viewer's payload: a little-endian uint32 header length, the JSON
    header (padded to 4 bytes), the values as float32 planes, then the pixels.

    ``colorbar`` titles the colourbar drawn under a single-band image (its stretch's values).
    ``value_names`` name the first channel's whole values in the readout (a class map's classes).
    ``geo`` places a georeferenced cube's pixels for the readout: exact lon/lat at a grid of
    pixel centres over the window (:func:`geo_grid`), interpolated between in the browser.
    ``follow`` is ``(slider key, value)``: the slider whose value picks this image, and that value.
    """
    values = np.asarray(tile.values, dtype="<f4")
    planes = np.moveaxis(values, -1, 0) if values.ndim == 3 else values[None]
    h, w = planes.shape[1:]
    header = {
        "key": key, "id": tile_id, "rows": rows, "cols": cols, "window": tile.window.as_list(), "step": tile.step,
        "step_text": ordinal(tile.step), "h": h, "w": w, "channels": planes.shape[0],
        "kind": "rgba" if tile.pixels.ndim == 3 else "index", "nan_index": display.NAN_INDEX,
        "palette": list(display.palette(colormap)) if tile.pixels.ndim == 2 else None,
        "label": label, "quantity": quantity, "channel_names": list(channel_names),
        "tools": list(tools), "min_window": viewport.MIN_WINDOW, "geo": geo, "data_levels": display.DATA_LEVELS,
        "colorbar": _colorbar(tile, colorbar), "value_names": None if value_names is None else list(value_names),
        "follow": None if follow is None else {"selector": f".st-key-{follow[0]} input[type='range']",
                                               "value": int(follow[1])},
    }
    text = json.dumps(header, allow_nan=False).encode()
    text += b" " * (-(4 + len(text)) % 4)
    return b"".join([np.uint32(len(text)).astype("<u4").tobytes(), text, np.ascontiguousarray(planes).tobytes(),
                     np.ascontiguousarray(tile.pixels, dtype=np.uint8).tobytes()])


def geo_grid(cube: Cube, window: viewport.Window) -> dict[str, Any] | None:
    """Lon/lat at a grid of pixel centres over ``window`` for the viewer's readout (rounded to
    1e-7°, about a centimetre); None for a cube that is not georeferenced."""
    if cube.geo is None:
        return None
    rows, cols, lon, lat = cube.geo.lonlat_grid((window.row0, window.row1), (window.col0, window.col1))
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        lon, lat = np.nan_to_num(lon, nan=1e9), np.nan_to_num(lat, nan=1e9)  # 1e9: no coordinate there
    return {"rows": rows.tolist(), "cols": cols.tolist(), "lon": np.round(lon, 7).tolist(),
            "lat": np.round(lat, 7).tolist()}


def _colorbar(tile: display.Tile, title: str | None) -> dict[str, Any] | None:
    # No colourbar for an RGB composite, nor for an image with no data: a bar from 0 to 0
    # would claim values it does not have.
    if title is None or tile.pixels.ndim == 3 or not np.isfinite(tile.limits).all():
        return None
    lo, hi = (float(v) for v in tile.limits)
    return {"lo": lo, "hi": hi, "title": title}


def band_image(cube: Cube, band: int, colormap: str) -> dict[str, Any]:
    """How a band image is named and labelled in the viewer (:func:`image_viewer`'s arguments),
    as the Bands page shows it (:func:`prefetch_band` sends the next band so)."""
    label = band_label(band, cube.wavelengths, cube.wavelength_units)
    return {"colormap": colormap, "label": label, "quantity": cube.quantity or "", "name": Band(band).name,
            "colorbar": f"{label} ({cube.quantity or 'value'})"}


def _payload(key: str, cube: Cube, tile: display.Tile, *, name: str = "image", **kwargs: Any) -> bytes:
    return pack(tile, cube.rows, cube.cols, key=key, tile_id=f"{name}-{tile.window.as_list()}-{tile.step}",
                geo=geo_grid(cube, tile.window), **kwargs)


def image_viewer(key: str, cube: Cube, tile: display.Tile, *, colormap: str = "gray", label: str = "",
                 quantity: str = "", channel_names: Sequence[str] = ("",), name: str = "image",
                 colorbar: str | None = None, value_names: Sequence[str] | None = None,
                 follow: tuple[str, int] | None = None, outlines: Sequence[dict] = ()) -> DeltaGenerator:
    """Show ``tile`` in the viewer with key ``key``. A click pins a pixel, a drag selects a
    region, a zoom or pan sets the window every image of the cube shows (and says the box it
    is shown in); all are applied in callbacks, before the run that draws them. ``name`` says
    what the image is (``band-12``): with the tile's window and step it names what is painted.
    ``follow`` is ``(slider key, value)`` when a slider picks the image (see :func:`prefetch_band`).
    ``outlines`` are polygons drawn over the image besides the session's (:func:`overlays`).
    Returns the viewer's container, for :func:`prefetch_band`.
    """
    payload = _payload(key, cube, tile, name=name, colormap=colormap, label=label, quantity=quantity,
                       channel_names=channel_names, colorbar=colorbar, value_names=value_names, follow=follow)
    size = (cube.rows, cube.cols)
    holder = st.container(gap=None)
    with holder:
        _COMPONENT(
            key=key, data=payload,
            on_click_change=functools.partial(_on_click, key, size),
            on_region_change=functools.partial(_on_region, key, size),
            on_view_change=functools.partial(_on_view, key, size),
            on_polygon_change=functools.partial(_on_polygon, key, size),
            on_line_change=functools.partial(_on_line, key, size),
        )
        _OVERLAYS(key=f"{key}_overlays", data={"target": key, "overlays": overlays(outlines)})
    return holder


def prefetch_band(holder: DeltaGenerator, key: str, cube_id: str, cube: Cube, band: int, stretch: Stretch,
                  control: str) -> None:
    """Send viewer ``key`` the image of the next band in the direction the slider ``control``
    last moved (up at first; the only way open at either end), with the same window, step and
    stretch, into ``holder``, the container :func:`image_viewer` returned. Call it last in a
    run, so that the image and the spectra go first. When the slider steps to that band the
    browser paints it at once (and a step back to a band just shown, from the viewer's own
    copy); the run for that band then sends the same bytes, which the viewer recognises. One
    band, not both neighbours: each costs a tile and 1.3 MB on the wire in every run that
    changes the window."""
    last = st.session_state.get(f"{key}_last_band")
    st.session_state[f"{key}_last_band"] = band
    step = -1 if last is not None and band < last else 1
    if not 0 <= band + step < cube.n_bands:  # at the first or last band only one way is open
        step = -step
    neighbour = band + step
    if not 0 <= neighbour < cube.n_bands:  # a single band
        return
    tile = band_tile(key, cube_id, cube, Band(neighbour), stretch)
    with holder:
        _PREFETCH(key=f"{key}_prefetch", data=_payload(key, cube, tile, **band_image(cube, neighbour, stretch.colormap),
                                                       follow=(control, neighbour)))


def pack_preview(model: preview.PreviewModel, shown: preview.PreviewWindow, *, key: str, preview_id: str,
                 chart: str | None = None, shown_step: int | None = None) -> bytes:
    """A preview as the browser reads it (``assets/preview.js``): a little-endian uint32 header
    length, the JSON header (padded to 4 bytes), then float32 mean (bands), loadings (bands x
    k), offsets (k) and scales (k), then the uint16 codes (k x h x w). ``shown_step`` is the
    step of the exact images it stands in for (its own may be coarser)."""
    k, h, w = shown.codes.shape
    header = {"key": key, "id": preview_id, "window": shown.window.as_list(), "step": shown.step,
              "shown_step": shown.step if shown_step is None else shown_step, "h": h, "w": w,
              "k": k, "n_bands": int(model.mean.size), "rmse": model.rmse, "explained": model.explained,
              "chart": chart, "no_data": preview.NO_DATA, "marker_colours": list(display.MARKER_COLOURS)}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 4)
    floats = np.concatenate([model.mean, model.loadings.ravel(), shown.offsets, shown.scales]).astype("<f4")
    return b"".join([np.uint32(len(text)).astype("<u4").tobytes(), text, floats.tobytes(),
                     np.ascontiguousarray(shown.codes, dtype="<u2").tobytes()])


def _packed_preview(cube_id: str, window: viewport.Window, step: int, shown_step: int, model: preview.PreviewModel,
                    **header: Any) -> bytes:
    shown = preview.preview_window(data.open_cube(cube_id), model, window, step)
    return pack_preview(model, shown, shown_step=shown_step, **header)


def send_preview(holder: DeltaGenerator, key: str, cube_id: str, cube: Cube, stretch: Stretch,
                 chart: str | None = None) -> None:
    """Send viewer ``key`` the preview of the window it shows, and every band's stretch, into
    ``holder`` (:func:`image_viewer`'s container), each once computed in the background (a run
    never waits for them: the run after sends them; until then the stretch goes empty, so that
    the browser never colours a preview with a stretch left from before). ``chart`` is the
    spectra chart a click previews a spectrum in."""
    parts = data.preview_parts(cube_id, stretch.method, stretch.low, stretch.high, stretch.vmin, stretch.vmax)
    if parts is None:
        return
    model, limits = parts
    window = session.window(cube)
    step = shown_step = _step_for(key, window)
    while len(range(window.row0, window.row1, step)) * len(range(window.col0, window.col1, step)) > MAX_PREVIEW_SHOWN:
        step += 1  # a screen of many device pixels gets a coarser preview: the exact image follows
    preview_id = f"{cube_id}|{window.as_list()}|{shown_step}"
    labels = [band_label(b, cube.wavelengths, cube.wavelength_units) for b in range(cube.n_bands)]
    payload = None if model is None else data.in_background(
        ("window", preview_id, step, key, chart), functools.partial(
            _packed_preview, cube_id, window, step, shown_step, model, key=key, preview_id=preview_id, chart=chart),
        large=True)
    with holder:
        if payload is not None:
            # Megabytes the browser keeps (window.__cubescopePreviews): sent once per preview, not
            # on every band move; a browser that lacks it asks for it again ("missing"). The note
            # differs on every run: the browser looks only at a component whose data changed.
            sent = f"{preview_id}|{chart}"  # the chart is in the payload's header too
            note = {"target": key, "kept": preview_id, "run": next(_NOTES)}
            _PREVIEW(key=f"{key}_preview", data=note if session.sent_preview(key) == sent else payload,
                     on_missing_change=functools.partial(session.set_sent_preview, key, None))
            session.set_sent_preview(key, sent)
        _PREVIEW(key=f"{key}_preview_stretch", data={
            "target": key, "id": preview_id, "labels": labels, "quantity": cube.quantity or "",
            "limits": [] if limits is None else [[float(lo), float(hi)] if np.isfinite([lo, hi]).all() else None
                                                 for lo, hi in limits]})


def component_event(key: str, name: str) -> Any:
    """The value a custom component ``key`` last sent under ``name`` (a trigger or a state)."""
    value = st.session_state.get(key)
    if value is None:
        return None
    return value.get(name) if hasattr(value, "get") else getattr(value, name, None)


def finite_numbers(value: Any, count: int) -> list[float] | None:
    """``count`` finite numbers from a browser message, or None (anything else is ignored)."""
    if not isinstance(value, list | tuple) or len(value) != count:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v) for v in value):
        return None
    return [float(v) for v in value]


def _integers(value: Any, count: int) -> list[int] | None:
    numbers = finite_numbers(value, count)
    return None if numbers is None else [int(v) for v in numbers]


def _on_click(key: str, size: tuple[int, int]) -> None:
    pixel = _integers(component_event(key, "click"), 2)
    if pixel and 0 <= pixel[0] < size[0] and 0 <= pixel[1] < size[1]:
        session.pin(*pixel)


def _on_region(key: str, size: tuple[int, int]) -> None:
    box = _integers(component_event(key, "region"), 4)
    if box:
        r0, r1, c0, c1 = box
        r0, c0 = max(r0, 0), max(c0, 0)
        r1, c1 = min(r1, size[0]), min(c1, size[1])
        if r0 < r1 and c0 < c1:
            session.set_region([r0, r1, c0, c1])


def _on_polygon(key: str, size: tuple[int, int]) -> None:
    """A polygon drawn with the Polygon tool: its vertices ``[[x, y], ...]`` (pixel corners),
    kept inside the image, become a new ROI."""
    points = component_event(key, "polygon")
    if not isinstance(points, list) or not 3 <= len(points) <= roi.MAX_VERTICES:
        return
    vertices = []
    for point in points:
        pair = finite_numbers(point, 2)
        if pair is None:
            return
        vertices.append((round(min(max(pair[0], 0.0), size[1]), 2), round(min(max(pair[1], 0.0), size[0]), 2)))
    session.add_roi(vertices)


def _on_line(key: str, size: tuple[int, int]) -> None:
    """A line drawn with the Line tool, from one pixel to another: the session's transect."""
    ends = _integers(component_event(key, "line"), 4)
    if ends and all(0 <= r < size[0] for r in ends[::2]) and all(0 <= c < size[1] for c in ends[1::2]) \
            and ends[:2] != ends[2:]:
        session.set_line(ends)


def _on_view(key: str, size: tuple[int, int]) -> None:
    """A zoom, a pan or a resize: the window every image shows, and this viewer's box."""
    view = component_event(key, "view")
    if not isinstance(view, dict):
        return
    window = _integers(view.get("window"), 4)
    if window and window[0] < window[1] and window[2] < window[3]:
        shown = viewport.Window(*window).fitted(*size)
        session.set_zoom(None if shown.is_whole(*size) else shown)
    box = view.get("box")
    if (isinstance(box, list) and len(box) == 3
            and all(isinstance(v, int | float) and not isinstance(v, bool) and np.isfinite(v) for v in box)):
        width, height, ratio = box
        st.session_state[f"{key}_box"] = (min(max(float(width), 16.0), MAX_BOX_SIDE),
                                          min(max(float(height), 16.0), MAX_BOX_SIDE), min(max(float(ratio), 0.5), 2.0))


def unpack(payload: bytes) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """The header, values ``(channels, h, w)`` and pixels of a payload made by :func:`pack`
    (what the browser decodes; tests read it back with this)."""
    length = int(np.frombuffer(payload[:4], "<u4")[0])
    header = json.loads(payload[4:4 + length])
    start = 4 + length
    count = header["channels"] * header["h"] * header["w"]
    values = np.frombuffer(payload[start:start + 4 * count], "<f4").reshape(header["channels"], header["h"],
                                                                             header["w"])
    shape = (header["h"], header["w"], 4) if header["kind"] == "rgba" else (header["h"], header["w"])
    pixels = np.frombuffer(payload[start + 4 * count:], np.uint8).reshape(shape)
    return header, values, pixels
