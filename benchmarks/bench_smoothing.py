"""Issue 3: one Savitzky-Golay derivative band image on a 1024 x 1024 x 224 float32 cube.

Peers in the same run: scipy.signal.savgol_filter over the whole cube then taking the band;
reading the 11 band images the window needs (the floor); a plain np.tensordot on them.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from benchmarks.common import check, large_cube, report, timeit
from cubescope import Cube
from cubescope.smoothing import savgol_band

WINDOW, POLYORDER, DERIV, BAND = 11, 3, 2, 120


def main() -> bool:
    bsq = large_cube()
    cube = Cube(bsq)
    half = WINDOW // 2
    block = bsq[BAND - half:BAND + half + 1]
    weights = scipy.signal.savgol_coeffs(WINDOW, POLYORDER, DERIV, use="dot")
    t_ours = timeit(lambda: savgol_band(cube, BAND, WINDOW, POLYORDER, DERIV), repeat=21)
    t_read = timeit(lambda: np.array(block), repeat=21)
    t_tensordot = timeit(lambda: np.tensordot(weights, block, axes=1), repeat=7)
    t_scipy = timeit(lambda: scipy.signal.savgol_filter(bsq, WINDOW, POLYORDER, DERIV, mode="interp", axis=0)[BAND],
                     repeat=3, warmup=1)
    ours = savgol_band(cube, BAND, WINDOW, POLYORDER, DERIV)
    reference = scipy.signal.savgol_filter(bsq[BAND - 10:BAND + 11], WINDOW, POLYORDER, DERIV, axis=0)[10]
    error = float(np.abs(ours - reference).max() / np.abs(reference).max())
    report("Savitzky-Golay band image (window 11, degree 3, 2nd derivative), 1024 x 1024 x 224 float32", [
        ("savgol_band", t_ours, f"max relative difference from scipy {error:.1e}"),
        ("read the 11 band images (floor)", t_read, f"savgol_band is {t_ours / t_read:.2f}x this"),
        ("np.tensordot on them", t_tensordot, f"{t_tensordot / t_ours:.1f}x savgol_band"),
        ("scipy savgol_filter on the cube, take the band", t_scipy, f"{t_scipy / t_ours:.0f}x savgol_band"),
    ])
    ok = check("speed-up over scipy on the whole cube", t_scipy / t_ours, 300, better="higher")
    ok &= check("savgol_band / reading its 11 bands", t_ours / t_read, 3.0)
    return ok


if __name__ == "__main__":
    main()
