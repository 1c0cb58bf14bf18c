"""Issue 16: continuum removal, SAM against 20 references and resampling on 512 x 512 x 224 float32.

Peers in the same run, Spectral Python 0.25: ``remove_continuum``, ``spectral_angles`` and
``BandResampler`` (applied to all spectra at once: its ``__call__`` is ``np.dot(matrix, x)``,
which takes a ``(bands, n)`` array). Memory is the peak traced by ``tracemalloc`` during our
call, beyond the output it returns; the goal is under a quarter of the cube.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
from spectral import BandResampler
from spectral.algorithms.algorithms import spectral_angles as spy_angles
from spectral.algorithms.continuum import remove_continuum

from benchmarks.common import check, large_cube, report, timeit
from cubescope import Cube, continuum_removed, resample_spectra, spectral_angles

ROWS, COLS, BANDS, REFERENCES = 512, 512, 224, 20


def peak_beyond_output(function) -> tuple[float, float]:
    """(peak traced bytes during ``function()`` minus its result's bytes, result bytes)."""
    tracemalloc.start()
    result = function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - result.nbytes, result.nbytes


def main() -> bool:
    bsq = large_cube(ROWS, COLS, BANDS)
    wavelengths = np.linspace(400.0, 2500.0, BANDS) ** 1.01  # non-uniform spacing
    # Absorption features of varying depth, so that hulls have work to do.
    dip = np.exp(-((wavelengths - 2200.0) / 40.0) ** 2).astype(np.float32)
    bsq -= 0.2 * dip[:, None, None] * bsq[BANDS // 2]
    cube = Cube(bsq, wavelengths=wavelengths, wavelength_units="nm")
    hwb = np.ascontiguousarray(np.moveaxis(bsq, 0, -1))  # Spectral Python's layout, built outside the timing
    quarter = bsq.nbytes / 4
    rng = np.random.default_rng(1)
    references = rng.random((REFERENCES, BANDS))
    target = np.linspace(420.0, 2450.0, 120)
    target_fwhm = np.full(120, 15.0)

    t_cr = timeit(lambda: continuum_removed(cube, wavelengths), repeat=3, warmup=1)
    t_cr_spy = timeit(lambda: remove_continuum(hwb, wavelengths), repeat=1, warmup=0)
    same = np.allclose(continuum_removed(hwb[:64], wavelengths), remove_continuum(hwb[:64], wavelengths), rtol=1e-5,
                       equal_nan=True)
    m_cr, _ = peak_beyond_output(lambda: continuum_removed(cube, wavelengths))

    t_sam = timeit(lambda: spectral_angles(cube, references), repeat=5)
    t_sam_spy = timeit(lambda: spy_angles(hwb, references), repeat=3, warmup=1)
    sam_diff = float(np.nanmax(np.abs(spectral_angles(cube, references) - spy_angles(hwb, references))))
    m_sam, _ = peak_beyond_output(lambda: spectral_angles(cube, references))

    flat = hwb.reshape(-1, BANDS)
    t_rs = timeit(lambda: resample_spectra(flat, wavelengths, target, target_fwhm), repeat=5)

    def spy_resample():
        return BandResampler(wavelengths, target, None, target_fwhm)(flat.T).T

    t_rs_spy = timeit(spy_resample, repeat=3, warmup=1)
    rs_diff = float(np.nanmax(np.abs(resample_spectra(flat[:1000], wavelengths, target, target_fwhm)
                                     - spy_resample()[:1000])))
    m_rs, _ = peak_beyond_output(lambda: resample_spectra(flat, wavelengths, target, target_fwhm))

    mb = 2.0 ** 20
    report(f"Analysis on {ROWS} x {COLS} x {BANDS} float32 (cube {bsq.nbytes / mb:.0f} MB)", [
        ("continuum_removed (cube)", t_cr, f"{t_cr_spy / t_cr:.1f}x faster than remove_continuum; same values: {same}; "
                                          f"memory beyond output {m_cr / mb:.1f} MB"),
        ("spectral Python remove_continuum", t_cr_spy, ""),
        ("spectral_angles, 20 references", t_sam, f"{t_sam_spy / t_sam:.1f}x faster than SPy's; max |diff| "
                                                  f"{sam_diff:.1e} rad; memory beyond output {m_sam / mb:.1f} MB"),
        ("spectral Python spectral_angles", t_sam_spy, ""),
        ("resample_spectra to 120 bands", t_rs, f"{t_rs_spy / t_rs:.1f}x faster than BandResampler; max |diff| "
                                                f"{rs_diff:.1e}; memory beyond output {m_rs / mb:.1f} MB"),
        ("spectral Python BandResampler", t_rs_spy, ""),
    ])
    ok = check("continuum removal speed-up", t_cr_spy / t_cr, 3.0, better="higher")
    ok &= check("SAM speed-up", t_sam_spy / t_sam, 3.0, better="higher")
    ok &= check("resampling speed-up", t_rs_spy / t_rs, 3.0, better="higher")
    for label, peak in (("continuum", m_cr), ("SAM", m_sam), ("resampling", m_rs)):
        ok &= check(f"{label} memory beyond output / quarter cube", peak / quarter, 1.0)
    return ok


if __name__ == "__main__":
    main()
