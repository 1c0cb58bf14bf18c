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
from functools import cached_property
from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError

#: Most vertices a polygon drawn in the viewer may have, most corners of an ROI in all (a
#: class traced from a class map has many), and most ROIs at once.
MAX_VERTICES, MAX_TOTAL_VERTICES, MAX_ROIS = 500, 20_000, 32
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class ROI:
    """A named region: ``vertices`` ((x, y) pairs, pixel corner coordinates) of a polygon, and
    optionally ``extra_rings`` (more rings, filled by the even-odd rule with the first: holes
    and further parts, as a class traced from a class map has). A rectangle is the polygon of
    its four corners."""

    name: str
    vertices: tuple[tuple[float, float], ...]
    colour: str = "#1f77b4"
    label: str = ""
    properties: dict[str, Any] = field(default_factory=dict, compare=False)
    extra_rings: tuple[tuple[tuple[float, float], ...], ...] = ()

    def __post_init__(self) -> None:
        if sum(len(ring) for ring in self.rings) > MAX_TOTAL_VERTICES:
            raise CubeError(f"'{self.name}' has more than {MAX_TOTAL_VERTICES:,} corners; an ROI holds at most that.")
        for ring in self.rings:
            if not 3 <= len(ring) <= MAX_TOTAL_VERTICES:
                raise CubeError(f"A polygon ring needs at least 3 vertices; one of '{self.name}' has {len(ring)}.")
            points = np.asarray(ring, dtype=np.float64)
            if points.shape != (len(ring), 2) or not np.isfinite(points).all():
                raise CubeError(f"The vertices of '{self.name}' are not finite (x, y) pairs.")
        if not _COLOUR.match(self.colour):
            raise CubeError(f"'{self.colour}' is not a colour like #1f77b4.")

    @classmethod
    def rectangle(cls, name: str, row0: int, row1: int, col0: int, col1: int, **kwargs: Any) -> ROI:
        """The rectangle of rows ``row0:row1`` and columns ``col0:col1`` (end-exclusive)."""
        return cls(name, ((col0, row0), (col1, row0), (col1, row1), (col0, row1)), **kwargs)

    @classmethod
    def from_mask(cls, name: str, mask: np.ndarray, **kwargs: Any) -> ROI:
        """The ROI whose pixels are exactly ``mask``'s (its boundary traced along pixel edges)."""
        rings = mask_rings(mask)
        if not rings:
            raise CubeError(f"'{name}' covers no pixel.")
        return cls(name, rings[0], extra_rings=tuple(rings[1:]), **kwargs)

    @cached_property
    def link_text(self) -> str:
        """This ROI as :func:`encode_rois` writes it (kept: a traced class has thousands of
        corners, and the share link is written on every run)."""
        coords = "|".join("_".join(f"{x:.2f}_{y:.2f}".replace(".00", "") for x, y in ring) for ring in self.rings)
        name, label = (re.sub(r"[~;|]", " ", text)[:40] for text in (self.name, self.label))
        return f"{name}~{self.colour[1:]}~{label}~{coords}"

    @property
    def rings(self) -> tuple[tuple[tuple[float, float], ...], ...]:
        return (self.vertices, *self.extra_rings)

    @property
    def points(self) -> np.ndarray:
        return np.asarray(self.vertices, dtype=np.float64)

    def mask(self, rows: int, cols: int) -> np.ndarray:
        """``(rows, cols)`` bool: the pixels whose centres lie inside (even-odd over all rings)."""
        return rings_mask(self.rings, rows, cols)


