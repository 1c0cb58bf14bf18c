"""One image on a page, drawn the same way everywhere: its stretch controls (from the image's
own value range), the tile of the zoom window, the viewer, and its export panel.

A page says what the image is (a :class:`cubescope.products.Product`) and how it reads; the
rest is this recipe's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streamlit.delta_generator import DeltaGenerator

from cubescope import Cube, state
from cubescope.products import Product
from cubescope_ui import data, exporting, widgets
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
               follow: tuple[str, int] | None = None) -> tuple[widgets.Stretch, DeltaGenerator]:
    """Stretch controls (keys starting with ``prefix``; none when ``stretch`` is given), then
    ``product`` in viewer ``key``, read out in ``quantity`` and titled ``label``, with a
    colourbar titled ``colorbar`` (default: the label), then its export panel when ``export``
    says how. Returns the stretch used and the viewer's container.
    """
    if stretch is None:
        stretch = widgets.stretch_controls(context, prefix, value_range=data.value_range(cube_id, product))
    tile = band_tile(key, cube_id, cube, product, stretch)
    holder = image_viewer(key, cube, tile, colormap=stretch.colormap, label=label, quantity=quantity,
                          name=product.name, colorbar=label if colorbar is None else colorbar, follow=follow)
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
