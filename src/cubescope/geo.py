"""Where a cube's pixels lie on the Earth.

Two kinds of georeferencing cover every product Cubescope reads:

- a map grid: a coordinate reference system (CRS) and an affine ``geotransform`` in GDAL's
  order, ``x = gt[0] + col * gt[1] + row * gt[2]``, ``y = gt[3] + col * gt[4] + row * gt[5]``,
  where ``(row, col) = (0, 0)`` is the outer corner of the first pixel and ``(0.5, 0.5)`` its
  centre (ENVI ``map info``, GeoTIFF, EMIT's orthorectified grid, NEON, PRISMA L2D, EnMAP);
- a swath: per-pixel longitude and latitude arrays (PACE OCI, Tanager, PRISMA L1/L2B/L2C).

:class:`Georef` answers both ways: ``lonlat(rows, cols)`` (WGS84 degrees at pixel centres) and
``pixel_at(lon, lat)``. Coordinates go through ``pyproj``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from cubescope.errors import CubeError

#: The CRS of longitude/latitude in degrees (x = lon, y = lat).
WGS84 = "EPSG:4326"


@lru_cache(maxsize=32)
def _crs(text: str):
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_user_input(text)
    except CRSError as exc:
        raise CubeError(f"The coordinate reference system could not be understood ({exc}).") from exc


@lru_cache(maxsize=32)
def _to_wgs84(crs: str):
    return _transformer(crs, forward=True)


@lru_cache(maxsize=32)
def _from_wgs84(crs: str):
    return _transformer(crs, forward=False)


def _transformer(crs: str, forward: bool):
    """A pyproj transformer between ``crs`` and WGS84; a CRS pyproj parses but cannot relate to
    WGS84 (an ellipsoid of another size, a broken datum) is a :class:`CubeError` here, once."""
    from pyproj import Transformer
    from pyproj.exceptions import ProjError

    source, target = (_crs(crs), WGS84) if forward else (WGS84, _crs(crs))
    try:
        return Transformer.from_crs(source, target, always_xy=True)
    except ProjError as exc:
        raise CubeError(f"The coordinate reference system cannot be related to longitude/latitude ({exc}).") from exc


def _transform(transformer: Any, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``transformer.transform`` whose failures are :class:`CubeError`."""
    from pyproj.exceptions import ProjError

    try:
        u, v = transformer.transform(x, y)
    except ProjError as exc:
        raise CubeError(f"The coordinates could not be transformed ({exc}).") from exc
    return np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)


def crs_wkt(text: str) -> str:
    """The CRS ``text`` (EPSG code, WKT, ESRI WKT, PROJ string) as WKT2, checked by pyproj."""
    return _crs(str(text)).to_wkt()


def crs_epsg(text: str) -> int | None:
    """The EPSG code of a CRS when it has one."""
    return _crs(str(text)).to_epsg()


def crs_name(text: str) -> str:
    """A short human name for a CRS ("WGS 84 / UTM zone 33N (EPSG:32633)")."""
    crs = _crs(str(text))
    code = crs.to_epsg()
    return f"{crs.name} (EPSG:{code})" if code else crs.name


