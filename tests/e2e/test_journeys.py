"""What a person does in the browser, asserted on what the page shows."""

import time

import numpy as np
import pytest

from cubescope.demo import demo_cube
from tests.e2e.helpers import band_image, image_source, pixel_centre, pixel_under, traces, wait_ready, wait_spectra

pytestmark = pytest.mark.e2e


def wait_for_change(read, before, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = read()
        if now != before:
            return now
        time.sleep(0.1)
    raise AssertionError("the page did not change")


def test_open_app_move_band_click_pixel(page, server, artifacts):
    """Journey 1 and 2: demo band image shown; band control changes it; a click plots the
    clicked pixel's spectrum, with the values the processing package gives."""
    page.goto(server)
    wait_ready(page)
    image = band_image(page)
    first = image_source(page)

    slider = page.locator(".st-key-band input[type='range']")
    slider.focus()
    slider.press("ArrowRight")
    changed = wait_for_change(lambda: image_source(page), first)
    assert changed != first
    page.wait_for_function("() => window.location.search.includes('band=16')")  # the address bar carries it

    image = band_image(page)
    box = image.bounding_box()
    x, y = 0.8 * box["width"], 0.2 * box["height"]
    row, col = pixel_under(page, x, y)
    x, y = pixel_centre(page, row, col)
    image.click(position={"x": x, "y": y})
    spectra = traces(page, "spectra")
    cube = demo_cube()
    assert spectra[-1]["name"] == f"({row}, {col})"
    np.testing.assert_allclose(spectra[-1]["y"], cube.spectrum(row, col), rtol=1e-6)

    image.click(position={"x": 0.2 * box["width"], "y": 0.7 * box["height"]})
    wait_spectra(page, 2)
    assert len(traces(page, "spectra")) == 2
    page.screenshot(path=str(artifacts / "journey1-band-and-pixels.png"), full_page=True)
