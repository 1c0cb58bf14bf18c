"""Bad-band lists as people write them: ranges of wavelengths (``1340-1445, 1790-1955 nm``) or of
band numbers (``b0-b4, b220-b223``), and as a link carries them (runs of band numbers).

>>> import numpy as np
>>> wavelengths = np.arange(400.0, 2500.0, 100.0)
>>> mask = parse_ranges("1300-1500 nm, 1.85-1.95 um", 21, wavelengths, "nm")
>>> np.flatnonzero(mask).tolist()
[9, 10, 11, 15]
>>> ranges_text(mask, wavelengths, "nm")
'1300-1500, 1900 nm'
>>> encode_runs(mask), np.flatnonzero(decode_runs("9-11,15", 21)).tolist()
('9-11,15', [9, 10, 11, 15])
"""

from __future__ import annotations

import re

import numpy as np

from cubescope.wavelengths import normalize_units, to_nanometres

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BAND_ITEM = re.compile(r"^(?:band\s*|b|#)(\d+)(?:\s*(?:-|–|to)\s*(?:band\s*|b|#)?(\d+))?$", re.IGNORECASE)
_VALUE_ITEM = re.compile(rf"^({_NUMBER})(?:\s*(?:-|–|to)\s*({_NUMBER}))?\s*([^\d\s.,;+-][^,;]*)?$")
_RUN = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_ranges(text: str, n_bands: int, wavelengths: np.ndarray | None = None,
                 units: str | None = None) -> np.ndarray:
    """The bands a list of ranges names, as a boolean mask.

    Parameters
    ----------
    text : str
        Items separated by commas or semicolons. An item is a wavelength range ``1340-1445``
        or one wavelength ``940`` (the nearest band), with an optional unit (``nm``, ``um``,
        ``µm``); a unit after the last item holds for the items without one, and with no unit
        at all values are in the cube's unit. ``b12-b20`` (or ``band 12-20``) names band
        numbers, counted from 0; so do plain numbers for a cube without wavelengths.
    n_bands : int
        The cube's number of bands.
    wavelengths : ndarray of shape (bands,), optional
        The band centres, in ``units``.
    units : str, optional
        Their unit.

    Returns
    -------
    ndarray of bool, shape (bands,)
        True for each band named (an empty text names none).

    Raises
    ------
    ValueError
        Naming the item that cannot be read, a band number or unit the cube does not have, or
        a range holding no band.
    """
    items = [item.strip() for item in re.split(r"[,;]", text or "") if item.strip()]
    # A unit after the last item ("1340-1445, 1790-1955 nm") holds for the items without one.
    last = _VALUE_ITEM.match(items[-1]) if items else None
    shared_unit = last.group(3) if last and last.group(3) else None
    parsed = []
    for item in items:
        band = _BAND_ITEM.match(item)
        if band:
            parsed.append(("band", int(band.group(1)), int(band.group(2) or band.group(1)), None))
            continue
        value = _VALUE_ITEM.match(item)
        if not value:
            raise ValueError(f"'{item}' is not a range such as 1340-1445 nm or b12-b20")
        low, high = float(value.group(1)), float(value.group(2) or value.group(1))
        parsed.append(("value", low, high, (value.group(3) or shared_unit or "").strip() or None))
    return _mask(parsed, wavelengths, units, n_bands)


def _mask(parsed: list, wavelengths: np.ndarray | None, units: str | None, n_bands: int) -> np.ndarray:
    if wavelengths is None:
        if any(kind == "value" and (unit or low != int(low) or high != int(high)) for kind, low, high, unit in parsed):
            raise ValueError("this cube has no wavelengths: name bands by number, such as b12-b20")
        parsed = [("band", int(low), int(high), None) for _, low, high, _ in parsed]
    mask = np.zeros(n_bands, bool)
    centres = None if wavelengths is None else np.asarray(wavelengths, float)
    in_nm = None if centres is None else to_nanometres(centres, normalize_units(units, centres))
    for kind, low, high, unit in parsed:
        low, high = min(low, high), max(low, high)
        if kind == "band":
            if high >= n_bands:
                raise ValueError(f"this cube has bands 0 to {n_bands - 1}, not {int(high)}")
            mask[int(low):int(high) + 1] = True
            continue
        axis, shown = centres, f"{low:g}-{high:g}" if low != high else f"{low:g}"
        if unit is not None:
            canonical = normalize_units(unit)
            if in_nm is None or to_nanometres(np.array([low, high]), canonical) is None:
                raise ValueError(f"'{unit}' is not a unit these wavelengths can be compared in")
            low, high = to_nanometres(np.array([low, high]), canonical)
            axis, shown = in_nm, f"{shown} {unit}"
        spacing = float(np.nanmedian(np.abs(np.diff(axis)))) if axis.size > 1 else 0.0
        # Ends a hundredth of a band apart from a centre still hold it: ranges written to six
        # digits (as :func:`ranges_text` writes them) read back to the same bands.
        named = (axis >= low - spacing / 100) & (axis <= high + spacing / 100)
        if low == high:
            # One wavelength: the nearest band, if it lies within the cube's span of bands.
            if not np.nanmin(axis) - spacing <= low <= np.nanmax(axis) + spacing:
                raise ValueError(f"{shown} lies outside this cube's bands")
            named = np.arange(n_bands) == int(np.nanargmin(np.abs(axis - low)))
        if not named.any():
            raise ValueError(f"{shown} holds no band of this cube")
        mask |= named
    return mask


def ranges_text(mask: np.ndarray, wavelengths: np.ndarray | None, units: str | None) -> str:
    """The marked bands as ranges a person reads and :func:`parse_ranges` reads back: runs of
    neighbouring bands as wavelength ranges in the cube's unit (band numbers without
    wavelengths); empty when no band is marked."""
    parts = []
    for start, stop in _runs(mask):
        if wavelengths is None:
            parts.append(f"b{start}" if stop == start else f"b{start}-b{stop}")
            continue
        low, high = sorted((float(wavelengths[start]), float(wavelengths[stop])))
        parts.append(f"{low:.6g}" if start == stop else f"{low:.6g}-{high:.6g}")
    unit = f" {units}" if parts and wavelengths is not None and units and units != "index" else ""
    return ", ".join(parts) + unit


def encode_runs(mask: np.ndarray) -> str:
    """Marked bands as runs of band numbers for a link: ``3-7,20``; ``none`` for no band."""
    runs = [f"{a}" if a == b else f"{a}-{b}" for a, b in _runs(mask)]
    return ",".join(runs) or "none"


def decode_runs(text: str, n_bands: int) -> np.ndarray:
    """The mask :func:`encode_runs` wrote, for a cube of ``n_bands`` bands.

    Raises
    ------
    ValueError
        For text that is not runs of band numbers of this cube.
    """
    mask = np.zeros(n_bands, bool)
    if text == "none":
        return mask
    for run in text.split(","):
        found = _RUN.match(run)
        if not found:
            raise ValueError("not runs of band numbers such as 3-7,20")
        start, stop = int(found.group(1)), int(found.group(2) or found.group(1))
        if stop < start or stop >= n_bands:
            raise ValueError(f"this cube has bands 0 to {n_bands - 1}")
        mask[start:stop + 1] = True
    return mask


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) band of each run of marked neighbouring bands."""
    marked = np.flatnonzero(np.asarray(mask, bool))
    if marked.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(marked) > 1)
    starts = np.r_[marked[0], marked[breaks + 1]]
    stops = np.r_[marked[breaks], marked[-1]]
    return list(zip(starts.tolist(), stops.tolist(), strict=True))
