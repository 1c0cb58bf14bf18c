"""Regions of interest: rectangles and polygons with a name, a class and a colour.

Vertices are in pixel coordinates ``(x, y) = (column, row)`` of the image's corner grid: pixel
``(r, c)`` spans ``[c, c + 1] x [r, r + 1]`` and belongs to a polygon when its centre
``(c + 0.5, r + 0.5)`` lies inside (even-odd rule), as GDAL's rasterizer decides by default.
ROIs are exported as GeoJSON (pixel coordinates, or longitude/latitude of those corners when
the cube is georeferenced) and read back.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError

#: Most vertices a polygon may have, and most ROIs at once.
MAX_VERTICES, MAX_ROIS = 500, 32
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class ROI:
    """A named region: ``vertices`` ((x, y) pairs, pixel corner coordinates) of a polygon; a
    rectangle is the polygon of its four corners."""

    name: str
    vertices: tuple[tuple[float, float], ...]
    colour: str = "#1f77b4"
    label: str = ""
    properties: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not 3 <= len(self.vertices) <= MAX_VERTICES:
            raise CubeError(f"A polygon needs 3 to {MAX_VERTICES} vertices; '{self.name}' has {len(self.vertices)}.")
        points = np.asarray(self.vertices, dtype=np.float64)
        if points.shape != (len(self.vertices), 2) or not np.isfinite(points).all():
            raise CubeError(f"The vertices of '{self.name}' are not finite (x, y) pairs.")
        if not _COLOUR.match(self.colour):
            raise CubeError(f"'{self.colour}' is not a colour like #1f77b4.")

    @classmethod
    def rectangle(cls, name: str, row0: int, row1: int, col0: int, col1: int, **kwargs: Any) -> ROI:
        """The rectangle of rows ``row0:row1`` and columns ``col0:col1`` (end-exclusive)."""
        return cls(name, ((col0, row0), (col1, row0), (col1, row1), (col0, row1)), **kwargs)

    @property
    def points(self) -> np.ndarray:
        return np.asarray(self.vertices, dtype=np.float64)

    def mask(self, rows: int, cols: int) -> np.ndarray:
        """``(rows, cols)`` bool: the pixels whose centres lie inside."""
        return polygon_mask(self.points, rows, cols)


def polygon_mask(vertices: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Pixels of a ``rows x cols`` image whose centres lie inside the polygon (even-odd rule),
    computed per row from the polygon's edge crossings (scanline fill) over its bounding rows."""
    points = np.asarray(vertices, dtype=np.float64)
    mask = np.zeros((rows, cols), dtype=bool)
    if len(points) < 3:
        return mask
    x0, y0 = points[:, 0], points[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    top = max(0, int(np.floor(y0.min() - 0.5)))
    bottom = min(rows, int(np.ceil(y0.max() + 0.5)))
    for r in range(top, bottom):
        y = r + 0.5
        crosses = (y0 <= y) != (y1 <= y)  # half-open: a vertex exactly on the line counts once
        if not crosses.any():
            continue
        xs = np.sort(x0[crosses] + (y - y0[crosses]) * (x1[crosses] - x0[crosses]) / (y1[crosses] - y0[crosses]))
        centres = np.arange(cols) + 0.5
        inside = (np.searchsorted(xs, centres, side="right") % 2) == 1
        mask[r] = inside
    return mask


@dataclass(frozen=True)
class ROIStats:
    """Pixel count, mean and standard deviation (ddof 0) spectra of an ROI's pixels with data."""

    name: str
    count: int
    mean: np.ndarray
    std: np.ndarray


def roi_stats(cube: Cube, roi: ROI) -> ROIStats:
    """Statistics of an ROI's pixels, reading only its bounding rows."""
    mask = roi.mask(cube.rows, cube.cols)
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        nan = np.full(cube.n_bands, np.nan)
        return ROIStats(roi.name, 0, nan, nan)
    window = slice(int(rows[0]), int(rows[-1]) + 1)
    block = cube.region(window, slice(None))[:, mask[window]]  # (bands, pixels)
    if cube.bad_bands is not None:
        block[cube.bad_bands] = np.nan
    valid = np.isfinite(block[cube.good_bands]).all(axis=0) if cube.good_bands.any() else np.zeros(block.shape[1], bool)
    with np.errstate(invalid="ignore"):
        chosen = block[:, valid].astype(np.float64)
        mean = chosen.mean(axis=1) if valid.any() else np.full(cube.n_bands, np.nan)
        std = chosen.std(axis=1) if valid.any() else np.full(cube.n_bands, np.nan)
    return ROIStats(roi.name, int(valid.sum()), mean, std)


# ---------------------------------------------------------------------- GeoJSON
def to_geojson(rois: list[ROI], cube: Cube | None = None) -> str:
    """A GeoJSON FeatureCollection of the ROIs: longitude/latitude of the corners when ``cube``
    is georeferenced (a map grid), else pixel coordinates (``"crs": "pixel"`` in the
    properties, as such files are not on the Earth)."""
    features = []
    placed = cube is not None and cube.geo is not None and cube.geo.kind == "grid"
    for roi in rois:
        points = roi.points
        if placed:
            ring = np.column_stack(cube.geo.lonlat_at(points[:, 1], points[:, 0]))
        else:
            ring = points
        ring = np.vstack([ring, ring[:1]]).tolist()
        properties = {"name": roi.name, "label": roi.label, "colour": roi.colour,
                      "coordinates": "EPSG:4326" if placed else "pixel (x = column, y = row)", **roi.properties}
        features.append({"type": "Feature", "properties": properties,
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1)


def from_geojson(text: str | bytes, cube: Cube | None = None) -> list[ROI]:
    """ROIs from GeoJSON written by :func:`to_geojson` (or any Polygon features): pixel
    coordinates, or longitude/latitude turned into pixel corners with ``cube``'s georeferencing."""
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CubeError(f"The ROI file is not JSON ({exc}).") from exc
    features = document.get("features", [document]) if isinstance(document, dict) else []
    rois = []
    for k, feature in enumerate(features[:MAX_ROIS]):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") != "Polygon":
            continue
        try:
            ring = np.asarray(geometry["coordinates"][0], dtype=np.float64)[:-1]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise CubeError(f"Feature {k + 1} has no polygon ring ({exc}).") from exc
        properties = feature.get("properties") or {}
        on_earth = "pixel" not in str(properties.get("coordinates", "pixel"))
        if on_earth:
            if cube is None or cube.geo is None or cube.geo.kind != "grid":
                raise CubeError("These ROIs are in longitude/latitude; open a georeferenced cube to place them.")
            rows, cols = cube.geo.position_of(ring[:, 0], ring[:, 1])
            ring = np.column_stack([cols, rows])
        rois.append(ROI(str(properties.get("name") or f"ROI {k + 1}"), tuple(map(tuple, ring.round(6).tolist())),
                        colour=str(properties.get("colour") or "#1f77b4"), label=str(properties.get("label") or "")))
    if not rois:
        raise CubeError("The file holds no polygon.")
    return rois


def encode_rois(rois: list[ROI]) -> str:
    """ROIs for a share link: ``name~colour~label~x1_y1_x2_y2...`` joined by ``;`` (vertices
    rounded to 0.01 pixel)."""
    parts = []
    for roi in rois:
        coords = "_".join(f"{x:.2f}_{y:.2f}".replace(".00", "") for x, y in roi.vertices)
        name, label = (re.sub(r"[~;]", " ", text)[:40] for text in (roi.name, roi.label))
        parts.append(f"{name}~{roi.colour[1:]}~{label}~{coords}")
    return ";".join(parts)


def decode_rois(text: str) -> list[ROI]:
    """The ROIs of :func:`encode_rois`; ValueError for anything else."""
    rois = []
    for part in text.split(";")[:MAX_ROIS]:
        name, colour, label, coords = part.split("~")
        values = [float(v) for v in coords.split("_")]
        if len(values) % 2 or not all(np.isfinite(values)):
            raise ValueError("odd or non-finite coordinates")
        rois.append(ROI(name, tuple(zip(values[::2], values[1::2], strict=True)), colour="#" + colour, label=label))
    return rois
