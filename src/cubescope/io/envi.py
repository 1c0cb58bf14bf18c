"""ENVI (.hdr + raw data) and ERDAS/GIS .lan files, memory-mapped.

Headers are parsed by Spectral Python (`spectral`), the reference reader of the field; the
samples are mapped here with numpy so that every declared size is checked against the file
before anything is read, and band-sequential files stay memory-mapped.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from cubescope.cube import Cube, to_band_sequential
from cubescope.errors import CubeError
from cubescope.geo import envi_georef
from cubescope.io.limits import Limits, check_cube_shape, check_declared
from cubescope.io.listing import ArrayInfo

#: ENVI "data type" codes and the sample types they stand for.
ENVI_DTYPES = {
    1: "u1",
    2: "i2",
    3: "i4",
    4: "f4",
    5: "f8",
    12: "u2",
    13: "u4",
    14: "i8",
    15: "u8",
}
_COMPLEX = {6: "complex64", 9: "complex128"}
#: The ENVI "data type" code of each sample type, the same table read the other way.
ENVI_CODES = {dtype: code for code, dtype in ENVI_DTYPES.items()}
#: ENVI's names of wavelength units, by Cubescope's unit (see :mod:`cubescope.wavelengths`).
ENVI_UNITS = {"nm": "Nanometers", "µm": "Micrometers", "mm": "Millimeters", "cm⁻¹": "Wavenumber", "GHz": "GHz",
              "MHz": "MHz", "index": "Index"}


def envi_text(text: Any, item: bool = False) -> str:
    """Text safe inside an ENVI header's braces: braces become parentheses and line breaks
    spaces; with ``item`` (an entry of a list such as ``band names``) commas become ``;``."""
    cleaned = str(text).replace("{", "(").replace("}", ")").replace("\r", " ").replace("\n", " ")
    return cleaned.replace(",", ";") if item else cleaned


def _header_value(value: Any) -> str:
    if isinstance(value, str):
        return value  # written as given: the caller braces it (see envi_text)
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [envi_text(v, item=True) if isinstance(v, str)
                 else str(int(v)) if isinstance(v, (bool, np.bool_, int, np.integer)) else repr(float(v))
                 for v in value]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return str(int(value))
    return repr(float(value))


def header_text(fields: dict[str, Any]) -> str:
    """An ENVI header: ``ENVI`` then one ``key = value`` line per field, in order.

    Parameters
    ----------
    fields : dict
        Values: text is written as given (brace it and pass it through :func:`envi_text`
        first where it is free text); integers as integers; other numbers as Python writes
        them (read back exactly); lists and arrays as ``{a, b, ...}``, their text entries
        escaped with :func:`envi_text`.
    """
    return "\n".join(["ENVI", *(f"{key} = {_header_value(value)}" for key, value in fields.items())]) + "\n"

#: Endings a data file may carry next to its header, in the order they are tried.
DATA_SUFFIXES = ("", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip", ".bin", ".IMG", ".DAT", ".RAW")

# Header text is shown and stored; keys that can be very long are cut to keep it light.
_MAX_TEXT_VALUE = 2000


def find_header(data_path: Path) -> Path | None:
    """The ``.hdr`` beside a data file (``x.hdr`` or ``x.img.hdr``), if any."""
    for candidate in (data_path.with_suffix(".hdr"), data_path.with_name(data_path.name + ".hdr"),
                      data_path.with_suffix(".HDR")):
        if candidate != data_path and candidate.is_file():
            return candidate
    return None


def find_data_file(header_path: Path) -> Path:
    """The data file a header describes, found by name next to it (never by header fields)."""
    stem = header_path.with_suffix("")
    for suffix in DATA_SUFFIXES:
        candidate = stem.with_name(stem.name + suffix)
        if candidate != header_path and candidate.is_file():
            return candidate
    raise CubeError(
        f"No data file was found for the header '{header_path.name}'. Upload the header "
        f"together with its data file (for example '{stem.name}.img' or '{stem.name}.dat'), "
        "or both in one .zip."
    )


def read_header(path: Path, limits: Limits) -> dict[str, Any]:
    """Parse an ENVI header into a dict with lower-case keys (values as text or lists of text)."""
    from spectral.io.envi import read_envi_header

    size = path.stat().st_size
    if size > limits.max_header_bytes:
        raise CubeError(
            f"'{path.name}' is {size} bytes long: too long for an ENVI header. Is it the data file?"
        )
    try:
        with warnings.catch_warnings():
            # spectral warns when it lower-cases keys such as "Wavelength"; that is what we want.
            warnings.simplefilter("ignore")
            raw = path.read_bytes()
            try:
                raw.decode("utf-8")
                header = read_envi_header(str(path))
            except UnicodeDecodeError:
                # Headers written on Windows are often Latin-1 ("µm"): read them as such.
                header = _read_latin1_header(path, raw, read_envi_header)
    except Exception as exc:
        if type(exc).__name__ == "FileNotAnEnviHeader":
            raise CubeError(
                f"'{path.name}' is not an ENVI header: its first line must start with 'ENVI'."
            ) from exc
        raise CubeError(
            f"The ENVI header '{path.name}' could not be parsed ({type(exc).__name__}). Check that "
            "every '{' has its closing '}' and every line reads 'key = value'."
        ) from exc
    return {str(k).strip().lower(): v for k, v in header.items()}


def _read_latin1_header(path: Path, raw: bytes, reader: Any) -> dict[str, Any]:
    import tempfile

    text = raw.decode("latin-1")
    if "\x00" in text:
        raise CubeError(f"'{path.name}' is not a text ENVI header (it holds binary data).")
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "header.hdr"
        copy.write_text(text, encoding="utf-8")
        return reader(str(copy))


def _int_field(header: dict[str, Any], key: str, name: str, default: int | None = None) -> int:
    if key not in header:
        if default is not None:
            return default
        raise CubeError(f"The ENVI header has no '{key}' field; it must give the {name}.")
    text = header[key]
    try:
        return int(str(text).strip())
    except ValueError as exc:
        raise CubeError(f"The ENVI header's '{key}' must be a whole number, not '{text}'.") from exc


def _float_list(header: dict[str, Any], key: str, count: int) -> np.ndarray | None:
    values = header.get(key)
    if values is None:
        return None
    if isinstance(values, str):
        values = [v for v in re.split(r"[,\s]+", values.strip("{} ")) if v]
    try:
        array = np.array([float(v) for v in values if str(v).strip() != ""], dtype=float)
    except ValueError:
        return None
    return array if array.size == count else None


def dtype_from_header(header: dict[str, Any]) -> np.dtype:
    """Sample type from ENVI 'data type' and 'byte order'."""
    code = _int_field(header, "data type", "sample type")
    if code in _COMPLEX:
        raise CubeError(
            f"ENVI data type {code} ({_COMPLEX[code]}) is complex; Cubescope shows real-valued "
            "cubes only. Export the magnitude or the real part first."
        )
    if code not in ENVI_DTYPES:
        raise CubeError(
            f"ENVI data type {code} is not supported; use one of "
            f"{', '.join(str(k) for k in ENVI_DTYPES)}."
        )
    order = _int_field(header, "byte order", "byte order", default=0)
    if order not in (0, 1):
        raise CubeError(f"The ENVI 'byte order' must be 0 (little-endian) or 1 (big-endian), not {order}.")
    return np.dtype(("<" if order == 0 else ">") + ENVI_DTYPES[code])


def describe_envi(path: str | Path, limits: Limits) -> ArrayInfo:
    """An ENVI header as an :class:`ArrayInfo` (name, shape as rows x cols x bands, type), for
    choosing among several uploaded cubes; the data file is not read."""
    path = Path(path)
    header = read_header(path, limits)
    shape = (_int_field(header, "lines", "number of rows"), _int_field(header, "samples", "number of columns"),
             _int_field(header, "bands", "number of bands"))
    return ArrayInfo(path.name, shape, str(dtype_from_header(header)))


def load_envi(
    path: Path, limits: Limits, *, data_file: Path | None = None, name: str | None = None, lazy: bool | None = None
) -> Cube:
    """Open an ENVI cube from its header or its data file.

    Parameters
    ----------
    path : Path
        The ``.hdr`` file, or the data file with its header beside it.
    limits : Limits
        Ceilings checked before the data is mapped.
    data_file : Path, optional
        The data file, when it cannot be found by name.
    name : str, optional
        Cube name; defaults to the file stem.

    Returns
    -------
    Cube
        Band-sequential files stay memory-mapped; BIL and BIP are copied once into
        band-sequential order.
    """
    if path.suffix.lower() == ".hdr":
        header_path = path
        header = read_header(header_path, limits)
        data_path = data_file or find_data_file(path)
    else:
        data_path = path
        found = find_header(path)
        if found is None:
            raise CubeError(f"'{path.name}' has no ENVI header (.hdr) beside it; upload both.")
        header_path = found
        header = read_header(header_path, limits)

    samples = _int_field(header, "samples", "number of columns")
    lines = _int_field(header, "lines", "number of rows")
    bands = _int_field(header, "bands", "number of bands")
    offset = _int_field(header, "header offset", "header offset", default=0)
    if offset < 0:
        raise CubeError(f"The ENVI 'header offset' cannot be negative ({offset}).")
    dtype = dtype_from_header(header)
    interleave = str(header.get("interleave", "bsq")).strip().lower()
    if interleave not in ("bsq", "bil", "bip"):
        raise CubeError(f"The ENVI interleave must be bsq, bil or bip, not '{interleave}'.")

    what = f"The ENVI header '{header_path.name}'"
    check_cube_shape(lines, samples, bands, limits, what)
    file_size = data_path.stat().st_size
    check_declared(
        (lines, samples, bands), dtype.itemsize, limits, available=file_size - offset, what=what
    )
    file_shape = {
        "bsq": (bands, lines, samples),
        "bil": (lines, bands, samples),
        "bip": (lines, samples, bands),
    }[interleave]
    mapped = np.memmap(data_path, dtype=dtype, mode="r", offset=offset, shape=file_shape)
    band_axis = {"bsq": 0, "bil": 1, "bip": 2}[interleave]
    bsq = to_band_sequential(mapped, band_axis, copy=None if lazy is None else not lazy)
    geo, unplaced = envi_georef(header, lines, samples)
    fields = _cube_fields(header, bands)
    if unplaced:
        fields["metadata"]["georeferencing"] = f"none: {unplaced}"
    return Cube(bsq, name=name or header_path.stem, geo=geo, **fields)


#: A wavelength inside a band name: "376.44 Nanometers", "Band 12 (550.0 nm)", "B4 0.665um".
_NAMED_WAVELENGTH = re.compile(
    r"(\d+(?:\.\d+)?)\s*(nanomet(?:er|re)s?|nm|micromet(?:er|re)s?|microns?|um|µm|μm)\b", re.IGNORECASE)


def wavelengths_from_band_names(names: Any, bands: int) -> tuple[np.ndarray, str] | None:
    """Wavelengths written only in ``band names`` (AVIRIS-NG radiance headers do this), with
    their unit; None unless every band name carries one, all in the same unit."""
    if not isinstance(names, list) or len(names) != bands:
        return None
    values, units = [], set()
    for name in names:
        found = _NAMED_WAVELENGTH.findall(str(name))
        if len(found) != 1:
            return None
        value, unit = found[0]
        values.append(float(value))
        units.add("nm" if unit.lower().startswith("n") else "µm")
    if len(units) != 1:
        return None
    return np.array(values), units.pop()


def _scaling_fields(header: dict[str, Any], bands: int) -> dict[str, Any]:
    """Gain, offset and quantity from ``data gain values``, ``data offset values`` and
    ``reflectance scale factor`` (value = (stored x gain + offset) / scale factor)."""
    gain = _float_list(header, "data gain values", bands)
    offset = _float_list(header, "data offset values", bands)
    quantity = header.get("data units") if isinstance(header.get("data units"), str) else None
    factor_text = str(header.get("reflectance scale factor", "")).strip()
    try:
        factor = float(factor_text) if factor_text else None
    except ValueError:
        factor = None
    if factor is not None and np.isfinite(factor) and factor not in (0.0, 1.0):
        gain = (np.ones(bands) if gain is None else gain) / factor
        offset = None if offset is None else offset / factor
        quantity = quantity or "reflectance"
    return {"gain": gain, "offset": offset, "quantity": quantity.strip() if quantity else None}


def _cube_fields(header: dict[str, Any], bands: int) -> dict[str, Any]:
    wavelengths = _float_list(header, "wavelength", bands)
    units = header.get("wavelength units")
    units = units if isinstance(units, str) else None
    if wavelengths is None:
        named = wavelengths_from_band_names(header.get("band names"), bands)
        if named is not None:
            wavelengths, units = named
    fwhm = _float_list(header, "fwhm", bands) if wavelengths is not None else None
    bbl = _float_list(header, "bbl", bands)
    nodata = None
    if "data ignore value" in header:
        try:
            nodata = float(str(header["data ignore value"]).strip())
        except ValueError:
            nodata = None
    default_bands = None
    listed = _float_list(header, "default bands", len(header.get("default bands", [])) or -1)
    if listed is not None and len(listed) in (1, 3):
        # ENVI counts default bands from 1.
        default_bands = tuple(int(b) - 1 for b in listed)
    metadata = {
        key: _short(value)
        for key, value in header.items()
        if key not in {"wavelength", "fwhm", "bbl", "band names", "file names"}
    }
    if isinstance(header.get("band names"), list) and len(header["band names"]) == bands:
        metadata["band names"] = [_short(str(n)) for n in header["band names"]]
    return {
        "wavelengths": wavelengths,
        "wavelength_units": units,
        "fwhm": fwhm,
        "bad_bands": None if bbl is None else bbl == 0,
        "nodata": nodata,
        "default_bands": default_bands,
        "metadata": metadata,
        **_scaling_fields(header, bands),
    }


def _short(value: Any) -> Any:
    if isinstance(value, list):
        return [_short(v) for v in value[:1000]]
    text = str(value)
    return text if len(text) <= _MAX_TEXT_VALUE else text[:_MAX_TEXT_VALUE] + " …"


# ---------------------------------------------------------------------- ERDAS / GIS .lan
_LAN_PACKING = {0: "u1", 2: "i2"}


def load_lan(path: Path, limits: Limits, *, name: str | None = None, lazy: bool | None = None) -> Cube:
    """Open an ERDAS 7.4/7.5 .lan file (128-byte header, band-interleaved by line).

    The header does not state its byte order: little-endian is tried first and big-endian
    when the dimensions read that way make no sense, as Spectral Python does. 8-bit data
    (packing 0) is read as unsigned, as ERDAS defines it.
    """
    from spectral.io.erdas import read_erdas_lan_header

    size = path.stat().st_size
    if size < 128:
        raise CubeError(f"'{path.name}' is too short to be an ERDAS .lan file (under 128 bytes).")
    try:
        header = read_erdas_lan_header(str(path))
        order = "<"
        if not _lan_plausible(header):
            header = read_erdas_lan_header(str(path), 1)
            order = ">"
    except Exception as exc:
        raise CubeError(f"'{path.name}' is not a readable ERDAS .lan file ({exc}).") from exc
    packing = header["packing"]
    if packing == 1:
        raise CubeError("4-bit ERDAS .lan data is not supported; convert it to 8 or 16 bit.")
    if packing not in _LAN_PACKING:
        raise CubeError(f"Unknown ERDAS .lan packing code {packing}.")
    rows, cols, bands = int(header["nrows"]), int(header["ncols"]), int(header["nbands"])
    dtype = np.dtype(order + _LAN_PACKING[packing])
    what = f"The ERDAS header of '{path.name}'"
    check_cube_shape(rows, cols, bands, limits, what)
    check_declared((rows, cols, bands), dtype.itemsize, limits, available=size - 128, what=what)
    mapped = np.memmap(path, dtype=dtype, mode="r", offset=128, shape=(rows, bands, cols))
    bsq = to_band_sequential(mapped, 1, copy=None if lazy is None else not lazy)
    metadata = {"format": "ERDAS LAN", "header": header["type"].decode("ascii", "replace")}
    return Cube(bsq, name=name or path.stem, metadata=metadata)


def _lan_plausible(header: dict[str, Any]) -> bool:
    return 0 < header["nbands"] <= 10_000 and 0 < header["ncols"] <= 10**6 and 0 < header["nrows"] <= 10**6
