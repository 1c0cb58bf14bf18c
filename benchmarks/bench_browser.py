"""Issue 7: latency in a real browser on a 1024 x 1024 x 224 float32 cube.

From pressing the band slider's arrow key to the new band image being painted, and from a
pixel click to its spectrum being drawn: median and 90th percentile over 30 of each.
Needs Debian's chromium; starts its own server on a temporary store. Run it by name:
``python -m benchmarks.run browser`` (``BENCH_MOVES=n`` for fewer moves).

Each move shows a band not seen before (the run starts at the first band), so no move is
served from the display cache; each click pins a new pixel.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import check, large_cube
from cubescope import Cube
from cubescope.store import CubeStore
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, running_app
from tests.e2e.helpers import band_image, wait_ready

MOVES = int(os.environ.get("BENCH_MOVES", 30))
# Polled on every animation frame, so the time returned is that of the first frame that shows
# the change; bounded by Playwright's timeout rather than waiting forever.
PAINTED = """([before]) => {
    const frame = document.querySelector('.st-key-image iframe');
    const img = frame && frame.contentDocument && frame.contentDocument.querySelector('img#image');
    return img && img.src !== before && img.complete && img.naturalWidth > 0 && performance.now();
}"""
SPECTRUM_DRAWN = """([count]) => {
    const gd = document.querySelector('.st-key-spectra .js-plotly-plot');
    return gd && gd._fullData && gd._fullData.length > count && performance.now();
}"""
TRACE_COUNT = """() => { const gd = document.querySelector('.st-key-spectra .js-plotly-plot');
    return gd && gd._fullData ? gd._fullData.length : 0; }"""
IMAGE_SOURCE = "() => document.querySelector('.st-key-image iframe').contentDocument.querySelector('img').src"


def until(page, script: str, argument) -> float:
    """``performance.now()`` of the first animation frame at which ``script`` holds."""
    return page.wait_for_function(script, arg=argument, polling="raf", timeout=30_000).json_value()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main(shape: tuple[int, int, int] = (1024, 1024, 224)) -> bool:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        store = CubeStore(Path(folder) / "store")
        cube_id = "c" * 32
        store.put(Cube(large_cube(*shape)), cube_id)
        with running_app(Path(folder) / "store", Path(folder) / "app.log") as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.set_default_timeout(120_000)
            page.goto(f"{url}/?cube={cube_id}")
            wait_ready(page)
            band_image(page)
            slider = page.locator(".st-key-band input[type='range']")
            # Start from the first band so that every move shows a band not yet seen (not cached).
            slider.focus()
            slider.press("Home")
            wait_ready(page)
            band_image(page)
            band_times = []
            for k in range(MOVES):
                before = page.evaluate(IMAGE_SOURCE)
                slider.focus()
                start = page.evaluate("() => performance.now()")
                slider.press("ArrowRight")
                band_times.append(until(page, PAINTED, [before]) - start)
                print(f"  band move {k + 1}: {band_times[-1]:.0f} ms", file=sys.stderr, flush=True)
                wait_ready(page)
            click_times = []
            image = band_image(page)
            box = image.bounding_box()
            rng = np.random.default_rng(0)
            for k in range(MOVES):
                if k % 8 == 0 and k:
                    page.locator(".st-key-clear_pins button").click()
                    wait_ready(page)
                    page.wait_for_function(f"() => ({TRACE_COUNT})() === 0")
                    image = band_image(page)
                count = page.evaluate(TRACE_COUNT)
                x, y = rng.random(2) * [box["width"] - 2, box["height"] - 2] + 1
                start = page.evaluate("() => performance.now()")
                image.click(position={"x": float(x), "y": float(y)})
                click_times.append(until(page, SPECTRUM_DRAWN, [count]) - start)
                print(f"  click {k + 1}: {click_times[-1]:.0f} ms", file=sys.stderr, flush=True)
                wait_ready(page)
                image = band_image(page)
            browser.close()
    print(f"\n## Browser latency, {shape[0]} x {shape[1]} x {shape[2]} float32 (ms), {MOVES} of each")
    for name, times in (("band move -> image painted", band_times), ("pixel click -> spectrum drawn", click_times)):
        print(f"  {name:<32} median {statistics.median(times):7.1f}   p90 {percentile(times, 90):7.1f}"
              f"   min {min(times):6.1f}   max {max(times):7.1f}")
    ok = check("band move median ms", statistics.median(band_times), 300)
    ok &= check("band move p90 ms", percentile(band_times, 90), 500)
    ok &= check("click median ms", statistics.median(click_times), 300)
    ok &= check("click p90 ms", percentile(click_times, 90), 500)
    return ok


if __name__ == "__main__":
    main()
