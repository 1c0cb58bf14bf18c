"""One image on a page, drawn the same way everywhere: its stretch controls (from the image's
own value range), the tile of the zoom window, the viewer, and its export panel.

A page says what the image is (a :class:`cubescope.products.Product`) and how it reads; the
rest is this recipe's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from cubescope import Cube, display, state
from cubescope.products import Product
from cubescope.roi import mask_rings
from cubescope_ui import data, exporting, widgets
from cubescope_ui.text import html_text
from cubescope_ui.viewer import band_tile, image_viewer, rgb_tile


@dataclass(frozen=True)
class Export:
    """How an image is exported: the parts of its file name, the metadata written into the file,
    and the panel's widget key."""

    name_parts: tuple
    key: str
    metadata: Mapping[str, Any] = field(default_factory=dict)


def show_image(key: str, cube_id: str, cube: Cube, context: state.LinkContext, product: Product, *,
               label: str, prefix: str = "", quantity: str = "", colorbar: str | None = None,
               export: Export | None = None, stretch: widgets.Stretch | None = None,
               follow: tuple[str, int] | None = None, outlines: Sequence[dict] = ()
               ) -> tuple[widgets.Stretch, DeltaGenerator]:
    """Stretch controls (keys starting with ``prefix``; none when ``stretch`` is given), then
    ``product`` in viewer ``key``, read out in ``quantity`` and titled ``label``, with a
    colourbar titled ``colorbar`` (default: the label), then its export panel when ``export``
    says how; ``outlines`` are polygons drawn over it (:func:`outline`). Returns the stretch
    used and the viewer's container.
    """
    if stretch is None:
        stretch = widgets.stretch_controls(context, prefix, value_range=data.value_range(cube_id, product))
    tile = band_tile(key, cube_id, cube, product, stretch)
    holder = image_viewer(key, cube, tile, colormap=stretch.colormap, label=label, quantity=quantity,
                          name=product.name, colorbar=label if colorbar is None else colorbar, follow=follow,
                          outlines=outlines)
    if export is not None:
        exporting.image_panel(lambda: data.derived_image(cube_id, product), stretch, export.name_parts,
                              export.metadata, key=export.key, geo=cube.geo)
    return stretch, holder


def show_rgb(key: str, cube_id: str, cube: Cube, context: state.LinkContext,
             products: tuple[Product, Product, Product], *, label: str, channel_names: Sequence[str],
             prefix: str = "", quantity: str = "", export: Export | None = None,
             stretch: widgets.RGBStretch | None = None) -> widgets.RGBStretch:
    """An RGB composite of three products, each channel stretched on its own; as
    :func:`show_image` otherwise."""
    if stretch is None:
        stretch = widgets.rgb_stretch_controls(context, prefix,
                                               tuple(data.value_range(cube_id, p) for p in products))
    tile = rgb_tile(key, cube_id, cube, products, stretch)
    image_viewer(key, cube, tile, channel_names=channel_names, label=label, quantity=quantity,
                 name="rgb-" + "-".join(p.name for p in products))
    if export is not None:
        exporting.rgb_panel(lambda: tuple(data.derived_image(cube_id, p) for p in products), tile.limits,
                            export.name_parts, export.metadata, key=export.key, geo=cube.geo)
    return stretch


#: Most corners of outlines drawn over an image (a ragged mask would send megabytes to the browser).
MAX_OUTLINE_CORNERS = 20_000


def outline(mask: np.ndarray, colour: str, name: str) -> list[dict]:
    """The boundary of ``mask`` (rows, cols) as polygons the viewer draws over an image; none
    when it has more than :data:`MAX_OUTLINE_CORNERS` corners."""
    rings = mask_rings(mask)
    if sum(len(ring) for ring in rings) > MAX_OUTLINE_CORNERS:
        return []
    return [{"kind": "polygon", "points": [[y, x] for x, y in ring], "colour": colour, "name": name} for ring in rings]


#: Most cells along a side of a mask sent to the viewer (a larger mask is sent in blocks).
MAX_MASK_SIDE = 1024


def mask_overlay(mask: np.ndarray, colour: str, name: str) -> dict:
    """``mask`` (rows, cols) as a layer the viewer tints over an image: its bits packed row by
    row (a block of ``step`` x ``step`` pixels counts as one cell, set when any pixel in it
    is, beyond :data:`MAX_MASK_SIDE` cells a side)."""
    import base64

    mask = np.asarray(mask, bool)
    step = -(-max(mask.shape) // MAX_MASK_SIDE)
    if step > 1:
        rows, cols = -(-mask.shape[0] // step), -(-mask.shape[1] // step)
        padded = np.zeros((rows * step, cols * step), bool)
        padded[:mask.shape[0], :mask.shape[1]] = mask
        mask = padded.reshape(rows, step, cols, step).any(axis=(1, 3))
    return {"kind": "mask", "rows": mask.shape[0], "cols": mask.shape[1], "step": step, "colour": colour,
            "name": name, "bits": base64.b64encode(np.packbits(mask, axis=None)).decode()}


def class_colours(count: int) -> list[str]:
    """The colours of ``count`` classes as the viewer draws them, as ``#rrggbb``."""
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in display.class_colours(count)]


def show_classes(key: str, cube: Cube, tile: display.Tile, names: Sequence[str], *, label: str, name: str,
                 labels: Callable[[], np.ndarray], export: Export, channel_names: Sequence[str] = ("class",),
                 quantity: str = "") -> None:
    """A class map in viewer ``key`` (a class tile: each class in its colour, none transparent;
    the readout names the class), a line of its colours and names, and its GeoTIFF export
    (``labels()``: the whole map, -1 where no class)."""
    image_viewer(key, cube, tile, label=label, channel_names=channel_names, quantity=quantity, name=name,
                 value_names=list(names))
    colours = class_colours(len(names))
    swatches = (f"<span style='background:{c};padding:0 0.6em;border-radius:3px'>&nbsp;</span> {html_text(n)}"
                for n, c in zip(names, colours, strict=True))
    st.markdown(" &nbsp; ".join(swatches), unsafe_allow_html=True)
    exporting.class_map_download(labels, list(names), colours, export.name_parts, key=export.key, geo=cube.geo)