class Georef:
    """Georeferencing of a ``rows x cols`` image.

    Parameters
    ----------
    rows, cols : int
        The image size.
    crs : str, optional
        The CRS of ``geotransform`` (anything pyproj reads; kept as given). Required with it.
    geotransform : sequence of 6 floats, optional
        GDAL-order affine from (col, row) at pixel corners to CRS coordinates.
    lonlat : ndarray, shape (2, rows, cols), optional
        Longitude and latitude (WGS84 degrees) of every pixel centre, for swath products.
        NaN where the product has none.

    note : str, optional
        What a reader had to decide to place the image (a CRS string it could not use and what
        it used instead); shown with :meth:`describe`.

    Exactly one of ``geotransform`` and ``lonlat`` is given. A grid's CRS is checked here, once,
    by placing the image's centre: a CRS that cannot be related to WGS84 is a
    :class:`~cubescope.errors.CubeError` now, never at a later click.
    """

    def __init__(self, rows: int, cols: int, *, crs: str | None = None, geotransform: Any = None,
                 lonlat: np.ndarray | None = None, note: str | None = None) -> None:
        self.rows, self.cols = int(rows), int(cols)
        self.note = str(note) if note else None
        if (geotransform is None) == (lonlat is None):
            raise CubeError("Georeferencing needs either a CRS with a geotransform or per-pixel lon/lat arrays.")
        if geotransform is not None:
            gt = tuple(float(v) for v in geotransform)
            if len(gt) != 6 or not all(math.isfinite(v) for v in gt):
                raise CubeError(f"A geotransform has 6 finite numbers, not {geotransform!r}.")
            if gt[1] * gt[5] - gt[2] * gt[4] == 0:
                raise CubeError(f"The geotransform {gt} maps the image onto a line (zero pixel size).")
            if not crs:
                raise CubeError("A geotransform without a coordinate reference system cannot be placed on the Earth.")
            self.geotransform: tuple[float, ...] | None = gt
            self.crs: str | None = str(crs)
            self.lonlat_arrays: np.ndarray | None = None
            # Refuse an unusable CRS now, not at the first click: place the centre and the corners.
            lon, lat = self.lonlat_at([0.0, self.rows / 2, self.rows], [0.0, self.cols / 2, self.cols])
            if not (np.isfinite(lon).all() and np.isfinite(lat).all() and np.all(np.abs(lat) <= 90.0)):
                raise CubeError(f"The grid in {crs_name(self.crs)} does not land on the Earth "
                                f"(its corners give longitude {lon.tolist()}, latitude {lat.tolist()}).")
        else:
            arrays = np.asarray(lonlat, dtype=np.float64)
            if arrays.shape != (2, self.rows, self.cols):
                raise CubeError(
                    f"Longitude/latitude arrays of shape {arrays.shape[1:]} do not match the image "
                    f"({self.rows} x {self.cols})."
                )
            lon, lat = arrays
            good = np.isfinite(lon) & np.isfinite(lat)
            if not good.any():
                raise CubeError("The product's longitude/latitude arrays hold no valid coordinate.")
            if np.any(np.abs(lat[good]) > 90) or np.any(np.abs(lon[good]) > 360):
                raise CubeError("The product's latitude/longitude arrays hold values outside the globe.")
            arrays[:, ~good] = np.nan
            arrays[0] = np.where(arrays[0] > 180, arrays[0] - 360, arrays[0])
            arrays.flags.writeable = False
            self.geotransform = None
            self.crs = WGS84
            self.lonlat_arrays = arrays

    # ------------------------------------------------------------------ description
    @property
    def kind(self) -> str:
        """"grid" (CRS + geotransform) or "swath" (per-pixel lon/lat)."""
        return "grid" if self.geotransform is not None else "swath"

    def describe(self) -> str:
        """One line for the page: what the georeferencing is and its pixel size."""
        note = f" ({self.note})" if self.note else ""
        if self.geotransform is None:
            return "swath: longitude/latitude of every pixel from the product" + note
        gt = self.geotransform
        size = math.hypot(gt[1], gt[4]), math.hypot(gt[2], gt[5])
        unit = "°" if _crs(self.crs).is_geographic else " m"
        rotated = " (rotated grid)" if gt[2] or gt[4] else ""
        return f"{crs_name(self.crs)}, pixel {size[0]:.6g} x {size[1]:.6g}{unit}{rotated}{note}"

    def __repr__(self) -> str:
        return f"Georef({self.rows} x {self.cols}, {self.describe()})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Georef) or (self.rows, self.cols, self.kind) != (other.rows, other.cols, other.kind):
            return False
        if self.geotransform is not None:
            return self.geotransform == other.geotransform and _crs(self.crs) == _crs(other.crs)
        return np.array_equal(self.lonlat_arrays, other.lonlat_arrays, equal_nan=True)

    __hash__ = None  # type: ignore[assignment]

    # ------------------------------------------------------------------ pixel -> Earth
    def xy(self, rows: Any, cols: Any) -> tuple[np.ndarray, np.ndarray]:
        """CRS coordinates of the points ``(rows, cols)`` (fractional; +0.5 is a pixel centre)."""
        if self.geotransform is None:
            raise CubeError("A swath has no map grid; use lonlat().")
        gt = self.geotransform
        r, c = np.asarray(rows, dtype=np.float64), np.asarray(cols, dtype=np.float64)
        return gt[0] + c * gt[1] + r * gt[2], gt[3] + c * gt[4] + r * gt[5]

    def lonlat(self, rows: Any, cols: Any) -> tuple[np.ndarray, np.ndarray]:
        """Longitude and latitude (WGS84 degrees) of the centres of pixels ``(rows, cols)``.

        Parameters
        ----------
        rows, cols : int or array_like of int
            Pixel indices, broadcast together.

        Returns
        -------
        lon, lat : ndarray
            Same shape as the broadcast indices; NaN where a swath product has no coordinate.
        """
        r, c = np.broadcast_arrays(np.asarray(rows), np.asarray(cols))
        if np.any((r < 0) | (r >= self.rows) | (c < 0) | (c >= self.cols)):
            raise CubeError(f"Pixel outside the {self.rows} x {self.cols} image.")
        if self.lonlat_arrays is not None:
            return self.lonlat_arrays[0][r, c], self.lonlat_arrays[1][r, c]
        return _transform(_to_wgs84(self.crs), *self.xy(r + 0.5, c + 0.5))

    def lonlat_grid(self, rows: tuple[int, int], cols: tuple[int, int], n: int = 17
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Exact lon/lat at about ``n x n`` pixel centres spanning the window ``rows[0]:rows[1]``,
        ``cols[0]:cols[1]``, for a viewer to interpolate between (bilinearly) under the pointer.

        Returns ``(row_indices, col_indices, lon, lat)`` with lon/lat of shape
        ``(len(row_indices), len(col_indices))``. Swaths get a denser grid (their geometry bends).
        """
        n = n if self.geotransform is not None else 2 * n
        r = np.unique(np.linspace(rows[0], rows[1] - 1, n).round().astype(np.int64))
        c = np.unique(np.linspace(cols[0], cols[1] - 1, n).round().astype(np.int64))
        lon, lat = self.lonlat(r[:, None], c[None, :])
        return r, c, lon, lat

    def lonlat_at(self, rows: Any, cols: Any) -> tuple[np.ndarray, np.ndarray]:
        """Longitude/latitude of fractional pixel positions on a map grid (``(0, 0)`` the outer
        corner of the first pixel): where ROI vertices lie."""
        return _transform(_to_wgs84(self.crs), *self.xy(rows, cols))

    def position_of(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """Fractional pixel positions ``(rows, cols)`` of longitude/latitude on a map grid (the
        inverse of :meth:`lonlat_at`)."""
        if self.geotransform is None:
            raise CubeError("A swath has no map grid to place coordinates on.")
        x, y = _transform(_from_wgs84(self.crs), np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
        gt = self.geotransform
        det = gt[1] * gt[5] - gt[2] * gt[4]
        dx, dy = np.asarray(x) - gt[0], np.asarray(y) - gt[3]
        return (-gt[4] * dx + gt[1] * dy) / det, (gt[5] * dx - gt[2] * dy) / det

    def corners(self) -> np.ndarray:
        """Longitude/latitude of the image's outer corners (top left, top right, bottom right,
        bottom left), shape (4, 2); for a swath, the corner pixels' centres."""
        if self.lonlat_arrays is None:
            r = np.array([0, 0, self.rows, self.rows], dtype=np.float64)
            c = np.array([0, self.cols, self.cols, 0], dtype=np.float64)
            return np.column_stack(_transform(_to_wgs84(self.crs), *self.xy(r, c)))
        rr = [0, 0, self.rows - 1, self.rows - 1]
        cc = [0, self.cols - 1, self.cols - 1, 0]
        return np.column_stack([self.lonlat_arrays[0][rr, cc], self.lonlat_arrays[1][rr, cc]])

    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` in degrees, covering every pixel."""
        if self.lonlat_arrays is not None:
            lon, lat = self.lonlat_arrays
            return (float(np.nanmin(lon)), float(np.nanmin(lat)), float(np.nanmax(lon)), float(np.nanmax(lat)))
        # The edges, densified: a projected grid's edges are curves in lon/lat.
        t = np.linspace(0.0, 1.0, 33)
        r = np.concatenate([np.zeros_like(t), t * self.rows, np.full_like(t, self.rows), (1 - t) * self.rows])
        c = np.concatenate([t * self.cols, np.full_like(t, self.cols), (1 - t) * self.cols, np.zeros_like(t)])
        lon, lat = _transform(_to_wgs84(self.crs), *self.xy(r, c))
        return float(np.min(lon)), float(np.min(lat)), float(np.max(lon)), float(np.max(lat))

    # ------------------------------------------------------------------ Earth -> pixel
    def pixel_at(self, lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
        """The pixels ``(row, col)`` holding the points ``(lon, lat)`` (WGS84 degrees).

        Returns integer arrays; -1 where a point lies outside the image (or, for a swath,
        farther than about one pixel from every pixel centre).
        """
        lon = np.asarray(lon, dtype=np.float64)
        lat = np.asarray(lat, dtype=np.float64)
        if self.geotransform is not None:
            row, col = self.position_of(lon, lat)
            with np.errstate(invalid="ignore"):
                inside = (row >= 0) & (row < self.rows) & (col >= 0) & (col < self.cols)
            r = np.where(inside, np.floor(np.where(inside, row, 0)), -1).astype(np.int64)
            c = np.where(inside, np.floor(np.where(inside, col, 0)), -1).astype(np.int64)
            return r, c
        distance, index = self._tree.query(_unit_vectors(lon, lat))
        index = np.asarray(index)
        far = ~np.isfinite(distance) | (np.asarray(distance) > self._reach)
        flat = self._valid_index[np.minimum(index, len(self._valid_index) - 1)]
        r, c = np.divmod(flat, self.cols)
        return np.where(far, -1, r).astype(np.int64), np.where(far, -1, c).astype(np.int64)

    @cached_property
    def _valid_index(self) -> np.ndarray:
        lon, lat = self.lonlat_arrays
        return np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))

    @cached_property
    def _tree(self):
        from scipy.spatial import cKDTree

        lon, lat = self.lonlat_arrays
        return cKDTree(_unit_vectors(lon.ravel()[self._valid_index], lat.ravel()[self._valid_index]))

    @cached_property
    def _reach(self) -> float:
        """How far (chord on the unit sphere) a point may be from its pixel's centre: a little
        more than the largest distance between neighbouring pixel centres."""
        lon, lat = self.lonlat_arrays
        step = max(1, min(self.rows, self.cols) // 64)
        vectors = _unit_vectors(lon[::step, ::step], lat[::step, ::step])
        gaps = []
        if vectors.shape[1] > 1:
            gaps.append(np.linalg.norm(np.diff(vectors, axis=1), axis=-1) / step)
        if vectors.shape[0] > 1:
            gaps.append(np.linalg.norm(np.diff(vectors, axis=0), axis=-1) / step)
        finite = np.concatenate([g[np.isfinite(g)].ravel() for g in gaps]) if gaps else np.array([])
        return float(np.max(finite)) * 1.5 if finite.size else 1e-3

    # ------------------------------------------------------------------ keeping
    def to_meta(self) -> dict[str, Any]:
        """A JSON-friendly description; swath arrays are kept apart (see :meth:`from_meta`)."""
        meta: dict[str, Any] = {"kind": "grid", "crs": self.crs, "geotransform": list(self.geotransform)} \
            if self.geotransform is not None else {"kind": "swath"}
        if self.note:
            meta["note"] = self.note
        return meta

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any], rows: int, cols: int, lonlat: np.ndarray | None = None) -> Georef:
        note = meta.get("note")
        if meta.get("kind") == "grid":
            return cls(rows, cols, crs=meta["crs"], geotransform=meta["geotransform"], note=note)
        if lonlat is None:
            raise CubeError("The stored swath georeferencing has lost its longitude/latitude arrays.")
        return cls(rows, cols, lonlat=lonlat, note=note)

    def window(self, rows: slice, cols: slice) -> Georef:
        """The georeferencing of the sub-image ``[rows, cols]`` (steps of 1)."""
        r0, r1, _ = rows.indices(self.rows)
        c0, c1, _ = cols.indices(self.cols)
        if self.geotransform is not None:
            gt = self.geotransform
            x0, y0 = self.xy(r0, c0)
            shifted = (float(x0), gt[1], gt[2], float(y0), gt[4], gt[5])
            return Georef(r1 - r0, c1 - c0, crs=self.crs, geotransform=shifted, note=self.note)
        return Georef(r1 - r0, c1 - c0, lonlat=self.lonlat_arrays[:, r0:r1, c0:c1], note=self.note)


def _unit_vectors(lon: Any, lat: Any) -> np.ndarray:
    """Points on the unit sphere, shape (..., 3): nearest neighbours in lon/lat without the
    seam at ±180° or the squeeze near the poles."""
    lam, phi = np.radians(np.asarray(lon, dtype=np.float64)), np.radians(np.asarray(lat, dtype=np.float64))
    cos_phi = np.cos(phi)
    vectors = np.stack([cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)], axis=-1)
    return np.nan_to_num(vectors, nan=10.0)  # no coordinate: far from every real point


# ---------------------------------------------------------------------- ENVI map info
_ENVI_DATUMS = {"wgs-84": "WGS84", "wgs84": "WGS84", "north america 1983": "NAD83", "north america 1927": "NAD27"}


def from_envi(header: Mapping[str, Any], rows: int, cols: int) -> Georef | None:
    """Georeferencing from an ENVI header's ``map info`` and ``coordinate system string``;
    None when nothing in it places the image (see :func:`envi_georef`)."""
    return envi_georef(header, rows, cols)[0]


def envi_georef(header: Mapping[str, Any], rows: int, cols: int) -> tuple[Georef | None, str | None]:
    """Georeferencing from an ENVI header, and why it is missing when ``map info`` is there but
    could not be used.

    Follows GDAL's ENVI driver: ``rotation=`` turns the grid counter-clockwise by that many
    degrees; the reference pixel is 1-based with (1, 1) the outer corner of the first pixel.
    (GDAL leaves the rotation out of the offset for a reference pixel other than (1, 1); here
    it is applied, which agrees with GDAL at (1, 1), the only reference products use.)
    The CRS is the ``coordinate system string`` when pyproj can relate it to WGS84; when it
    cannot (a broken ellipsoid, say), the projection ``map info`` names (UTM zone, hemisphere
    and datum; geographic) is used instead and the Georef's ``note`` says so. "Arbitrary" grids
    and pixel-only files give ``(None, None)``.
    """
    info = header.get("map info")
    if not isinstance(info, list) or len(info) < 7:
        return None, None
    fields = [str(v).strip() for v in info]
    try:
        x_ref, y_ref, easting, northing, x_size, y_size = (float(v) for v in fields[1:7])
    except ValueError:
        return None, "its map info holds no numbers where the reference pixel and pixel size belong"
    rotation = 0.0
    units = None
    for field in fields[7:]:
        key, _, value = field.partition("=")
        if key.strip().lower() == "rotation":
            try:
                rotation = float(value)
            except ValueError:
                return None, f"its map info has a rotation that is not a number ({value.strip()!r})"
        elif key.strip().lower() == "units":
            units = value.strip().lower()
    theta = -math.radians(rotation)
    gt1, gt2 = math.cos(theta) * x_size, -math.sin(theta) * x_size
    gt4, gt5 = -math.sin(theta) * y_size, -math.cos(theta) * y_size
    if abs(rotation) == 180.0:
        gt1, gt2, gt4, gt5 = x_size, 0.0, 0.0, y_size
    gt0 = easting - (x_ref - 1) * gt1 - (y_ref - 1) * gt2
    gt3 = northing - (x_ref - 1) * gt4 - (y_ref - 1) * gt5
    geotransform = (gt0, gt1, gt2, gt3, gt4, gt5)

    css = header.get("coordinate system string")
    if isinstance(css, list):
        css = ",".join(str(v) for v in css)
    css = css.strip().strip("{}") if isinstance(css, str) else ""
    named = _map_info_crs(fields)
    problem = None
    for crs, note in ((css, None), (named, "placed by its map info")):
        if not crs:
            continue
        try:
            if units in ("feet", "km") and _crs(crs).is_projected:
                return None, f"its map info gives the grid in {units}, which its projection does not state"
            if note and problem:
                note = f"its coordinate system string could not be used: {problem[0].lower()}{problem[1:]}; {note}"
            return Georef(rows, cols, crs=crs, geotransform=geotransform, note=note), None
        except CubeError as exc:
            problem = problem or _first_sentence(str(exc))
    if problem:
        return None, f"its coordinate system could not be used ({problem})"
    return None, None


def _first_sentence(text: str) -> str:
    return text.split(" (")[0].rstrip(".")


def _map_info_crs(fields: list[str]) -> str | None:
    """The CRS a ``map info`` names by itself: UTM zone + hemisphere + datum, or geographic."""
    name = fields[0].lower()
    if name.startswith("utm") and len(fields) >= 9:
        try:
            zone = int(float(fields[7]))
        except ValueError:
            return None
        south = fields[8].strip().lower() == "south"
        datum = _ENVI_DATUMS.get(fields[9].strip().lower()) if len(fields) > 9 and "=" not in fields[9] else None
        if datum == "WGS84" and 1 <= zone <= 60:
            return f"EPSG:{32700 + zone if south else 32600 + zone}"
        if datum in ("NAD83", "NAD27") and 1 <= zone <= 60 and not south:
            return f"+proj=utm +zone={zone} +datum={datum} +units=m +no_defs"
        return None
    if name.startswith("geographic lat"):
        return WGS84
    return None


def envi_map_info(georef: Georef) -> dict[str, Any]:
    """ENVI header fields for a grid: ``map info`` (with ``rotation=`` when the grid turns) and
    ``coordinate system string`` (ESRI WKT), as GDAL writes them. Empty for a swath."""
    if georef.geotransform is None:
        return {}
    gt = georef.geotransform
    crs = _crs(georef.crs)
    x_size = math.hypot(gt[1], gt[2])
    y_size = math.hypot(gt[4], gt[5])
    rotation = -math.degrees(math.atan2(-gt[2], gt[1]))
    code = crs.to_epsg()
    utm = re.fullmatch(r"32([67])(\d\d)", str(code)) if code else None
    if utm:
        head = ["UTM", "1", "1", repr(gt[0]), repr(gt[3]), repr(x_size), repr(y_size), str(int(utm.group(2))),
                "North" if utm.group(1) == "6" else "South", "WGS-84", "units=Meters"]
    elif crs.is_geographic:
        head = ["Geographic Lat/Lon", "1", "1", repr(gt[0]), repr(gt[3]), repr(x_size), repr(y_size), "WGS-84",
                "units=Degrees"]
    else:
        head = [crs.name, "1", "1", repr(gt[0]), repr(gt[3]), repr(x_size), repr(y_size), "units=Meters"]
    if abs(rotation) > 1e-12:
        head.append(f"rotation={rotation!r}")
    from pyproj.enums import WktVersion

    return {"map info": head, "coordinate system string": crs.to_wkt(WktVersion.WKT1_ESRI)}


# ---------------------------------------------------------------------- GeoTIFF tags
_MODEL_PIXEL_SCALE, _MODEL_TIEPOINT, _MODEL_TRANSFORMATION, _GEO_KEYS = 33550, 33922, 34264, 34735


def from_geotiff(page: Any, rows: int, cols: int) -> Georef | None:
    """Georeferencing from a GeoTIFF page's tags (tifffile ``TiffPage``), as GDAL reads them:
    ModelTransformation or ModelTiepoint + ModelPixelScale, the CRS from the EPSG code in the
    GeoKey directory (ProjectedCSType or GeographicType), and PixelIsPoint moved by half a pixel."""
    tags = page.tags
    keys = _geo_keys(tags.get(_GEO_KEYS))
    code = keys.get(3072) or keys.get(2048)  # ProjectedCSTypeGeoKey, GeographicTypeGeoKey
    if not code or code == 32767:
        return None
    crs = f"EPSG:{int(code)}"
    if _MODEL_TRANSFORMATION in tags:
        m = [float(v) for v in tags[_MODEL_TRANSFORMATION].value]
        if len(m) != 16:
            return None
        gt = (m[3], m[0], m[1], m[7], m[4], m[5])
    elif _MODEL_TIEPOINT in tags and _MODEL_PIXEL_SCALE in tags:
        tie = [float(v) for v in tags[_MODEL_TIEPOINT].value]
        scale = [float(v) for v in tags[_MODEL_PIXEL_SCALE].value]
        if len(tie) < 6 or len(scale) < 2:
            return None
        i, j, x, y = tie[0], tie[1], tie[3], tie[4]
        gt = (x - i * scale[0], scale[0], 0.0, y + j * scale[1], 0.0, -scale[1])
    else:
        return None
    if keys.get(1025) == 2:  # GTRasterTypeGeoKey = RasterPixelIsPoint: tie points name centres
        gt = (gt[0] - 0.5 * gt[1] - 0.5 * gt[2], gt[1], gt[2], gt[3] - 0.5 * gt[4] - 0.5 * gt[5], gt[4], gt[5])
    try:
        return Georef(rows, cols, crs=crs, geotransform=gt)
    except CubeError:
        return None


def _geo_keys(tag: Any) -> dict[int, Any]:
    """The short-valued keys of a GeoKeyDirectory (the CRS codes live there)."""
    if tag is None:
        return {}
    values = [int(v) for v in tag.value]
    if len(values) < 4:
        return {}
    keys = {}
    for n in range(min(values[3], (len(values) - 4) // 4)):
        key, location, _count, value = values[4 + 4 * n: 8 + 4 * n]
        if location == 0:
            keys[key] = value
    return keys
