"""Classification in the browser (issue 28): two ROIs drawn with the Polygon tool, given two
classes in the ROI panel, then classified; the page reports the held-out accuracy."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import band_image, choose_tool, current_url, draw_polygon, share_link, wait_ready

pytestmark = pytest.mark.e2e


def give_class(page, index: int, name: str) -> None:
    if index:
        page.locator(".st-key-roi_pick").click()
        page.get_by_role("option", name=f"ROI {index + 1}").click()
        wait_ready(page)
    box = page.locator(f".st-key-roi_label_{index} input")
    box.fill(name)
    box.press("Enter")
    wait_ready(page)
    page.locator(".st-key-roi_apply button").click()
    share_link(page, f"~{name}~")  # the class reached the server


def test_two_drawn_rois_of_two_classes_are_classified_with_their_accuracy(page, server, artifacts):
    page.goto(server)
    wait_ready(page)
    image = band_image(page)
    choose_tool(page, "polygon")
    draw_polygon(page, image, [(10, 10), (10, 60), (40, 60), (40, 10)])  # vegetation
    draw_polygon(page, image, [(60, 150), (60, 200), (95, 200), (95, 150)])  # the lake
    page.get_by_text("Name, class or remove an ROI").click()
    give_class(page, 0, "vegetation")
    give_class(page, 1, "water")
    current_url(page, "rois=")
    page.locator(".st-key-page_links").get_by_text("Classification", exact=True).click()
    wait_ready(page)
    page.get_by_role("heading", name="Classification · demo scene").wait_for()
    metric = page.get_by_test_id("stMetricValue").first
    expect(metric).to_have_text(re.compile(r"^\d+\.\d%$"))
    assert float(metric.inner_text().rstrip("%")) > 90  # vegetation and water, each half held out
    assert page.locator("[data-testid='stAlertContentError'], [data-testid='stException']").count() == 0
    page.screenshot(path=str(artifacts / "issue28-classification.png"), full_page=True)
