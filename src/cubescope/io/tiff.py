"""Multi-band TIFF and GeoTIFF through ``tifffile``, memory-mapped when uncompressed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.geo import from_geotiff
from cubescope.io.axes import cube_from_bare_array
from cubescope.io.limits import Limits, check_cube_shape, check_declared

# tifffile's axis letters that can hold bands: samples, channels, pages, depth, sequence.
_BAND_LETTERS = "SCIQZE"
_GDAL_NODATA = 42113


def load_tiff(path: Path, limits: Limits, *, band_axis: int | None = None,
              name: str | None = None) -> Cube:
    """Open the first image series of a TIFF as a cube.

    The band axis is the series' sample/channel/page axis (tifffile's axis letters), unless
    ``band_axis`` says otherwise. Wavelengths come from Cubescope's own float-TIFF metadata
    when present; the GeoTIFF no-data tag is honoured.
    """
    try:
        return _load_tiff(path, limits, band_axis, name)
    except CubeError:
        raise
    except Exception as exc:
        # tifffile checks damaged structures with plain asserts and index arithmetic; whatever it
        # raises on a file means the file is unreadable.
        raise CubeError(f"'{path.name}' is not a readable TIFF file ({type(exc).__name__}: {exc}).") from exc


def _load_tiff(path: Path, limits: Limits, band_axis: int | None, name: str | None) -> Cube:
    import tifffile

    tif = tifffile.TiffFile(path)
    with tif:
        if not tif.series:
            raise CubeError(f"'{path.name}' holds no image.")
        series = tif.series[0]
        shape = tuple(int(s) for s in series.shape)
        axes = series.axes
        dtype = np.dtype(series.dtype)
        what = f"'{path.name}'"
        if len(shape) == 2:
            raise CubeError(
                f"{what} is a single {shape[0]} x {shape[1]} image, not a cube. Save all bands in "
                "one multi-page or multi-sample TIFF."
            )
        if len(shape) != 3:
            squeezed = tuple(s for s in shape if s != 1)
            if len(squeezed) != 3:
                raise CubeError(f"{what} has an image series of shape {shape}; a cube needs 3 axes.")
            axes = "".join(a for a, s in zip(axes, shape, strict=True) if s != 1)
            shape = squeezed
        if dtype.kind not in "iuf":
            raise CubeError(f"{what} holds samples of type {dtype}; a cube needs integers or floats.")
        check_cube_shape(*sorted(shape), limits, what)
        check_declared(shape, dtype.itemsize, limits, compressed_from=path.stat().st_size, what=what)
        metadata: dict[str, Any] = {"format": "TIFF", "axes": axes}
        wavelengths, units = _own_metadata(tif, metadata)
        nodata = gdal_nodata(tif)
        page = tif.pages[0]
        image_size = int(page.imagelength), int(page.imagewidth)
        geo = from_geotiff(page, *image_size)
        default = next((i for i, a in enumerate(axes) if a in _BAND_LETTERS), 0)
        try:
            array = read_series(path, series)
        except Exception as exc:
            raise CubeError(f"The image data of {what} could not be read ({exc}).") from exc
    array = array.reshape(shape)
    cube = cube_from_bare_array(
        array, limits=limits, name=name or path.stem, band_axis=band_axis, default_axis=default,
        wavelengths=wavelengths, wavelength_units=units, metadata=metadata, nodata=nodata,
    )
    if geo is not None and (cube.rows, cube.cols) == image_size:
        # Only when the bands lie across pages or samples: the tags describe the page's grid.
        cube.geo = geo
    return cube


def read_series(path: Path, series: Any) -> np.ndarray:
    """Map the samples in place when the file stores them uncompressed and contiguous."""
    import tifffile

    if series.dataoffset is not None:
        try:
            return tifffile.memmap(str(path), mode="r")
        except ValueError:
            pass
    return series.asarray()


def _own_metadata(tif: Any, metadata: dict[str, Any]) -> tuple[Any, str | None]:
    """Wavelengths written by :func:`cubescope.export.to_tiff` (tifffile's JSON description)."""
    try:
        shaped = tif.shaped_metadata
    except Exception:
        shaped = None
    if not shaped:
        return None, None
    info = shaped[0] if isinstance(shaped, tuple | list) else shaped
    if not isinstance(info, dict):
        return None, None
    for key in ("band", "wavelength_units", "cube", "product", "units"):
        if key in info:
            metadata[key] = info[key]
    wavelengths = info.get("wavelengths")
    if isinstance(wavelengths, str):
        try:
            wavelengths = json.loads(wavelengths)
        except ValueError:
            wavelengths = None
    if isinstance(wavelengths, list) and all(isinstance(w, int | float) for w in wavelengths):
        return np.asarray(wavelengths, dtype=float), info.get("wavelength_units")
    return None, None


def gdal_nodata(tif: Any) -> float | None:
    tag = tif.pages[0].tags.get(_GDAL_NODATA)
    if tag is None:
        return None
    try:
        return float(str(tag.value).strip("\x00 "))
    except ValueError:
        return None
