"""Issue 14 in a real browser: the viewer fits its column, zooms to full resolution, reads out
values, and the address bar keeps the whole analysis with one history entry per page switch."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import numpy as np
import pytest

from cubescope import Cube, state
from cubescope.demo import demo_cube
from cubescope.store import CubeStore
from tests.e2e.conftest import running_app
from tests.e2e.helpers import (
    band_image,
    current_url,
    pixel_centre,
    share_link,
    traces,
    viewer_state,
    wait_ready,
    wait_spectra,
    wait_viewer,
)

pytestmark = pytest.mark.e2e

LARGE_ID, STRIP_ID = "a" * 32, "b" * 32


@pytest.fixture(scope="module")
def cubes(tmp_path_factory):
    """A server whose store holds a 900 x 1300 cube (too large to show at every pixel) and a
    50 x 2000 strip, as (rows, cols, bands) arrays with their ids."""
    folder = tmp_path_factory.mktemp("viewer")
    rng = np.random.default_rng(3)
    large = rng.normal(size=(900, 1300, 3)).astype(np.float32)
    strip = rng.normal(size=(50, 2000, 2)).astype(np.float32)
    store = CubeStore(folder / "store")
    store.put(Cube(np.ascontiguousarray(np.moveaxis(large, 2, 0)), name="large"), LARGE_ID)
    store.put(Cube(np.ascontiguousarray(np.moveaxis(strip, 2, 0)), name="strip"), STRIP_ID)
    with running_app(folder / "store", folder / "app.log") as url:
        yield url, {LARGE_ID: large, STRIP_ID: strip}


def column_of(page, key: str) -> dict:
    """The bounding box of the layout column holding element ``key``."""
    return page.evaluate(
        """(key) => {
        const element = document.querySelector(`.st-key-${key}`);
        const column = element.closest('[data-testid="stColumn"]') || element.parentElement;
        const r = column.getBoundingClientRect();
        return {left: r.left, right: r.right, width: r.width};
    }""",
        key,
    )


@pytest.mark.parametrize("width", [1400, 1024])
def test_images_fit_their_columns(browser, server, artifacts, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    for path, keys in (("/", ["image"]), ("/smoothing", ["image_raw", "image_sg"]), ("/pca", ["image_pca"])):
        page.goto(server + path)
        wait_ready(page)
        for key in keys:
            box = band_image(page, key).bounding_box()
            column = column_of(page, key)
            assert column["left"] - 1 <= box["x"] and box["x"] + box["width"] <= column["right"] + 1, (path, key)
            assert box["width"] > 0.9 * column["width"]  # fills it, scaled not cropped
            # The demo's aspect ratio (200 x 240) is kept.
            assert box["height"] / box["width"] == pytest.approx(200 / 240, abs=0.02)
        page.screenshot(path=str(artifacts / f"viewer-{path.strip('/') or 'bands'}-{width}.png"), full_page=True)
    # At this width too, a click lands on the pixel drawn under it.
    page.goto(server)
    wait_ready(page)
    image = band_image(page)
    x, y = pixel_centre(page, 150, 37)
    image.click(position={"x": x, "y": y})
    spectrum = next(t for t in traces(page, "spectra") if t["name"] == "(150, 37)")
    np.testing.assert_allclose(spectrum["y"], demo_cube().spectrum(150, 37), rtol=1e-6)
    context.close()


def test_strip_is_clickable_to_its_last_column(browser, cubes):
    url, arrays = cubes
    page = browser.new_context(viewport={"width": 1024, "height": 768}).new_page()
    page.goto(f"{url}/?cube={STRIP_ID}")
    wait_ready(page)
    image = band_image(page)
    column = column_of(page, "image")
    box = image.bounding_box()
    assert box["x"] + box["width"] <= column["right"] + 1
    x, y = pixel_centre(page, 25, 1995)
    image.click(position={"x": x, "y": y})
    spectrum = next(t for t in traces(page, "spectra") if t["name"] == "(25, 1995)")
    np.testing.assert_array_equal(spectrum["y"], arrays[STRIP_ID][25, 1995].astype(float))
    page.context.close()


def test_zoom_to_full_resolution_then_click_and_hover(browser, cubes, artifacts):
    url, arrays = cubes
    data = arrays[LARGE_ID]
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{url}/?cube={LARGE_ID}")
    wait_ready(page)
    band_image(page)
    whole = viewer_state(page)
    assert whole["window"] == "0-900-0-1300" and int(whole["step"]) > 1  # fitted: every n-th pixel sent
    zoom_in = page.locator(".st-key-image button[data-act='in']")
    for _ in range(3):
        before = viewer_state(page)["window"]
        zoom_in.click()
        wait_viewer(page, "d.sharp === 'true' && d.window !== arg", arg=before)
    state = viewer_state(page)
    assert state["step"] == "1"  # full resolution
    r0, r1, c0, c1 = (int(v) for v in state["window"].split("-"))
    rows, cols = (int(v) for v in state["samples"].split("x"))
    assert (rows, cols) == (r1 - r0, c1 - c0) and cols < 1300  # only the window was sent
    assert re.search(r"zoom=\d+-\d+-\d+-\d+", current_url(page, containing="zoom="))

    row, col = r0 + (r1 - r0) // 3, c0 + 2 * (c1 - c0) // 3
    x, y = pixel_centre(page, row, col)
    image = band_image(page)
    image.hover(position={"x": x, "y": y})
    readout = page.locator(".st-key-image .cs-readout").inner_text()
    band = int(viewer_state(page)["tile"].split("-")[1])  # tiles are named band-<index>-...
    assert readout.startswith(f"row {row} · column {col} · ")
    value = float(readout.split(" · ")[2].split()[0])
    assert value == pytest.approx(float(data[row, col, band]), rel=1e-5, abs=1e-6)

    image.click(position={"x": x, "y": y})
    spectrum = next(t for t in traces(page, "spectra") if t["name"] == f"({row}, {col})")
    np.testing.assert_array_equal(spectrum["y"], data[row, col].astype(float))
    page.screenshot(path=str(artifacts / "viewer-zoomed.png"), full_page=True)
    page.context.close()


def test_clicking_a_spectrum_moves_the_band(page, server):
    """A click anywhere above a wavelength (here near the bottom of the plot) shows that band."""
    page.goto(server + "/?px=100-120")
    wait_ready(page)
    band_image(page)
    traces(page, "spectra")
    target = 90
    point = page.evaluate("([band]) => window.__cubescopeCharts.spectra.point(band)", [target])
    page.mouse.click(point["x"], point["y"])
    wait_viewer(page, "d.tile.startsWith(arg)", arg=f"band-{target}-")
    assert page.locator(".st-key-band input[type='range']").input_value() == str(target)
    page.wait_for_function("([b]) => location.search.includes(`band=${b}`)", arg=[target])


def test_a_band_step_paints_the_prefetched_neighbour(page, server, browser):
    """A step of the band slider paints the next band from the image sent ahead, and the
    server's run for that band sends the same bytes (not decoded again); a step back paints
    the band just shown from the viewer's copy; after a zoom the band sent ahead is of the
    zoomed window."""
    prefetched = "([b]) => { const m = (window.__cubescopePrefetched || {}).image; return !!m && m.has(b); }"
    page.goto(server + "/?band=20")
    wait_ready(page)
    band_image(page)
    page.wait_for_function(prefetched, arg=[21])
    decoded = int(viewer_state(page)["decoded"])
    slider = page.locator(".st-key-band input[type='range']")
    slider.focus()
    slider.press("ArrowRight")
    wait_viewer(page, "d.tile.startsWith('band-21-')")
    page.wait_for_function("() => location.search.includes('band=21')")
    wait_ready(page)
    page.wait_for_function(prefetched, arg=[22])  # the run for band 21 has ended
    state = viewer_state(page)
    assert int(state["decoded"]) == decoded + 1

    fresh = browser.new_page(viewport={"width": 1500, "height": 1100})  # the same band, sent by a run
    fresh.goto(server + "/?band=21")
    wait_ready(fresh)
    band_image(fresh)
    assert viewer_state(fresh)["pixels"] == state["pixels"]
    fresh.close()

    slider.focus()
    slider.press("ArrowLeft")
    wait_viewer(page, "d.tile.startsWith('band-20-')")
    page.wait_for_function("() => location.search.includes('band=20')")
    wait_ready(page)
    page.wait_for_function(prefetched, arg=[19])  # the run for band 20 has ended: it sends band 19 ahead
    assert int(viewer_state(page)["decoded"]) == decoded + 2
    slider.press("ArrowRight")
    wait_viewer(page, "d.tile.startsWith('band-21-')")
    wait_ready(page)

    page.locator(".st-key-image button[data-act='in']").click()
    wait_viewer(page, "d.sharp === 'true' && d.window !== arg", arg=state["window"])
    zoomed = viewer_state(page)["window"]
    wait_ready(page)
    page.wait_for_function("() => location.search.includes('zoom=')")  # the server holds the zoom window
    slider.focus()
    slider.press("ArrowRight")
    wait_viewer(page, "d.tile.startsWith('band-22-')")
    assert viewer_state(page)["window"] == zoomed


def test_one_history_entry_per_page_switch_and_back_keeps_state(page, server):
    page.goto(server)
    wait_ready(page)
    band_image(page)
    start = page.evaluate("history.length")
    slider = page.locator(".st-key-band input[type='range']")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('band=18')")
    assert page.evaluate("history.length") == start  # settings replace the entry, never push
    for link, path in (("Smoothing", "/smoothing"), ("PCA", "/pca")):
        page.get_by_role("link", name=link).click()
        page.wait_for_function("([p]) => location.pathname === p", arg=[path])
        wait_ready(page)
    # One entry per switch: wait for it, then check no more came while the last page settled.
    page.wait_for_function("([n]) => history.length >= n", arg=[start + 2])
    wait_ready(page)
    assert page.evaluate("history.length") == start + 2
    page.go_back()
    page.wait_for_function("() => location.pathname === '/smoothing'")
    wait_ready(page)
    band_image(page, "image_sg")
    page.go_back()
    page.wait_for_function("() => location.pathname === '/'")
    wait_ready(page)
    wait_viewer(page, "d.tile.startsWith('band-18-')")  # the band survived both pages and Back
    current_url(page, containing="band=18")  # times out, failing, unless the address bar has it
    page.go_forward()
    page.wait_for_function("() => location.pathname === '/smoothing'")
    wait_ready(page)
    band_image(page, "image_sg")
    current_url(page, containing="band=18")  # times out, failing, unless the address bar has it


def test_link_made_on_bands_opened_on_pca_keeps_pca_settings(browser, server):
    first = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    first.goto(server + "/pca")
    wait_ready(first)
    band_image(first, "image_pca")
    components = first.locator(".st-key-pca_k input[type='range']")
    components.focus()
    components.press("ArrowLeft")
    components.press("ArrowLeft")  # 5 -> 3 components
    first.wait_for_function("() => location.search.includes('pca_k=3')")
    wait_ready(first)
    first.get_by_role("link", name="Bands").click()
    first.wait_for_function("() => location.pathname === '/'")
    wait_ready(first)
    band_image(first)
    link = share_link(first)
    assert "pca_k=3" in link and urlsplit(link).path == "/"

    parts = urlsplit(link)
    second = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    second.goto(f"{parts.scheme}://{parts.netloc}/pca?{parts.query}")
    wait_ready(second)
    band_image(second, "image_pca")
    assert second.locator(".st-key-pca_k input[type='range']").input_value() == "3"
    assert "the 3 components explain" in second.get_by_text("Fitted on").inner_text()
    first.context.close()
    second.context.close()


def test_spectra_chart_zooms_hides_and_downloads(page, server):
    """The spectra chart: a drag zooms to the dragged wavelengths (the values' axis follows),
    a double-click shows every band, the legend hides a spectrum, PNG downloads the chart."""
    page.goto(server + "/?px=" + state.encode_pins([(40, 100), (120, 60)]))
    wait_ready(page)
    wait_spectra(page, 2)
    chart = "window.__cubescopeCharts.spectra"
    a, b = page.evaluate(f"() => [{chart}.point(20), {chart}.point(60)]")
    page.mouse.move(a["x"], a["y"])
    page.mouse.down()
    page.mouse.move(b["x"], b["y"], steps=6)
    page.mouse.up()
    low, high = page.evaluate(f"() => {chart}.range")
    cube = demo_cube()
    assert low == pytest.approx(cube.wavelengths[20], abs=20) and high == pytest.approx(cube.wavelengths[60], abs=20)
    assert page.locator(".st-key-spectra button[data-act='reset']").is_visible()
    page.mouse.dblclick(a["x"], a["y"])
    assert page.evaluate(f"() => {chart}.range") is None
    page.locator(".st-key-spectra .cs-legend-item").first.click()
    assert page.evaluate(f"() => {chart}.canvas.dataset.drawn") == "1"
    with page.expect_download() as download:
        page.locator(".st-key-spectra button[data-act='png']").click()
    assert download.value.suggested_filename == "demo_scene_spectra.png"
    with open(download.value.path(), "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_spectra_chart_reads_and_picks_bands_from_the_keyboard(page, server):
    """Tab to the chart: the arrow keys read every spectrum's value band by band, Enter shows
    that band, and reading goes on from it."""
    page.goto(server + "/?band=40&px=" + state.encode_pins([(40, 100)]))
    wait_ready(page)
    wait_spectra(page, 1)
    canvas = page.locator(".st-key-spectra canvas")
    canvas.focus()
    canvas.press("ArrowRight")  # starts in the middle of the bands shown
    tip = page.locator(".st-key-spectra .cs-chart-tip")
    first = int(tip.inner_text().split()[1])
    canvas.press("ArrowRight")
    canvas.press("ArrowRight")
    assert tip.inner_text().startswith(f"band {first + 2} ")
    value = float(f"{demo_cube().spectrum(40, 100)[first + 2]:.6g}")  # six digits, as the readout shows
    assert f"(40, 100): {value!r}" in tip.inner_text()
    canvas.press("Enter")
    wait_viewer(page, "d.tile.startsWith(arg)", arg=f"band-{first + 2}-")
    page.wait_for_function("([b]) => location.search.includes(`band=${b}`)", arg=[first + 2])
    canvas.press("ArrowLeft")
    assert tip.inner_text().startswith(f"band {first + 1} ")



def _viewer_alone(browser):
    """A page holding the viewer's script alone (``window.viewerComponent``, called as Streamlit
    calls it) and an empty host, and payloads of a 3 x 4 and a 30 x 40 image."""
    from pathlib import Path

    from cubescope import display, viewport
    from cubescope_ui.viewer import pack

    assets = Path(__file__).parents[2] / "cubescope_ui" / "assets"
    script = ((assets / "common.js").read_text() + (assets / "viewer.js").read_text()).replace(
        "export default function", "window.viewerComponent = function")
    small = display.render_tile(np.arange(12, dtype=np.float32).reshape(3, 4), viewport.Window(0, 3, 0, 4), 1)
    large = display.render_tile(np.arange(1200, dtype=np.float32).reshape(30, 40), viewport.Window(0, 30, 0, 40), 1)
    page = browser.new_page()
    page.set_content("<div id='host' style='width: 400px; height: 300px'></div>")
    page.add_script_tag(content=script + """
        window.sent = [];
        window.call = (bytes) => window.viewerComponent({
            data: new Uint8Array(bytes), parentElement: document.getElementById("host"),
            setStateValue: (name, value) => window.sent.push(value), setTriggerValue() {}});
        window.tick = () => new Promise(resolve => setTimeout(resolve, 0));""")
    payloads = {name: list(pack(tile, *size, tile_id=name))
                for name, tile, size in (("first", small, (3, 4)), ("second", small, (3, 4)),
                                         ("large", large, (30, 40)))}
    return page, payloads


SHARED_CALLS = """async ([a, b]) => {
    const host = document.getElementById("host");
    const first = call(a), second = call(b);
    const shared = host.__cubescopeViewer;
    first();  // Streamlit's late cleanup of the call whose data was replaced
    await tick(); await tick();
    const kept = host.__cubescopeViewer === shared && host.querySelector(".cs-viewer") !== null;
    host.remove();
    second();  // the component leaves the page
    await tick(); await tick();
    return {kept, tile: shared.header.id, gone: host.__cubescopeViewer === undefined
            && host.querySelector(".cs-viewer") === null};
}"""


def test_a_replaced_call_s_late_cleanup_leaves_the_viewer_on_the_page(browser):
    """Streamlit calls the cleanup of a component call whose data was replaced while its module
    loaded, after both calls ran on the viewer they share: the viewer stays (it went blank, its
    zoom and tool lost, before); once its element leaves the page, the cleanup takes it down."""
    page, payloads = _viewer_alone(browser)
    assert page.evaluate(SHARED_CALLS, [payloads["first"], payloads["second"]]) == {
        "kept": True, "tile": "second", "gone": True}
    page.close()


ZOOM_THEN_CALL = """async ([image]) => {
    call(image);
    const viewer = document.getElementById("host").__cubescopeViewer;
    viewer.root.querySelector("button[data-act='in']").click();
    call(image);  // a run answering something else, before the zoom is sent
    await tick(); await tick();
    return {sent: sent.map(v => v.window), view: viewer.view, pending: viewer.pending};
}"""


def test_a_run_that_lands_between_a_zoom_and_its_request_does_not_undo_it(browser):
    """The + button sends its window on the next task; the page's answer to something else that
    comes in between keeps the zoom (it was undone, and the whole image asked for again)."""
    page, payloads = _viewer_alone(browser)
    found = page.evaluate(ZOOM_THEN_CALL, [payloads["large"]])
    assert len(found["sent"]) == 1 and found["sent"][0] != [0, 30, 0, 40]
    assert found["view"] == found["sent"][0] and found["pending"] == str(found["sent"][0]).replace(" ", "")
    page.close()
