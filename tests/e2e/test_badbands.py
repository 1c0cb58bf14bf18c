"""Bad bands marked on the spectra chart in a real browser: a drag marks every band it crosses,
a click on a marked band unmarks it, Enter marks the band read from the keyboard, the link and
the spectra follow."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cubescope import state
from cubescope.badbands import encode_runs
from tests.e2e.helpers import share_link, switch_on, wait_ready, wait_spectra

pytestmark = pytest.mark.e2e

CHART = "window.__cubescopeCharts.spectra"
#: Conditions on the chart are polled on a timer: polled on animation frames they timed out
#: here now and then although they held.
POLL = 100


def _point(page, band: int) -> dict:
    """Where band ``band`` lies on the chart, in the window (scrolled into view first)."""
    page.locator(".st-key-spectra canvas").scroll_into_view_if_needed()
    return page.evaluate(f"([i]) => {CHART}.point(i)", [band])


def _drag(page, first: int, last: int) -> None:
    a, b = _point(page, first), _point(page, last)
    page.mouse.move(a["x"], a["y"])
    page.mouse.down()
    page.mouse.move(b["x"], b["y"], steps=6)
    page.mouse.up()


def _marked(page, count: int) -> list[int]:
    """The bad bands the chart shades, once it shades ``count`` of them."""
    page.wait_for_function(f"([n]) => {CHART}.spec && {CHART}.spec.bad.length === n", arg=[count], polling=POLL)
    return page.evaluate(f"() => {CHART}.spec.bad")


def test_bad_bands_marked_by_dragging_and_clicking_on_the_spectra_chart(page, server):
    page.goto(server + "/?px=" + state.encode_pins([(40, 100)]))
    wait_ready(page)
    wait_spectra(page, 1)
    page.get_by_text(re.compile(r"^Bad bands: 0 of 128")).click()
    switch_on(page, "bad_on_chart")
    page.wait_for_function(f"() => {CHART}.spec && {CHART}.spec.editing", polling=POLL)
    wait_ready(page)  # the toggle's run has ended: a stroke is not drawn across a redraw of the chart
    _drag(page, 57, 63)
    assert _marked(page, 7) == list(range(57, 64))
    share_link(page, "bad=57-63")
    # A click on a marked band unmarks it.
    wait_ready(page)
    point = _point(page, 60)
    page.mouse.click(point["x"], point["y"])
    assert _marked(page, 6) == [57, 58, 59, 61, 62, 63]
    share_link(page, "bad=57-59%2C61-63")
    # The marked bands are gaps in the spectrum.
    values = page.evaluate(f"() => {CHART}.traces()[0].y")
    assert all(v != v for v in values[57:60]) and values[60] == values[60]
    # From the keyboard: the arrows read band by band, Enter marks the band read.
    wait_ready(page)
    page.mouse.move(0, 0)  # the pointer off the chart: it reads bands too
    chart = page.locator(".st-key-spectra canvas")
    chart.focus()
    chart.press("ArrowRight")
    page.wait_for_function(f"() => {CHART}.hoverIndex !== null", polling=POLL)
    read = page.evaluate(f"() => {CHART}.hoverIndex") + 1
    assert read not in (57, 58, 59, 61, 62, 63)
    chart.press("ArrowRight")
    page.wait_for_function(f"([b]) => {CHART}.hoverIndex === b", arg=[read], polling=POLL)
    chart.press("Enter")
    marked = sorted([57, 58, 59, 61, 62, 63, read])
    assert _marked(page, 7) == marked
    share_link(page, "bad=" + encode_runs(np.isin(np.arange(128), marked)).replace(",", "%2C"))
