"""The Cube model: one hyperspectral cube with its wavelengths, no-data rule and metadata.

Inside, the samples are kept band-sequential, ``(bands, rows, cols)``, usually C-contiguous
or a read-only memory map of a file in that layout: a band image is then one contiguous
block (the operation people do most), and a pixel spectrum is ``bands`` small strided reads.
The public face is the usual ``H[row, col, band]`` convention: ``shape`` is
``(rows, cols, bands)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import Any

import numpy as np

from cubescope.errors import CubeError
from cubescope.geo import Georef
from cubescope.wavelengths import (
    nearest_band,
    normalize_units,
    to_nanometres,
    true_colour_bands,
    wavelength_order,
)
from cubescope.words import plural

#: Bytes handled at once when a computation streams over the whole cube.
CHUNK_BYTES = 64 * 2**20


def float_dtype_for(dtype: np.dtype) -> np.dtype:
    """The float type that holds every value of ``dtype`` well enough for display and fitting.

    float64 stays float64; everything else (float32, float16, 8/16-bit integers) becomes
    float32, except 32/64-bit integers, which need float64 to keep their values.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float64 or (dtype.kind in "iu" and dtype.itemsize >= 4):
        return np.dtype(np.float64)
    return np.dtype(np.float32)


def _readonly(array: np.ndarray) -> np.ndarray:
    view = array.view()
    view.flags.writeable = False
    return view


