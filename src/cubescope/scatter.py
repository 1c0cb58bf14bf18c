"""Two-dimensional scatter of a cube's pixels: a density (2-D histogram) of any two images of the
cube (bands, principal or MNF components, band-math expressions) and selections made on it.

A scatter of every pixel as a point stops being readable, and drawable, beyond some ten
thousand pixels; the density of pixels per cell is both, at any cube size. It is counted over
blocks of rows with fixed bin edges, so no array larger than a block is made beside the two
images. Selections are polygons in the plot's coordinates (a box is one of four corners); the
pixels whose pair of values lies inside (even-odd rule) are selected, exactly, not by cell.

Examples
--------
>>> from cubescope.demo import demo_cube
>>> cube = demo_cube()
>>> red, nir = cube.band(30), cube.band(60)
>>> counts = density(red, nir, bins=64)
>>> counts.counts.shape, int(counts.counts.sum()) == counts.used
((64, 64), True)
>>> box = [(0.0, 0.0), (0.1, 0.0), (0.1, 1.0), (0.0, 1.0)]
>>> select(red, nir, box).shape
(200, 240)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from cubescope.errors import CubeError

if TYPE_CHECKING:
    from cubescope.cube import Cube
    from cubescope.products import Product

#: Pixels per block of rows while counting or selecting.
_BLOCK_PIXELS = 1 << 20
#: Most vertices a selection keeps (a lasso sends one per pointer move).
MAX_VERTICES = 256
#: The quantiles at each end of an axis beyond which far outliers are left out (see
#: :func:`axis_limits`), so that a few extreme pixels (a saturated glint, a fill value missed)
#: do not squeeze the rest into a few cells.
TAIL = 0.001


@dataclass(frozen=True)
class Density:
    """Pixels counted in cells of two axes.

    Attributes
    ----------
    counts : ndarray of int64, shape (bins, bins)
        Pixels per cell, ``counts[j, i]`` for y cell ``j`` and x cell ``i`` (rows are y, as a
        heat map draws them).
    x_edges, y_edges : ndarray, shape (bins + 1,)
        The cells' edges along each axis, in the images' units.
    used : int
        Pixels counted (both values finite and inside the edges).
    outside : int
        Pixels with both values finite that fall outside the edges (the tails left out).
    """

    counts: np.ndarray
    x_edges: np.ndarray
    y_edges: np.ndarray
    used: int
    outside: int

    @property
    def x_centres(self) -> np.ndarray:
        return (self.x_edges[:-1] + self.x_edges[1:]) / 2

    @property
    def y_centres(self) -> np.ndarray:
        return (self.y_edges[:-1] + self.y_edges[1:]) / 2


def axis_limits(image: Any, tail: float = TAIL) -> tuple[float, float]:
    """The span of an axis: the image's finite extremes, except that an extreme lying farther
    than half the span between the ``tail`` and ``1 - tail`` quantiles beyond them (a glint, a
    fill value missed) is left out for that quantile (measured on at most a million values,
    evenly spaced); widened when the ends are equal.

    Raises
    ------
    CubeError
        When the image has no finite value.
    """
    flat = np.asarray(image).ravel()
    step = max(1, flat.size // 1_000_000)
    sample = flat[::step]
    sample = sample[np.isfinite(sample)]
    if not sample.size:
        raise CubeError("The image has no value to plot (every pixel is NaN or infinite).")
    sample = sample.astype(np.float64)
    low = float(np.quantile(sample, tail, method="lower"))
    high = float(np.quantile(sample, 1.0 - tail, method="higher"))
    reach = (high - low) / 2
    if float(sample.min()) >= low - reach:
        low = float(sample.min())
    if float(sample.max()) <= high + reach:
        high = float(sample.max())
    if not high > low:
        half = max(abs(low) * 1e-6, 1e-12)
        low, high = low - half, high + half
    return low, high


def density(x: Any, y: Any, bins: int = 160, limits: tuple[tuple[float, float], tuple[float, float]] | None = None,
            tail: float = TAIL) -> Density:
    """The pixels of two images counted in ``bins`` x ``bins`` cells.

    Parameters
    ----------
    x, y : array_like, shape (rows, cols)
        The two images (any float or integer type); a pixel counts where both are finite.
    bins : int
        Cells per axis, 2 to 1024.
    limits : ((x_low, x_high), (y_low, y_high)), optional
        The axes' spans; by default :func:`axis_limits` of each image.
    tail : float
        The share left out at each end when ``limits`` is not given.

    Returns
    -------
    Density
    """
    x, y = _pair(x, y)
    if not 2 <= int(bins) <= 1024:
        raise CubeError(f"A scatter has 2 to 1024 cells per axis, not {bins}.")
    bins = int(bins)
    (x0, x1), (y0, y1) = limits if limits is not None else (axis_limits(x, tail), axis_limits(y, tail))
    if not (np.isfinite([x0, x1, y0, y1]).all() and x1 > x0 and y1 > y0):
        raise CubeError("The scatter's axes need finite spans with the low end below the high one.")
    counts = np.zeros(bins * bins, np.int64)
    outside = 0
    for rows in _row_blocks(x.shape):
        xs = np.asarray(x[rows], np.float64).ravel()
        ys = np.asarray(y[rows], np.float64).ravel()
        finite = np.isfinite(xs) & np.isfinite(ys)
        i = np.floor((xs - x0) / (x1 - x0) * bins)
        j = np.floor((ys - y0) / (y1 - y0) * bins)
        # The high edge belongs to the last cell, as numpy's histograms count it.
        i[xs == x1], j[ys == y1] = bins - 1, bins - 1
        inside = finite & (i >= 0) & (i < bins) & (j >= 0) & (j < bins)
        outside += int(finite.sum() - inside.sum())
        counts += np.bincount((j[inside] * bins + i[inside]).astype(np.int64), minlength=bins * bins)
    return Density(counts.reshape(bins, bins), np.linspace(x0, x1, bins + 1), np.linspace(y0, y1, bins + 1),
                   int(counts.sum()), outside)


def polygon(points: Any) -> np.ndarray:
    """A selection's polygon checked: ``points`` (n, 2) finite (x, y) pairs, 3 to
    :data:`MAX_VERTICES` of them (a longer lasso is thinned evenly), returned as float64."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) < 3:
        raise CubeError("A selection needs at least three (x, y) corners.")
    if not np.isfinite(points).all():
        raise CubeError("A selection's corners must be finite numbers.")
    if len(points) > MAX_VERTICES:
        points = points[np.linspace(0, len(points) - 1, MAX_VERTICES).round().astype(int)]
    return points


