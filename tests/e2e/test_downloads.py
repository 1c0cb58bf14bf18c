"""Journey 6: downloads open, and hold what the page showed."""

import io
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from cubescope.demo import demo_cube
from tests.e2e.helpers import band_image, wait_ready

pytestmark = pytest.mark.e2e


def download(page, key: str, format_label: str | None = None) -> bytes:
    panel = page.get_by_text("Export this image")
    if format_label:
        if not page.get_by_text(format_label).is_visible():
            panel.click()
        page.get_by_text(format_label).click()
        wait_ready(page)
    button = page.locator(f".st-key-{key} button")
    button.wait_for(state="visible")
    wait_ready(page)
    page.wait_for_timeout(500)  # the button is re-rendered once the script run settles
    with page.expect_download() as info:
        button.click()
    return open(info.value.path(), "rb").read()


def test_band_downloads_png_and_float_tiff(page, server, artifacts):
    page.goto(server)
    wait_ready(page)
    band_image(page)
    cube = demo_cube()
    band = cube.band(15)  # the default band, nearest 650 nm

    page.get_by_text("Export this image").click()
    png = download(page, "export_band_download", "PNG 8-bit, as shown")
    picture = Image.open(io.BytesIO(png))
    assert picture.size == (cube.cols, cube.rows) and picture.mode == "L"
    record = json.loads(picture.text["cubescope"])
    assert record["band"] == 15 and record["normalization"]["method"] == "percentile"
    assert record["normalization"]["low"] == pytest.approx(np.percentile(band, 2), rel=1e-2)

    tiff = download(page, "export_band_download", "TIFF, float values")
    values = tifffile.imread(io.BytesIO(tiff))
    np.testing.assert_array_equal(values, band)
    page.screenshot(path=str(artifacts / "journey6-export-panel.png"), full_page=True)
