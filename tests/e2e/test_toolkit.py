"""Issues 16 and 17 in a real browser: an index typed and drawn, a click pins a pixel; a library
CSV uploaded and the class map drawn, the best match read out under the pointer; a polygon ROI
drawn, its mean spectrum plotted in its colour, its row in the table."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from cubescope import band_math
from cubescope.demo import demo_cube
from cubescope.words import number_text
from tests.e2e.helpers import (
    band_image,
    choose_tool,
    current_url,
    draw_polygon,
    pixel_centre,
    traces,
    viewer_state,
    wait_ready,
    wait_trace,
    wait_viewer,
)

pytestmark = pytest.mark.e2e


def test_typed_index_is_drawn_and_a_click_pins_its_value(page, server, artifacts):
    page.goto(f"{server}/bandmath")
    wait_ready(page)
    band_image(page, "image_bm")
    assert "bandmathimage-(R860 - R650)" in viewer_state(page, "image_bm")["tile"]  # NDVI by default on the demo
    expression = "(R860 - R560) / (R860 + R560)"
    box = page.locator(".st-key-bm_expr input")
    box.fill(expression)
    box.press("Enter")
    wait_ready(page)
    wait_viewer(page, "d.tile.includes(arg)", "image_bm", arg=f"bandmathimage-{expression}")
    current_url(page, "bm_expr=")
    row, col = 50, 70
    x, y = pixel_centre(page, row, col, "image_bm")
    band_image(page, "image_bm").click(position={"x": x, "y": y})
    wait_ready(page)
    assert f"px={row}-{col}" in current_url(page, f"px={row}-{col}")
    expected = band_math(demo_cube(), expression)[row, col]
    page.get_by_text(number_text(expected), exact=True).first.wait_for(state="attached")  # the table's grid cell
    page.screenshot(path=str(artifacts / "issue16-band-math.png"), full_page=True)


def test_library_csv_upload_draws_the_class_map(page, server, tmp_path, artifacts):
    cube = demo_cube()
    references = {"lake": (150, 100), "field": (40, 60)}
    lines = ["wavelength (nm)," + ",".join(references)]
    spectra = {name: cube.spectrum(*pixel) for name, pixel in references.items()}
    for b, w in enumerate(cube.wavelengths):
        lines.append(f"{w}," + ",".join(repr(float(spectra[n][b])) for n in references))
    path = tmp_path / "library.csv"
    path.write_text("\n".join(lines) + "\n")
    page.goto(f"{server}/library")
    wait_ready(page)
    page.locator(".st-key-lib_upload input[type=file]").set_input_files(str(path))
    wait_ready(page)
    band_image(page, "image_sam")
    assert viewer_state(page, "image_sam")["tile"].startswith("classes-")
    page.get_by_text("2 references from library.csv").wait_for()
    # The reference pixels match themselves: the readout names the class under the pointer.
    x, y = pixel_centre(page, 150, 100, "image_sam")
    band_image(page, "image_sam").hover(position={"x": x, "y": y})
    page.wait_for_function("() => [...document.querySelectorAll('*')].some(e => e.shadowRoot && "
                           "e.shadowRoot.textContent.includes('class 0 lake'))")
    assert np.isfinite(spectra["lake"]).all()
    page.screenshot(path=str(artifacts / "issue16-library.png"), full_page=True)


def test_polygon_roi_drawn_plotted_in_its_colour_and_tabled(page, server, artifacts):
    from urllib.parse import parse_qs, urlsplit

    from cubescope.roi import decode_rois, roi_stats

    page.goto(server)
    wait_ready(page)
    image = band_image(page)
    choose_tool(page, "polygon")
    corners = [(20, 20), (20, 80), (70, 90), (80, 30)]
    draw_polygon(page, image, corners)
    link = current_url(page, "rois=")
    (roi,) = decode_rois(parse_qs(urlsplit(link).query)["rois"][0])
    assert [(round(x - 0.5), round(y - 0.5)) for x, y in roi.vertices] == [(c, r) for r, c in corners]
    stats = roi_stats(demo_cube(), roi)
    name = f"{roi.name} mean ({stats.count} px)"
    wait_trace(page, name)
    trace = next(t for t in traces(page, "spectra") if t["name"] == name)
    assert trace["colour"] == roi.colour
    np.testing.assert_allclose(trace["y"], stats.mean, rtol=1e-6)
    page.get_by_text(roi.colour, exact=True).first.wait_for(state="attached")  # its row in the ROI table
    page.screenshot(path=str(artifacts / "issue17-polygon-roi.png"), full_page=True)


def test_compression_page_trains_and_compares(page, server, artifacts):
    page.set_default_timeout(120_000)
    page.goto(f"{server}/compress?cz_k=3&px=40-60")
    wait_ready(page)
    page.get_by_text("Per-pixel RMSE").wait_for()
    wait_ready(page)
    for method in ("PCA", "autoencoder", "Fourier"):
        band_image(page, f"image_cz_{method}")
    band_image(page, "image_cz_codes")
    names = [t["name"] for t in traces(page, "cz_rmse")]
    assert names == ["PCA", "autoencoder", "Fourier"]
    assert len(traces(page, "cz_curve")[0]["y"]) > 10  # the training curve, an epoch a point
    pins = [t["name"] for t in traces(page, "cz_pins")]
    assert "(40, 60)" in pins and "(40, 60) autoencoder" in pins
    page.screenshot(path=str(artifacts / "issue18-compression.png"), full_page=True)
    # Issue 24: at 1400 px the three viewers' tools (Select ... Fit) stay on one line.
    page.set_viewport_size({"width": 1400, "height": 1000})
    for method in ("PCA", "autoencoder", "Fourier"):
        buttons = page.locator(f".st-key-image_cz_{method} .cs-bar button:visible")
        expect(buttons.last).to_have_text("Fit")
        tops = {round(box["y"]) for box in (b.bounding_box() for b in buttons.all())}
        assert len(tops) == 1, (method, tops)