def box(x_span: Any, y_span: Any) -> np.ndarray:
    """The polygon of a box selection from its x and y spans (either order)."""
    (xa, xb), (ya, yb) = sorted(map(float, x_span)), sorted(map(float, y_span))
    return polygon([(xa, ya), (xb, ya), (xb, yb), (xa, yb)])


def drawn_polygon(selection: Any) -> np.ndarray | None:
    """The last box or lasso of a plotly selection as Streamlit reports it (``{"box": [{"x":
    [x0, x1], "y": [y0, y1]}], "lasso": [{"x": [...], "y": [...]}]}``) as a polygon; None when
    it holds neither, or a lasso of fewer than three corners."""
    if not isinstance(selection, dict):
        return None
    drawn = [box(b["x"], b["y"]) for b in selection.get("box") or [] if len(b.get("x", [])) == 2 == len(b.get("y", []))]
    drawn += [list(zip(s["x"], s["y"], strict=True)) for s in selection.get("lasso") or []
              if len(s.get("x", [])) == len(s.get("y", []))]
    try:
        return polygon(drawn[-1]) if drawn else None
    except CubeError:
        return None


def select(x: Any, y: Any, corners: Any) -> np.ndarray:
    """The pixels whose values ``(x, y)`` lie inside the polygon ``corners``.

    Parameters
    ----------
    x, y : array_like, shape (rows, cols)
        The scatter's two images.
    corners : array_like, shape (n, 2)
        The selection's (x, y) corners in the images' units (see :func:`polygon`).

    Returns
    -------
    ndarray of bool, shape (rows, cols)
        True inside (even-odd rule); pixels lacking either value are never selected.
    """
    x, y = _pair(x, y)
    corners = polygon(corners)
    ax, ay = corners[:, 0], corners[:, 1]
    bx, by = np.roll(ax, -1), np.roll(ay, -1)
    mask = np.zeros(x.shape, bool)
    for rows in _row_blocks(x.shape):
        xs = np.asarray(x[rows], np.float64)
        ys = np.asarray(y[rows], np.float64)
        inside = np.zeros(xs.shape, bool)
        # Only the pixels in the polygon's bounding box can be inside: test those.
        near = (xs >= ax.min()) & (xs <= ax.max()) & (ys >= ay.min()) & (ys <= ay.max())
        px, py = xs[near], ys[near]
        hit = np.zeros(px.shape, bool)
        for k in range(len(ax)):
            crosses = (ay[k] > py) != (by[k] > py)
            with np.errstate(divide="ignore", invalid="ignore"):
                at = ax[k] + (py - ay[k]) * (bx[k] - ax[k]) / (by[k] - ay[k])
            hit ^= crosses & (px < at)
        inside[near] = hit
        mask[rows] = inside
    return mask


