"""Journey 3: uploads through the browser (the real server converts them in a child process)."""

import urllib.request

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import band_image, click_and_check_spectrum, url_cube_id, wait_ready
from tests.writers import sample_cube, write_envi

pytestmark = pytest.mark.e2e


def upload(page, paths) -> None:
    # After a stored upload the uploader is replaced by a new one (its files leave the server's
    # memory); for a moment both are on the page.
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=\"stSidebarUserContent\"] "
        "[data-testid=\"stFileUploaderDropzoneInput\"]').length === 1"
    )
    # The sidebar's cube uploader (pages have uploaders of their own: ROIs, libraries).
    before = page.evaluate("() => location.href")
    page.get_by_test_id("stSidebarUserContent").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        [str(p) for p in paths])
    # The upload is under way once the uploader lists the files (by the start of their names: long
    # names are shortened), a run has begun, or the run has replaced the uploader; it is done once
    # the address names another cube (a small cube can be stored and shown between two polls).
    page.wait_for_function(
        "([names, before]) => { const box = document.querySelector('[data-testid=\"stSidebarUserContent\"]'); "
        "return !box || location.href !== before || names.some(n => box.innerText.includes(n)) || "
        "document.querySelector('[data-testid=\"stStatusWidget\"]') || "
        "box.querySelectorAll('[data-testid=\"stFileUploaderDropzoneInput\"]').length !== 1; }",
        arg=[[p.name[:12] for p in paths], before])
    wait_ready(page)


def test_upload_envi_pair_npy_and_broken_header(page, server, tmp_path, artifacts):
    page.goto(server)
    wait_ready(page)
    band_image(page)

    data = sample_cube(rows=48, cols=36, bands=10, dtype="i2")
    wavelengths = "{" + ", ".join(str(400 + 50 * i) for i in range(10)) + "}"
    header, raw = write_envi(
        tmp_path,
        data,
        name="field_scan",
        interleave="bil",
        byte_order=1,
        extra=f"wavelength units = Nanometers\nwavelength = {wavelengths}\n",
    )
    upload(page, [header, raw])
    page.get_by_role("heading", name="field_scan").wait_for()
    cube_id = url_cube_id(page)
    # /_stcore/metrics stays open (operators monitor with it): it counts sessions and cache entries,
    # and must never name a cube or its file.
    metrics = urllib.request.urlopen(f"{server}/_stcore/metrics").read().decode()
    assert "active_sessions" in metrics and cube_id not in metrics and "field_scan" not in metrics
    click_and_check_spectrum(page, data, 0.5, 0.5)
    page.screenshot(path=str(artifacts / "journey3-envi-upload.png"), full_page=True)

    np.save(tmp_path / "lab.npy", sample_cube(rows=20, cols=30, bands=5, dtype="f4"))
    upload(page, [tmp_path / "lab.npy"])
    page.get_by_role("heading", name="lab").wait_for()
    band_image(page)

    header.write_text(header.read_text().replace("lines = 48", "lines = 480"))
    upload(page, [header, raw])
    page.get_by_text("holds only").wait_for()
    # The previous cube stays open once the run ends (while it runs, the conversion's progress
    # bar stands at the top of the page, where the heading is drawn again after it).
    wait_ready(page)
    expect(page.get_by_role("heading", name="lab")).to_be_visible()
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(artifacts / "journey3-broken-header.png"), full_page=True)
