"""The spectra the user has marked on the cube, gathered one way for every page: the pinned
pixels, the selected region's mean and each ROI's mean.

A page plots them, makes a library or endmembers of them, or (later) a detector's target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, display
from cubescope import roi as roi_module
from cubescope.plots import Trace
from cubescope.transect import line_pixels
from cubescope_ui import data, session
from cubescope_ui.text import plain
from cubescope_ui.viewer import LINE_COLOUR, REGION_COLOUR

#: The marker whose colour the region's spectrum takes (the viewer draws the region in it).
REGION_MARKER = 8
#: The colours of the spectra at a transect's ends (its start dark, its end light).
LINE_END_COLOURS = {"A": "#111111", "B": "#8c8c8c"}


@dataclass(frozen=True)
class Marked:
    """One marked spectrum: a pin's, the region's mean or an ROI's mean.

    ``name`` names it in a table or a library (``pixel (10, 20)``); ``label`` in a chart's
    legend. ``std`` is the spread of an area's pixels (None for a pin); ``count`` its pixels.
    """

    kind: str
    name: str
    label: str
    values: np.ndarray
    std: np.ndarray | None = None
    count: int = 1
    pixel: tuple[int, int] | None = None
    marker: int | None = None
    colour: str | None = None

    def trace(self, spread: bool = True) -> Trace:
        """The spectrum as a chart draws it, in its pin's, the region's or its ROI's colour."""
        return Trace(self.label, self.values, self.std if spread else None, marker=self.marker, colour=self.colour)


def marked_spectra(cube_id: str, cube: Cube) -> list[Marked]:
    """The session's marked spectra on ``cube``: the pins inside it, the ROIs with pixels, the
    transect's ends, then the region. A region that cannot be measured is said so on the page and left out."""
    found = [Marked("pin", f"pixel ({r}, {c})", f"({r}, {c})", cube.spectrum(r, c), pixel=(r, c), marker=k)
             for k, (r, c) in enumerate(session.pins_in(cube))]
    for area in session.rois():
        stats = data.roi_stats(cube_id, roi_module.encode_rois([area]))
        if stats.count:
            found.append(Marked("roi", area.name, f"{area.name} mean ({stats.count} px)", stats.mean, stats.std,
                                stats.count, colour=area.colour))
    ends = session.line()
    if ends is not None:
        for name, (r, c) in (("A", ends[:2]), ("B", ends[2:])):
            found.append(Marked("line", f"transect {name} ({r}, {c})", f"{name} ({r}, {c})", cube.spectrum(r, c),
                                pixel=(r, c), colour=LINE_END_COLOURS[name]))
    box = session.region()
    if box is not None:
        try:
            stats = data.region_stats(cube_id, tuple(box))
        except CubeError as exc:
            st.warning(plain(exc))
            return found
        found.append(Marked("region", f"region {box[0]}-{box[1]} x {box[2]}-{box[3]}",
                            f"region mean ±1σ ({stats.count} px)", stats.mean, stats.std, stats.count,
                            marker=REGION_MARKER))
    return found


@dataclass(frozen=True)
class MarkedPixels:
    """The pixels of one mark (a pin, the region, an ROI, the transect) as a mask (rows, cols),
    in the colour the viewer draws the mark in."""

    name: str
    colour: str
    mask: np.ndarray
    pin: bool = False


def marked_pixels(cube: Cube) -> list[MarkedPixels]:
    """The session's marks on ``cube`` as pixel masks: the pins, the ROIs, the transect's
    pixels and the region (those holding no pixel of the cube are left out)."""
    shape = (cube.rows, cube.cols)
    found = []
    for k, (r, c) in enumerate(session.pins_in(cube)):
        mask = np.zeros(shape, bool)
        mask[r, c] = True
        found.append(MarkedPixels(f"pixel ({r}, {c})", display.MARKER_COLOURS[k % len(display.MARKER_COLOURS)],
                                  mask, pin=True))
    for area in session.rois():
        found.append(MarkedPixels(area.name, area.colour, roi_module.rings_mask(area.rings, *shape)))
    ends = session.line()
    if ends is not None:
        mask = np.zeros(shape, bool)
        pixels = line_pixels(ends[:2], ends[2:])
        inside = (pixels >= 0).all(axis=1) & (pixels[:, 0] < cube.rows) & (pixels[:, 1] < cube.cols)
        mask[pixels[inside, 0], pixels[inside, 1]] = True
        found.append(MarkedPixels("transect", LINE_COLOUR, mask))
    box = session.region()
    if box is not None:
        mask = np.zeros(shape, bool)
        mask[box[0]:box[1], box[2]:box[3]] = True
        found.append(MarkedPixels("region", REGION_COLOUR, mask))
    return [m for m in found if m.mask.any()]
