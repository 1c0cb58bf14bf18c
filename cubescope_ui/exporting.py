"""Download panels: what a page shows, exported with its numbers kept. Files are built on click."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import streamlit as st

from cubescope import Cube, CubeError, compress, export
from cubescope.geo import Georef
from cubescope.io.limits import human_bytes
from cubescope_ui.text import plain
from cubescope_ui.widgets import Stretch

#: The first is the default: it keeps the real values (and nothing is computed until asked).
FORMATS = {
    "TIFF, float values": ("tif", "image/tiff"),
    "PNG 8-bit, as shown": ("png", "image/png"),
    "PNG 16-bit, full range": ("png", "image/png"),
    "NumPy .npy": ("npy", "application/octet-stream"),
}


def image_panel(image: Callable[[], np.ndarray], stretch: Stretch, name_parts: tuple, metadata: Mapping[str, Any],
                key: str, geo: Georef | None = None) -> None:
    """An "Export" expander for one image: format, the exact scaling, a preview, a download.
    The TIFF keeps the image's place on the Earth (``geo``) as GeoTIFF tags."""
    with st.expander("Export this image"):
        choice = st.radio("Format", list(FORMATS), key=f"{key}_format", horizontal=True)
        extension, mime = FORMATS[choice]
        try:
            if choice.startswith("PNG 8"):
                _, normalization = export.normalize_for_export(
                    image(), stretch.method, stretch.low, stretch.high, stretch.vmin, stretch.vmax)
                st.caption(plain(f"Scaling: {normalization.describe()}. Colormap: {stretch.colormap}. "
                                 "The scaling is written into the PNG's text chunks."))
            elif choice.startswith("PNG 16"):
                _, normalization = export.normalize_for_export(image(), "min-max")
                st.caption(plain(f"Scaling: {normalization.describe()}. value = offset + scale × pixel; pixel 0 "
                                 "is no data. Offset and scale are in the PNG's text chunks."))
            else:
                where = " with the band and wavelength in the file's description" if extension == "tif" else ""
                placed = _placed(geo) if extension == "tif" else ""
                st.caption("The real values, negatives, NaN and all, as 32-bit floats" + where + placed + ".")
        except CubeError as exc:
            st.warning(plain(exc))
            return

        def build() -> bytes:
            values = image()
            if choice.startswith("PNG 8"):
                return export.to_png(values, 8, stretch.method, stretch.low, stretch.high, stretch.vmin, stretch.vmax,
                                     colormap=None if stretch.colormap == "gray" else stretch.colormap,
                                     metadata=metadata)
            if choice.startswith("PNG 16"):
                return export.to_png(values, 16, "min-max", metadata=metadata)
            if extension == "tif":
                return export.to_tiff(values, wavelengths=metadata.get("wavelengths"),
                                      wavelength_units=metadata.get("wavelength_units"), metadata=metadata, geo=geo)
            return export.to_npy(values)

        st.download_button(f"Download .{extension}", build, file_name=export.safe_filename(*name_parts,
                           extension=extension), mime=mime, key=f"{key}_download", on_click="ignore")


def spectra_panel(spectra: Mapping[str, np.ndarray], wavelengths: np.ndarray | None, units: str | None,
                  bad_bands: np.ndarray | None, name_parts: tuple, key: str,
                  locations: Mapping[str, tuple[float, float]] | None = None) -> None:
    """A CSV download of the plotted spectra (with the lon/lat of each pinned pixel when the
    cube is georeferenced)."""
    if not spectra:
        return
    st.download_button(
        "Download spectra (.csv)", lambda: export.spectra_to_csv(spectra, wavelengths, units, bad_bands, locations),
        file_name=export.safe_filename(*name_parts, extension="csv"), mime="text/csv", key=key, on_click="ignore",
    )


def max_download_bytes() -> int:
    """Largest file offered for download (``CUBESCOPE_MAX_DOWNLOAD_BYTES``, default 1 GiB):
    a browser download is built in the server's memory, whole."""
    return int(float(os.environ.get("CUBESCOPE_MAX_DOWNLOAD_BYTES", 2**30)))