class Cube:
    """A hyperspectral cube ``H[row, col, band]``.

    Build one with :meth:`Cube.from_array` or a loader (:func:`cubescope.load_cube`).

    Parameters
    ----------
    bsq : ndarray, shape (bands, rows, cols)
        The samples, band-sequential. Kept as given (a memory map stays a memory map) and
        never written to.
    name : str
        A short human name, shown in pages and used to build export file names.
    wavelengths : array_like, shape (bands,), optional
        Band centres in ``wavelength_units``.
    wavelength_units : str, optional
        Unit of ``wavelengths``; folded to "nm", "µm", ... and guessed from the values when
        missing (see :func:`cubescope.wavelengths.normalize_units`).
    fwhm : array_like, shape (bands,), optional
        Band widths, in the same unit.
    bad_bands : array_like of bool, shape (bands,), optional
        True for a band to leave out of fits and to draw as a gap in spectra.
    nodata : float, optional
        A sample value meaning "no data" (ENVI's "data ignore value"); NaN always does.
    default_bands : tuple of int, optional
        Bands the file suggests for an RGB view (ENVI "default bands").
    gain, offset : float or array_like of shape (bands,), optional
        The file's scaling of stored samples to physical values: ``value = stored * gain +
        offset`` (ENVI ``data gain values`` / ``data offset values``; a ``reflectance scale
        factor`` of 10000 is a gain of 1e-4). Applied by :meth:`band`, :meth:`spectrum` and
        everything that reads through them; :meth:`as_stored` gives the samples as stored.
    quantity : str, optional
        What the values are ("reflectance", "radiance (µW/(cm² sr nm))"); None when unknown.
    metadata : mapping, optional
        Everything else the file said, as text-friendly values.
    geo : Georef, optional
        Where the pixels lie on the Earth (see :mod:`cubescope.geo`); None for a lab scan or a
        file without georeferencing.
    check : callable, optional
        ``check(bsq, start, stop)`` is called before bands ``start:stop`` are read and raises
        :class:`~cubescope.errors.CubeError` if they are not what was stored (the store passes a
        :class:`~cubescope.store.BandCheck`). Reading :attr:`bsq` checks every band.
    """

    def __init__(
        self,
        bsq: np.ndarray,
        *,
        name: str = "cube",
        wavelengths: Any = None,
        wavelength_units: str | None = None,
        fwhm: Any = None,
        bad_bands: Any = None,
        nodata: float | None = None,
        default_bands: tuple[int, ...] | None = None,
        gain: Any = None,
        offset: Any = None,
        quantity: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        geo: Georef | None = None,
        check: Callable[[np.ndarray, int, int], None] | None = None,
    ) -> None:
        if not isinstance(bsq, np.ndarray) or bsq.ndim != 3:
            ndim = getattr(bsq, "ndim", "?")
            raise CubeError(
                f"A cube needs three axes (rows, columns, bands); this array has {ndim}. "
                "A single image is not a cube: stack its bands into a 3D array."
            )
        if bsq.dtype.kind not in "iuf":
            raise CubeError(
                f"Samples of type {bsq.dtype} are not supported; use integer or floating-point "
                "samples (complex and object arrays cannot be shown)."
            )
        if 0 in bsq.shape:
            raise CubeError(f"The cube is empty (shape bands x rows x cols = {bsq.shape}).")
        bands = bsq.shape[0]
        self._bsq = _readonly(bsq)
        self.name = str(name)
        self.wavelengths = _per_band(wavelengths, bands, "wavelengths", float)
        self.wavelength_units = (
            normalize_units(wavelength_units, self.wavelengths)
            if self.wavelengths is not None
            else None
        )
        self.fwhm = _per_band(fwhm, bands, "fwhm", float)
        flags = _per_band(bad_bands, bands, "bad band list", bool)
        self.bad_bands = flags if flags is not None and flags.any() else None
        self.nodata = None if nodata is None or np.isnan(nodata) else float(nodata)
        if default_bands is not None:
            default_bands = tuple(int(b) for b in default_bands)
            if not all(0 <= b < bands for b in default_bands):
                default_bands = None
        self.default_bands = default_bands
        self.gain = _scaling(gain, bands, "gain", 1.0)
        self.offset = _scaling(offset, bands, "offset", 0.0)
        self.quantity = str(quantity) if quantity else None
        self.metadata: dict[str, Any] = dict(metadata or {})
        if geo is not None and (geo.rows, geo.cols) != (bsq.shape[1], bsq.shape[2]):
            raise CubeError(
                f"The georeferencing is for a {geo.rows} x {geo.cols} image, the cube is "
                f"{bsq.shape[1]} x {bsq.shape[2]}."
            )
        self.geo = geo
        self._check = check

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_array(
        cls,
        data: Any,
        wavelengths: Any = None,
        *,
        band_axis: int = -1,
        copy: bool | None = True,
        **kwargs: Any,
    ) -> Cube:
        """Build a cube from an array, by default laid out ``(rows, cols, bands)``.

        Parameters
        ----------
        data : array_like, 3D
            The samples.
        wavelengths : array_like, shape (bands,), optional
            Band centres; see :class:`Cube` for the other keyword arguments.
        band_axis : int
            Which axis of ``data`` holds the bands; the other two are rows then columns.
        copy : bool
            Copy another layout into band-sequential order (fast band images). With False the
            cube keeps a strided view (a memory map stays mapped): for streaming a file larger
            than memory into the store, row chunk by row chunk.

        Notes
        -----
        An array already band-first (``band_axis=0``) is used as it is (memory maps stay
        mapped). Any other layout is copied once into band-sequential order, in chunks.
        """
        array = np.asarray(data)
        if array.ndim != 3:
            raise CubeError(
                f"A cube needs three axes (rows, columns, bands); this array has {array.ndim} "
                f"(shape {array.shape})."
            )
        return cls(to_band_sequential(array, band_axis % 3, copy=copy), wavelengths=wavelengths, **kwargs)

    @classmethod
    def from_xarray(cls, array: Any, **kwargs: Any) -> Cube:
        """A cube from a 3D ``xarray.DataArray`` (band, y, x in any order), with its wavelength,
        fwhm and place: see :func:`cubescope.xr.from_xarray`."""
        from cubescope.xr import from_xarray

        return from_xarray(array, **kwargs)

    def to_xarray(self, chunks: Any = None) -> Any:
        """The cube as a lazy ``xarray.DataArray`` (band, y, x) with its wavelength coordinate,
        fwhm, bad bands and CRS in rioxarray's convention: see :func:`cubescope.xr.to_xarray`."""
        from cubescope.xr import to_xarray

        return to_xarray(self, chunks)

    # ------------------------------------------------------------------ shape and layout
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(rows, cols, bands)``."""
        bands, rows, cols = self._bsq.shape
        return rows, cols, bands

    @property
    def rows(self) -> int:
        return self._bsq.shape[1]

    @property
    def cols(self) -> int:
        return self._bsq.shape[2]

    @property
    def n_bands(self) -> int:
        return self._bsq.shape[0]

    @property
    def dtype(self) -> np.dtype:
        """Sample type as stored."""
        return self._bsq.dtype

    @property
    def float_dtype(self) -> np.dtype:
        """Type of what :meth:`band` and :meth:`spectrum` return."""
        return float_dtype_for(self._bsq.dtype)

    @property
    def nbytes(self) -> int:
        return int(self._bsq.nbytes)

    @property
    def bsq(self) -> np.ndarray:
        """The samples as stored, ``(bands, rows, cols)``, read-only, no-data not applied
        (every band checked first, when the cube has a ``check``)."""
        self._checked(0, self.n_bands)
        return self._bsq

    def band_samples(self, start: int, stop: int) -> np.ndarray:
        """Bands ``start`` to ``stop - 1`` as stored (a view), checked first."""
        self._checked(start, stop)
        return self._bsq[start:stop]

    @property
    def damaged(self) -> bool:
        """True once a check found stored samples that differ from what was stored."""
        return bool(getattr(self._check, "failed", False))

    def _checked(self, start: int, stop: int) -> None:
        if self._check is not None:
            self._check(self._bsq, start, stop)

    @property
    def is_memory_mapped(self) -> bool:
        base = self._bsq
        while base is not None:
            if isinstance(base, np.memmap):
                return True
            base = base.base if isinstance(base.base, np.ndarray) else None
        return False

    def __repr__(self) -> str:
        rows, cols, bands = self.shape
        wl = ""
        if self.wavelengths is not None:
            wl = (
                f", {self.wavelengths.min():.6g}-{self.wavelengths.max():.6g} "
                f"{self.wavelength_units or ''}".rstrip()
            )
        return f"Cube({self.name!r}, {rows}x{cols}x{bands} {self.dtype}{wl})"

    @property
    def is_scaled(self) -> bool:
        """True when stored samples are scaled to physical values on reading."""
        return self.gain is not None or self.offset is not None

    def subset(self, rows: slice = slice(None), cols: slice = slice(None), bands: Any = None) -> Cube:
        """A cube of exactly these samples: ``rows`` and ``cols`` (slices of step 1) and ``bands``
        (indices, or a boolean mask over the bands; default all).

        Wavelengths, band widths, the bad-band list, gain and offset move with the bands; the
        georeferencing with the window (the subset's pixel (0, 0) lies where ``(rows.start,
        cols.start)`` does). The samples are a view of this cube's when the bands are one run,
        else a copy of the chosen bands over the window only; either way the store's checks of
        the bands read still apply.

        Raises
        ------
        CubeError
            For a window outside the image, a step other than 1, or no band.
        """
        r0, r1, rstep = rows.indices(self.rows)
        c0, c1, cstep = cols.indices(self.cols)
        if rstep != 1 or cstep != 1 or r0 >= r1 or c0 >= c1:
            raise CubeError(f"A subset is a window of rows and columns inside the {self.rows} x {self.cols} image "
                            f"(step 1, not empty); got rows {r0}:{r1}:{rstep}, columns {c0}:{c1}:{cstep}.")
        index = band_indices(bands, self.n_bands)
        run = index.size == index[-1] - index[0] + 1 and bool(np.all(np.diff(index) == 1))
        if run:
            samples = self._bsq[index[0]:index[-1] + 1, r0:r1, c0:c1]
        else:
            for band in index:  # verified before they are copied
                self._checked(int(band), int(band) + 1)
            samples = self._bsq[:, r0:r1, c0:c1][index]

        def per_band(values: Any) -> Any:
            return None if values is None or np.ndim(values) == 0 else np.asarray(values)[index]

        meta = self.to_meta()
        kept = [int(np.flatnonzero(index == b)[0]) for b in (self.default_bands or ()) if b in index]
        meta.update(
            name=f"{self.name} subset", wavelengths=per_band(self.wavelengths), fwhm=per_band(self.fwhm),
            bad_bands=per_band(self.bad_bands), gain=per_band(self.gain), offset=per_band(self.offset),
            default_bands=kept if len(kept) == len(self.default_bands or ()) and kept else None,
            metadata={**self.metadata, "subset of": self.name, "subset rows": f"{r0}-{r1}",
                      "subset columns": f"{c0}-{c1}", "subset bands": f"{index.size} of {self.n_bands}"},
        )
        geo = None if self.geo is None else self.geo.window(slice(r0, r1), slice(c0, c1))
        return Cube.from_meta(samples, meta, geo=geo, check=_ParentCheck(self, index) if run else None)

    def as_stored(self) -> Cube:
        """The same samples without the file's gain and offset: the values as stored."""
        if not self.is_scaled:
            return self
        described = {**self.to_meta(), "gain": None, "offset": None, "quantity": "stored values"}
        return Cube.from_meta(self._bsq, described, geo=self.geo, check=self._check)

    def with_bad_bands(self, bad_bands: Any) -> Cube:
        """The same samples with another bad-band list (boolean, one per band; None: no band
        is bad): what every fit, plot and export of the returned cube leaves out."""
        mask = None if bad_bands is None else band_mask(np.asarray(bad_bands, bool), self.n_bands)
        described = {**self.to_meta(), "bad_bands": None if mask is None else mask.tolist()}
        return Cube.from_meta(self._bsq, described, geo=self.geo, check=self._check)

    def to_meta(self) -> dict[str, Any]:
        """What the cube is besides its samples and georeferencing, as JSON values (lists, not
        arrays): the fields :meth:`from_meta` takes back."""
        def listed(values: Any) -> Any:
            return None if values is None else np.asarray(values).tolist()

        return {
            "name": self.name,
            "wavelengths": listed(self.wavelengths),
            "wavelength_units": self.wavelength_units,
            "fwhm": listed(self.fwhm),
            "bad_bands": listed(self.bad_bands),
            "nodata": self.nodata,
            "default_bands": list(self.default_bands) if self.default_bands else None,
            "gain": listed(self.gain),
            "offset": listed(self.offset),
            "quantity": self.quantity,
            "metadata": self.metadata,
        }

    @classmethod
    def from_meta(cls, bsq: np.ndarray, meta: Mapping[str, Any], *, geo: Georef | None = None,
                  check: Callable[[np.ndarray, int, int], None] | None = None) -> Cube:
        """A cube of ``bsq`` ``(bands, rows, cols)`` samples described by :meth:`to_meta`'s fields
        (missing ones take their defaults; other keys are ignored)."""
        fields = ("wavelengths", "wavelength_units", "fwhm", "bad_bands", "nodata", "default_bands", "gain",
                  "offset", "quantity", "metadata")
        return cls(bsq, name=meta.get("name", "cube"), geo=geo, check=check,
                   **{field: meta.get(field) for field in fields})

    def scaling_note(self) -> str:
        """How values relate to the stored samples, in words (for captions and exports)."""
        if not self.is_scaled:
            return f"{self.quantity}, as stored in the file" if self.quantity else "values as stored in the file"
        gain = np.ones(self.n_bands) if self.gain is None else self.gain
        offset = np.zeros(self.n_bands) if self.offset is None else self.offset
        if np.all(gain == gain[0]) and np.all(offset == offset[0]):
            note = f"stored × {gain[0]:.6g}" + (f" + {offset[0]:.6g}" if offset[0] else "")
            if gain[0] and not offset[0] and abs(1 / gain[0] - round(1 / gain[0])) < 1e-6 * abs(1 / gain[0]):
                note = f"stored ÷ {round(1 / gain[0]):g}"
        else:
            note = "stored × per-band gain + per-band offset"
        return f"{self.quantity or 'values'} = {note} (the file's scaling)"

    # ------------------------------------------------------------------ reading
    def _to_float(self, samples: np.ndarray, bands: Any) -> np.ndarray:
        """Floats of samples read from :attr:`bsq` at ``bands`` (an index, slice or index array
        of the first axis): no-data as NaN, the file's gain and offset applied."""
        out = np.array(samples, dtype=self.float_dtype, copy=True)
        if self.nodata is not None:
            out[samples == self.nodata] = np.nan
        if self.is_scaled:
            shape = (-1,) + (1,) * (out.ndim - 1) if np.ndim(bands) or isinstance(bands, slice) else ()
            if self.gain is not None:
                out *= self.gain[bands].astype(out.dtype).reshape(shape)
            if self.offset is not None:
                out += self.offset[bands].astype(out.dtype).reshape(shape)
        return out

    def band(self, index: int) -> np.ndarray:
        """One band image, shape ``(rows, cols)``, as floats with no-data samples set to NaN."""
        index = self._check_band(index)
        self._checked(index, index + 1)
        return self._to_float(self._bsq[index], index)

    def band_window(self, index: int, rows: slice, cols: slice) -> np.ndarray:
        """Part of one band image, ``band(index)[rows, cols]`` (slices with steps allowed),
        reading only those samples from the file."""
        index = self._check_band(index)
        self._checked(index, index + 1)
        return self._to_float(self._bsq[index, rows, cols], index)

    def bands(self, start: int, stop: int) -> np.ndarray:
        """Band images ``start`` to ``stop - 1``, shape ``(stop - start, rows, cols)``, floats."""
        if not 0 <= start < stop <= self.n_bands:
            raise CubeError(f"Band range {start}:{stop} lies outside 0:{self.n_bands}.")
        return self._to_float(self.band_samples(start, stop), slice(start, stop))

    def spectrum(self, row: int, col: int) -> np.ndarray:
        """The spectrum at one pixel, shape ``(bands,)``, floats with no-data as NaN."""
        self._check_pixel(row, col)
        return self._to_float(self.bsq[:, row, col], slice(None))

    # ------------------------------------------------------------------ on the Earth
    @property
    def crs(self) -> str | None:
        """The coordinate reference system of the cube's grid (WKT, EPSG code...), "EPSG:4326"
        for a swath located by per-pixel lon/lat, None when not georeferenced."""
        return None if self.geo is None else self.geo.crs

    @property
    def geotransform(self) -> tuple[float, ...] | None:
        """GDAL-order affine from (col, row) pixel corners to :attr:`crs` coordinates; None for
        a swath or a cube without georeferencing."""
        return None if self.geo is None else self.geo.geotransform

    def lonlat(self, row: Any, col: Any) -> tuple[Any, Any]:
        """Longitude and latitude (WGS84 degrees) of the centre of pixel ``(row, col)``.

        Scalars give floats, arrays give arrays (NaN where a swath product has no coordinate).

        Raises
        ------
        CubeError
            If the cube is not georeferenced or the pixel lies outside it.
        """
        if self.geo is None:
            raise CubeError(f"'{self.name}' is not georeferenced: its file places no pixel on the Earth.")
        lon, lat = self.geo.lonlat(row, col)
        if np.ndim(lon) == 0:
            return float(lon), float(lat)
        return lon, lat

    def region(self, rows: slice, cols: slice) -> np.ndarray:
        """The spectra of a rectangle as ``(bands, h, w)`` floats with no-data as NaN."""
        return self._to_float(self.bsq[:, rows, cols], slice(None))

    def row_block(self, rows: slice, bands: Any = slice(None)) -> np.ndarray:
        """Whole rows' spectra as ``(bands, h, cols)`` floats with no-data as NaN, for streaming
        computations: a read-only view of the samples when they are stored as floats with no
        no-data value and no scaling (nothing copied), else a converted copy."""
        if isinstance(bands, slice):
            samples = self.bsq[bands, rows, :]
        else:
            samples = self.bsq[:, rows, :][np.asarray(bands)]
        if samples.dtype == self.float_dtype and self.nodata is None and not self.is_scaled:
            return _readonly(samples)
        return self._to_float(samples, bands)

    def plane(self, samples: np.ndarray, bands: Any = slice(None)) -> np.ndarray:
        """Floats (no-data as NaN, scaling applied) for samples the caller read from :attr:`bsq`
        at ``bands`` of its first axis (all bands by default)."""
        return self._to_float(samples, bands)

    def _check_band(self, index: int) -> int:
        index = int(index)
        if not 0 <= index < self.n_bands:
            raise CubeError(f"Band {index} does not exist; this cube has bands 0 to {self.n_bands - 1}.")
        return index

    def _check_pixel(self, row: int, col: int) -> None:
        if not (0 <= row < self.rows and 0 <= col < self.cols):
            raise CubeError(
                f"Pixel (row {row}, col {col}) lies outside the image "
                f"({self.rows} rows x {self.cols} columns)."
            )

    def iter_band_chunks(self, max_bytes: int = CHUNK_BYTES) -> Iterator[tuple[int, int]]:
        """``(start, stop)`` band ranges whose float images fit in ``max_bytes`` together."""
        per_band = self.rows * self.cols * self.float_dtype.itemsize
        step = max(1, max_bytes // max(per_band, 1))
        for start in range(0, self.n_bands, step):
            yield start, min(start + step, self.n_bands)

    def iter_row_chunks(self, max_bytes: int = CHUNK_BYTES) -> Iterator[slice]:
        """Row slices whose full spectra (all bands, as floats) fit in ``max_bytes``."""
        per_row = self.cols * self.n_bands * self.float_dtype.itemsize
        step = max(1, max_bytes // max(per_row, 1))
        for start in range(0, self.rows, step):
            yield slice(start, min(start + step, self.rows))

    # ------------------------------------------------------------------ derived facts
    @property
    def good_bands(self) -> np.ndarray:
        """Boolean ``(bands,)``: True for a band that is not on the bad-band list."""
        if self.bad_bands is None:
            return np.ones(self.n_bands, dtype=bool)
        return ~self.bad_bands

    @cached_property
    def valid_mask(self) -> np.ndarray:
        """Boolean ``(rows, cols)``: True where every good band holds data (no NaN, no no-data).

        Computed once by streaming over the bands.
        """
        valid = np.ones((self.rows, self.cols), dtype=bool)
        good = self.good_bands
        check_nan = self.dtype.kind == "f"
        for start, stop in self.iter_band_chunks():
            for offset, samples in enumerate(self.band_samples(start, stop)):
                if not good[start + offset]:
                    continue
                if check_nan:
                    valid &= ~np.isnan(samples)
                if self.nodata is not None:
                    valid &= samples != self.nodata
        return _readonly(valid)

    @property
    def wavelengths_nm(self) -> np.ndarray | None:
        """Wavelengths converted to nm, or None when they are absent or not lengths."""
        return to_nanometres(self.wavelengths, self.wavelength_units)

    @property
    def fwhm_nm(self) -> np.ndarray | None:
        """Band widths in nm, or None when absent or the wavelengths are not lengths."""
        return None if self.fwhm is None else to_nanometres(self.fwhm, self.wavelength_units)

    def default_band(self) -> int:
        """The band a viewer opens on: the file's first default band, else the band nearest
        650 nm (red, clear of water absorption), else the middle band."""
        if self.default_bands:
            return self.default_bands[0]
        nm = self.wavelengths_nm
        if nm is not None:
            near = nearest_band(nm, 650.0, 100.0)
            if near is not None:
                return near
        return self.n_bands // 2

    def rgb_bands(self) -> tuple[int, int, int]:
        """Bands for a first RGB view: true colour if covered, else the file's default bands,
        else three bands spread over the range."""
        picks = true_colour_bands(self.wavelengths_nm)
        if picks is not None:
            return picks
        if self.default_bands is not None and len(self.default_bands) == 3:
            r, g, b = self.default_bands
            return r, g, b
        n = self.n_bands
        return (int(n * 0.75), int(n * 0.5), int(n * 0.25)) if n >= 3 else (0, 0, 0)

    def summary(self) -> str:
        """One line for a page: size, sample type, wavelength range, what the values are, and
        anything odd about the wavelength order."""
        rows, cols, bands = self.shape
        text = f"{plural(rows, 'row')} × {plural(cols, 'column')} × {plural(bands, 'band')}, {self.dtype}"
        if self.wavelengths is None:
            text += ", no wavelengths in the file"
        else:
            low, high = np.nanmin(self.wavelengths), np.nanmax(self.wavelengths)
            span = f"{low:.6g}" if low == high else f"{low:.6g}–{high:.6g}"
            text += f", {span} {self.wavelength_units or ''}"
            order = wavelength_order(self.wavelengths, self.wavelength_units)
            if order:
                text += f" (wavelengths {order})"
        if self.is_scaled or self.quantity:
            text += f"; {self.scaling_note()}"
        if self.geo is not None and self.geo.note:
            text += f"; georeferencing: {self.geo.note}"
        elif self.geo is None and str(self.metadata.get("georeferencing", "")).startswith("none: "):
            text += f"; not placed on the Earth: {self.metadata['georeferencing'][6:]}"
        return text.rstrip()

    def describe(self) -> dict[str, Any]:
        """A small summary for display: shape, type, size, wavelength range, no-data rule."""
        rows, cols, bands = self.shape
        info: dict[str, Any] = {
            "name": self.name,
            "rows": rows,
            "columns": cols,
            "bands": bands,
            "sample type": str(self.dtype),
            "size (MB)": round(self.nbytes / 1e6, 2),
            "memory-mapped": self.is_memory_mapped,
        }
        if self.wavelengths is not None:
            info["wavelengths"] = (
                f"{np.nanmin(self.wavelengths):.6g} - {np.nanmax(self.wavelengths):.6g} "
                f"{self.wavelength_units or '(unit unknown)'}"
            )
            order = wavelength_order(self.wavelengths, self.wavelength_units)
            if order:
                info["wavelength order"] = order
        info["values"] = self.scaling_note()
        info["no-data value"] = "NaN" if self.nodata is None else f"{self.nodata:g} and NaN"
        if self.bad_bands is not None:
            info["bad bands"] = int(self.bad_bands.sum())
        return info


def _scaling(values: Any, bands: int, what: str, identity: float) -> np.ndarray | None:
    """Per-band gain or offset as float64 ``(bands,)``; None when it changes nothing."""
    if values is None:
        return None
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 1:
        array = np.full(bands, array[0])
    if array.size != bands:
        raise CubeError(f"The file lists {array.size} {what} values for {bands} bands; they must match one to one.")
    if not np.all(np.isfinite(array)):
        raise CubeError(f"The file's {what} values must be finite numbers.")
    return None if np.all(array == identity) else _readonly(array)


def _per_band(values: Any, bands: int, what: str, kind: type) -> np.ndarray | None:
    if values is None:
        return None
    array = np.asarray(values, dtype=kind).ravel()
    if array.size != bands:
        raise CubeError(
            f"The file lists {array.size} {what} for {bands} bands; they must match one to one."
        )
    return _readonly(array)


def band_mask(bands: Any, n_bands: int) -> np.ndarray:
    """A choice of bands as a boolean mask of ``n_bands``: given as a mask already, or as
    band indices."""
    bands = np.asarray(bands)
    if bands.dtype == bool:
        if bands.size != n_bands:
            raise CubeError(f"A band mask of {bands.size} for {n_bands} bands.")
        return bands
    mask = np.zeros(n_bands, bool)
    mask[bands.astype(int)] = True
    return mask


def band_indices(bands: Any, n_bands: int) -> np.ndarray:
    """The band indices ``bands`` names: None (all), indices, or a boolean mask over the
    ``n_bands`` bands; at least one, each within range.

    Raises
    ------
    CubeError
        For no band, or an index outside ``0 .. n_bands - 1``.
    """
    if bands is None:
        return np.arange(n_bands)
    chosen = np.asarray(bands)
    index = np.flatnonzero(band_mask(chosen, n_bands)) if chosen.dtype == bool else chosen.astype(int).ravel()
    if index.size == 0 or index.min() < 0 or index.max() >= n_bands:
        raise CubeError(f"A subset needs bands within 0..{n_bands - 1}, at least one.")
    return index


def physical_memory() -> int:
    """Bytes of memory the machine has (16 GiB when the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 * 2**30


def in_memory_budget() -> int:
    """Largest reordered copy a loader makes in memory by default: 1 GiB, or a sixteenth of
    the machine's memory when that is less. Larger interleaved files stay memory-mapped views."""
    return min(2**30, physical_memory() // 16)


def to_band_sequential(array: np.ndarray, band_axis: int, copy: bool | None = True) -> np.ndarray:
    """A 3D array in ``(bands, rows, cols)`` order; the other axes are taken as rows then columns.

    An array already band-first is returned as it is. Otherwise it is copied into C-contiguous
    order in bounded chunks (the extra memory beyond the output stays small even when ``array``
    is a memory map), or with ``copy=False`` returned as a strided view, for streaming a file
    larger than memory row chunk by row chunk. ``copy=None`` copies only arrays within
    :func:`in_memory_budget`.
    """
    moved = np.moveaxis(array, band_axis, 0)
    if copy is None:
        copy = array.nbytes <= in_memory_budget()
    if band_axis % 3 == 0 or not copy:
        return moved
    out = np.empty(moved.shape, dtype=array.dtype)
    bands, rows, cols = moved.shape
    per_row = max(1, bands * cols * array.dtype.itemsize)
    step = max(1, CHUNK_BYTES // per_row)
    for start in range(0, rows, step):
        stop = min(start + step, rows)
        out[:, start:stop, :] = moved[:, start:stop, :]
    return out


class _ParentCheck:
    """A subset's check: its bands are checked as the parent's bands they are (a view)."""

    def __init__(self, parent: Cube, index: np.ndarray) -> None:
        self.parent, self.index = parent, index

    @property
    def failed(self) -> bool:
        return self.parent.damaged

    def __call__(self, _: np.ndarray, start: int, stop: int) -> None:
        for band in self.index[start:stop]:
            self.parent._checked(int(band), int(band) + 1)
