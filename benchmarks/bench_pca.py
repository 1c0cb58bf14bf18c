"""Issue 4: PCA fit + transform to 5 components, against scikit-learn and Spectral Python.

Cubes: 2500 x 2500 x 15 and 1024 x 1024 x 224 float32. Each method's time (best of three, untraced)
and its peak memory beyond the cube (tracemalloc sees numpy's allocations; a separate run, which
is also the warm-up) are measured in the same run.
"""

from __future__ import annotations

import gc
import time
import tracemalloc

import numpy as np
import spectral
from sklearn.decomposition import PCA

from benchmarks.common import check, report
from cubescope import Cube
from cubescope.pca import fit_pca

K = 5


def synthetic(rows: int, cols: int, bands: int, seed: int = 0) -> np.ndarray:
    """(bands, rows, cols) float32: a few smooth endmember spectra mixed, plus noise."""
    rng = np.random.default_rng(seed)
    spectra = np.cumsum(rng.normal(size=(6, bands)), axis=1).astype(np.float32)
    abundances = rng.random((6, rows, cols), dtype=np.float32)
    out = np.empty((bands, rows, cols), np.float32)
    for b in range(bands):
        out[b] = np.tensordot(spectra[:, b], abundances, axes=1)
        out[b] += rng.normal(0, 0.01, (rows, cols)).astype(np.float32)
    return out


def seconds(function) -> float:
    gc.collect()
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def peak_memory(function) -> float:
    """Peak bytes allocated beyond what existed before, in a separate run: tracing every
    allocation slows code that allocates often, so times are taken without it."""
    gc.collect()
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def run(rows: int, cols: int, bands: int, peers: bool = True) -> dict[str, tuple[float, float]]:
    bsq = synthetic(rows, cols, bands)
    cube = Cube(bsq)
    pixels = bsq.reshape(bands, -1).T  # (n, bands) view, as scikit-learn wants samples in rows
    hwb = np.moveaxis(bsq, 0, 2)  # (rows, cols, bands) view for spectral
    cube_bytes = bsq.nbytes
    methods = {
        "cubescope fit_pca + transform": lambda: (lambda r: r.transform(cube))(fit_pca(cube, K)),
        "one read of the cube (sum)": lambda: bsq.sum(dtype=np.float64),
    }
    if peers:
        for solver in ("covariance_eigh", "full", "randomized"):
            methods[f"sklearn PCA({solver})"] = (
                lambda s=solver: PCA(K, svd_solver=s, random_state=0).fit_transform(pixels))
        methods["spectral.principal_components"] = (
            lambda: spectral.principal_components(hwb).reduce(num=K).transform(hwb))
    results = {}
    for name, function in methods.items():
        memory = peak_memory(function)  # also the warm-up (page cache, BLAS threads)
        results[name] = (min(seconds(function) for _ in range(3 if "full" not in name else 1)), memory)
    output_bytes = rows * cols * K * 4
    ours_t, ours_mem = results["cubescope fit_pca + transform"]
    report(f"PCA to {K} components, {rows} x {cols} x {bands} float32 ({cube_bytes / 1e6:.0f} MB)", [
        (name, t, f"{t / ours_t:5.1f}x ours, peak extra memory {mem / cube_bytes:.2f}x the cube")
        for name, (t, mem) in results.items()
    ])
    print(f"  cubescope memory beyond cube and output: {(ours_mem - output_bytes) / cube_bytes:.2f}x the cube")
    return results


def main() -> bool:
    big = run(2500, 2500, 15)
    ours_t, ours_mem = big["cubescope fit_pca + transform"]
    ok = check("fit + transform seconds, 2500 x 2500 x 15", ours_t, 0.25)
    ok &= check("covariance_eigh time / ours", big["sklearn PCA(covariance_eigh)"][0] / ours_t, 1.8, "higher")
    ok &= check("sklearn full time / ours", big["sklearn PCA(full)"][0] / ours_t, 6.0, "higher")
    ok &= check("memory beyond cube and output / cube", (ours_mem - 2500 * 2500 * K * 4) / (2500 * 2500 * 15 * 4), 0.3)
    run(1024, 1024, 224)
    return ok


if __name__ == "__main__":
    main()
