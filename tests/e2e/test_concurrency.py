"""Eight people at once, each on their own cube: each sees only their own data."""

import numpy as np
import pytest

from tests.e2e.helpers import band_image, pixel_centre, traces, wait_ready, wait_viewer
from tests.writers import sample_cube

pytestmark = pytest.mark.e2e
USERS = 8


def test_eight_browser_contexts_on_different_cubes(browser, server, tmp_path, artifacts):
    """Contexts are opened and driven one step at a time in turn (Playwright's sync API is not
    thread-safe), so their sessions overlap on the server: all eight stay open and live."""
    pages, cubes = [], []
    for user in range(USERS):
        data = sample_cube(rows=20 + user, cols=30, bands=6, dtype="f4", seed=user) + 1000 * user
        path = tmp_path / f"user{user}.npy"
        np.save(path, data)
        cubes.append(data)
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(server)
        pages.append(page)
    for user, page in enumerate(pages):
        wait_ready(page)
        page.get_by_test_id("stSidebarUserContent").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
            str(tmp_path / f"user{user}.npy"))
    for user, page in enumerate(pages):
        page.get_by_role("heading", name=f"user{user}").wait_for()
        # Pixel (0, 0)'s centre once the viewer shows this cube (the image is centred in its
        # box, so the box's corner need not be a pixel).
        wait_viewer(page, "d.view === arg", arg=f"0-{20 + user}-0-30", timeout=60_000)
        x, y = pixel_centre(page, 0, 0)
        band_image(page).click(position={"x": x, "y": y})
    for user, page in enumerate(pages):
        spectrum = traces(page, "spectra")[-1]
        assert spectrum["name"] == "(0, 0)"
        np.testing.assert_allclose(spectrum["y"], cubes[user][0, 0], rtol=1e-6)  # their own cube
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.get_by_role("heading", name=f"user{user}").is_visible()
    pages[-1].screenshot(path=str(artifacts / "concurrency-user7.png"), full_page=True)
    for page in pages:
        page.context.close()
