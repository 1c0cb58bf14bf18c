"""Issue 15 in a real browser: a product on the Map page, offline (the basemap's tiles fail to
load and the image still draws), a click pins the pixel under it, the readout names it."""

from __future__ import annotations

import pytest

from cubescope.store import CubeStore
from tests.e2e.conftest import running_app
from tests.e2e.helpers import current_url, wait_ready
from tests.products import write_prisma

pytestmark = pytest.mark.e2e

MAP = "(key) => window.__cubescopeMaps && window.__cubescopeMaps[key]"


def settled_box(page, locator, pause: float = 0.4) -> dict:
    """The element's box once the page's layout has stopped moving (widgets drawn late push
    the map down; a click computed before would land on another pixel)."""
    previous = None
    for _ in range(50):
        wait_ready(page)
        box = locator.bounding_box()
        if box == previous:
            return box
        previous = box
        page.wait_for_timeout(pause * 1000)
    raise AssertionError("the layout kept moving")


def wait_map(page, condition: str, timeout: float = 30_000) -> None:
    """Wait until ``condition`` (JS over ``m``, the map object, and ``d``, its canvas dataset) holds."""
    page.wait_for_function(f"() => {{ const m = ({MAP})('map'); if (!m) return false; const d = m.canvas.dataset; "
                           f"return {condition}; }}", timeout=timeout)


@pytest.mark.parametrize("width", [1400, 1024])
def test_map_draws_a_product_offline_and_a_click_pins_the_pixel_there(browser, tmp_path, artifacts, width):
    path = tmp_path / "PRS_L2D_STD_20230815101530_0001.he5"
    truth = write_prisma(path)
    store = CubeStore(tmp_path / "store")
    cube_id = store.put_files([(path.name, path.read_bytes())])
    with running_app(tmp_path / "store", tmp_path / "app.log") as url:
        context = browser.new_context(viewport={"width": width, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{url}/map?cube={cube_id}")
        wait_ready(page)
        wait_map(page, "Number(d.painted) > 0 && d.pins === '0'")
        canvas = page.locator(".cs-map-canvas")
        # The image is drawn where the product lies: the pixel centre of (row 4, col 3), at its
        # lon/lat from the product's own Latitude/Longitude arrays, shows that pixel's value.
        row, col = 4, 3
        lon, lat = float(truth["lon"][row, col]), float(truth["lat"][row, col])
        box = settled_box(page, canvas)
        x, y = page.evaluate(f"([lon, lat]) => ({MAP})('map').screenOf(lon, lat)", [lon, lat])
        assert 0 < x < box["width"] and 0 < y < box["height"]
        page.mouse.move(box["x"] + x, box["y"] + y)
        readout = page.locator(".cs-map-readout")
        page.wait_for_function("(e) => e.textContent.includes('row')", arg=readout.element_handle())
        text = readout.text_content()
        assert text.startswith(f"row {row}, column {col} · centre lon "), text
        # The named pixel's centre, from the product's own arrays (to the six decimals shown).
        shown_lon, shown_lat = (float(part.split()[-1].rstrip("°")) for part in
                                text.split(" · ")[1].removeprefix("centre ").split(", "))
        assert abs(shown_lon - lon) <= 1.5e-6 and abs(shown_lat - lat) <= 1.5e-6, text
        assert canvas.bounding_box() == box
        page.mouse.click(box["x"] + x, box["y"] + y)
        wait_ready(page)
        wait_map(page, "d.pins === '1'")
        assert f"px={row}-{col}" in current_url(page, "px=")
        page.get_by_text(f"{lon:.6f}").first.wait_for()  # the pin's longitude in the side table
        page.screenshot(path=str(artifacts / f"issue15-map-{width}.png"), full_page=True)
        context.close()
