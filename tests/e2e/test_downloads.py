"""Journey 6: downloads open, and hold what the page showed."""

import io
import json

import numpy as np
import pytest
import rasterio
from PIL import Image
from rasterio.io import MemoryFile

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
    return click_download(page, key)


def click_download(page, key: str) -> bytes:
    """Click the download button with Streamlit key ``key`` once the run has settled, and return
    the file. A click on a button that a rerun replaces meanwhile downloads nothing: the click is
    repeated until a download comes (a condition, not a fixed wait)."""
    button = page.locator(f".st-key-{key} button")
    for attempt in range(4):
        button.wait_for(state="visible")
        wait_ready(page)
        try:
            with page.expect_download(timeout=15_000) as info:
                button.click()
            return open(info.value.path(), "rb").read()
        except Exception:
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


def gdal_open(data: bytes):
    """The file as GDAL (and so QGIS) opens it."""
    import warnings

    warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
    return MemoryFile(data).open()


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
    with gdal_open(tiff) as ds:
        assert ds.count == 1 and ds.crs.to_epsg() == 32610  # the demo lies on a UTM grid
        np.testing.assert_array_equal(ds.read(1), band)
        assert float(ds.tags(1)["wavelength"]) == pytest.approx(cube.wavelengths[15])
    page.screenshot(path=str(artifacts / "journey6-export-panel.png"), full_page=True)


def test_pc_images_download_as_one_geotiff_of_k_bands(page, server):
    """Issue 25: QGIS showed only the first PC of the old multi-page export."""
    page.goto(f"{server}/pca")
    wait_ready(page)
    page.get_by_text("Export all").first.click()
    data = click_download(page, "export_pca_cube_tif")
    with gdal_open(data) as ds:
        k = ds.count
        assert k >= 2 and not ds.subdatasets
        assert ds.descriptions[:2] == ("PC 1", "PC 2")
        assert ds.crs.to_epsg() == 32610 and (ds.height, ds.width) == (200, 240)
        scores = ds.read()
    assert np.isfinite(scores).all() and scores[0].std() > scores[-1].std()
