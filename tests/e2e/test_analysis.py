"""Journeys 4 and 5: Savitzky-Golay and PCA in the browser."""

import numpy as np
import pytest

from cubescope.demo import demo_cube
from cubescope.smoothing import savgol_spectrum
from tests.e2e.helpers import SPECTRA, band_image, choose_option, image_source, traces, wait_ready

pytestmark = pytest.mark.e2e


def test_savitzky_golay_settings_update_spectrum_and_derivative_image(page, server, artifacts):
    page.goto(f"{server}/smoothing?px=30-50")
    wait_ready(page)
    band_image(page, "image_sg")
    before_image, before = image_source(page, "image_sg"), traces(page, "sg_spectra")
    cube = demo_cube()
    smoothed = next(t for t in before if t["name"] == "(30, 50) smoothed")
    np.testing.assert_allclose(smoothed["y"], savgol_spectrum(cube.spectrum(30, 50), 11, 3), rtol=1e-5, atol=1e-7)

    choose_option(page, "sg_deriv", "2nd")
    wait_ready(page)
    page.wait_for_function("() => location.href.includes('sg_deriv=2nd')")
    page.wait_for_function(f"() => ({SPECTRA})('sg_spectra')[0].name.includes('2nd')")
    band_image(page, "image_sg")
    assert image_source(page, "image_sg") != before_image
    derivative = traces(page, "sg_spectra")[0]
    delta = float(cube.wavelengths[1] - cube.wavelengths[0])
    np.testing.assert_allclose(
        derivative["y"], savgol_spectrum(cube.spectrum(30, 50), 11, 3, 2, delta), rtol=1e-5, atol=1e-9
    )
    assert page.get_by_text("per nm²").first.is_visible()
    page.screenshot(path=str(artifacts / "journey4-savitzky-golay.png"), full_page=True)


def test_pca_scree_and_pc_image(page, server, artifacts):
    page.goto(f"{server}/pca")
    wait_ready(page)
    scree = traces(page, "scree")
    assert [t["name"] for t in scree] == ["explained variance", "cumulative"]
    assert scree[1]["y"][-1] > 99  # the demo scene is a few materials: 5 PCs explain nearly all
    first = image_source(page, "image_pca")
    page.locator(".st-key-pc input[type='range']").focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.href.includes('pc=2')")
    wait_ready(page)
    band_image(page, "image_pca")
    assert image_source(page, "image_pca") != first
    page.screenshot(path=str(artifacts / "journey5-pca.png"), full_page=True)
