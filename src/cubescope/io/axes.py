"""Which axis of a bare 3D array holds the bands."""

from __future__ import annotations

from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.io.limits import DEFAULT_LIMITS, Limits, check_cube_shape


def guess_band_axis(
    shape: tuple[int, ...], n_wavelengths: int | None = None, default: int = 2
) -> tuple[int, str]:
    """Guess the spectral axis of a 3D array.

    Parameters
    ----------
    shape : tuple of 3 ints
        The array's shape.
    n_wavelengths : int, optional
        Length of a wavelength list found beside the array.
    default : int
        The format's convention (2 for ``(rows, cols, bands)``, 0 for band-first).

    Returns
    -------
    axis : int
        0, 1 or 2.
    reason : str
        Why, in words a page can show next to the override control.

    Notes
    -----
    In order: the one axis whose length equals the wavelength count; else an axis at least 4
    times shorter than each of the two others (15 x 100 x 120 is band-first, as channels-first
    arrays from deep-learning code are); else the odd one out when the two other axes are equal
    (square scenes, 145 x 145 x 224); else ``default``.
    """
    if len(shape) != 3:
        raise CubeError(f"A cube needs three axes; this array has shape {tuple(shape)}.")
    if n_wavelengths:
        matches = [i for i, n in enumerate(shape) if n == n_wavelengths]
        if len(matches) == 1:
            return matches[0], f"axis {matches[0]} has one entry per listed wavelength"
    a, b, c = shape
    shortest = int(np.argmin(shape))
    others = [n for i, n in enumerate(shape) if i != shortest]
    if min(others) >= 4 * shape[shortest]:
        return shortest, "it is much shorter than the two others (images are wider than they have bands)"
    if a == b != c:
        return 2, "the two other axes have equal length (a square image)"
    if b == c != a:
        return 0, "the two other axes have equal length (a square image)"
    if a == c != b:
        return 1, "the two other axes have equal length (a square image)"
    return default % 3, "the file format's usual layout"


def cube_from_bare_array(
    array: Any,
    *,
    name: str,
    band_axis: int | None,
    default_axis: int,
    wavelengths: Any = None,
    wavelength_units: str | None = None,
    metadata: dict[str, Any] | None = None,
    nodata: float | None = None,
    lazy: bool | None = None,
    limits: Limits | None = None,
) -> Cube:
    """A cube from a 3D array whose layout a file did not state.

    ``band_axis`` given by the user wins; otherwise :func:`guess_band_axis` decides, and
    the guess and its reason are kept in ``metadata`` so a page can show them.
    """
    shape = tuple(array.shape)
    if len(shape) != 3:
        if len(shape) == 2:
            raise CubeError(
                f"This array is a single {shape[0]} x {shape[1]} image, not a cube: a cube needs "
                "a third (band) axis."
            )
        raise CubeError(f"A cube needs three axes (rows, columns, bands); this array has shape {shape}.")
    n_wl = None if wavelengths is None else int(np.size(wavelengths))
    if band_axis is None:
        axis, reason = guess_band_axis(shape, n_wl, default_axis)
    else:
        if band_axis not in (0, 1, 2, -1, -2, -3):
            raise CubeError(f"The band axis must be 0, 1 or 2, not {band_axis}.")
        axis, reason = band_axis % 3, "chosen by the user"
    # Limits hold for the layout finally chosen: a (100000, 1, 1) array is 100000 bands, not 1.
    bands = shape[axis]
    rows, cols = (n for i, n in enumerate(shape) if i != axis)
    check_cube_shape(rows, cols, bands, limits or DEFAULT_LIMITS, f"'{name}' read with bands on axis {axis}")
    if wavelengths is not None and n_wl != shape[axis]:
        wavelengths, wavelength_units = None, None
    info = dict(metadata or {})
    info["band axis"] = f"{axis} of shape {shape} ({reason})"
    info["band axis index"] = axis  # lets the store lay the same samples out again (CubeStore.relayout)
    return Cube.from_array(
        array,
        wavelengths,
        band_axis=axis,
        name=name,
        wavelength_units=wavelength_units,
        metadata=info,
        nodata=nodata,
        copy=None if lazy is None else not lazy,
    )
