"""A transect drawn with the viewer's Line tool in a real browser: its line on the image, its
spectra and profile, the link, and its CSV downloaded."""

from __future__ import annotations

import csv
import io

import pytest

from cubescope.demo import demo_cube
from tests.e2e.helpers import band_image, choose_tool, pixel_centre, share_link, wait_ready, wait_trace

pytestmark = pytest.mark.e2e


def test_transect_drawn_with_the_line_tool_and_its_csv_downloaded(page, server):
    page.goto(server + "/?band=40")
    wait_ready(page)
    band_image(page)
    choose_tool(page, "line")
    box = page.locator(".st-key-image canvas.cs-canvas").bounding_box()
    (x0, y0), (x1, y1) = pixel_centre(page, 30, 40), pixel_centre(page, 150, 190)
    page.mouse.move(box["x"] + x0, box["y"] + y0)
    page.mouse.down()
    page.mouse.move(box["x"] + x1, box["y"] + y1, steps=8)
    page.mouse.up()
    share_link(page, "line=30-40-150-190")
    wait_trace(page, "A (30, 40)")
    wait_trace(page, "B (150, 190)")
    page.locator(".st-key-transect .js-plotly-plot").wait_for()
    wait_ready(page)
    with page.expect_download() as download:
        page.locator(".st-key-transect_csv button").click()
    assert download.value.suggested_filename == "demo_scene_transect.csv"
    with open(download.value.path()) as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    cube = demo_cube()
    assert rows[0][:5] == ["row", "col", "distance (m)", "longitude", "latitude"]
    assert rows[1][:2] == ["30", "40"] and rows[-1][:2] == ["150", "190"]
    assert float(rows[-1][5 + 40]) == pytest.approx(float(cube.spectrum(150, 190)[40]), rel=1e-6)