def cube_panel(label: str, cube: Callable[[], np.ndarray], name: str, key: str, nbytes: int,
               metadata: Mapping[str, Any] | None = None, geo: Georef | None = None, **envi: Any) -> None:
    """Downloads of a whole band-sequential product (``nbytes`` of samples): multi-band float
    TIFF or ENVI (.zip), both describing themselves with ``metadata``; above
    :func:`max_download_bytes`, a message saying how to get it."""
    metadata = {"product": name, **(metadata or {})}
    description = "; ".join(f"{k}: {v}" for k, v in metadata.items())
    if nbytes > max_download_bytes():
        st.info(plain(
            f"This product is {human_bytes(nbytes)}, more than this server offers as one download "
            f"({human_bytes(max_download_bytes())}). Export single images above, or compute it where the "
            "cube lies with the cubescope package (for example savgol_cube(..., out=numpy.lib.format."
            "open_memmap(...)), or cubescope.dask_arrays on a cluster)."
        ))
        return
    left, right = st.columns(2)
    left.download_button(
        f"{label} (.tif)",
        lambda: export.to_tiff(cube(), wavelengths=envi.get("wavelengths"),
                               wavelength_units=envi.get("wavelength_units"), fwhm=envi.get("fwhm"),
                               bad_bands=envi.get("bad_bands"),
                               band_names=envi.get("band_names"), scales=envi.get("gains"),
                               offsets=envi.get("offsets"), metadata=metadata, geo=geo),
        file_name=export.safe_filename(name, extension="tif"), mime="image/tiff", key=f"{key}_tif",
        on_click="ignore", width="stretch",
    )
    right.download_button(
        f"{label} (ENVI .zip)", lambda: export.envi_zip(cube(), name, description=description, geo=geo, **envi),
        file_name=export.safe_filename(name, extension="zip"), mime="application/zip", key=f"{key}_envi",
        on_click="ignore", width="stretch",
    )


def rgb_panel(channels: Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray]], limits: tuple,
              name_parts: tuple, metadata: Mapping[str, Any], key: str, geo: Georef | None = None) -> None:
    """An "Export" expander for an RGB composite: the picture as shown (8-bit PNG, each
    channel's stretch in its text chunks) or the three bands' real values (float TIFF)."""
    with st.expander("Export this RGB image"):
        choice = st.radio("Format", ["PNG 8-bit RGB, as shown", "TIFF, the three bands as floats"],
                          key=f"{key}_format", horizontal=True)
        if choice.startswith("PNG"):
            st.caption(plain("Each channel stretched on its own: " + "; ".join(
                f"{name} {lo:g} to {hi:g}" for name, (lo, hi) in zip(("red", "green", "blue"), limits, strict=True))
                + ". The stretch is written into the PNG's text chunks."))
            extension, mime = "png", "image/png"

            def build() -> bytes:
                return export.rgb_to_png(channels(), limits, metadata)
        else:
            st.caption("The real values of the red, green and blue bands, as one GeoTIFF of three 32-bit float "
                       "bands" + _placed(geo) + ".")
            extension, mime = "tif", "image/tiff"

            def build() -> bytes:
                labels = metadata.get("band_labels") or ("", "", "")
                names = [f"{colour} {label}".strip() for colour, label in zip(("red", "green", "blue"), labels,
                                                                               strict=False)]
                return export.to_tiff(np.stack(channels()), metadata=metadata, geo=geo, band_names=names)
        st.download_button(f"Download .{extension}", build, file_name=export.safe_filename(
            *name_parts, extension=extension), mime=mime, key=f"{key}_download", on_click="ignore")


def class_map_download(labels: Callable[[], np.ndarray], names: list[str], colours: list[str], name_parts: tuple,
                       key: str, geo: Georef | None = None) -> None:
    """A class map (``labels`` (rows, cols), -1 no class) as a GeoTIFF with a colour table, in
    a .zip with GDAL's sidecar naming the classes, so QGIS shows the legend: value 0 is no
    class, value i + 1 class i."""
    stem = export.safe_filename(*name_parts)
    st.download_button(
        "Class map (GeoTIFF and its legend, .zip)",
        lambda: export.class_map_archive(labels(), names, colours, name=stem, geo=geo,
                                         metadata={"product": "class map", "classes": names}),
        file_name=f"{stem}.zip", mime="application/zip", key=key, on_click="ignore",
        help="Unzip the two files side by side: GDAL, QGIS and EnMAP-Box read the class names from the "
             ".tif.aux.xml beside the .tif.")


def _placed(geo: Georef | None) -> str:
    """How a TIFF export keeps the image's place, for its caption."""
    if geo is None:
        return ""
    if geo.kind == "grid":
        return f", placed on the Earth by GeoTIFF tags ({geo.describe()})"
    return ", with the swath's corner longitudes/latitudes in the description (a swath is no map grid)"


def standardized_panel(cube: Cube, method: str, parameters: compress.Standardization) -> None:
    """The cube standardized per band by ``method`` (with its ``parameters``), exported with
    those parameters written in, so that readers get the original values back."""
    st.caption("Float values (negatives kept), the parameters written into the file: the GeoTIFF holds them as "
               "GDAL's per-band scale and offset, the ENVI header as data gain and offset values, so ENVI, GDAL, "
               "QGIS and Cubescope read the original values back.")
    cube_panel(f"{method} cube", lambda: compress.standardize(cube, method)[0], f"{cube.name} {method}",
               key="cz_std_cube", nbytes=cube.rows * cube.cols * cube.n_bands * 4, geo=cube.geo,
               metadata={**export.image_metadata(cube, product=f"standardized ({method})"), **parameters.metadata()},
               wavelengths=cube.wavelengths, wavelength_units=cube.wavelength_units,
               gains=parameters.scale, offsets=parameters.offset)
