"""Wavelength axes: unit names as headers spell them, conversion to nanometres, band picking."""

from __future__ import annotations

import numpy as np

# Header spellings seen in the wild (ENVI, vendor software, MATLAB exports), folded to one name.
_UNIT_ALIASES = {
    "nm": "nm",
    "nanometer": "nm",
    "nanometers": "nm",
    "nanometre": "nm",
    "nanometres": "nm",
    "um": "µm",
    "µm": "µm",
    "μm": "µm",
    "micron": "µm",
    "microns": "µm",
    "micrometer": "µm",
    "micrometers": "µm",
    "micrometre": "µm",
    "micrometres": "µm",
    "mm": "mm",
    "millimeters": "mm",
    "cm-1": "cm⁻¹",
    "cm^-1": "cm⁻¹",
    "1/cm": "cm⁻¹",
    "wavenumber": "cm⁻¹",
    "wavenumbers": "cm⁻¹",
    "ghz": "GHz",
    "mhz": "MHz",
    "index": "index",
}
_TO_NM = {"nm": 1.0, "µm": 1000.0, "mm": 1.0e6}


def normalize_units(units: str | None, wavelengths: np.ndarray | None = None) -> str | None:
    """Fold a unit name from a header to a canonical one, guessing when it is missing.

    Parameters
    ----------
    units : str or None
        The unit as written in the file ("Nanometers", "um", "Micrometers", "", "Unknown", ...).
    wavelengths : ndarray, optional
        The values, used to guess the unit when the file names none: centre values below 30
        are taken as micrometres, values from 200 to 30000 as nanometres.

    Returns
    -------
    str or None
        One of "nm", "µm", "mm", "cm⁻¹", "GHz", "MHz", "index", another unit as written,
        or None when there is neither a usable name nor a safe guess.
    """
    key = (units or "").strip().lower().replace(" ", "")
    if key in _UNIT_ALIASES:
        return _UNIT_ALIASES[key]
    if key and key not in {"unknown", "none", "n/a", "na"}:
        return units.strip() if units else None
    if wavelengths is None or len(wavelengths) == 0:
        return None
    finite = np.asarray(wavelengths, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return None
    centre = float(np.median(finite))
    if 0.2 <= centre < 30:
        return "µm"
    if 200 <= centre <= 30000:
        return "nm"
    return None


def to_nanometres(wavelengths: np.ndarray | None, units: str | None) -> np.ndarray | None:
    """Wavelengths in nm, or None when the unit is not a length."""
    if wavelengths is None or units not in _TO_NM:
        return None
    return np.asarray(wavelengths, dtype=float) * _TO_NM[units]


def nearest_band(wavelengths_nm: np.ndarray, target_nm: float, tolerance_nm: float) -> int | None:
    """Index of the band closest to ``target_nm``, or None if none lies within ``tolerance_nm``."""
    distance = np.abs(np.asarray(wavelengths_nm, dtype=float) - target_nm)
    if not np.isfinite(distance).any():
        return None
    best = int(np.nanargmin(distance))
    return best if distance[best] <= tolerance_nm else None


def true_colour_bands(wavelengths_nm: np.ndarray | None) -> tuple[int, int, int] | None:
    """Bands nearest 640, 550 and 460 nm (red, green, blue), if the cube covers all three.

    A band counts as covering a colour when it lies within 40 nm of it, so multispectral
    sensors with broad bands (Sentinel-2, Landsat) get a true-colour view too.
    """
    if wavelengths_nm is None:
        return None
    picks = [nearest_band(wavelengths_nm, target, 40.0) for target in (640.0, 550.0, 460.0)]
    if any(p is None for p in picks):
        return None
    return picks[0], picks[1], picks[2]


def band_label(index: int, wavelengths: np.ndarray | None, units: str | None) -> str:
    """A short label such as ``"band 41 · 652.3 nm"`` (``"band 41"`` without wavelengths)."""
    if wavelengths is None:
        return f"band {index}"
    unit = f" {units}" if units and units != "index" else ""
    return f"band {index} · {float(wavelengths[index]):.4g}{unit}"


def uniform_spacing(wavelengths: np.ndarray, rtol: float = 1e-3) -> float | None:
    """The band spacing if the axis is uniform to ``rtol`` (relative to the mean step), else None."""
    w = np.asarray(wavelengths, dtype=float)
    if w.size < 2:
        return None
    steps = np.diff(w)
    mean = float(steps.mean())
    if mean == 0 or not np.all(np.isfinite(steps)):
        return None
    return mean if float(np.max(np.abs(steps - mean))) <= rtol * abs(mean) else None


def step_backs(wavelengths: np.ndarray) -> np.ndarray:
    """Indices ``i`` where the axis steps against its overall direction between band ``i - 1``
    and band ``i`` (or repeats a value): where a second spectrometer's bands begin.

    The overall direction is that of most steps, so a descending axis has no step-backs.
    """
    w = np.asarray(wavelengths, dtype=float)
    steps = np.diff(w)
    direction = 1.0 if np.sum(steps > 0) >= np.sum(steps < 0) else -1.0
    return np.flatnonzero(~(steps * direction > 0)) + 1


#: A step this many times the local spacing is a gap in the spectrum (bands removed from the file).
GAP_FACTOR = 3.0
#: Steps on each side of a step that give its local spacing.
_GAP_NEIGHBOURS = 4
#: Fewer bands than this are a multispectral set: its spacing varies by design, no gap is read.
_GAP_MIN_BANDS = 30


def wide_gaps(wavelengths: np.ndarray) -> np.ndarray:
    """Indices ``i`` where the step from band ``i - 1`` to band ``i`` is well beyond the local
    spacing: more than :data:`GAP_FACTOR` times the median of the steps around it (up to four on
    each side). A cube whose water-vapour bands were cut out of the file (1354 -> 1414 nm amid
    10 nm steps) has its gaps here; spectra lines break there instead of bridging them."""
    w = np.asarray(wavelengths, dtype=float)
    if w.size < _GAP_MIN_BANDS or not np.isfinite(w).all():
        return np.array([], dtype=np.int64)
    steps = np.abs(np.diff(w))
    found = []
    for i, step in enumerate(steps):
        around = np.concatenate([steps[max(0, i - _GAP_NEIGHBOURS):i], steps[i + 1:i + 1 + _GAP_NEIGHBOURS]])
        around = around[around > 0]
        if around.size and step > GAP_FACTOR * np.median(around):
            found.append(i + 1)
    return np.array(found, dtype=np.int64)


def line_breaks(wavelengths: np.ndarray) -> np.ndarray:
    """Where a spectrum's line breaks, as sorted band indices ``i`` (between bands ``i - 1`` and
    ``i``): where the wavelengths step back (:func:`step_backs`) or jump across a gap
    (:func:`wide_gaps`)."""
    w = np.asarray(wavelengths, dtype=float)
    if w.size < 2:
        return np.array([], dtype=np.int64)
    return np.union1d(step_backs(w), wide_gaps(w)).astype(np.int64)


def wavelength_order(wavelengths: np.ndarray, units: str | None = None) -> str | None:
    """A warning about the order of the wavelengths, or None when they increase.

    >>> wavelength_order(np.array([650.0, 675.6, 664.1, 690.0]), "nm")
    'step back at band 2 (675.6 -> 664.1 nm): 2 runs, e.g. two spectrometers'
    """
    w = np.asarray(wavelengths, dtype=float)
    if w.size < 2:
        return None
    unit = f" {units}" if units and units != "index" else ""
    if not np.all(np.isfinite(w)):
        return "some wavelengths are missing (not numbers)"
    breaks = step_backs(w)
    descending = np.sum(np.diff(w) < 0) > np.sum(np.diff(w) > 0)
    if breaks.size == 0:
        return "descending (the file lists the longest wavelength first)" if descending else None
    first = int(breaks[0])
    where = f"band {first} ({w[first - 1]:.6g} -> {w[first]:.6g}{unit})"
    more = f" and {breaks.size - 1} more place{'s' if breaks.size > 2 else ''}" if breaks.size > 1 else ""
    return f"step back at {where}{more}: {breaks.size + 1} runs, e.g. two spectrometers"
