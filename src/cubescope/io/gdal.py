"""GeoTIFF and Cloud-Optimized GeoTIFF through GDAL (``rasterio``), as GDAL, QGIS, ENVI and
EnMAP-Box write them.

GDAL reads every TIFF compression and tiling, the ``.aux.xml`` sidecar beside a file (its PAM),
internal masks, and the metadata conventions of the field:

- per-band items in the default domain, as GDAL's ENVI and GTiff drivers write them:
  ``wavelength``, ``fwhm``, ``bbl``, ``wavelength_units`` (EnMAP-Box, GDAL's ENVI -> GTiff);
- the ``IMAGERY`` domain, GDAL >= 3.10: ``CENTRAL_WAVELENGTH_UM``, ``FWHM_UM``;
- band descriptions such as ``band 1 (418.24 Nanometers)``;
- per-band ``SCALE`` and ``OFFSET`` (applied as the cube's gain and offset: the stored values
  stay available through :meth:`~cubescope.cube.Cube.as_stored`), the no-data value, and the CRS
  and geotransform.

Samples are read window by window into band-sequential order, so memory holds one window of
rows beside the output (a memory map for a large file), never the file twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.geo import Georef
from cubescope.io.limits import Limits, check_cube_shape, check_declared

#: Bytes of samples read from the file at once.
WINDOW_BYTES = 32 * 2**20

_UNIT_WORDS = {"nanometers": "nm", "nanometres": "nm", "nm": "nm", "micrometers": "µm", "micrometres": "µm",
               "microns": "µm", "um": "µm", "µm": "µm"}


def is_gdal_stack(path: Path) -> bool:
    """True when GDAL sees the TIFF as one raster of several bands (or one band without
    sub-datasets); False for a multi-page TIFF that GDAL splits into sub-datasets (one page per
    band, as ``tifffile.imwrite`` writes a 3D array), which the page-wise reader opens."""
    import rasterio

    try:
        with _quiet(), rasterio.open(path) as ds:
            return ds.count > 1 or not ds.subdatasets
    except gdal_errors():
        return False


def load_geotiff(path: Path, limits: Limits, *, name: str | None = None) -> Cube:
    """Open a (Cloud-Optimized) GeoTIFF whose bands GDAL sees as one raster.

    Parameters
    ----------
    path : Path
    limits : Limits
        Checked against the declared size before any sample is read.
    name : str, optional

    Returns
    -------
    Cube
        Band-sequential samples in their stored type (scale and offset as the cube's gain and
        offset), no-data from the file's value or its mask, wavelengths and fwhm in the file's
        unit, bad bands from ``bbl``, and the grid's place on the Earth.
    """
    samples, info = read_stack(path, limits, f"'{path.name}'")
    if samples.shape[0] == 1:
        raise CubeError(f"'{path.name}' is a single {samples.shape[1]} x {samples.shape[2]} image, not a cube. Save "
                        "all bands in one multi-band GeoTIFF.")
    return Cube(samples, name=name or path.stem, **info)


def read_stack(path: Path, limits: Limits, what: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The samples ``(bands, rows, cols)`` of a GDAL raster and the Cube fields it describes
    (``wavelengths``, ``wavelength_units``, ``fwhm``, ``bad_bands``, ``nodata``, ``gain``,
    ``offset``, ``metadata``, ``geo``)."""
    import rasterio
    from rasterio.enums import MaskFlags
    from rasterio.windows import Window

    from cubescope.io.products.common import scratch

    try:
        with _quiet(), rasterio.open(path) as ds:
            bands, rows, cols = ds.count, ds.height, ds.width
            if bands < 1:
                raise CubeError(f"{what} holds no raster band.")
            if len(set(ds.dtypes)) != 1:
                raise CubeError(f"{what} mixes sample types across its bands ({', '.join(sorted(set(ds.dtypes)))}).")
            dtype = np.dtype(ds.dtypes[0])
            if dtype.kind not in "iuf":
                raise CubeError(f"{what} holds samples of type {dtype}; a cube needs integers or floats.")
            check_cube_shape(rows, cols, bands, limits, what)
            check_declared((bands, rows, cols), dtype.itemsize, limits, compressed_from=path.stat().st_size,
                           what=what)
            info = _band_metadata(ds, bands)
            nodata = ds.nodata
            masked = any(MaskFlags.per_dataset in flags and MaskFlags.nodata not in flags and MaskFlags.alpha
                         not in flags for flags in ds.mask_flag_enums)
            if masked and dtype.kind != "f":
                dtype = np.dtype(np.float32 if dtype.itemsize <= 2 else np.float64)  # room for NaN
            out = scratch((bands, rows, cols), dtype)
            step = max(1, WINDOW_BYTES // max(bands * cols * dtype.itemsize, 1))
            for r0 in range(0, rows, step):
                window = Window(0, r0, cols, min(step, rows - r0))
                if not masked:
                    # GDAL writes the rows straight into their place: half the CPU of a block
                    # read and then copied (a pixel-interleaved file is de-interleaved once).
                    ds.read(window=window, out=out[:, r0:r0 + window.height])
                    continue
                block = ds.read(window=window).astype(dtype, copy=False)
                block[:, ds.dataset_mask(window=window) == 0] = np.nan
                out[:, r0:r0 + block.shape[1]] = block
            info["nodata"] = None if nodata is None or (masked and dtype.kind == "f" and np.isnan(nodata)) else \
                float(nodata)
            if nodata is not None and dtype.kind in "iu" and not float(nodata).is_integer():
                info["nodata"] = None  # an integer raster cannot hold it
            info["geo"], note = _georef(ds)
            if note:
                info["metadata"]["georeferencing"] = f"none: {note}"
    except CubeError:
        raise
    except gdal_errors() as exc:
        raise CubeError(f"{what} could not be read by GDAL ({exc}).") from exc
    return out, info


def gdal_errors() -> tuple[type[BaseException], ...]:
    """What rasterio and GDAL raise on damaged files."""
    import rasterio
    from rasterio._err import CPLE_BaseError

    return rasterio.errors.RasterioError, CPLE_BaseError


def _band_metadata(ds: Any, bands: int) -> dict[str, Any]:
    """Wavelengths, fwhm, bad bands, scaling and other items from GDAL's metadata."""
    per_band = [ds.tags(b + 1) for b in range(bands)]
    imagery = [ds.tags(b + 1, ns="IMAGERY") for b in range(bands)]
    dataset = ds.tags()
    metadata: dict[str, Any] = {"format": f"GeoTIFF ({ds.driver}, read by GDAL)"}
    compression = ds.profile.get("compress")
    if compression:
        metadata["compression"] = str(compression)
    info: dict[str, Any] = {"metadata": metadata}

    units = _units(dataset.get("wavelength_units") or per_band[0].get("wavelength_units"))
    wavelengths = _numbers(per_band, "wavelength")
    fwhm = _numbers(per_band, "fwhm")
    if wavelengths is None and _numbers(imagery, "CENTRAL_WAVELENGTH_UM") is not None:
        wavelengths, fwhm, units = _numbers(imagery, "CENTRAL_WAVELENGTH_UM"), _numbers(imagery, "FWHM_UM"), "µm"
    if wavelengths is None:
        from cubescope.io.envi import wavelengths_from_band_names

        named = wavelengths_from_band_names([d or "" for d in ds.descriptions], bands)
        if named is not None:
            wavelengths, units = named
    if wavelengths is None:
        wavelengths, units = _own_description(dataset, bands, metadata, units)
    info.update(wavelengths=wavelengths, wavelength_units=units, fwhm=fwhm)
    bbl = _numbers(per_band, "bbl")
    info["bad_bands"] = None if bbl is None else bbl == 0
    scales = np.asarray(ds.scales, dtype=float)
    offsets = np.asarray(ds.offsets, dtype=float)
    if np.any(scales != 1.0) or np.any(offsets != 0.0):
        info["gain"], info["offset"] = scales, offsets
    names = [d for d in ds.descriptions if d]
    if names and len(names) == bands and wavelengths is None:
        metadata["band names"] = names
    for key, value in dataset.items():
        if key not in ("wavelength_units", "TIFFTAG_IMAGEDESCRIPTION", "AREA_OR_POINT") and len(metadata) < 40:
            metadata[key] = str(value)[:200]
    return info


def _numbers(items: list[dict[str, str]], key: str) -> np.ndarray | None:
    """One number per band from ``key`` in each band's items, or None unless every band has one."""
    values = []
    for item in items:
        text = item.get(key)
        if text is None:
            return None
        try:
            values.append(float(text))
        except ValueError:
            return None
    return np.array(values)


def _units(text: Any) -> str | None:
    if not text:
        return None
    return _UNIT_WORDS.get(str(text).strip().lower(), str(text).strip())


def _own_description(dataset: dict[str, str], bands: int, metadata: dict[str, Any],
                     units: str | None) -> tuple[np.ndarray | None, str | None]:
    """Wavelengths from a JSON image description (Cubescope's exports before GDAL's items)."""
    text = dataset.get("TIFFTAG_IMAGEDESCRIPTION", "")
    if not text.lstrip().startswith("{"):
        return None, units
    try:
        described = json.loads(text)
    except ValueError:
        return None, units
    if not isinstance(described, dict):
        return None, units
    for key in ("product", "cube", "units", "band"):
        if key in described:
            metadata[key] = str(described[key])[:200]
    wavelengths = described.get("wavelengths")
    if isinstance(wavelengths, list) and len(wavelengths) == bands and all(
            isinstance(w, int | float) for w in wavelengths):
        return np.asarray(wavelengths, dtype=float), _units(described.get("wavelength_units")) or units
    return None, units


def _georef(ds: Any) -> tuple[Georef | None, str | None]:
    """The raster's grid on the Earth, or why it has none (an unusable CRS)."""
    if ds.crs is None or ds.transform.is_identity:
        return None, None
    try:
        code = ds.crs.to_epsg()
        crs = f"EPSG:{code}" if code else ds.crs.to_wkt()
        return Georef(ds.height, ds.width, crs=crs, geotransform=ds.transform.to_gdal()), None
    except CubeError as exc:
        return None, str(exc)


class _quiet:
    """GDAL's own warnings (a PAM file it cannot write, an unknown tag) stay out of the log."""

    def __enter__(self):
        import warnings

        import rasterio

        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        self._env = rasterio.Env(CPL_LOG="/dev/null")
        self._env.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._env.__exit__(*exc)
        self._warnings.__exit__(*exc)