def sample_points(x: Any, y: Any, mask: Any, limit: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    """The (x, y) values of the pixels in ``mask`` (rows, cols) with both values finite, at
    most ``limit`` of them chosen evenly in row-major order: for drawing marked pixels over a
    density."""
    x, y = _pair(x, y)
    mask = np.asarray(mask, bool)
    if mask.shape != x.shape:
        raise CubeError(f"The mask is {mask.shape}; the images are {x.shape}.")
    flat = np.flatnonzero(mask)
    xs, ys = np.asarray(x).ravel()[flat], np.asarray(y).ravel()[flat]
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if xs.size > limit:
        pick = np.linspace(0, xs.size - 1, limit).round().astype(int)
        xs, ys = xs[pick], ys[pick]
    return xs.astype(np.float64), ys.astype(np.float64)


def encode_polygon(corners: Any) -> str:
    """A selection as link text: ``x_y_x_y…`` with six significant digits."""
    return "_".join(f"{v:.6g}" for v in polygon(corners).ravel())


def decode_polygon(text: str) -> np.ndarray:
    """The polygon :func:`encode_polygon` wrote.

    Raises
    ------
    ValueError
        When the text is not an even number (6 to twice :data:`MAX_VERTICES`) of numbers.
    """
    parts = str(text).split("_")
    if not 6 <= len(parts) <= 2 * MAX_VERTICES or len(parts) % 2:
        raise ValueError("not a polygon of 3 to 256 corners")
    try:
        values = np.array([float(p) for p in parts])
    except ValueError:
        raise ValueError("not a polygon of numbers") from None
    try:
        return polygon(values.reshape(-1, 2))
    except CubeError as exc:
        raise ValueError(str(exc)) from None


#: What an axis can show; components are counted from 1.
AXIS_KINDS = ("Band", "PC", "MNF", "Band math")
#: Components fitted for a PC or MNF axis (at most; fewer for cubes with fewer usable bands).
MAX_COMPONENTS = 10


@dataclass(frozen=True)
class Axis:
    """One axis of a scatter: a band (0-based ``band``), a principal or MNF component (1-based
    ``component``) or a band-math ``expression``, by ``kind`` one of :data:`AXIS_KINDS`."""

    kind: str
    band: int = 0
    component: int = 1
    expression: str = ""

    def product(self, cube: Cube) -> Product:
        """The image this axis shows, as the app computes and caches it.

        Raises
        ------
        CubeError
            When the axis does not fit ``cube`` (a band beyond it, a component it cannot have,
            an expression it cannot evaluate).
        """
        from cubescope.indices import BandMathImage, parse
        from cubescope.mnf import MNFImage
        from cubescope.pca import PCImage
        from cubescope.products import Band

        if self.kind == "Band":
            if not 0 <= self.band < cube.n_bands:
                raise CubeError(f"Band {self.band} is not one of this cube's bands 0 to {cube.n_bands - 1}.")
            return Band(self.band)
        if self.kind == "Band math":
            return BandMathImage(parse(cube, self.expression).text)
        if self.kind not in AXIS_KINDS:
            raise CubeError(f"An axis shows one of {', '.join(AXIS_KINDS)}, not '{self.kind}'.")
        k = components(cube)
        if not 1 <= self.component <= k:
            raise CubeError(f"{self.kind} {self.component} cannot be computed here: this cube has "
                            f"{int(cube.good_bands.sum())} usable bands, so {self.kind} 1 to {k}.")
        if self.kind == "PC":
            return PCImage(k, None, self.component - 1)
        return MNFImage(k, self.component - 1)

    def title(self, band_label: Any = None) -> str:
        """The axis's title: the band by ``band_label(band)`` (default ``band 12``), ``PC 1``,
        ``MNF 2`` or the expression."""
        if self.kind == "Band":
            return band_label(self.band) if band_label is not None else f"band {self.band}"
        if self.kind == "Band math":
            return self.expression
        return f"{self.kind} {self.component}"


def components(cube: Cube) -> int:
    """How many components a PC or MNF axis fits on ``cube``: up to :data:`MAX_COMPONENTS`,
    never more than its usable bands (0 with fewer than two)."""
    usable = int(cube.good_bands.sum())
    return min(MAX_COMPONENTS, usable) if usable >= 2 else 0


def default_bands(cube: Cube) -> tuple[int, int]:
    """The bands a first scatter plots: red (660 nm) against near infrared (860 nm), where
    soil, vegetation and water part ways, when the cube covers them; else its default band
    against one a quarter of the cube away."""
    from cubescope.wavelengths import nearest_band

    nm = cube.wavelengths_nm
    if nm is not None:
        red, nir = nearest_band(nm, 660.0, 40.0), nearest_band(nm, 860.0, 60.0)
        if red is not None and nir is not None and red != nir:
            return red, nir
    first = cube.default_band()
    return first, (first + max(1, cube.n_bands // 4)) % cube.n_bands


def _pair(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim != 2 or x.shape != y.shape:
        raise CubeError(f"A scatter needs two images of one size; they are {x.shape} and {y.shape}.")
    return x, y


def _row_blocks(shape: tuple[int, int]) -> list[slice]:
    step = max(1, _BLOCK_PIXELS // max(shape[1], 1))
    return [slice(r, min(r + step, shape[0])) for r in range(0, shape[0], step)]
