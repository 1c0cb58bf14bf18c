"""Spectral libraries: reading and writing them, resampling between band sets, and matching.

- :func:`load_library` reads ENVI spectral libraries (``.sli`` + ``.hdr``) and CSV files (a
  wavelength column with its unit in the header, one column per spectrum);
  :func:`library_to_csv` and :func:`library_to_envi` write them back.
- :func:`resample_spectra` carries spectra from one band set to another with Gaussian band
  responses, as Spectral Python's ``BandResampler`` does (same matrix), so that a library
  measured every nanometre compares with a 224-band cube. Bands with no overlap are NaN.
- :func:`spectral_angles` (SAM, radians), :func:`feature_fit` (spectral feature fitting on
  continuum-removed spectra) and :func:`best_match` (a class map with a threshold).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit, prange
from scipy.special import erf

from cubescope.cube import Cube, band_mask
from cubescope.errors import CubeError
from cubescope.products import Compute, Product
from cubescope.wavelengths import normalize_units, to_nanometres
from cubescope.words import spreadsheet_safe

#: Most spectra and bands a library file may hold.
MAX_SPECTRA, MAX_BANDS = 10_000, 100_000
#: Largest library file read (10,000 spectra of 425 bands as ENVI float32 take 17 MB).
MAX_FILE_BYTES = 64 * 2**20
#: A library CSV's largest size and number of values, checked before its values are parsed
#: (each parsed value costs about 60 bytes of Python objects on the way).
MAX_CSV_BYTES, MAX_CSV_CELLS = 32 * 10**6, 4_000_000
_SQRT_8LOG2 = 2.3548200450309493


@dataclass
class SpectralLibrary:
    """Named reference spectra on one set of wavelengths.

    Attributes
    ----------
    names : list of str
    spectra : ndarray, shape (n_spectra, bands)
    wavelengths : ndarray, shape (bands,), nanometres
    fwhm : ndarray, shape (bands,), nanometres, or None
    """

    names: list[str]
    spectra: np.ndarray
    wavelengths: np.ndarray
    fwhm: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.spectra = np.atleast_2d(np.asarray(self.spectra, dtype=np.float64))
        self.wavelengths = np.asarray(self.wavelengths, dtype=np.float64).ravel()
        if self.spectra.shape != (len(self.names), self.wavelengths.size):
            raise CubeError(f"A library of {len(self.names)} names needs spectra of shape "
                            f"({len(self.names)}, {self.wavelengths.size}), not {self.spectra.shape}.")
        if self.fwhm is not None:
            self.fwhm = np.asarray(self.fwhm, dtype=np.float64).ravel()

    def resampled(self, wavelengths: Any, fwhm: Any = None) -> SpectralLibrary:
        """The library on another band set (nm), e.g. a cube's (see :func:`resample_spectra`)."""
        spectra = resample_spectra(self.spectra, self.wavelengths, wavelengths, fwhm, self.fwhm)
        return SpectralLibrary(list(self.names), spectra, wavelengths, fwhm, dict(self.metadata))

    def for_cube(self, cube: Cube) -> tuple[SpectralLibrary, np.ndarray]:
        """The library on ``cube``'s bands, NaN at the bands it cannot be compared on (the
        cube's bad bands, and bands the library does not cover), and those it can (bool,
        ``(n_bands,)``).

        Raises
        ------
        CubeError
            When the cube has no wavelengths in a length unit, or fewer than two bands are shared.
        """
        if cube.wavelengths_nm is None:
            raise CubeError(f"Matching against a library needs wavelengths in a length unit; '{cube.name}' has none.")
        on_cube = self.on_bands(cube.wavelengths_nm, cube.fwhm_nm)
        usable = np.isfinite(on_cube.spectra).all(axis=0) & cube.good_bands
        if usable.sum() < 2:
            raise CubeError("The library and the cube share fewer than two bands; it cannot be matched here.")
        on_cube.spectra[:, ~usable] = np.nan
        return on_cube, usable

    def on_bands(self, wavelengths: Any, fwhm: Any = None) -> SpectralLibrary:
        """The library on a cube's bands (nm, with their widths): a copy as it is when the
        wavelengths agree, else :meth:`resampled` with Gaussian responses."""
        wavelengths = np.asarray(wavelengths, dtype=np.float64)
        if self.wavelengths.size == wavelengths.size and np.allclose(self.wavelengths, wavelengths):
            return SpectralLibrary(list(self.names), self.spectra.copy(), self.wavelengths, self.fwhm,
                                   dict(self.metadata))
        return self.resampled(wavelengths, fwhm)


