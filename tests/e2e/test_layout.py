"""The layout at the window widths users have (issue 24): 1024 px with the sidebar open and
1400 px; and a fresh server that several people open at once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cubescope_ui.frame import PAGES
from tests.e2e.conftest import running_app
from tests.e2e.helpers import band_image, wait_ready

pytestmark = pytest.mark.e2e

PAGE_TITLES = [title for _, title, *_ in PAGES]


@pytest.mark.parametrize("width", [1024, 1400])
def test_bands_page_gives_the_image_room_and_cuts_no_control(browser, server, artifacts, width):
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.goto(server)
    wait_ready(page)
    canvas = band_image(page).bounding_box()
    main = page.evaluate("() => { const e = document.querySelector('[data-testid=stMainBlockContainer]'); "
                         "const s = getComputedStyle(e); "
                         "return e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight); }")
    assert canvas["width"] >= 0.5 * main, (canvas, main)
    row_input = page.get_by_label("Row", exact=True)
    # Row and Column keep their +/- buttons, and the ROI import shows its whole label. Streamlit
    # shows the buttons once it has measured the field, which a loaded machine does a little later.
    for label in ("Row", "Column"):
        field = page.locator("[data-testid='stNumberInput']").filter(has=page.get_by_text(label, exact=True))
        expect(field.get_by_test_id("stNumberInputStepUp")).to_be_visible(timeout=30_000)
    uploader = page.locator("[data-testid='stFileUploader']").filter(has_text="Import ROIs (GeoJSON)")
    dropzone = uploader.get_by_test_id("stFileUploaderDropzone").bounding_box()
    button = uploader.locator("button").filter(has_text="Upload").bounding_box()
    assert button["x"] + button["width"] <= dropzone["x"] + dropzone["width"] + 1, (button, dropzone)
    row_box = row_input.bounding_box()
    if width == 1024:  # the panel goes under the image
        assert row_box["y"] > canvas["y"] + canvas["height"], (row_box, canvas)
    else:  # beside it
        assert row_box["x"] > canvas["x"] + canvas["width"], (row_box, canvas)
    page.screenshot(path=str(artifacts / f"issue24-bands-{width}.png"), full_page=True)
    context.close()


def test_a_fresh_server_opened_by_several_people_at_once(browser, tmp_path):
    """The first requests a new server gets are links to pages, all at once: each page draws
    with its page list and no error (they once raced importing pandas)."""
    with running_app(tmp_path / "store", tmp_path / "app.log") as url:
        contexts = [browser.new_context(viewport={"width": 1024, "height": 900}) for _ in range(3)]
        pages = [context.new_page() for context in contexts]
        for page, path in zip(pages, ("pca", "smoothing", "continuum"), strict=True):
            page.set_default_timeout(90_000)
            page.goto(f"{url}/{path}", wait_until="commit")
        for page in pages:
            wait_ready(page)
            page.locator("[data-testid='stMainBlockContainer'] h3").first.wait_for()
            wait_ready(page)
            assert page.locator("[data-testid='stAlertContentError'], [data-testid='stException']").count() == 0
            links = page.locator(".st-key-page_links [data-testid='stPageLink-NavLink']")
            expect(links).to_have_count(len(PAGE_TITLES))
            # Each link's text: its icon's name (a ligature), then its title.
            assert [text.strip().split("\n")[-1].strip()
                    for text in links.all_inner_texts()] == PAGE_TITLES
        for context in contexts:
            context.close()
    assert "Traceback" not in (tmp_path / "app.log").read_text()
