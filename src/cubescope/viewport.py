"""What part of an image the viewer shows, and at what resolution.

The viewer shows a *window* of the full-resolution image (all of it, or a zoomed part) in a box
of the page. Only the window is read and sent, every ``step``-th pixel, with ``step`` chosen so
that the samples sent are about as many as the screen pixels that show them: a 2000 x 2000 band
fitted into a 700-pixel box is sent at every 3rd pixel, and a 200 x 200 window of it, zoomed in,
at every pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cubescope.errors import CubeError

#: The smallest window side a zoom reaches, in image pixels.
MIN_WINDOW = 4


@dataclass(frozen=True)
class Window:
    """A rectangle of full-resolution pixels: rows ``row0 .. row1 - 1``, columns ``col0 .. col1 - 1``."""

    row0: int
    row1: int
    col0: int
    col1: int

    @classmethod
    def whole(cls, rows: int, cols: int) -> Window:
        return cls(0, rows, 0, cols)

    @property
    def height(self) -> int:
        return self.row1 - self.row0

    @property
    def width(self) -> int:
        return self.col1 - self.col0

    def is_whole(self, rows: int, cols: int) -> bool:
        return self == Window.whole(rows, cols)

    def fitted(self, rows: int, cols: int) -> Window:
        """This window moved (not shrunk, unless larger than the image) to lie inside a
        ``rows`` x ``cols`` image, at least :data:`MIN_WINDOW` pixels a side where the image is."""
        def span(start: int, stop: int, size: int) -> tuple[int, int]:
            length = min(max(stop - start, min(MIN_WINDOW, size)), size)
            start = min(max(start, 0), size - length)
            return start, start + length
        r0, r1 = span(self.row0, self.row1, rows)
        c0, c1 = span(self.col0, self.col1, cols)
        return Window(r0, r1, c0, c1)

    def slices(self, step: int = 1) -> tuple[slice, slice]:
        """Row and column slices of this window taking every ``step``-th pixel."""
        return slice(self.row0, self.row1, step), slice(self.col0, self.col1, step)

    def as_list(self) -> list[int]:
        return [self.row0, self.row1, self.col0, self.col1]


def sample_step(window: Window, box_width: float, box_height: float, pixel_ratio: float = 1.0) -> int:
    """The subsampling that sends about one sample per screen pixel.

    Parameters
    ----------
    window : Window
        The part of the image shown.
    box_width, box_height : float
        The viewer's box in CSS pixels; the window is scaled to fit inside it.
    pixel_ratio : float
        Screen pixels per CSS pixel (``window.devicePixelRatio``), counted up to 2.

    Returns
    -------
    int
        ``step >= 1``: every ``step``-th row and column is sent. Never more samples than
        screen pixels along the window's longer fit.
    """
    if not (box_width > 0 and box_height > 0 and pixel_ratio > 0):
        raise CubeError("The viewer's box has no size.")
    screen = min(box_width / window.width, box_height / window.height) * min(pixel_ratio, 2.0)
    return max(1, math.ceil(1.0 / screen - 1e-9))


def crop(image: np.ndarray, window: Window, step: int) -> np.ndarray:
    """Every ``step``-th pixel of ``image[window]`` (a view; ``image`` may have trailing axes):
    shape ``(ceil(height / step), ceil(width / step), ...)``."""
    return image[window.slices(step)]


def box_mask(box: tuple[int, int, int, int] | None, rows: int, cols: int) -> np.ndarray | None:
    """The pixels of ``box`` = ``(row0, row1, col0, col1)`` (end-exclusive) as a ``(rows, cols)``
    mask; None for no box (every pixel)."""
    if box is None:
        return None
    mask = np.zeros((rows, cols), bool)
    r0, r1, c0, c1 = box
    mask[r0:r1, c0:c1] = True
    return mask


def shown_shape(window: Window, step: int) -> tuple[int, int]:
    """Samples sent for ``window`` at ``step``: ``(rows, cols)``."""
    return math.ceil(window.height / step), math.ceil(window.width / step)
