"""Savitzky-Golay smoothing and derivatives along the spectral axis.

A least-squares polynomial fitted over a window of bands and evaluated at one band (or its
derivative there) is a fixed linear combination of the window's samples. A
:class:`SavgolPlan` holds, for every band, which input bands enter and with what weights.
From it:

- :func:`savgol_spectrum` filters one spectrum;
- :func:`savgol_band` makes one smoothed or derivative band image from only the ``window``
  band images it needs (one matrix-vector product over a contiguous block of the cube);
- :func:`savgol_cube` filters the whole cube in bounded chunks of rows.

On a uniform axis with no bad bands the results equal
``scipy.signal.savgol_filter(..., mode="interp")``, edges included: interior bands use
``scipy.signal.savgol_coeffs``, and the first and last ``window // 2`` bands the polynomial
fitted to the edge window and evaluated off-centre, as scipy's ``interp`` mode does.

Two things scipy cannot do are handled the same way, with per-band weights:

- a **non-uniform** wavelength axis (most imaging spectrometers): the polynomial is fitted on the
  true wavelengths of each window, so derivatives are exact in real units;
- **bad bands**: they are left out of every fit (the window runs over good bands only) and come
  out as NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import savgol_coeffs

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.products import Compute, Product
from cubescope.wavelengths import step_backs, uniform_spacing

#: Derivative orders by name, as the pages offer them (index = order).
DERIVATIVES = ("none", "1st", "2nd", "3rd")


def longest_window(n_bands: int) -> int:
    """The longest Savitzky-Golay window offered for ``n_bands``: odd, at most the bands and at
    most 101 (a longer window smooths away every feature of a spectrum)."""
    return max(3, min(n_bands - (1 - n_bands % 2), 101))


def check_parameters(window: int, polyorder: int, deriv: int, n_bands: int) -> None:
    """Validate Savitzky-Golay settings, with messages that say what to change.

    Raises
    ------
    CubeError
        If the window is not odd, not larger than the degree, or longer than the spectrum;
        or the derivative order exceeds the degree; or any value is negative.
    """
    if polyorder < 0 or deriv < 0:
        raise CubeError("The polynomial degree and the derivative order cannot be negative.")
    if window < 1 or window % 2 == 0:
        raise CubeError(f"The window must be an odd number of bands (got {window}); try {window + 1}.")
    if window <= polyorder:
        raise CubeError(
            f"The window ({window} bands) must be larger than the polynomial degree ({polyorder}); "
            f"widen the window to at least {polyorder + 1 + (polyorder % 2 == 0)} or lower the degree."
        )
    if window > n_bands:
        raise CubeError(
            f"The window ({window} bands) is longer than the spectrum ({n_bands} usable bands); "
            "narrow the window."
        )
    if deriv > polyorder:
        raise CubeError(
            f"A derivative of order {deriv} needs a polynomial of degree {deriv} or more "
            f"(the degree is {polyorder}); raise the degree or lower the derivative."
        )


@dataclass(frozen=True)
class SavgolPlan:
    """Which bands and weights make each output band.

    Attributes
    ----------
    indices : ndarray of int, shape (bands, window)
        Input bands entering output band ``b``, increasing.
    weights : ndarray of float64, shape (bands, window)
        Their weights; output ``b`` = ``weights[b] @ values[indices[b]]``.
    valid : ndarray of bool, shape (bands,)
        False for bad bands, whose output is NaN.
    positions : ndarray of float, shape (bands,)
        Where each band lies on the fitted axis (wavelengths, or band number x spacing).
    polyorder, deriv : int
        The fit's degree and derivative order, for refitting windows that hold NaN.
    """

    indices: np.ndarray
    weights: np.ndarray
    valid: np.ndarray
    positions: np.ndarray
    polyorder: int
    deriv: int

    @property
    def window(self) -> int:
        return self.indices.shape[1]

    def contiguous(self, band: int) -> bool:
        """True when output ``band`` reads a run of consecutive input bands."""
        idx = self.indices[band]
        return bool(idx[-1] - idx[0] == len(idx) - 1)


def _local_fit_weights(x: np.ndarray, x0: float, polyorder: int, deriv: int) -> np.ndarray:
    """Weights giving the ``deriv``-th derivative at ``x0`` of the least-squares polynomial of
    degree ``polyorder`` through samples at positions ``x``.

    The polynomial is expressed in ``t = (x - centre) / half_width`` (so ``t`` spans [-1, 1])
    and solved by QR: for a 39-band window of degree 6 evaluated at its first band this is
    exact to ~1e-14, where ``savgol_coeffs(pos=0)`` is off by ~1e-7.
    """
    centre = 0.5 * (x.min() + x.max())
    half_width = 0.5 * (x.max() - x.min()) or 1.0
    t = (x - centre) / half_width
    q, r = np.linalg.qr(np.vander(t, polyorder + 1, increasing=True))
    coefficients = np.linalg.solve(r, q.T)  # (polyorder + 1, window): samples -> coefficients
    t0 = (x0 - centre) / half_width
    basis = np.array([
        math.perm(j, deriv) * t0 ** (j - deriv) if j >= deriv else 0.0 for j in range(polyorder + 1)
    ])
    return basis @ coefficients / half_width**deriv


def savgol_plan(
    n_bands: int,
    window: int,
    polyorder: int,
    deriv: int = 0,
    delta: float = 1.0,
    *,
    wavelengths: np.ndarray | None = None,
    bad_bands: np.ndarray | None = None,
) -> SavgolPlan:
    """Build the per-band weights of a Savitzky-Golay filter.

    Parameters
    ----------
    n_bands : int
        Length of the spectral axis.
    window : int
        Odd window length, in bands.
    polyorder : int
        Degree of the fitted polynomial.
    deriv : int
        Derivative order (0 = smoothing).
    delta : float
        Band spacing for derivatives on a uniform axis (e.g. nm per band); ignored when
        ``wavelengths`` is given.
    wavelengths : ndarray, shape (n_bands,), optional
        True band positions: fit each window on them (exact derivatives on a non-uniform
        axis, in units of the wavelengths).
    bad_bands : ndarray of bool, shape (n_bands,), optional
        Bands to leave out of every fit; their outputs are NaN.

    Returns
    -------
    SavgolPlan
    """
    good = np.ones(n_bands, bool) if bad_bands is None else ~np.asarray(bad_bands, bool).copy()
    usable = np.flatnonzero(good)
    check_parameters(window, polyorder, deriv, usable.size)
    if delta <= 0 or not np.isfinite(delta):
        raise CubeError(f"The band spacing must be a positive number (got {delta}).")
    segments = [usable]
    if wavelengths is not None:
        x = np.asarray(wavelengths, dtype=np.float64)
        if x.shape != (n_bands,) or not np.all(np.isfinite(x[usable])):
            raise CubeError("The wavelengths must be finite, one per band, for a fit on true wavelengths.")
        # Where the axis steps back (two spectrometers overlapping), each run is fitted on its own:
        # a window never mixes detectors, whose samples of one wavelength need not agree.
        segments = np.split(usable, step_backs(x[usable]))
    half = window // 2
    indices = np.zeros((n_bands, window), dtype=np.intp)
    weights = np.zeros((n_bands, window))
    uniform = wavelengths is None and usable.size == n_bands
    if uniform:
        centre = savgol_coeffs(window, polyorder, deriv, delta, use="dot")
        steps = np.arange(window) * delta
        edge = {p: _local_fit_weights(steps, p * delta, polyorder, deriv) for p in range(window)}
    for segment in segments:
        width = min(window, segment.size)
        if width <= polyorder:
            good[segment] = False  # a detector with too few bands for this degree: no fit
            continue
        for k, band in enumerate(segment):
            start = min(max(k - half, 0), segment.size - width)
            members = segment[start:start + width]
            # A segment shorter than the window fits all its bands; the unused slots repeat the
            # last band with weight 0.
            indices[band] = np.concatenate([members, np.repeat(members[-1:], window - width)])
            if uniform:
                weights[band] = centre if k - start == half else edge[k - start]
            else:
                positions = members * delta if wavelengths is None else x[members]
                x0 = band * delta if wavelengths is None else x[band]
                weights[band, :width] = _local_fit_weights(positions, x0, polyorder, deriv)
    if not good.any():
        raise CubeError("No run of increasing wavelengths has enough bands for this polynomial degree; "
                        "lower the degree.")
    for band in np.flatnonzero(~good):
        indices[band] = indices[np.flatnonzero(good)[0]]  # any valid rows; the output is masked
    positions = np.arange(n_bands) * delta if wavelengths is None else x
    return SavgolPlan(indices, weights, good, positions, polyorder, deriv)


def _plan_for(cube: Cube, window: int, polyorder: int, deriv: int, delta: float,
              use_wavelengths: bool) -> SavgolPlan:
    return savgol_plan(
        cube.n_bands, window, polyorder, deriv, delta,
        wavelengths=cube.wavelengths if use_wavelengths else None, bad_bands=cube.bad_bands,
    )


def savgol_spectrum(
    values: np.ndarray,
    window: int,
    polyorder: int,
    deriv: int = 0,
    delta: float = 1.0,
    *,
    wavelengths: np.ndarray | None = None,
    bad_bands: np.ndarray | None = None,
) -> np.ndarray:
    """Filter one spectrum (or the last axis of an array of spectra).

    Parameters
    ----------
    values : ndarray, shape (..., bands)
    window, polyorder, deriv, delta, wavelengths, bad_bands
        As in :func:`savgol_plan`.

    Returns
    -------
    ndarray, shape (..., bands), float64
        NaN at bad bands and at NaN samples; a NaN sample is left out of its neighbours' fits
        (their windows run over the finite samples, as over good bands).
    """
    values = np.asarray(values, dtype=np.float64)
    n_bands = values.shape[-1]
    bad = np.zeros(n_bands, bool) if bad_bands is None else np.asarray(bad_bands, bool)
    flat = values.reshape(-1, n_bands)
    out = np.full(flat.shape, np.nan)
    check_parameters(window, polyorder, deriv, n_bands - int(bad.sum()))
    # NaN samples are left out of the fit exactly as bad bands are: spectra are grouped by
    # which samples they lack, and each group gets its own plan.
    patterns, group = np.unique(np.isnan(flat), axis=0, return_inverse=True)
    for k, missing in enumerate(patterns):
        if (~(missing | bad)).sum() < window:
            continue  # too few samples left for this window: no filtered value
        plan = savgol_plan(n_bands, window, polyorder, deriv, delta, wavelengths=wavelengths, bad_bands=bad | missing)
        members = group.ravel() == k
        result = np.einsum("nbw,bw->nb", flat[members][:, plan.indices], plan.weights)
        result[:, ~plan.valid] = np.nan
        out[members] = result
    return out.reshape(values.shape)


def savgol_band(
    cube: Cube,
    band: int,
    window: int,
    polyorder: int,
    deriv: int = 0,
    delta: float = 1.0,
    *,
    use_wavelengths: bool = False,
) -> np.ndarray:
    """One smoothed or derivative band image, reading only the ``window`` bands it needs.

    Parameters
    ----------
    cube : Cube
    band : int
        The output band.
    window, polyorder, deriv, delta
        As in :func:`savgol_plan`; ``delta`` is the band spacing in wavelength units, so a
        derivative is per nm (or per µm).
    use_wavelengths : bool
        Fit on the cube's true wavelengths (exact on a non-uniform axis).

    Returns
    -------
    ndarray, shape (rows, cols)
        Floats (float32 for 8/16-bit and float32 cubes); NaN at no-data pixels, and everywhere
        for a bad band.
    """
    band = cube._check_band(band)
    plan = _plan_for(cube, window, polyorder, deriv, delta, use_wavelengths)
    return _apply_band(cube, plan, band)


def _apply_band(cube: Cube, plan: SavgolPlan, band: int) -> np.ndarray:
    dtype = cube.float_dtype
    if not plan.valid[band]:
        return np.full((cube.rows, cube.cols), np.nan, dtype)
    idx = plan.indices[band]
    if plan.contiguous(band):
        raw = cube.band_samples(idx[0], idx[-1] + 1)  # a view: a memory map stays a memory map
    else:
        raw = cube.bsq[idx]
    if raw.dtype != dtype or cube.nodata is not None or cube.is_scaled or not raw.flags.c_contiguous:
        raw = cube.plane(raw, idx)
    # One BLAS matrix-vector product over the (window, rows*cols) block: a single pass over it.
    block = raw.reshape(len(idx), -1)
    out = np.dot(plan.weights[band].astype(dtype), block)
    if np.isnan(out).any():
        _refit_around_nan(plan, band, block, out)
    return out.reshape(cube.rows, cube.cols)


def _refit_around_nan(plan: SavgolPlan, band: int, block: np.ndarray, out: np.ndarray) -> None:
    """Refit output ``band`` where its window holds NaN but the band's own sample does not:
    the polynomial is fitted to the window's finite samples only (pixels are grouped by
    which samples they lack, one fit per group). Pixels with too few left stay NaN.

    ``block`` is the window's samples ``(window, pixels)``; ``out`` is written in place.
    """
    idx = plan.indices[band]
    missing = np.isnan(block)
    own = int(np.flatnonzero(idx == band)[0])
    hit = np.flatnonzero(missing.any(axis=0) & ~missing[own])
    if hit.size == 0:
        return
    used = np.zeros(idx.size, bool)
    used[np.unique(idx, return_index=True)[1]] = True  # slots past a short segment repeat a band
    patterns, group = np.unique(missing[:, hit].T, axis=0, return_inverse=True)
    for k, lacks in enumerate(patterns):
        keep = used & ~lacks
        if keep.sum() <= plan.polyorder:
            continue
        weights = _local_fit_weights(plan.positions[idx[keep]], plan.positions[band], plan.polyorder, plan.deriv)
        pixels = hit[group.ravel() == k]
        out[pixels] = weights.astype(block.dtype) @ block[np.flatnonzero(keep)][:, pixels]


def savgol_cube(
    cube: Cube,
    window: int,
    polyorder: int,
    deriv: int = 0,
    delta: float = 1.0,
    *,
    use_wavelengths: bool = False,
    out: np.ndarray | None = None,
    max_chunk_bytes: int = 64 * 2**20,
) -> Cube:
    """The whole cube filtered along its bands, in chunks of rows.

    Peak memory beyond the output is two chunks of rows (``max_chunk_bytes`` each: the
    samples as floats and their filtered values).

    Parameters
    ----------
    cube : Cube
    window, polyorder, deriv, delta, use_wavelengths
        As in :func:`savgol_band`.
    out : ndarray, shape (bands, rows, cols), optional
        Where to write (for example a ``np.memmap`` for a cube larger than memory).

    Returns
    -------
    Cube
        Same wavelengths and metadata, samples as floats, bad bands NaN.
    """
    plan = _plan_for(cube, window, polyorder, deriv, delta, use_wavelengths)
    dtype = cube.float_dtype
    if out is None:
        out = np.empty(cube.bsq.shape, dtype)
    elif out.shape != cube.bsq.shape:
        raise CubeError(f"The output array has shape {out.shape}; it must be {cube.bsq.shape}.")
    for rows in cube.iter_row_chunks(max_chunk_bytes):
        out[:, rows] = apply_plan(plan, cube.plane(cube.bsq[:, rows]))
    suffix = f"SG w{window} p{polyorder}" + (f" d{deriv}" if deriv else "")
    return Cube(
        out, name=f"{cube.name} ({suffix})", wavelengths=cube.wavelengths,
        wavelength_units=cube.wavelength_units, fwhm=cube.fwhm, bad_bands=cube.bad_bands,
        metadata={**cube.metadata, "savitzky-golay": suffix},
    )


def apply_plan(plan: SavgolPlan, samples: np.ndarray) -> np.ndarray:
    """Filter every spectrum of a block of samples along its first (band) axis.

    Parameters
    ----------
    plan : SavgolPlan
    samples : ndarray of float, shape (bands, ...)
        Floats with no-data as NaN (for example ``cube.plane(cube.bsq[:, rows])``).

    Returns
    -------
    ndarray, shape of ``samples``, same float type; NaN at the plan's invalid (bad) bands.
    """
    bands = samples.shape[0]
    flat = samples.reshape(bands, -1)
    weights = plan.weights.astype(samples.dtype)
    out = np.empty_like(flat)
    has_nan = flat.dtype.kind == "f" and bool(np.isnan(flat).any())
    for band in range(bands):
        if not plan.valid[band]:
            out[band] = np.nan
            continue
        idx = plan.indices[band]
        source = flat[idx[0]:idx[-1] + 1] if plan.contiguous(band) else flat[idx]
        np.dot(weights[band], source, out=out[band])
        if has_nan and np.isnan(out[band]).any():
            _refit_around_nan(plan, band, source, out[band])
    return out.reshape(samples.shape)


def band_spacing(wavelengths: np.ndarray | None) -> tuple[float, bool]:
    """The band spacing to use for derivatives, and whether the axis is uniform.

    Returns ``(1.0, True)`` without wavelengths (derivatives per band); on a non-uniform axis
    the mean spacing, with False: an exact fit needs ``use_wavelengths=True``.
    """
    if wavelengths is None or len(wavelengths) < 2:
        return 1.0, True
    spacing = uniform_spacing(wavelengths)
    if spacing is not None:
        return abs(spacing), True
    return float(abs(np.mean(np.diff(wavelengths)))), False


def derivative_unit(units: str | None, deriv: int) -> str:
    """How a derivative is expressed: ``"per nm²"``, ``"per band"``; empty for deriv 0."""
    if deriv == 0:
        return ""
    power = {1: "", 2: "²", 3: "³"}.get(deriv, f"^{deriv}")
    return f"per {units or 'band'}{power}"


@dataclass(frozen=True)
class SavgolImage(Product):
    """One band of the Savitzky-Golay filtered cube: smoothed (``deriv`` 0) or a derivative in
    value per wavelength unit to the ``deriv``; see :func:`savgol_band`."""

    band: int
    window: int
    degree: int
    deriv: int = 0
    delta: float = 1.0
    exact: bool = False
    doing = "Filtering the band…"

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        return savgol_band(cube, self.band, self.window, self.degree, self.deriv, self.delta,
                           use_wavelengths=self.exact)
