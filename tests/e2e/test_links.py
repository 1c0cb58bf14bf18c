"""Links into the app, opened in a browser."""

import pytest

from tests.e2e.conftest import running_app
from tests.e2e.helpers import band_image, image_source, share_link, traces, wait_ready, wait_spectra

pytestmark = pytest.mark.e2e


def test_link_to_a_page_as_a_fresh_servers_first_request(browser, tmp_path):
    """A fresh server whose first request is a page link runs it through app.py: the sidebar,
    the navigation and the URL's settings are all there."""
    with running_app(tmp_path / "store", tmp_path / "app.log") as url:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(f"{url}/smoothing?sg_deriv=2nd&sg_window=15")
        wait_ready(page)
        band_image(page, "image_sg")
        assert page.get_by_text("Open the demo cube").is_visible()
        page.wait_for_function("() => location.search.includes('sg_deriv=2nd')")
        assert "15" in page.locator(".st-key-sg_window").inner_text()
        assert page.get_by_text("2nd derivative").first.is_visible()
        context.close()


def test_share_link_opens_same_analysis_in_another_browser(browser, server, artifacts):
    """Journey 7: pin pixels and move the band in one browser; the sidebar's share link opens
    the same cube, band, pixels and image in a second, independent browser context."""
    first_context = browser.new_context(viewport={"width": 1500, "height": 1100})
    first = first_context.new_page()
    first.goto(server)
    wait_ready(first)
    image = band_image(first)
    box = image.bounding_box()
    image.click(position={"x": 0.3 * box["width"], "y": 0.3 * box["height"]})
    traces(first, "spectra")
    band_image(first).click(position={"x": 0.7 * box["width"], "y": 0.8 * box["height"]})
    wait_spectra(first, 2)
    slider = first.locator(".st-key-band input[type='range']")
    slider.focus()
    for _ in range(5):
        slider.press("ArrowLeft")
    first.wait_for_function("() => location.href.includes('band=10')")
    wait_ready(first)
    link = share_link(first, "px=", "band=10")
    shown_first, spectra_first = image_source(first), traces(first, "spectra")

    second_context = browser.new_context(viewport={"width": 1500, "height": 1100})
    second = second_context.new_page()
    second.goto(link)
    wait_ready(second)
    band_image(second)
    assert image_source(second) == shown_first
    assert traces(second, "spectra") == spectra_first
    second.screenshot(path=str(artifacts / "journey7-shared-link.png"), full_page=True)
    first_context.close()
    second_context.close()


def test_two_servers_behind_one_address_give_the_same_answer(browser, tmp_path, artifacts):
    """Issue 9: two app servers with their own local stores and one shared store. A cube
    uploaded to the first opens from a share link on the second, with the same image and
    spectra (the second fetches it from the shared store and checks it)."""
    import numpy as np

    from tests.e2e.test_uploads import upload
    from tests.writers import sample_cube

    np.save(tmp_path / "shared_scene.npy", sample_cube(rows=40, cols=30, bands=9, dtype="f4", seed=5))
    shared = {"CUBESCOPE_SHARED_STORE": (tmp_path / "shared").as_uri()}
    with (
        running_app(tmp_path / "store_a", tmp_path / "a.log", shared) as url_a,
        running_app(tmp_path / "store_b", tmp_path / "b.log", shared) as url_b,
    ):
        first_context = browser.new_context(viewport={"width": 1500, "height": 1100})
        first = first_context.new_page()
        first.goto(url_a)
        wait_ready(first)
        upload(first, [tmp_path / "shared_scene.npy"])
        first.get_by_role("heading", name="shared_scene").wait_for()
        image = band_image(first)
        box = image.bounding_box()
        image.click(position={"x": 0.4 * box["width"], "y": 0.6 * box["height"]})
        traces(first, "spectra")
        wait_ready(first)
        link = share_link(first, "cube=", "px=")
        assert link.startswith(url_a)
        shown_first, spectra_first = image_source(first), traces(first, "spectra")

        second_context = browser.new_context(viewport={"width": 1500, "height": 1100})
        second = second_context.new_page()
        second.goto(url_b + link[len(url_a) :])  # the same link, answered by the other server
        wait_ready(second)
        second.get_by_role("heading", name="shared_scene").wait_for()
        assert image_source(second) == shown_first
        assert traces(second, "spectra") == spectra_first
        second.screenshot(path=str(artifacts / "journey9-second-server.png"), full_page=True)
        first_context.close()
        second_context.close()
    assert (tmp_path / "store_b" / "objects").is_dir() and any((tmp_path / "store_b" / "objects").iterdir())
