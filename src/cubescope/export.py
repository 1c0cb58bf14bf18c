"""Exports that keep the numbers: PNG (8 or 16 bit, with the scaling written into the file),
float TIFF, ENVI, NumPy and CSV. Every front door returns the file's bytes.

Floats with negative values, NaN, infinities and constant images are handled by construction:
values are mapped to ``[0, 1]`` by :func:`normalize_for_export` (no wrap-around, no division by
zero, NaN and ±inf kept apart as no-data), and what was done is returned as a
:class:`Normalization` and written into the file.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cubescope.display import apply_colormap, normalize, rgb_composite, stretch_limits
from cubescope.errors import CubeError
from cubescope.geo import Georef, envi_map_info
from cubescope.io.envi import ENVI_CODES, ENVI_UNITS, envi_text, header_text
from cubescope.wavelengths import line_breaks, step_backs
from cubescope.words import spreadsheet_safe

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Normalization:
    """How values were mapped to ``[0, 1]`` for an integer image.

    Attributes
    ----------
    method : str
        "percentile", "min-max" or "range".
    low, high : float
        The values mapped to 0 and 1 (equal for a constant image, which maps to 0.5).
    n_nodata : int
        Pixels that are NaN or ±inf: transparent in PNG, never given a value.
    n_below, n_above : int
        Finite pixels clipped to 0 or 1.
    """

    method: str
    low: float
    high: float
    n_nodata: int
    n_below: int
    n_above: int

    def describe(self) -> str:
        clipped = ""
        if self.n_below or self.n_above:
            clipped = f"; {self.n_below} pixels below and {self.n_above} above were clipped"
        nodata = f"; {self.n_nodata} no-data pixels are transparent" if self.n_nodata else ""
        if self.low == self.high:
            return f"constant image ({self.low:.6g}) written as mid-grey{nodata}"
        return f"{self.method}: {self.low:.6g} → 0 and {self.high:.6g} → full scale, linear{clipped}{nodata}"


def image_metadata(cube: Any, band: int | None = None, **extra: Any) -> dict[str, Any]:
    """What an exported image or product of ``cube`` says about itself: the cube, what its
    values are (scaled by the file's factors, or as stored), and the band and its wavelength."""
    info: dict[str, Any] = {"cube": cube.name, "values": cube.scaling_note()}
    if band is not None:
        info["band"] = int(band)
        info["wavelengths"] = None if cube.wavelengths is None else [float(cube.wavelengths[band])]
        info["wavelength_units"] = cube.wavelength_units
    info.update(extra)
    return info


def normalize_for_export(
    image: np.ndarray,
    stretch: str = "min-max",
    low: float = 2.0,
    high: float = 98.0,
    vmin: float | None = None,
    vmax: float | None = None,
) -> tuple[np.ndarray, Normalization]:
    """Map an image to ``[0, 1]`` (float32) with NaN where it has no data.

    Parameters
    ----------
    image : ndarray, 2D
        Any real values; NaN and ±inf count as no data.
    stretch : {"min-max", "percentile", "range"}
        How the ends are chosen (see :func:`cubescope.display.stretch_limits`).

    Raises
    ------
    CubeError
        If no pixel holds a finite value.
    """
    values = np.asarray(image, dtype=np.float64 if np.asarray(image).dtype == np.float64 else np.float32)
    if values.ndim != 2:
        raise CubeError(f"An image export needs a 2D image; this array has shape {values.shape}.")
    finite = np.isfinite(values)
    if not finite.any():
        raise CubeError("Every pixel of this image is NaN or infinite: there is nothing to export as an image.")
    clean = np.where(finite, values, np.nan)
    lo, hi = stretch_limits(clean, stretch, low, high, vmin, vmax)
    unit = normalize(clean, lo, hi)
    return unit, Normalization(
        method=stretch, low=lo, high=hi, n_nodata=int((~finite).sum()),
        n_below=int((clean < lo).sum()), n_above=int((clean > hi).sum()),
    )


def _png_info(normalization: Normalization, metadata: Mapping[str, Any], extra: Mapping[str, Any]):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    record = {**{k: _plain(v) for k, v in metadata.items()}, "normalization": asdict(normalization), **extra}
    info.add_text("cubescope", json.dumps(record))
    info.add_text("Description", normalization.describe())
    for key, value in metadata.items():
        info.add_text(str(key)[:79], str(_plain(value)))
    return info


def to_png(
    image: np.ndarray,
    bits: int = 8,
    stretch: str = "min-max",
    low: float = 2.0,
    high: float = 98.0,
    vmin: float | None = None,
    vmax: float | None = None,
    colormap: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> bytes:
    """A PNG of one image, with no-data transparent and the scaling in its text chunks.

    Parameters
    ----------
    image : ndarray, (rows, cols)
    bits : 8 or 16
        8: greyscale (or ``colormap`` colours) with an alpha channel where there is no data;
        pixel ``p`` stands for ``low + p / 255 * (high - low)``.
        16: greyscale, pixel 0 reserved for no data (transparent), pixels 1..65535 spanning
        ``low..high``; the text chunk ``cubescope`` gives ``value = offset + scale * pixel``.
    stretch, low, high, vmin, vmax
        See :func:`normalize_for_export`; min-max by default, so nothing is clipped.
    colormap : str, optional
        8-bit only: colour with this colormap (RGBA).
    metadata : mapping, optional
        Source cube, band, wavelength...: written as text chunks too.

    Returns
    -------
    bytes
    """
    from PIL import Image

    unit, norm = normalize_for_export(image, stretch, low, high, vmin, vmax)
    nodata = np.isnan(unit)
    metadata = dict(metadata or {})
    if bits == 8:
        if colormap:
            pixels = apply_colormap(unit, colormap)
            picture = Image.fromarray(pixels)
        else:
            grey = np.nan_to_num(unit * 255.0 + 0.5, nan=0.0).astype(np.uint8)
            alpha = np.where(nodata, 0, 255).astype(np.uint8)
            picture = Image.fromarray(np.dstack([grey, alpha])) if nodata.any() else Image.fromarray(grey)
        span = norm.high - norm.low
        extra = {"bits": 8, "value_of_pixel": f"{norm.low!r} + pixel / 255 * {span!r}"}
    elif bits == 16:
        span = norm.high - norm.low
        scale = span / 65534.0 if span > 0 else 0.0
        offset = norm.low - scale if span > 0 else norm.low
        # Quantise from float64: float32 is too coarse for 65535 levels.
        values = np.asarray(image, dtype=np.float64)
        exact = np.clip((values - norm.low) / span, 0.0, 1.0) if span > 0 else np.zeros_like(values)
        pixels = np.where(nodata, 0, np.round(np.nan_to_num(exact) * 65534.0) + 1).astype(np.uint16)
        if span == 0:
            pixels[~nodata] = 32768
        picture = Image.fromarray(pixels)  # uint16: 16-bit greyscale ("I;16")
        extra = {"bits": 16, "scale": scale, "offset": offset, "nodata_pixel": 0,
                 "value_of_pixel": "offset + scale * pixel"}
    else:
        raise CubeError(f"PNG exports are 8 or 16 bit, not {bits}.")
    buffer = io.BytesIO()
    options = {"pnginfo": _png_info(norm, metadata, extra)}
    if bits == 16 and nodata.any():
        options["transparency"] = 0
    picture.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def rgb_to_png(
    channels: Sequence[np.ndarray],
    limits: Sequence[tuple[float, float]],
    metadata: Mapping[str, Any] | None = None,
) -> bytes:
    """An 8-bit RGBA PNG of an RGB composite at full resolution, as the viewer shows it.

    Parameters
    ----------
    channels : three ndarrays, (rows, cols)
        Red, green and blue images.
    limits : three (lo, hi)
        Each channel's stretch: ``lo`` maps to 0 and ``hi`` to 255, clipped outside.

    The text chunk ``cubescope`` records each channel's ``value = lo + pixel / 255 * (hi - lo)``;
    a pixel with no data in any channel is transparent.
    """
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    if len(channels) != 3 or len(limits) != 3:
        raise CubeError("An RGB export needs three channels, each with its (low, high) stretch.")
    if any(np.ndim(c) != 2 for c in channels):
        raise CubeError("An RGB export needs three 2D images.")
    rgba = rgb_composite(tuple(np.asarray(c, dtype=np.float32) for c in channels), tuple(limits))
    record = {**{k: _plain(v) for k, v in (metadata or {}).items()}, "bits": 8,
              "channels": [{"channel": name, "low": float(lo), "high": float(hi),
                            "value_of_pixel": f"{float(lo)!r} + pixel / 255 * {float(hi) - float(lo)!r}"}
                           for name, (lo, hi) in zip(("red", "green", "blue"), limits, strict=True)]}
    info = PngInfo()
    info.add_text("cubescope", json.dumps(record))
    info.add_text("Description", "; ".join(f"{c['channel']}: {c['low']:g} to {c['high']:g}"
                                           for c in record["channels"]))
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def read_png_scaling(data: bytes) -> dict[str, Any]:
    """The ``cubescope`` text chunk of a PNG written by :func:`to_png`."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as picture:
        return json.loads(picture.text["cubescope"])


#: Images at least this many pixels on a side are written as Cloud-Optimized GeoTIFF: tiled,
#: compressed, with overviews, so GDAL and QGIS open them at any zoom without reading them whole.
COG_SIDE = 1024
_UNIT_WORDS = {"nm": "Nanometers", "µm": "Micrometers"}
_TO_MICROMETRES = {"nm": 1e-3, "µm": 1.0}


def to_tiff(
    array: np.ndarray,
    *,
    wavelengths: Sequence[float] | None = None,
    wavelength_units: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    geo: Georef | None = None,
    fwhm: Sequence[float] | None = None,
    bad_bands: Sequence[bool] | None = None,
    band_names: Sequence[str] | None = None,
    scales: Sequence[float] | None = None,
    offsets: Sequence[float] | None = None,
    class_names: Sequence[str] | None = None,
    class_colours: Sequence[str] | None = None,
) -> bytes:
    """A GeoTIFF as GDAL writes it (through rasterio): one raster of N bands, keeping the real
    values (negatives, NaN, infinities) and describing itself the way GDAL, QGIS, ENVI and
    EnMAP-Box read.

    Parameters
    ----------
    array : ndarray, (rows, cols) or (bands, rows, cols)
        One image or a band-sequential stack (a PC cube, a smoothed cube): written as one
        raster of that many bands. Floats are written as float32 (float64 stays float64) with
        NaN as the no-data value; integers only for a class map (``class_names``).
    wavelengths, fwhm : sequence of float, optional
        One per band, in ``wavelength_units``: written per band as the ENVI-style items
        ``wavelength``, ``fwhm``, ``wavelength_units`` (GDAL's ENVI and GTiff drivers), and, for
        a length unit, in the ``IMAGERY`` domain as ``CENTRAL_WAVELENGTH_UM`` and ``FWHM_UM``
        (GDAL >= 3.10); the band descriptions read ``band 1 (418.24 Nanometers)``.
    bad_bands : sequence of bool, optional
        Written per band as ``bbl`` (1 good, 0 bad).
    band_names : sequence of str, optional
        Band descriptions (e.g. "PC 1"), instead of the wavelength ones.
    metadata : mapping, optional
        Dataset-level items (product, cube, standardization...), and a JSON image description.
    geo : Georef, optional
        A map grid's CRS and geotransform; a swath's corner coordinates go into the items.
    scales, offsets : sequence of float, optional
        Per-band ``SCALE`` and ``OFFSET``: ``value = stored x scale + offset`` (a standardized
        product reads back as the original values).
    class_names, class_colours : sequences of str, optional
        For a class map (integers, 0 = no class): a colour table (``#rrggbb`` per class, class
        ``i`` at value ``i + 1``) and the class names, so QGIS shows the legend.

    Returns
    -------
    bytes
        The file. At least :data:`COG_SIDE` pixels on a side, a Cloud-Optimized GeoTIFF (tiled,
        DEFLATE, overviews); else a tiled (when large enough) DEFLATE-compressed GeoTIFF.
    """
    import rasterio
    from rasterio.io import MemoryFile
    from rasterio.transform import Affine

    data = np.asarray(array)
    if data.ndim not in (2, 3):
        raise CubeError(f"A TIFF export needs a 2D image or a (bands, rows, cols) stack, not shape {data.shape}.")
    data = data[None] if data.ndim == 2 else data
    bands, rows, cols = data.shape
    if class_names is not None:
        data = data.astype(np.uint8 if len(class_names) < 255 else np.uint16)
    elif data.dtype != np.float64:
        data = data.astype(np.float32)
    per_band = {"wavelengths": wavelengths, "fwhm": fwhm, "bad_bands": bad_bands, "band_names": band_names,
                "scales": scales, "offsets": offsets}
    for what, values in per_band.items():
        if values is not None and len(np.atleast_1d(values)) != bands:
            raise CubeError(f"{len(np.atleast_1d(values))} {what.replace('_', ' ')} for {bands} bands.")
    floats = data.dtype.kind == "f"
    profile: dict[str, Any] = {"width": cols, "height": rows, "count": bands, "dtype": data.dtype.name,
                               "compress": "DEFLATE", "predictor": 3 if floats else 2}
    if floats:
        profile["nodata"] = float("nan")
    elif class_names is not None:
        profile["nodata"] = 0  # no class: a TIFF palette has no transparency, GDAL's no-data does
    if max(rows, cols) >= COG_SIDE:
        profile.update(driver="COG", blocksize=512, overview_resampling="average" if floats else "nearest")
    else:
        profile.update(driver="GTiff", interleave="band")
        if min(rows, cols) >= 256:
            profile.update(tiled=True, blockxsize=256, blockysize=256)
    items = {k: _plain(v) for k, v in (metadata or {}).items()}
    if geo is not None:
        if (geo.rows, geo.cols) != (rows, cols):
            raise CubeError(f"The georeferencing is for {geo.rows} x {geo.cols} pixels, not {(rows, cols)}.")
        if geo.geotransform is not None:
            profile["crs"], profile["transform"] = geo.crs, Affine.from_gdal(*geo.geotransform)
        else:
            items["corner_lonlat"] = geo.corners().tolist()
            items["georeferencing"] = geo.describe()
    described = dict(items)
    if wavelengths is not None:
        described["wavelengths"] = [float(w) for w in np.atleast_1d(wavelengths)]
        described["wavelength_units"] = wavelength_units
    unit = _UNIT_WORDS.get(wavelength_units or "", wavelength_units or "")
    with MemoryFile() as memory, rasterio.Env(CPL_LOG="/dev/null"):
        with _no_georeference_warning(), memory.open(**profile) as ds:
            ds.write(data)
            ds.update_tags(TIFFTAG_IMAGEDESCRIPTION=json.dumps(described, allow_nan=False, default=str),
                           **{k: v if isinstance(v, str) else json.dumps(v, default=str) for k, v in items.items()})
            if wavelength_units:
                ds.update_tags(wavelength_units=unit)
            for b in range(bands):
                ds.update_tags(b + 1, **_band_items(b, per_band, unit, wavelength_units))
                imagery = _imagery_items(b, per_band, wavelength_units)
                if imagery:
                    ds.update_tags(b + 1, ns="IMAGERY", **imagery)
                description = _band_description(b, per_band, unit)
                if description:
                    ds.set_band_description(b + 1, description)
            if scales is not None or offsets is not None:
                ds.scales = [float(v) for v in (scales if scales is not None else np.ones(bands))]
                ds.offsets = [float(v) for v in (offsets if offsets is not None else np.zeros(bands))]
            if class_names is not None:
                colours = list(class_colours or [])
                table = {0: (0, 0, 0, 0)}
                for i, _ in enumerate(class_names):
                    colour = colours[i] if i < len(colours) else "#808080"
                    table[i + 1] = (*(int(colour[k:k + 2], 16) for k in (1, 3, 5)), 255)
                ds.write_colormap(1, table)
                ds.update_tags(1, class_names=json.dumps(["no class", *class_names]))
                ds.set_band_description(1, "class")
        return memory.read()


def _band_items(b: int, per_band: Mapping[str, Any], unit: str, wavelength_units: str | None) -> dict[str, str]:
    items = {}
    if per_band["wavelengths"] is not None:
        items["wavelength"] = repr(float(np.atleast_1d(per_band["wavelengths"])[b]))
        if wavelength_units:
            items["wavelength_units"] = unit
    if per_band["fwhm"] is not None:
        items["fwhm"] = repr(float(np.atleast_1d(per_band["fwhm"])[b]))
    if per_band["bad_bands"] is not None:
        items["bbl"] = "0" if bool(np.atleast_1d(per_band["bad_bands"])[b]) else "1"
    return items


def _imagery_items(b: int, per_band: Mapping[str, Any], wavelength_units: str | None) -> dict[str, str]:
    factor = _TO_MICROMETRES.get(wavelength_units or "")
    if factor is None or per_band["wavelengths"] is None:
        return {}
    items = {"CENTRAL_WAVELENGTH_UM": repr(float(np.atleast_1d(per_band["wavelengths"])[b]) * factor)}
    if per_band["fwhm"] is not None:
        items["FWHM_UM"] = repr(float(np.atleast_1d(per_band["fwhm"])[b]) * factor)
    return items


def _band_description(b: int, per_band: Mapping[str, Any], unit: str) -> str | None:
    if per_band["band_names"] is not None:
        return str(per_band["band_names"][b])
    if per_band["wavelengths"] is not None:
        return f"band {b + 1} ({float(np.atleast_1d(per_band['wavelengths'])[b]):g}{' ' + unit if unit else ''})"
    return None


class _no_georeference_warning:
    """rasterio warns about every raster without a place (a lab scan, a PC image of one)."""

    def __enter__(self):
        import warnings

        import rasterio

        self._caught = warnings.catch_warnings()
        self._caught.__enter__()
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        return self

    def __exit__(self, *exc: object) -> None:
        self._caught.__exit__(*exc)


def to_npy(array: np.ndarray) -> bytes:
    """The array as a ``.npy`` file (never pickled)."""
    data = np.asarray(array)
    if data.dtype.hasobject:
        raise CubeError("Only numeric arrays can be exported.")
    buffer = io.BytesIO()
    np.save(buffer, data, allow_pickle=False)
    return buffer.getvalue()


def spectra_to_csv(
    spectra: Mapping[str, np.ndarray],
    wavelengths: np.ndarray | None,
    wavelength_units: str | None,
    bad_bands: np.ndarray | None = None,
    locations: Mapping[str, tuple[float, float]] | None = None,
) -> bytes:
    """CSV of named spectra, one row per band: band, wavelength with its unit, one column each.

    Bad bands are marked in a column of their own, and so are the bands before which a plotted
    line breaks ("gap", "step back"); NaN is written as an empty field. With
    ``locations`` (name -> (lon, lat) in WGS84 degrees, for a georeferenced cube) two rows
    ``longitude`` and ``latitude`` come first, in the band column's place.
    """
    names = list(spectra)
    n = len(next(iter(spectra.values()))) if spectra else 0
    header = ["band"]
    if wavelengths is not None:
        header.append(f"wavelength ({wavelength_units or 'unit unknown'})")
    if bad_bands is not None:
        header.append("bad band")
    # Where a plotted line breaks (wavelengths stepping back, bands cut out of the file), so a
    # spreadsheet chart can break there too.
    breaks = {} if wavelengths is None else {
        int(b): "step back" if b in set(step_backs(wavelengths).tolist()) else "gap" for b in line_breaks(wavelengths)}
    if breaks:
        header.append("line breaks before")
    header += names
    lines = [",".join(_csv_field(h) for h in header)]
    if locations:
        blanks = [""] * (len(header) - len(names) - 1)
        for axis, label in enumerate(("longitude", "latitude")):
            cells = [repr(float(locations[name][axis])) if name in locations and np.isfinite(locations[name][axis])
                     else "" for name in names]
            lines.append(",".join([label, *blanks, *cells]))
    for b in range(n):
        row = [str(b)]
        if wavelengths is not None:
            row.append(repr(float(wavelengths[b])))
        if bad_bands is not None:
            row.append("1" if bad_bands[b] else "0")
        if breaks:
            row.append(breaks.get(b, ""))
        row += ["" if not np.isfinite(v) else repr(float(v)) for v in (spectra[name][b] for name in names)]
        lines.append(",".join(row))
    return ("\n".join(lines) + "\n").encode()


def _csv_field(text: str) -> str:
    text = spreadsheet_safe(text)
    if any(c in text for c in ',"\n\r'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def to_envi(
    array: np.ndarray,
    folder: str | Path,
    name: str,
    *,
    wavelengths: Sequence[float] | None = None,
    wavelength_units: str | None = None,
    bad_bands: Sequence[bool] | None = None,
    nodata: float | None = None,
    description: str = "",
    fwhm: Sequence[float] | None = None,
    band_names: Sequence[str] | None = None,
    geo: Georef | None = None,
    gains: Sequence[float] | None = None,
    offsets: Sequence[float] | None = None,
) -> tuple[Path, Path]:
    """Write a ``(bands, rows, cols)`` cube as ENVI BSQ (``name.hdr`` + ``name.img``).

    The sample type is kept (float32 stays float32, float64 stays float64, integers keep their
    ENVI type), little-endian, written band by band. The header carries the wavelengths, fwhm,
    band names, bad-band list and no-data value, and for a map grid ``map info`` (with
    ``rotation=``) and ``coordinate system string`` as GDAL writes them. Returns the header
    and data paths.
    """
    data = np.asarray(array)
    if data.ndim == 2:
        data = data[None]
    if data.ndim != 3:
        raise CubeError(f"An ENVI export needs a (bands, rows, cols) cube, not shape {data.shape}.")
    key = data.dtype.newbyteorder("=").str[1:]
    if key not in ENVI_CODES:
        data, key = data.astype(np.float32), "f4"  # float16 and the like: small, copied
    folder = Path(folder)
    base = safe_filename(name)
    header_path, data_path = folder / f"{base}.hdr", folder / f"{base}.img"
    bands, rows, cols = data.shape
    little = data.dtype.newbyteorder("<")
    with open(data_path, "wb") as sink:
        for band in range(bands):  # one band image at a time: a memory-mapped cube stays on disk
            sink.write(memoryview(np.ascontiguousarray(data[band], dtype=little)).cast("B"))
    fields: dict[str, Any] = {
        "description": "{" + envi_text(description or "written by Cubescope") + "}",
        "samples": cols, "lines": rows, "bands": bands, "header offset": 0, "file type": "ENVI Standard",
        "data type": ENVI_CODES[key], "interleave": "bsq", "byte order": 0,
    }
    if wavelengths is not None:
        fields["wavelength units"] = ENVI_UNITS.get(wavelength_units or "", "Unknown")
        fields["wavelength"] = [float(w) for w in wavelengths]
    if fwhm is not None and len(fwhm) == bands:
        fields["fwhm"] = [float(w) for w in fwhm]
    if band_names is not None and len(band_names) == bands:
        fields["band names"] = [str(n) for n in band_names]
    if bad_bands is not None:
        fields["bbl"] = [0 if bad else 1 for bad in bad_bands]
    if gains is not None and offsets is not None:
        # ENVI's value = stored x gain + offset: a standardized product reads back as the original.
        fields["data gain values"] = [float(g) for g in gains]
        fields["data offset values"] = [float(o) for o in offsets]
    if geo is not None and (geo.rows, geo.cols) == (rows, cols):
        for item, value in envi_map_info(geo).items():
            fields[item] = "{" + (", ".join(value) if isinstance(value, list) else value) + "}"
    if nodata is not None:
        fields["data ignore value"] = float(nodata)
    header_path.write_text(header_text(fields))
    return header_path, data_path


def envi_zip(array: np.ndarray, name: str, **kwargs: Any) -> bytes:
    """:func:`to_envi` into a .zip holding the header and the data, for a download."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        header, data = to_envi(array, folder, name, **kwargs)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(header, header.name)
            archive.write(data, data.name)
    return buffer.getvalue()


def safe_filename(*parts: object, extension: str = "") -> str:
    """A file name from parts (cube name, product, band, wavelength), in ``[A-Za-z0-9._-]``.

    >>> safe_filename("AVIRIS scene/1", "band 41", "652.3nm", extension="png")
    'AVIRIS_scene_1_band_41_652.3nm.png'
    """
    text = "_".join(str(p) for p in parts if p not in (None, ""))
    cleaned = _SAFE.sub("_", text).strip("._-")[:150] or "cubescope"
    return f"{cleaned}.{extension}" if extension else cleaned


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def category_sidecar(class_names: Sequence[str], description: str = "class") -> bytes:
    """GDAL's ``.aux.xml`` (PAM) for a class map written by :func:`to_tiff` with
    ``class_names``: the category names of band 1 (value 0 "no class", value i + 1 class i).

    A GeoTIFF cannot hold category names itself; GDAL, QGIS and EnMAP-Box read them from this
    file beside it (``<name>.tif.aux.xml``), and name the colour table's entries with them.
    """
    from xml.sax.saxutils import escape

    categories = "".join(f"      <Category>{escape(str(n))}</Category>\n" for n in ["no class", *class_names])
    return ("<PAMDataset>\n  <PAMRasterBand band=\"1\">\n"
            f"    <Description>{escape(description)}</Description>\n"
            f"    <CategoryNames>\n{categories}    </CategoryNames>\n"
            "  </PAMRasterBand>\n</PAMDataset>\n").encode()


def class_map_archive(labels: np.ndarray, class_names: Sequence[str], class_colours: Sequence[str] | None = None, *,
                      name: str = "class_map", geo: Georef | None = None,
                      metadata: Mapping[str, Any] | None = None) -> bytes:
    """A class map as a .zip of ``<name>.tif`` (colour table, place on the Earth) and its
    ``<name>.tif.aux.xml`` (category names): unpacked side by side, QGIS shows the legend
    with the classes' names and colours.

    Parameters
    ----------
    labels : ndarray of int, shape (rows, cols)
        Class index per pixel, -1 where no class.
    class_names, class_colours : sequences of str
        One per class; colours as ``#rrggbb``.
    """
    tiff = to_tiff(np.asarray(labels) + 1, class_names=class_names, class_colours=class_colours, geo=geo,
                   metadata=metadata)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}.tif", tiff)
        archive.writestr(f"{name}.tif.aux.xml", category_sidecar(class_names))
    return buffer.getvalue()