def polygon_mask(vertices: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Pixels of a ``rows x cols`` image whose centres lie inside the polygon (even-odd rule)."""
    return rings_mask([vertices], rows, cols)


def rings_mask(rings: Any, rows: int, cols: int) -> np.ndarray:
    """Pixels whose centres lie inside the rings taken together by the even-odd rule, computed
    per row from the edges' crossings (scanline fill) over their bounding rows."""
    mask = np.zeros((rows, cols), dtype=bool)
    edges = []
    for ring in rings:
        points = np.asarray(ring, dtype=np.float64)
        if len(points) >= 3:
            edges.append(np.column_stack([points, np.roll(points, -1, axis=0)]))
    if not edges:
        return mask
    x0, y0, x1, y1 = np.concatenate(edges).T
    top = max(0, int(np.floor(min(y0.min(), y1.min()) - 0.5)))
    bottom = min(rows, int(np.ceil(max(y0.max(), y1.max()) + 0.5)))
    centres = np.arange(cols) + 0.5
    for r in range(top, bottom):
        y = r + 0.5
        crosses = (y0 <= y) != (y1 <= y)  # half-open: a vertex exactly on the line counts once
        if not crosses.any():
            continue
        xs = np.sort(x0[crosses] + (y - y0[crosses]) * (x1[crosses] - x0[crosses]) / (y1[crosses] - y0[crosses]))
        mask[r] = (np.searchsorted(xs, centres, side="right") % 2) == 1
    return mask


def mask_rings(mask: np.ndarray) -> list[tuple[tuple[float, float], ...]]:
    """The boundary of a pixel mask as closed rings along pixel edges, straight runs merged
    into one edge. Filled by the even-odd rule the rings give back exactly ``mask`` (the rule
    depends only on the set of edges, however they are chained at corners where two parts touch)."""
    mask = np.asarray(mask, dtype=bool)
    padded = np.pad(mask, 1)
    # Directed unit edges with the inside on the left (y down): top, bottom, left, right sides.
    outgoing: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def add(start: tuple[int, int], end: tuple[int, int]) -> None:
        outgoing.setdefault(start, []).append(end)

    rows, cols = np.nonzero(padded[1:-1, 1:-1] & ~padded[:-2, 1:-1])  # top side exposed
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        add((c + 1, r), (c, r))
    rows, cols = np.nonzero(padded[1:-1, 1:-1] & ~padded[2:, 1:-1])  # bottom side
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        add((c, r + 1), (c + 1, r + 1))
    rows, cols = np.nonzero(padded[1:-1, 1:-1] & ~padded[1:-1, :-2])  # left side
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        add((c, r), (c, r + 1))
    rows, cols = np.nonzero(padded[1:-1, 1:-1] & ~padded[1:-1, 2:])  # right side
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        add((c + 1, r + 1), (c + 1, r))
    rings = []
    while outgoing:
        start = next(iter(outgoing))
        ring = [start]
        point = start
        while True:
            ends = outgoing[point]
            end = ends.pop()
            if not ends:
                del outgoing[point]
            if end == start:
                break
            ring.append(end)
            point = end
        rings.append(_merge_straight(ring))
    return rings


def _merge_straight(ring: list[tuple[int, int]]) -> tuple[tuple[float, float], ...]:
    """The ring without the corners that lie on a straight run."""
    kept = []
    n = len(ring)
    for i, (x, y) in enumerate(ring):
        px, py = ring[i - 1]
        nx, ny = ring[(i + 1) % n]
        if (x - px) * (ny - y) - (y - py) * (nx - x) != 0:
            kept.append((float(x), float(y)))
    return tuple(kept)


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
def _signed_area(ring: np.ndarray) -> float:
    x, y = ring[:, 0], ring[:, 1]
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _polygons(rings: tuple) -> list[list[np.ndarray]]:
    """Rings grouped as GeoJSON polygons: each outer ring with the holes inside it. Outer rings
    are those turning like the largest one; a hole goes to the smallest outer ring holding it."""
    arrays = [np.asarray(r, dtype=np.float64) for r in rings]
    if len(arrays) == 1:
        return [arrays]
    areas = [_signed_area(a) for a in arrays]
    sign = np.sign(areas[int(np.argmax(np.abs(areas)))])
    outers = [i for i, a in enumerate(areas) if np.sign(a) == sign]
    groups = {i: [arrays[i]] for i in outers}
    for i in range(len(arrays)):
        if i in groups:
            continue
        x, y = arrays[i][0] + 1e-9
        holders = [o for o in outers if rings_mask_point(arrays[o], x, y)]
        owner = min(holders, key=lambda o: abs(areas[o])) if holders else None
        if owner is None:
            groups[i] = [arrays[i]]
        else:
            groups[owner].append(arrays[i])
    return list(groups.values())


def rings_mask_point(ring: np.ndarray, x: float, y: float) -> bool:
    """Whether the point lies inside the ring (even-odd)."""
    x0, y0 = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    crosses = (y0 <= y) != (y1 <= y)
    xs = x0[crosses] + (y - y0[crosses]) * (x1[crosses] - x0[crosses]) / (y1[crosses] - y0[crosses])
    return bool(np.sum(xs > x) % 2)


def to_geojson(rois: list[ROI], cube: Cube | None = None) -> str:
    """A GeoJSON FeatureCollection of the ROIs (a Polygon each, or a MultiPolygon with holes
    for a traced one): longitude/latitude of the corners when ``cube`` is georeferenced (a map
    grid), else pixel coordinates (said in the properties, as such files are not on the Earth)."""
    features = []
    placed = cube is not None and cube.geo is not None and cube.geo.kind == "grid"

    def out(ring: np.ndarray) -> list:
        if placed:
            ring = np.column_stack(cube.geo.lonlat_at(ring[:, 1], ring[:, 0]))
        return np.vstack([ring, ring[:1]]).tolist()

    for roi in rois:
        polygons = [[out(r) for r in group] for group in _polygons(roi.rings)]
        geometry = ({"type": "Polygon", "coordinates": polygons[0]} if len(polygons) == 1
                    else {"type": "MultiPolygon", "coordinates": polygons})
        properties = {"name": roi.name, "label": roi.label, "colour": roi.colour,
                      "coordinates": "EPSG:4326" if placed else "pixel (x = column, y = row)",
                      **roi.properties}
        features.append({"type": "Feature", "properties": properties, "geometry": geometry})
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1)


