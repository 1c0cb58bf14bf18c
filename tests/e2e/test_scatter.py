"""The Scatter page in a real browser: a lasso on the density tints its pixels on the image and
becomes an ROI with a class; a region drawn on the image shows in the scatter."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

from cubescope import scatter
from cubescope.demo import demo_cube
from tests.e2e.helpers import VIEWER_CANVAS, band_image, current_url, pixel_centre, share_link, wait_ready

pytestmark = pytest.mark.e2e

#: JavaScript: where the data point (x, y) of the scatter is drawn, in page pixels.
TO_SCREEN = """([x, y]) => {
    const plot = document.querySelector('.st-key-scatter .js-plotly-plot');
    const layout = plot._fullLayout, box = plot.getBoundingClientRect();
    return [box.left + layout.xaxis._offset + layout.xaxis.l2p(x),
            box.top + layout.yaxis._offset + layout.yaxis.l2p(y)];
}"""
#: JavaScript: the colour the viewer ``key`` painted at (x, y), CSS pixels from its canvas's top left.
PAINTED = f"""([key, x, y]) => {{
    const canvas = ({VIEWER_CANVAS})(key), ratio = canvas.width / canvas.getBoundingClientRect().width;
    return Array.from(canvas.getContext('2d').getImageData(Math.round(x * ratio), Math.round(y * ratio), 1, 1).data);
}}"""


def test_scatter_lasso_tints_its_pixels_on_the_image_and_becomes_an_roi(page, server):
    page.goto(server + "/scatter")
    wait_ready(page)
    band_image(page, "image_sc")
    page.locator(".st-key-scatter .nsewdrag").first.wait_for()
    # A lasso around the bright vegetation arm of the red / near-infrared scatter.
    lasso = [(0.03, 0.33), (0.11, 0.33), (0.11, 0.40), (0.03, 0.40), (0.03, 0.335)]
    corners = [page.evaluate(TO_SCREEN, list(point)) for point in lasso]
    page.mouse.move(*corners[0])
    page.mouse.down()
    for corner in corners[1:]:
        page.mouse.move(*corner, steps=8)
    page.mouse.up()

    link = parse_qs(urlparse(current_url(page, "sc_sel=")).query)
    kept = scatter.decode_polygon(link["sc_sel"][0])
    np.testing.assert_allclose(kept[[0, len(kept) // 2]], [lasso[0], (0.11, 0.40)], atol=0.01)  # where it was drawn
    cube = demo_cube()
    x_band, y_band = scatter.default_bands(cube)
    selected = scatter.select(cube.band(x_band), cube.band(y_band), kept)
    assert 100 < selected.sum() < cube.rows * cube.cols / 2
    wait_ready(page)
    page.get_by_text(f"{selected.sum():,} pixels selected").wait_for()

    # The selected pixels are tinted red on the image, the others keep their grey.
    band_image(page, "image_sc")
    inside = tuple(np.argwhere(selected)[len(np.argwhere(selected)) // 2])
    outside = tuple(np.argwhere(~selected & np.isfinite(cube.band(x_band)))[0])
    page.wait_for_function(f"([key, x, y]) => {{ const c = ({PAINTED})([key, x, y]); return c[0] > c[1] + 60; }}",
                           arg=["image_sc", *pixel_centre(page, *inside, key="image_sc")])
    red, green, _, _ = page.evaluate(PAINTED, ["image_sc", *pixel_centre(page, *outside, key="image_sc")])
    assert abs(red - green) < 10

    # The selection becomes an ROI of exactly its pixels, of the class typed, drawn over the scatter.
    page.locator(".st-key-sc_class input").fill("vegetation")
    page.locator(".st-key-sc_class input").press("Enter")
    wait_ready(page)
    page.locator(".st-key-sc_make_roi button").click()
    page.get_by_text(f"ROI 1 (class vegetation, {selected.sum():,} pixels) added").wait_for()
    page.locator(".st-key-scatter .legendtext", has_text="ROI 1").wait_for()
    assert "sc_sel=" in share_link(page, "sc_sel=")

    # A region dragged on the image shows in the scatter.
    canvas = band_image(page, "image_sc").bounding_box()
    (x0, y0), (x1, y1) = pixel_centre(page, 120, 20, key="image_sc"), pixel_centre(page, 180, 90, key="image_sc")
    page.mouse.move(canvas["x"] + x0, canvas["y"] + y0)
    page.mouse.down()
    page.mouse.move(canvas["x"] + x1, canvas["y"] + y1, steps=8)
    page.mouse.up()
    page.locator(".st-key-scatter .legendtext", has_text="region").wait_for()
