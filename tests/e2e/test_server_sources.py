"""Opening a cube from the server's data folder (issue 9), and a refused URL, in the browser."""

import pytest

from tests.e2e.conftest import running_app
from tests.e2e.helpers import choose_option, click_and_check_spectrum, wait_ready
from tests.writers import sample_cube, write_envi

pytestmark = pytest.mark.e2e


def test_open_from_data_folder_and_refuse_url_with_credentials(browser, tmp_path, artifacts):
    data = sample_cube(rows=60, cols=40, bands=12, dtype="i2")
    (tmp_path / "data" / "flights").mkdir(parents=True)
    write_envi(tmp_path / "data" / "flights", data, name="line_07", interleave="bip")
    env = {"CUBESCOPE_DATA_ROOT": str(tmp_path / "data"), "CUBESCOPE_REMOTE_PREFIXES": "s3://cubes/"}
    with running_app(tmp_path / "store", tmp_path / "app.log", env) as url:
        context = browser.new_context(viewport={"width": 1500, "height": 1100})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(url)
        wait_ready(page)
        page.get_by_text("Open from the server").click()
        choose_option(page, "server_file", "flights/line_07.hdr")
        wait_ready(page)
        button = page.locator(".st-key-open_server_file button")
        page.wait_for_function("(b) => !b.disabled", arg=button.element_handle())  # the choice has reached the server
        wait_ready(page)
        button.click()
        page.get_by_role("heading", name="line_07").wait_for(timeout=60_000)  # conversion runs in a child process
        wait_ready(page)
        click_and_check_spectrum(page, data, 0.3, 0.6)
        page.screenshot(path=str(artifacts / "journey9-data-folder.png"), full_page=True)

        page.locator(".st-key-server_url input").fill("s3://key:secret@cubes/x.hdr")
        page.keyboard.press("Enter")
        wait_ready(page)
        page.locator(".st-key-open_url button").click()
        page.get_by_text("Do not put credentials in the URL").wait_for()
        assert page.get_by_role("heading", name="line_07").is_visible()  # the open cube stays
        context.close()