#: Largest GeoJSON read, in bytes (the most ROIs and corners written out take about 25 MB), and
#: deepest nesting of brackets (a MultiPolygon in a FeatureCollection needs 6).
MAX_GEOJSON_BYTES, MAX_JSON_DEPTH = 32 * 10**6, 64


def _nesting(text: str | bytes) -> int:
    """The deepest nesting of JSON brackets in ``text``, counted without recursion and without
    parsing strings out (brackets inside names can skew the count either way; the parser's own
    RecursionError is caught as well)."""
    data = text.encode("utf-8", "replace") if isinstance(text, str) else bytes(text)
    opens = np.frombuffer(data, dtype=np.uint8)
    step = np.zeros(opens.shape, dtype=np.int32)
    step[(opens == ord("[")) | (opens == ord("{"))] = 1
    step[(opens == ord("]")) | (opens == ord("}"))] = -1
    return int(np.cumsum(step).max(initial=0))


def from_geojson(text: str | bytes, cube: Cube | None = None) -> list[ROI]:
    """ROIs from GeoJSON Polygon and MultiPolygon features (holes kept): pixel coordinates, or
    longitude/latitude turned into pixel corners with ``cube``'s georeferencing."""
    if len(text) > MAX_GEOJSON_BYTES:
        raise CubeError(f"The ROI file is {len(text) / 1e6:.0f} MB; at most {MAX_GEOJSON_BYTES // 10**6} MB "
                        "of GeoJSON is read.")
    if _nesting(text) > MAX_JSON_DEPTH:
        raise CubeError(f"The ROI file nests more than {MAX_JSON_DEPTH} levels deep; GeoJSON polygons need 6.")
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise CubeError(f"The ROI file is not JSON ({str(exc)[:200]}).") from exc
    features = document.get("features", [document]) if isinstance(document, dict) else []
    if not isinstance(features, list):
        raise CubeError("The ROI file's 'features' is not a list of GeoJSON features.")
    rois = []
    for k, feature in enumerate(features[:MAX_ROIS]):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
            continue
        try:
            polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
            rings = [np.asarray(ring, dtype=np.float64)[:-1] for polygon in polygons for ring in polygon]
            if not rings or any(r.ndim != 2 or r.shape[1] < 2 for r in rings):
                raise ValueError("not a list of (x, y) rings")
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise CubeError(f"Feature {k + 1} has no polygon ring ({exc}).") from exc
        properties = feature.get("properties")
        if not isinstance(properties, dict):
            properties = {}  # GeoJSON allows null; anything else says nothing we can use
        on_earth = "pixel" not in str(properties.get("coordinates", "pixel"))
        if on_earth:
            if cube is None or cube.geo is None or cube.geo.kind != "grid":
                raise CubeError("These ROIs are in longitude/latitude; open a georeferenced cube to place them.")
            placed = []
            for ring in rings:
                rows, cols = cube.geo.position_of(ring[:, 0], ring[:, 1])
                placed.append(np.column_stack([cols, rows]))
            rings = placed
        as_tuples = [tuple(map(tuple, r[:, :2].round(6).tolist())) for r in rings]
        rois.append(ROI(str(properties.get("name") or f"ROI {k + 1}"), as_tuples[0],
                        colour=str(properties.get("colour") or "#1f77b4"), label=str(properties.get("label") or ""),
                        extra_rings=tuple(as_tuples[1:])))
    if not rois:
        raise CubeError("The file holds no polygon.")
    return rois


def encode_rois(rois: list[ROI]) -> str:
    """ROIs for a share link: ``name~colour~label~x1_y1_x2_y2...`` (rings apart by ``|``)
    joined by ``;`` (vertices rounded to 0.01 pixel)."""
    return ";".join(roi.link_text for roi in rois)


def decode_rois(text: str) -> list[ROI]:
    """The ROIs of :func:`encode_rois`; ValueError for anything else."""
    rois = []
    for part in text.split(";")[:MAX_ROIS]:
        name, colour, label, coords = part.split("~")
        rings = []
        for ring_text in coords.split("|"):
            values = [float(v) for v in ring_text.split("_")]
            if len(values) % 2 or not all(np.isfinite(values)):
                raise ValueError("odd or non-finite coordinates")
            rings.append(tuple(zip(values[::2], values[1::2], strict=True)))
        rois.append(ROI(name, rings[0], colour="#" + colour, label=label, extra_rings=tuple(rings[1:])))
    return rois
