"""Issue 9: a cube twice the size of the memory the process may use.

An ENVI file, band-interleaved by line (the layout that forces a reordering), of
2048 x 1024 x 256 float32 (2 GiB) is converted into the store, opened and explored by a
process whose private memory is limited to 1 GiB (``RLIMIT_DATA``: heap and anonymous maps;
memory-mapped files are the page cache's, not the process's, and are reclaimed under
pressure). The conversion's child process inherits the limit. The peers, in the same limited
process: Spectral Python's ``load()`` and Cubescope's own in-memory reordering
(``load_cube(lazy=False)``), both of which need the whole cube in memory.

Sizes from ``BENCH_SCALE_LIMIT_MB`` (default 1024; the cube is twice that).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.common import check

BANDS, COLS = 256, 1024


def write_bil(folder: Path, rows: int) -> Path:
    """A smooth synthetic scene as an ENVI BIL pair, written a block of lines at a time."""
    rng = np.random.default_rng(0)
    spectra = np.cumsum(rng.normal(size=(5, BANDS)), axis=1).astype(np.float32)
    data = folder / "flight.bil"
    with open(data, "wb") as handle:
        for start in range(0, rows, 64):
            n = min(64, rows - start)
            abundances = rng.random((n, COLS, 5), dtype=np.float32)
            block = abundances @ spectra + rng.normal(0, 0.01, (n, COLS, BANDS)).astype(np.float32)
            handle.write(np.ascontiguousarray(block.transpose(0, 2, 1)).tobytes())  # (line, band, sample)
    wavelengths = ", ".join(f"{v:.2f}" for v in np.linspace(400, 2500, BANDS))
    (folder / "flight.hdr").write_text(
        "ENVI\n"
        f"samples = {COLS}\nlines = {rows}\nbands = {BANDS}\nheader offset = 0\n"
        "data type = 4\ninterleave = bil\nbyte order = 0\n"
        f"wavelength units = Nanometers\nwavelength = {{{wavelengths}}}\n"
    )
    return folder / "flight.hdr"


class AnonymousPeak:
    """Peak of this process's private resident memory (``RssAnon``), sampled every 10 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("RssAnon:"):
                        self.peak = max(self.peak, int(line.split()[1]) * 1024)
            time.sleep(0.01)

    def __enter__(self) -> AnonymousPeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def limited(folder: Path, limit: int) -> dict:
    """Everything a user does, in this (limited) process; returns times and memory."""
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    import spectral

    from cubescope import export, load_cube
    from cubescope.display import render_tile
    from cubescope.pca import fit_pca
    from cubescope.smoothing import savgol_cube
    from cubescope.store import CubeStore
    from cubescope.viewport import Window

    header = folder / "flight.hdr"
    results: dict = {"limit": limit}
    for name, attempt in (("spectral load()", lambda: spectral.open_image(str(header)).load()),
                          ("load_cube(lazy=False)", lambda: load_cube(header, lazy=False)),
                          ("load_cube() default", lambda: load_cube(header).band(0))):
        start = time.perf_counter()
        try:
            attempt()
            results[name] = f"loaded in {time.perf_counter() - start:.1f} s"
        except Exception as exc:  # the peer's failure (MemoryError or a message) is the result
            results[name] = f"failed: {type(exc).__name__}"
    store = CubeStore(folder / "store", max_bytes=1 << 40)
    steps = {}
    with AnonymousPeak() as peak:
        start = time.perf_counter()
        cube_id = store.put_path(header, "f" * 32)
        steps["convert into the store (child process)"] = time.perf_counter() - start
        start = time.perf_counter()
        cube = store.open(cube_id)
        steps["open (bands are checked when first read)"] = time.perf_counter() - start
        start = time.perf_counter()
        view = render_tile(cube.band(cube.n_bands // 2), Window(0, cube.rows, 0, cube.cols), 4)
        steps["band view (check, read, stretch, colour)"] = time.perf_counter() - start
        start = time.perf_counter()
        spectrum = cube.spectrum(cube.rows - 7, 13)
        steps["spectrum (checks every other band first)"] = time.perf_counter() - start
        start = time.perf_counter()
        result = fit_pca(cube, 5)
        steps["PCA fit, 5 components"] = time.perf_counter() - start
        start = time.perf_counter()
        scores = result.transform(cube)
        steps["PCA transform"] = time.perf_counter() - start
        start = time.perf_counter()
        export.to_tiff(np.ascontiguousarray(scores[:, :, 0]), metadata={"product": "PC1"})
        steps["export PC1 as float TIFF"] = time.perf_counter() - start
        start = time.perf_counter()
        out = np.lib.format.open_memmap(folder / "smoothed.npy", mode="w+", dtype=np.float32, shape=cube.bsq.shape)
        savgol_cube(cube, 11, 2, out=out)
        out.flush()
        steps["export the whole smoothed cube (SG w11 p2) to .npy"] = time.perf_counter() - start
    results["steps"] = steps
    results["peak_anonymous"] = peak.peak
    results["peak_rss_self"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    results["cube_bytes"] = cube.nbytes
    results["checks"] = [bool(view.pixels.size), bool(np.isfinite(spectrum).all()),
                         float(result.cumulative_variance_ratio_[-1])]
    return results


def main() -> bool:
    limit = int(os.environ.get("BENCH_SCALE_LIMIT_MB", 1024)) * 2**20
    rows = 2 * limit // (BANDS * COLS * 4)
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_SCALE_DIR")) as folder:
        write_bil(Path(folder), rows)
        process = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_scale", "--limited", folder, str(limit)],
            capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1],
        )
        if process.returncode != 0:
            print(process.stdout, process.stderr)
            return False
        results = json.loads(process.stdout.strip().splitlines()[-1])
    gib = 2**30
    print(f"\n## A {results['cube_bytes'] / gib:.1f} GiB cube ({rows} x {COLS} x {BANDS} float32, ENVI BIL) "
          f"in a process limited to {limit / gib:.1f} GiB of private memory")
    for name in ("spectral load()", "load_cube(lazy=False)", "load_cube() default"):
        print(f"  peer {name:<58} {results[name]}")
    for name, seconds in results["steps"].items():
        print(f"  {name:<63} {seconds:8.2f} s")
    print(f"  peak private (anonymous) memory of this process: {results['peak_anonymous'] / gib:.2f} GiB; "
          f"peak resident including mapped file pages (page cache, reclaimable): "
          f"{results['peak_rss_self'] / gib:.2f} GiB")
    ok = check("peak private memory / limit", results["peak_anonymous"] / limit, 1.0)
    ok &= check("cube / limit", results["cube_bytes"] / limit, 2.0, better="higher")
    return ok


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--limited":
        print(json.dumps(limited(Path(sys.argv[2]), int(sys.argv[3]))))
    else:
        main()
