"""Opening a large interleaved cube the way the README shows it: ``load_cube(path)``, default call.

A 4 GiB int16 ENVI BIL cube (8192 lines x 1024 samples x 256 bands) is opened and its first
band read, each way in a fresh process whose private memory (``RssAnon``) is sampled every
10 ms while it runs. Peers in the same run: Spectral Python's ``open_image`` + ``read_band``
(memory-mapped), and our old default, an in-memory reorder (``lazy=False``).

Goal (issue "real files never break a page or mislead"): peak private memory at most a quarter
of the cube, load + first band under 5 s.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import check

ROWS, COLS, BANDS = 8192, 1024, 256

_PROBE = """
import json, sys, threading, time
from benchmarks.bench_scale import AnonymousPeak
path, how = sys.argv[1], sys.argv[2]
import numpy, spectral, cubescope  # imports are not part of the load
with AnonymousPeak() as peak:
    base = peak.peak
    time.sleep(0.05)
    base = peak.peak
    start = time.perf_counter()
    if how == "spectral":
        image = spectral.open_image(path)
        band = image.read_band(0)
    else:
        cube = cubescope.load_cube(path) if how == "default" else cubescope.load_cube(path, lazy=False)
        band = cube.band(0)
    seconds = time.perf_counter() - start
    time.sleep(0.05)
print(json.dumps({"seconds": seconds, "peak": peak.peak - base, "checksum": float(numpy.nansum(band))}))
"""


def write_cube(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    spectra = (np.cumsum(rng.normal(size=(4, BANDS)), axis=1) * 100 + 3000).astype(np.float32)
    with open(folder / "flight_bil", "wb") as handle:
        for _ in range(0, ROWS, 256):
            abundances = rng.random((256, COLS, 4), dtype=np.float32)
            block = (abundances @ spectra / 2).astype(np.int16)
            handle.write(np.ascontiguousarray(block.transpose(0, 2, 1)).tobytes())  # (line, band, sample)
    (folder / "flight_bil.hdr").write_text(
        f"ENVI\nsamples = {COLS}\nlines = {ROWS}\nbands = {BANDS}\nheader offset = 0\ndata type = 2\n"
        "interleave = bil\nbyte order = 0\nreflectance scale factor = 10000\n"
    )
    return folder / "flight_bil.hdr"


def probe(path: Path, how: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _PROBE, str(path), how], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=600)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> bool:
    gib = 2**30
    with tempfile.TemporaryDirectory(dir=Path.home()) as folder:
        header = write_cube(Path(folder))
        size = ROWS * COLS * BANDS * 2
        print(f"\n## load_cube on a {size / gib:.1f} GiB int16 BIL cube (default call), load + first band")
        results = {how: probe(header, how) for how in ("default", "spectral", "in-memory")}
    for how, result in results.items():
        if "error" in result:
            print(f"  {how:<10} failed: {result['error']}")
        else:
            print(f"  {how:<10} {result['seconds']:6.2f} s   peak private {result['peak'] / gib:5.2f} GiB "
                  f"({result['peak'] / size:.2f}x the cube)")
    ours = results["default"]
    ok = check("load + first band (s)", ours["seconds"], 5.0)
    ok &= check("peak private memory / cube size", ours["peak"] / size, 0.25)
    if "error" not in results["spectral"]:
        print(f"  time vs Spectral Python: {ours['seconds'] / results['spectral']['seconds']:.2f}x")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
