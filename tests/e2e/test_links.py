"""Links into the app, opened in a browser."""

import pytest

from tests.e2e.conftest import running_app
from tests.e2e.helpers import band_image, current_url, wait_ready

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
        assert "sg_deriv=2nd" in current_url(page)
        assert "15" in page.locator(".st-key-sg_window").inner_text()
        assert page.get_by_text("2nd derivative").first.is_visible()
        context.close()