def _nm(values: Any, units: str | None) -> np.ndarray:
    """Wavelengths in nm from a file's values and unit (folded, or guessed from the values)."""
    values = np.asarray(values, dtype=np.float64)
    nm = to_nanometres(values, normalize_units(units, values))
    if nm is None:
        raise CubeError(f"The library's wavelengths are in '{units}', not a length Cubescope converts to nm.")
    return nm


# ---------------------------------------------------------------------- reading and writing
def load_library(path: str | Path) -> SpectralLibrary:
    """Read an ENVI spectral library (the ``.sli`` or its ``.hdr``) or a CSV library.

    Raises
    ------
    CubeError
        For anything wrong with the file, saying what.
    """
    path = Path(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return library_from_csv(path.read_bytes(), name=path.stem)
    header = path if path.suffix.lower() == ".hdr" else path.with_suffix(".hdr")
    if not header.is_file():
        raise CubeError(f"'{path.name}' is neither a CSV library nor an ENVI library with its .hdr beside it.")
    from cubescope.io.envi import find_data_file
    from cubescope.io.limits import DEFAULT_LIMITS

    data = path if path.suffix.lower() != ".hdr" else find_data_file(header)
    return library_from_envi(header.read_bytes(), data.read_bytes(), name=header.stem, limits=DEFAULT_LIMITS)


def library_from_envi(header_bytes: bytes, data_bytes: bytes, name: str = "library", limits: Any = None
                      ) -> SpectralLibrary:
    """An ENVI spectral library from its header and data bytes (``samples`` = bands, ``lines`` =
    spectra, ``spectra names``, ``wavelength`` with ``wavelength units``)."""
    import tempfile

    from cubescope.io.envi import _float_list, dtype_from_header, read_header
    from cubescope.io.limits import DEFAULT_LIMITS

    with tempfile.TemporaryDirectory() as folder:
        header_path = Path(folder) / "library.hdr"
        header_path.write_bytes(header_bytes)
        header = read_header(header_path, limits or DEFAULT_LIMITS)
    try:
        bands, count = int(header["samples"]), int(header["lines"])
        offset = int(header.get("header offset", 0) or 0)
    except (KeyError, ValueError, TypeError) as exc:
        raise CubeError(f"The library header lacks a valid samples/lines count ({exc}).") from exc
    if offset < 0:
        raise CubeError(f"The library header's 'header offset' is {offset}; it must be 0 or more bytes.")
    if not (0 < bands <= MAX_BANDS and 0 < count <= MAX_SPECTRA):
        raise CubeError(f"A library of {count} spectra x {bands} bands is outside what is read "
                        f"(at most {MAX_SPECTRA} spectra of {MAX_BANDS} bands).")
    dtype = dtype_from_header(header)
    needed = offset + bands * count * dtype.itemsize
    if len(data_bytes) < needed:
        raise CubeError(f"The library data holds {len(data_bytes):,} bytes; its header describes {needed:,}.")
    spectra = np.frombuffer(data_bytes, dtype=dtype, count=bands * count, offset=offset).reshape(count, bands)
    wavelengths = _float_list(header, "wavelength", bands)
    if wavelengths is None:
        raise CubeError("The library header lists no wavelength for each band; matching needs them.")
    units = header.get("wavelength units") if isinstance(header.get("wavelength units"), str) else None
    nm = _nm(wavelengths, units)
    fwhm = _float_list(header, "fwhm", bands)
    names = header.get("spectra names")
    names = [str(n) for n in names] if isinstance(names, list) and len(names) == count else [
        f"spectrum {i + 1}" for i in range(count)]
    try:
        scale = float(header.get("reflectance scale factor", 1) or 1)
    except (TypeError, ValueError):
        raise CubeError(f"The library header's 'reflectance scale factor' "
                        f"({str(header.get('reflectance scale factor'))[:40]!r}) is not a number.") from None
    if not np.isfinite(scale) or scale <= 0:
        raise CubeError(f"The library header's 'reflectance scale factor' is {scale:g}; it must be a positive "
                        "number (the stored value of reflectance 1).")
    values = spectra.astype(np.float64) / scale
    return SpectralLibrary(names, values, nm, None if fwhm is None else fwhm * (nm[0] / wavelengths[0]),
                           {"source": name, "format": "ENVI spectral library"})


_UNIT_IN_HEADER = re.compile(r"(nm|nanomet\w*|µm|μm|um|micromet\w*|microns?)", re.IGNORECASE)


def library_from_csv(data: bytes, name: str = "library") -> SpectralLibrary:
    """A library from CSV: the first column the wavelengths (its header names the unit: "wavelength
    (nm)", "Wavelength_um"; guessed from the values otherwise), one column per spectrum named by
    its header. Rows whose wavelength is empty (a longitude/latitude row Cubescope writes) are
    skipped; empty cells are NaN."""
    if len(data) > MAX_CSV_BYTES:
        raise CubeError(f"The CSV is {len(data) / 1e6:.0f} MB; a library CSV of at most {MAX_CSV_BYTES // 10**6} MB "
                        "is read (save large libraries as ENVI .sli).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    try:
        # The size is checked from the header row and the line count before any value is parsed.
        first_line = next(csv.reader(io.StringIO(text[:1_000_000], newline="")), [])
        lines = text.count("\n") + 1
        if len(first_line) - 1 > MAX_SPECTRA or len(first_line) * lines > MAX_CSV_CELLS:
            raise CubeError(f"The CSV holds {len(first_line) - 1:,} columns x {lines:,} lines; a library CSV of at "
                            f"most {MAX_SPECTRA:,} spectra and {MAX_CSV_CELLS:,} values is read.")
        rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r and any(c.strip() for c in r)]
    except csv.Error as exc:  # a quote left open over a huge field, a NUL byte
        raise CubeError(f"The CSV cannot be read as a table ({exc}).") from exc
    if len(rows) < 3:
        raise CubeError("A CSV library needs a header row and at least two rows of wavelengths and values.")
    header = [h.strip() for h in rows[0]]
    first = 1 if header and header[0].lower() == "band" and len(header) > 1 and "wave" in header[1].lower() else 0
    columns = [c for c in range(len(header)) if c > first and header[c].lower() not in ("bad band",)]
    if not columns:
        raise CubeError("The CSV has a wavelength column but no spectrum columns.")
    wavelengths, values = [], []
    for line, row in enumerate(rows[1:], start=2):
        cells = row + [""] * (len(header) - len(row))
        if not cells[first].strip():
            continue
        try:
            wavelengths.append(float(cells[first]))
            values.append([float(cells[c]) if cells[c].strip() else np.nan for c in columns])
        except ValueError:
            if not wavelengths:  # a second header-like row (longitude/latitude)
                continue
            raise CubeError(f"Line {line} of the CSV holds a value that is not a number: {row!r}.") from None
    if len(wavelengths) < 2 or len(columns) > MAX_SPECTRA or len(wavelengths) > MAX_BANDS:
        raise CubeError(f"The CSV holds {len(columns)} spectra of {len(wavelengths)} bands; that is not a library "
                        f"Cubescope reads (2 to {MAX_BANDS} bands, at most {MAX_SPECTRA} spectra).")
    found = _UNIT_IN_HEADER.search(header[first])
    nm = _nm(np.array(wavelengths), found.group(1) if found else None)
    return SpectralLibrary([header[c] or f"spectrum {i + 1}" for i, c in enumerate(columns)],
                           np.array(values).T, nm, None, {"source": name, "format": "CSV"})


def library_to_csv(library: SpectralLibrary) -> bytes:
    """The library as CSV: ``wavelength (nm)`` then one column per spectrum."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["wavelength (nm)", *(spreadsheet_safe(n) for n in library.names)])
    for b, w in enumerate(library.wavelengths):
        writer.writerow([repr(float(w)), *("" if not np.isfinite(v) else repr(float(v))
                                          for v in library.spectra[:, b])])
    return buffer.getvalue().encode()


def library_to_envi(library: SpectralLibrary) -> tuple[bytes, bytes]:
    """The library as an ENVI spectral library: (header, float32 data)."""
    from cubescope.io.envi import header_text

    count, bands = library.spectra.shape
    fields: dict[str, Any] = {
        "description": "{written by Cubescope}", "samples": bands, "lines": count, "bands": 1, "header offset": 0,
        "file type": "ENVI Spectral Library", "data type": 4, "interleave": "bsq", "byte order": 0,
        "wavelength units": "Nanometers", "wavelength": [float(w) for w in library.wavelengths],
        "spectra names": [str(n) for n in library.names],
    }
    if library.fwhm is not None:
        fields["fwhm"] = [float(w) for w in library.fwhm]
    return header_text(fields).encode(), library.spectra.astype("<f4").tobytes()


def library_to_envi_zip(library: SpectralLibrary, stem: str = "library") -> bytes:
    """The ENVI spectral library (``stem.hdr`` and ``stem.sli``) in one zip archive."""
    import zipfile

    header, data = library_to_envi(library)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{stem}.hdr", header)
        archive.writestr(f"{stem}.sli", data)
    return buffer.getvalue()


def library_from_files(files: Sequence[tuple[str, bytes]]) -> SpectralLibrary:
    """A library from uploaded files, each ``(name, bytes)``: one CSV (or .txt), or an ENVI
    spectral library as its header and data together (``.hdr`` with ``.sli``).

    Raises
    ------
    CubeError
        When the files are neither, or either is larger than :data:`MAX_FILE_BYTES`.
    """
    if any(len(data) > MAX_FILE_BYTES for _, data in files):
        raise CubeError(f"A library file is larger than {MAX_FILE_BYTES // 2**20} MB.")
    by_suffix = {name.lower().rsplit(".", 1)[-1]: (name, data) for name, data in files}
    tables = [by_suffix[s] for s in ("csv", "txt") if s in by_suffix]
    if tables:
        name, data = tables[0]
        return library_from_csv(data, name=name)
    if "hdr" in by_suffix and len(files) == 2 and len(by_suffix) == 2:
        header_name, header = by_suffix.pop("hdr")
        _, data = next(iter(by_suffix.values()))
        return library_from_envi(header, data, name=header_name)
    raise CubeError("Upload a CSV library, or an ENVI spectral library as its .sli and .hdr together.")


# ---------------------------------------------------------------------- resampling
def band_widths(centers: Any) -> np.ndarray:
    """Widths spanning half the distance to the adjacent bands (Spectral Python's
    ``build_fwhm``): what a band set without fwhm is taken to have."""
    c = np.asarray(centers, dtype=np.float64)
    if c.size < 2:
        raise CubeError("A band set without widths needs at least two bands to infer them.")
    widths = np.empty_like(c)
    widths[0], widths[-1] = c[1] - c[0], c[-1] - c[-2]
    widths[1:-1] = (c[2:] - c[:-2]) / 2.0
    return widths


def resampling_matrix(from_wavelengths: Any, to_wavelengths: Any, to_fwhm: Any = None,
                      from_fwhm: Any = None) -> np.ndarray:
    """The ``(to_bands, from_bands)`` matrix of :func:`resample_spectra`.

    A source band contributes to a destination band where their ranges ``centre ± fwhm / 2``
    overlap, by the integral of the destination band's Gaussian response over the overlap;
    each row is normalised to sum 1 (Spectral Python's ``create_resampling_matrix``, vectorised).
    A destination band no source band overlaps gets a row of NaN. Source bands must ascend.
    """
    c1 = np.asarray(from_wavelengths, dtype=np.float64).ravel()
    c2 = np.asarray(to_wavelengths, dtype=np.float64).ravel()
    if np.any(np.diff(c1) < 0):
        raise CubeError("Resampling needs the source wavelengths in ascending order.")
    f1 = band_widths(c1) if from_fwhm is None else np.asarray(from_fwhm, dtype=np.float64).ravel()
    f2 = band_widths(c2) if to_fwhm is None else np.asarray(to_fwhm, dtype=np.float64).ravel()
    lo1, hi1 = c1 - f1 / 2, c1 + f1 / 2
    lo2, hi2 = (c2 - f2 / 2)[:, None], (c2 + f2 / 2)[:, None]
    overlaps = ~((hi1 < lo2) | (lo1 > hi2))
    stdev = (f2 / _SQRT_8LOG2)[:, None]
    a = (np.maximum(lo1, lo2) - c2[:, None]) / stdev
    b = (np.minimum(hi1, hi2) - c2[:, None]) / stdev
    weights = np.where(overlaps, 0.5 * (erf(b / np.sqrt(2)) - erf(a / np.sqrt(2))), 0.0)
    total = weights.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = weights / total
    matrix[~overlaps.any(axis=1)] = np.nan
    return matrix


def resample_spectra(spectra: Any, from_wavelengths: Any, to_wavelengths: Any, to_fwhm: Any = None,
                     from_fwhm: Any = None) -> np.ndarray:
    """Spectra ``(..., from_bands)`` on another band set: ``(..., to_bands)``.

    Equal to Spectral Python's ``BandResampler(from_wavelengths, to_wavelengths, from_fwhm,
    to_fwhm)`` applied to each spectrum (see :func:`resampling_matrix`). Wavelengths in one
    unit (nm); source bands need not be sorted. The matrix is sparse (a destination band draws
    on the few source bands it overlaps), so each spectrum is read once and only those bands
    are summed, in parallel over spectra. A NaN source band makes NaN in the destination bands
    it contributes to, and only in those; destination bands outside the source range are NaN,
    never a silent zero.
    """
    c1 = np.asarray(from_wavelengths, dtype=np.float64).ravel()
    data = np.asarray(spectra)
    if data.shape[-1] != c1.size:
        raise CubeError(f"{c1.size} source wavelengths for spectra of {data.shape[-1]} bands.")
    order = np.argsort(c1, kind="stable")
    f1 = None if from_fwhm is None else np.asarray(from_fwhm, dtype=np.float64).ravel()[order]
    matrix = resampling_matrix(c1[order], to_wavelengths, to_fwhm, f1)
    empty = np.isnan(matrix).any(axis=1)
    weights = np.where(np.isnan(matrix), 0.0, matrix)
    rows, columns = np.nonzero(weights)
    indptr = np.searchsorted(rows, np.arange(matrix.shape[0] + 1)).astype(np.int64)
    flat = data.reshape(-1, c1.size)
    if flat.dtype.kind != "f":
        flat = flat.astype(np.float64)
    out = np.empty((flat.shape[0], matrix.shape[0]), dtype=np.float64 if data.dtype == np.float64 else np.float32)
    _sparse_rows(flat, indptr, order[columns].astype(np.int64), weights[rows, columns], empty, out)
    return out.reshape(*data.shape[:-1], matrix.shape[0])


@njit(parallel=True, cache=True, nogil=True)
def _sparse_rows(x, indptr, indices, weights, empty, out):  # pragma: no cover - compiled
    """``out[i, t] = sum_k weights[k] x[i, indices[k]]`` over the nonzeros ``k`` of row ``t``."""
    for i in prange(x.shape[0]):
        for t in range(indptr.size - 1):
            if empty[t]:
                out[i, t] = np.nan
                continue
            total = 0.0
            for k in range(indptr[t], indptr[t + 1]):
                total += weights[k] * x[i, indices[k]]
            out[i, t] = total


# ---------------------------------------------------------------------- matching
def spectral_angles(data: Any, references: Any, *, bands: Any = None, max_bytes: int = 16 * 2**20) -> np.ndarray:
    """Spectral angles (radians) between each spectrum and each reference.

    Parameters
    ----------
    data : Cube or array_like, shape (..., bands)
        A Cube is read a few megabytes of rows at a time, in its own band-sequential layout
        (no copy when its samples are floats without no-data or scaling); its bad bands are
        left out.
    references : array_like, shape (n_refs, bands)
    bands : array_like of int or bool, optional
        Only these bands count (a Cube's good bands by default).

    Returns
    -------
    ndarray, shape (..., n_refs) (``(rows, cols, n_refs)`` for a Cube), float32 (float64 for
    float64 data). Equal to Spectral Python's ``spectral_angles``; NaN where a spectrum has a
    NaN in a counted band or no length.
    """
    refs = np.atleast_2d(np.asarray(references, dtype=np.float64))
    if isinstance(data, Cube):
        out = np.empty((data.rows, data.cols, refs.shape[0]), dtype=data.float_dtype)
        for rows, angles in _angle_blocks(data, refs, bands, max_bytes):
            out[rows].reshape(-1, refs.shape[0])[:] = angles.T
        return out
    array = np.asarray(data)
    if array.shape[-1] != refs.shape[1]:
        raise CubeError(f"References of {refs.shape[1]} bands for spectra of {array.shape[-1]}.")
    keep = np.ones(refs.shape[1], bool) if bands is None else band_mask(bands, refs.shape[1])
    dtype = np.float64 if array.dtype == np.float64 else np.float32
    unit = _unit(refs[:, keep]).astype(dtype)
    flat = array.reshape(-1, array.shape[-1])
    out = np.empty((flat.shape[0], refs.shape[0]), dtype=dtype)
    step = max(1, max_bytes // max(int(keep.sum()) * 8, 1))
    for start in range(0, flat.shape[0], step):
        block = np.asarray(flat[start:start + step][:, keep], dtype=dtype)
        out[start:start + step] = _angles(unit, block.T).T
    return out.reshape(*array.shape[:-1], refs.shape[0])


def nearest_reference(cube: Cube, references: Any, *, bands: Any = None, max_bytes: int = 16 * 2**20
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The reference with the smallest spectral angle to each pixel, and that angle, streamed
    over row blocks: memory is a block of pixels x references, never pixels x references (a
    1000 x 1000 cube against 10,000 references would need 40 GB of angles at once).

    Parameters
    ----------
    cube : Cube
    references : array_like, shape (n_refs, bands)
    bands : array_like of int or bool, optional
        Only these bands count (the cube's good bands by default).
    max_bytes : int
        About how many bytes of angles (and of samples) one block holds.

    Returns
    -------
    nearest : ndarray of int, shape (rows, cols)
        Index of the nearest reference; -1 where no angle is finite (no-data, zero spectra).
    angle : ndarray, shape (rows, cols), radians
        Its angle; NaN where ``nearest`` is -1. Equal to :func:`best_match` of
        :func:`spectral_angles` without a threshold.
    """
    refs = np.atleast_2d(np.asarray(references, dtype=np.float64))
    nearest = np.full((cube.rows, cube.cols), -1, dtype=np.int32)
    angle = np.full((cube.rows, cube.cols), np.nan, dtype=cube.float_dtype)
    for rows, angles in _angle_blocks(cube, refs, bands, max_bytes):
        classes, best = best_match(angles.T)
        nearest[rows] = classes.reshape(-1, cube.cols)
        angle[rows] = best.reshape(-1, cube.cols)
    return nearest, angle


def _angle_blocks(cube: Cube, refs: np.ndarray, bands: Any, max_bytes: int):
    """Row blocks of ``cube`` and their angles ``(n_refs, pixels)`` to ``refs``, each block
    holding about ``max_bytes`` of samples and of angles; bad bands (or those not in
    ``bands``) left out."""
    if refs.shape[1] != cube.n_bands:
        raise CubeError(f"References of {refs.shape[1]} bands for a cube of {cube.n_bands}; resample them first.")
    keep = cube.good_bands if bands is None else band_mask(bands, cube.n_bands)
    unit = _unit(refs[:, keep]).astype(cube.float_dtype)
    chosen = slice(None) if keep.all() else np.flatnonzero(keep)
    per_row = cube.cols * max(int(keep.sum()), refs.shape[0]) * cube.float_dtype.itemsize
    step = max(1, max_bytes // max(per_row, 1))
    for start in range(0, cube.rows, step):
        rows = slice(start, min(start + step, cube.rows))
        block = cube.row_block(rows, chosen)
        yield rows, _angles(unit, block.reshape(block.shape[0], -1))


def within(nearest: np.ndarray, angle: np.ndarray, threshold: float) -> np.ndarray:
    """``nearest`` with -1 where the angle exceeds ``threshold`` radians (a SAM class map)."""
    return np.where(angle <= threshold, nearest, -1)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


#: Cosines above this are recomputed in float64: near 1, float32 rounding of the cosine is
#: amplified by arccos (a spectrum's angle with itself came out 7.7e-4 rad, not 0).
_NEAR_ONE = 1.0 - 1e-3


def _angles(unit: np.ndarray, block: np.ndarray) -> np.ndarray:
    """Angles ``(n_refs, n)`` between unit references ``(n_refs, k)`` and spectra ``(k, n)``.

    The cosines come from one matrix product in the data's type; the few pairs whose cosine is
    near 1 (angles below about 0.045 rad) are recomputed in float64, so small angles are exact
    to about 1e-8 rad without paying float64 for the whole product."""
    with np.errstate(invalid="ignore", divide="ignore"):
        norms = np.sqrt(np.einsum("ij,ij->j", block, block, dtype=np.float64))
        cosines = unit @ block
        cosines /= norms.astype(cosines.dtype)
        if cosines.dtype != np.float64:
            for r in np.flatnonzero((cosines > _NEAR_ONE).any(axis=1)):
                near = np.flatnonzero(cosines[r] > _NEAR_ONE)
                exact = unit[r].astype(np.float64) @ block[:, near].astype(np.float64)
                cosines[r, near] = exact / norms[near] / np.linalg.norm(unit[r].astype(np.float64))
        np.clip(cosines, -1, 1, out=cosines)
        return np.arccos(cosines, out=cosines)


def best_match(angles: np.ndarray, threshold: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The best-matching reference of each spectrum and its angle.

    Parameters
    ----------
    angles : ndarray, shape (..., n_refs), radians
    threshold : float, optional
        Largest angle (radians) still called a match; farther spectra get class -1.

    Returns
    -------
    classes : ndarray of int, shape (...)
        Index of the smallest angle; -1 when no angle is finite or the best exceeds ``threshold``.
    best : ndarray, shape (...)
        The smallest angle (NaN where none is finite).
    """
    finite = np.isfinite(angles)
    filled = np.where(finite, angles, np.inf)
    classes = np.argmin(filled, axis=-1)
    best = np.take_along_axis(filled, classes[..., None], -1)[..., 0]
    none = ~finite.any(axis=-1)
    if threshold is not None:
        none |= best > threshold
    best = np.where(finite.any(axis=-1), best, np.nan)
    return np.where(none, -1, classes), best


def feature_fit(spectra: Any, references: Any, wavelengths: Any, feature: tuple[float, float],
                bad_bands: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Spectral feature fitting (Clark et al. 1990; ENVI's SFF) of each reference's absorption
    feature to each spectrum, on continuum-removed spectra over ``feature`` (its two shoulders).

    The depth ``1 - CR`` of a spectrum is fitted as ``scale x (1 - CR_ref)`` by least squares.

    Returns
    -------
    scale : ndarray, shape (..., n_refs)
        How deep the spectrum's feature is relative to the reference's.
    rms : ndarray, shape (..., n_refs)
        Root-mean-square residual of the fit (smaller: a better shape match).
    """
    from cubescope.continuum import continuum_removed

    wavelengths = np.asarray(wavelengths, dtype=np.float64).ravel()
    lo, hi = sorted(float(v) for v in feature)
    inside = np.flatnonzero((wavelengths >= lo) & (wavelengths <= hi))
    if inside.size < 3:
        raise CubeError(f"The feature {lo:g}-{hi:g} holds {inside.size} bands; fitting needs at least 3.")
    bad = None if bad_bands is None else np.asarray(bad_bands, bool)[inside]
    x = wavelengths[inside]
    depth = 1.0 - continuum_removed(np.asarray(spectra, dtype=np.float64)[..., inside], x, bad)
    ref_depth = 1.0 - continuum_removed(np.atleast_2d(np.asarray(references, dtype=np.float64))[..., inside], x, bad)
    depth = np.nan_to_num(depth)  # bad bands and gaps carry no weight
    ref_depth = np.nan_to_num(ref_depth)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = (depth @ ref_depth.T) / np.einsum("ij,ij->i", ref_depth, ref_depth)
        residual = depth[..., None, :] - scale[..., None] * ref_depth
        rms = np.sqrt(np.mean(residual ** 2, axis=-1))
    return scale, rms


@dataclass(frozen=True, eq=False)
class AngleImage(Product):
    """The spectral angle (radians) of every pixel to one ``reference`` spectrum on the cube's
    bands (NaN at bands not to be used)."""

    reference: np.ndarray
    doing = "Measuring every pixel's angle to the reference…"

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        return spectral_angles(cube, self.reference[None, :])[:, :, 0]
