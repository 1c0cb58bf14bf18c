"""Issue 2: band slices and the display path on a 1024 x 1024 x 224 float32 cube.

Peers: copying one contiguous 1024 x 1024 float32 image (the floor), and slicing a band out of
a band-interleaved-by-pixel array (what a naive (rows, cols, bands) layout costs).
"""

from __future__ import annotations

import tempfile

import numpy as np

from benchmarks.common import check, large_cube, report, timeit
from cubescope import Cube, display
from cubescope.store import CubeStore
from cubescope.viewport import Window, sample_step
from cubescope_ui.viewer import pack


def main() -> bool:
    bsq = large_cube()
    band = 100
    contiguous = np.ascontiguousarray(bsq[band])
    bip = np.ascontiguousarray(bsq.transpose(1, 2, 0))
    in_memory = Cube(bsq)
    with tempfile.TemporaryDirectory() as folder:
        store = CubeStore(folder)
        store.put(in_memory, "f" * 32)
        mapped = store.open("f" * 32, verify=False)
        t_copy = timeit(lambda: contiguous.copy())
        t_bip = timeit(lambda: np.ascontiguousarray(bip[:, :, band]), repeat=7)
        t_cube = timeit(lambda: in_memory.band(band))
        t_mapped = timeit(lambda: mapped.band(band))
        image = mapped.band(band)
        whole = Window(0, image.shape[0], 0, image.shape[1])
        step = sample_step(whole, 560, 560)  # the Bands page's box at a 1500-pixel window

        def display_path() -> bytes:
            tile = display.render_tile(mapped.band(band), whole, step)
            return pack(tile, *image.shape, colormap="viridis")
        t_view = timeit(display_path)
        t_stretch = timeit(lambda: display.render_tile(image, whole, step))
        report("Band slice, 1024 x 1024 x 224 float32", [
            ("copy of a contiguous image (floor)", t_copy, ""),
            ("slice from a BIP array (naive layout)", t_bip, f"{t_bip / t_copy:.1f}x the floor"),
            ("Cube.band, in memory", t_cube, f"{t_cube / t_copy:.2f}x the floor"),
            ("Cube.band, memory-mapped store copy", t_mapped, f"{t_mapped / t_copy:.2f}x the floor"),
            ("display path: band + stretch + window + colour + viewer payload", t_view, ""),
            ("  of which stretch + window + colour", t_stretch, ""),
        ])
        ok = check("Cube.band / contiguous copy (memory-mapped)", t_mapped / t_copy, 2.0)
        ok &= check("display path, ms", t_view * 1e3, 40.0)
    return ok


if __name__ == "__main__":
    main()
