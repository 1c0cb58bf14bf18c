"""Issues 14 and 30: latency in a real browser on a 1024 x 1024 x 224 float32 cube, the viewer
against the same viewer without the preview (``BENCH_PREVIEW_PEER``) and against the first one
(streamlit-image-coordinates, the whole page rerun), in the same run.

Measured from the key press or click to the first animation frame that shows the result:
- band move: the slider's arrow key -> the new band image painted (the viewer is sent the
  neighbouring bands ahead, after each run, and paints them at once);
- band jump: Page Up (a tenth of the bands) -> the band painted (first paint: from the preview
  when there is one) and -> its exact image painted (a whole round trip; the previous viewer's
  band move is this too);
- pixel click -> its spectrum drawn in the chart (first paint: from the preview) and -> the
  exact spectrum drawn;
- zoom step (the viewer's + and - buttons) -> the new window painted sharp (the previous
  viewer had no zoom).
Median and 90th percentile over ``BENCH_MOVES`` (30) of each. Each band move shows a band not
seen before, so the server serves it from no cache; zooms go in, in, out, out, then to the next
band, so the zooms in show windows not seen before and the zooms out return to windows of that
band already sent (served from the tile cache, as they are for a user).

The previous viewer is the app at ``BENCH_PEER_REV`` (default: the last commit before the
viewer, 1e43a22), checked out with ``git worktree`` into a temporary folder and run on the same
store; it needs the ``streamlit-image-coordinates`` package, and is skipped (with a note) when
that or git is missing. Needs Debian's chromium. Run it by name: ``python -m benchmarks.run browser``.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.common import check, git_worktree, large_cube
from cubescope import Cube
from cubescope.store import CubeStore
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, running_app
from tests.e2e.helpers import band_image, pixel_centre, viewer_state, wait_ready, wait_viewer

MOVES = int(os.environ.get("BENCH_MOVES", 30))
PEER_REV = os.environ.get("BENCH_PEER_REV", "1e43a22")
#: The app before the preview (issue 30): the same viewer, each jump and click a round trip.
PREVIEW_PEER = os.environ.get("BENCH_PREVIEW_PEER", "c34d899")

# Spectra drawn: by the spectra chart (the number its canvas says it painted), or by the previous
# viewer's plotly chart; 0 before either shows.
TRACE_COUNT = """() => { const chart = (window.__cubescopeCharts || {}).spectra;
    if (chart && chart.canvas.isConnected) return Number(chart.canvas.dataset.drawn);
    const gd = document.querySelector('.st-key-spectra .js-plotly-plot');
    return gd && gd._fullData ? gd._fullData.length : 0; }"""
SPECTRUM_DRAWN = f"""([count]) => ({TRACE_COUNT})() > count && performance.now()"""
# Spectra the server sent (the exact ones; a preview is drawn beside them until they come).
EXACT_COUNT = """() => { const chart = (window.__cubescopeCharts || {}).spectra;
    return chart && chart.canvas.isConnected ? chart.spec.traces.length : 0; }"""
EXACT_DRAWN = f"""([count]) => ({EXACT_COUNT})() > count && performance.now()"""
# The previous viewer: an <img> in a component iframe.
OLD_IMAGE = "() => document.querySelector('.st-key-image iframe').contentDocument.querySelector('img').src"
OLD_PAINTED = """([before]) => {
    const frame = document.querySelector('.st-key-image iframe');
    const img = frame && frame.contentDocument && frame.contentDocument.querySelector('img#image');
    return img && img.src !== before && img.complete && img.naturalWidth > 0 && performance.now();
}"""


def until(page, script: str, argument) -> float:
    """``performance.now()`` of the first animation frame at which ``script`` holds."""
    return page.wait_for_function(script, arg=argument, polling="raf", timeout=30_000).json_value()


def now(page) -> float:
    return page.evaluate("() => performance.now()")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def band_moves(page, new: bool) -> list[float]:
    slider = page.locator(".st-key-band input[type='range']")
    slider.focus()
    slider.press("Home")  # from the first band, every move shows a band not yet seen
    wait_ready(page)
    times = []
    for k in range(MOVES):
        if new:
            wait_viewer(page, "d.tile.startsWith(arg)", arg=f"band-{k}-")
        before = None if new else page.evaluate(OLD_IMAGE)
        slider.focus()
        start = now(page)
        slider.press("ArrowRight")
        if new:
            times.append(wait_viewer(page, "d.tile.startsWith(arg)", arg=f"band-{k + 1}-") - start)
        else:
            times.append(until(page, OLD_PAINTED, [before]) - start)
        settle(page)
    return times


def band_jumps(page) -> tuple[list[float], list[float]]:
    """Page Up (a tenth of the bands at once), back to the first band at the end: bands the
    browser was not sent ahead. Returns the times to the first paint (the preview, when there
    is one) and to the exact image."""
    slider = page.locator(".st-key-band input[type='range']")
    first, exact = [], []
    last = int(slider.get_attribute("max"))
    for _ in range(MOVES):
        band = int(slider.input_value())
        slider.focus()
        start = now(page)
        slider.press("PageUp" if band + 30 < last else "Home")
        first.append(wait_viewer(page, "!d.tile.startsWith(arg)", arg=f"band-{band}-") - start)
        exact.append(wait_viewer(page, "d.tile.startsWith('band-') && !d.tile.startsWith(arg)",
                                 arg=f"band-{band}-") - start)
        settle(page)
    return first, exact


def settle(page) -> None:
    """Wait until the page is idle, follow-up runs included (as a user who looks at the result)."""
    for _ in range(2):
        page.wait_for_timeout(150)
        wait_ready(page)


def clicks(page, new: bool) -> tuple[list[float], list[float]]:
    """Clicks on random pixels: the times to the first spectrum drawn (the preview's, when there
    is one) and to the exact spectrum drawn (the same, for the previous viewer)."""
    rng = np.random.default_rng(0)
    first, exact = [], []
    for k in range(MOVES):
        if k % 8 == 0 and k:
            page.locator(".st-key-clear_pins button").click()
            page.wait_for_function(f"() => ({TRACE_COUNT})() === 0")
            wait_ready(page)
        # The mouse is clicked at page coordinates: a locator's click first checks and scrolls,
        # which would be counted.
        if new:
            image = band_image(page)
            image.scroll_into_view_if_needed()
            box = image.bounding_box()
            # Rows drawn below Streamlit's header (which covers the top of a scrolled page) and
            # above the window's bottom.
            header = page.locator("[data-testid='stHeader']").bounding_box()
            top = max(0.0, (header["y"] + header["height"] + 2 - box["y"]) / box["height"]) if header else 0.0
            bottom = min(1.0, (page.viewport_size["height"] - box["y"] - 2) / box["height"])
            row = int(rng.integers(int(1024 * top) + 1, int(1024 * bottom)))
            x, y = pixel_centre(page, row, int(rng.integers(0, 1024)))
        else:
            image = page.frame_locator(".st-key-image iframe").locator("img#image")
            image.scroll_into_view_if_needed()
            box = image.bounding_box()  # in the page's coordinates
            visible = min(box["height"], page.viewport_size["height"] - box["y"])
            x, y = rng.random(2) * [box["width"] - 2, visible - 2] + 1
        count = page.evaluate(TRACE_COUNT)
        sent = page.evaluate(EXACT_COUNT)
        start = now(page)
        page.mouse.click(box["x"] + float(x), box["y"] + float(y))
        first.append(until(page, SPECTRUM_DRAWN, [count]) - start)
        exact.append(until(page, EXACT_DRAWN, [sent]) - start if new else first[-1])
        settle(page)
    return first, exact


def zoom_steps(page) -> list[float]:
    """In, in, out, out, then the next band (the zooms out return to windows already sent)."""
    slider = page.locator(".st-key-band input[type='range']")
    times = []
    for k in range(MOVES):
        before = viewer_state(page)["window"]
        button = page.locator(f".st-key-image button[data-act='{'in' if k % 4 < 2 else 'out'}']")
        start = now(page)
        button.click()
        times.append(wait_viewer(page, "d.sharp === 'true' && d.window !== arg", arg=before) - start)
        settle(page)
        if k % 4 == 3:
            slider.focus()
            slider.press("ArrowRight")
            settle(page)
    return times


def measure(url: str, cube_id: str, new: bool) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.on("pageerror", lambda error: print(f"  page error: {error}"))
        page.set_default_timeout(120_000)
        page.goto(f"{url}/?cube={cube_id}")
        wait_ready(page)
        if new:
            band_image(page)
        results = {"band move -> image painted": band_moves(page, new)}
        results["click -> first spectrum drawn"], results["click -> exact spectrum drawn"] = clicks(page, new)
        if new:
            results["jump -> first paint"], results["jump -> exact image"] = band_jumps(page)
            results["zoom step -> sharp image"] = zoom_steps(page)
        browser.close()
    return results


@contextlib.contextmanager
def previous_app(folder: Path):
    """The app at :data:`PEER_REV` in a git worktree, or None when it cannot be run here."""
    try:
        import streamlit_image_coordinates  # noqa: F401
    except ImportError:
        print("  (previous viewer skipped: streamlit-image-coordinates is not installed)")
        yield None
        return
    with git_worktree(folder, PEER_REV) as tree:
        yield tree


def report(name: str, results: dict[str, list[float]]) -> None:
    print(f"  {name}")
    for move, times in results.items():
        print(f"    {move:<30} median {statistics.median(times):.1f} ms   p90 {percentile(times, 90):.1f} ms"
              f"   min {min(times):.1f} ms   max {max(times):.1f} ms")


def peer_app(rev: str, store: Path, log: Path):
    """Measure the app at commit ``rev`` (in a git worktree) on ``store``; None when it cannot
    be checked out here."""
    with tempfile.TemporaryDirectory() as name, git_worktree(Path(name), rev) as tree:
        if tree is None:
            return None
        with running_app(store, log, {"PYTHONPATH": str(tree / "src")}, root=tree) as url:
            return measure(url, "c" * 32, new=True)


def main(shape: tuple[int, int, int] = (1024, 1024, 224)) -> bool:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        store = CubeStore(folder / "store")
        cube_id = "c" * 32
        store.put(Cube(large_cube(*shape)), cube_id)
        with running_app(folder / "store", folder / "app.log") as url:
            new = measure(url, cube_id, new=True)
        report("viewer with the preview", new)
        before = peer_app(PREVIEW_PEER, folder / "store", folder / "before.log")
        if before is not None:
            report(f"viewer without the preview ({PREVIEW_PEER})", before)
        old = None
        with previous_app(folder) as tree:
            if tree is not None:
                env = {"PYTHONPATH": str(tree / "src")}
                with running_app(folder / "store", folder / "old.log", env, root=tree) as url:
                    old = measure(url, cube_id, new=False)
                report(f"previous viewer ({PEER_REV})", old)
    print(f"\n## Browser latency, {shape[0]} x {shape[1]} x {shape[2]} float32 (ms), {MOVES} of each")
    report("viewer with the preview", new)
    if before is not None:
        report(f"viewer without the preview ({PREVIEW_PEER}): first paint = exact", before)
        for move in ("jump -> first paint", "click -> first spectrum drawn"):
            ratio = statistics.median(before[move]) / statistics.median(new[move])
            print(f"    {move}: {ratio:.1f}x as fast with the preview (median)")
    if old is not None:
        report(f"previous viewer ({PEER_REV}: image-coordinates iframe, whole-page reruns)", old)
        for move in old:
            ratio = statistics.median(old[move]) / statistics.median(new[move])
            print(f"    {move}: the viewer is {ratio:.2f}x as fast (median)")
    ok = True
    for move, goal in (("band move -> image painted", 100), ("click -> exact spectrum drawn", 120),
                       ("zoom step -> sharp image", 150), ("jump -> first paint", 50),
                       ("click -> first spectrum drawn", 50)):
        median = statistics.median(new[move])
        ok &= check(f"{move} median ms", median, goal)
        ok &= check(f"{move} p90 / median", percentile(new[move], 90) / median, 2.0)
    if before is not None:  # exact within one round trip as before; moves and zooms no slower
        for move in ("jump -> exact image", "click -> exact spectrum drawn", "band move -> image painted",
                     "zoom step -> sharp image"):
            ok &= check(f"{move}: median with / without the preview", statistics.median(new[move])
                        / statistics.median(before[move]), 1.15)
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
