"""Issue 17: MNF fit + transform on 512 x 512 x 224 float32 against Spectral Python, and
unmixing 512 x 512 pixels against 5 endmembers against scipy's ``nnls`` per pixel.

Peers in the same run: ``spectral.calc_stats`` + ``noise_from_diffs(direction="right")`` +
``spectral.mnf`` + ``reduce``; ``scipy.optimize.nnls`` called per pixel (timed on 20,000
pixels and scaled: the full loop takes minutes).
"""

from __future__ import annotations

import time

import numpy as np
import spectral
from scipy.optimize import nnls

from benchmarks.common import check, large_cube, report, timeit
from cubescope import Cube
from cubescope.mnf import mnf
from cubescope.unmixing import unmix

ROWS, COLS, BANDS, K, ENDMEMBERS = 512, 512, 224, 10, 5


def main() -> bool:
    bsq = large_cube(ROWS, COLS, BANDS)
    cube = Cube(bsq)
    hwb = np.ascontiguousarray(np.moveaxis(bsq, 0, -1))

    def ours():
        result = mnf(cube, K)
        return result.transform(cube)

    def theirs():
        signal = spectral.calc_stats(hwb)
        noise = spectral.noise_from_diffs(hwb, direction="right")
        return spectral.mnf(signal, noise).reduce(hwb, num=K)

    t_ours = timeit(ours, repeat=3, warmup=1)
    t_spy = timeit(theirs, repeat=1, warmup=0)
    part = hwb[:128]
    reference = spectral.mnf(spectral.calc_stats(part), spectral.noise_from_diffs(part, direction="right"))
    same = bool(np.allclose(mnf(Cube.from_array(part), K).all_eigenvalues_, reference.napc.eigenvalues, rtol=1e-6))
    rng = np.random.default_rng(2)
    ends = rng.random((ENDMEMBERS, BANDS)).astype(np.float64)
    t_unmix = timeit(lambda: unmix(cube, ends), repeat=3, warmup=1)
    t_fcls = timeit(lambda: unmix(cube, ends, sum_to_one=True), repeat=3, warmup=1)
    flat = hwb.reshape(-1, BANDS)
    sample = flat[:: flat.shape[0] // 20000][:20000].astype(np.float64)
    start = time.perf_counter()
    for x in sample:
        nnls(ends.T, x)
    t_nnls = (time.perf_counter() - start) * flat.shape[0] / len(sample)
    report(f"MNF and unmixing on {ROWS} x {COLS} x {BANDS} float32", [
        (f"mnf fit + transform, k = {K}", t_ours, f"{t_spy / t_ours:.1f}x faster than Spectral Python; "
                                                  f"same eigenvalues: {same}"),
        ("Spectral Python calc_stats + noise_from_diffs + mnf + reduce", t_spy, ""),
        (f"unmix, {ENDMEMBERS} endmembers, non-negative", t_unmix,
         f"{t_nnls / t_unmix:.1f}x faster than nnls per pixel"),
        (f"unmix, {ENDMEMBERS} endmembers, sum to one", t_fcls, ""),
        ("scipy nnls per pixel (scaled from 20,000)", t_nnls, ""),
    ])
    ok = check("MNF speed-up over Spectral Python", t_spy / t_ours, 3.0, better="higher")
    ok &= check("unmixing 512 x 512 x 5 endmembers (s)", t_unmix, 10.0)
    return ok and same


if __name__ == "__main__":
    main()
