"""Reading what the browser shows: the app's state, the band image, plotly traces."""

from __future__ import annotations

import math

from playwright.sync_api import expect

#: JavaScript: the canvas of the image viewer with Streamlit key ``key`` (inside the
#: component's shadow root), or null.
VIEWER_CANVAS = """(key) => {
    const host = document.querySelector(`.st-key-${key}`);
    const walk = (node) => {
        const found = node.querySelector('canvas.cs-canvas');
        if (found) return found;
        for (const element of node.querySelectorAll('*')) {
            if (element.shadowRoot) { const inner = walk(element.shadowRoot); if (inner) return inner; }
        }
        return null;
    };
    return host ? walk(host) : null;
}"""


def viewer_state(page, key: str = "image") -> dict:
    """What the viewer ``key`` last painted: tile id, window sent, window shown, step, painted count."""
    return page.evaluate(f"(key) => {{ const c = ({VIEWER_CANVAS})(key); return c ? {{...c.dataset}} : null; }}", key)


def wait_viewer(page, condition: str, key: str = "image", arg=None, timeout: float = 30_000):
    """Wait until ``condition`` (a JS expression over ``d``, the canvas dataset, and ``arg``)
    holds for viewer ``key``; returns ``performance.now()`` of the first frame it held."""
    script = (
        f"([key, arg]) => {{ const c = ({VIEWER_CANVAS})(key); if (!c) return false; const d = c.dataset; "
        f"return ({condition}) && performance.now(); }}"
    )
    try:
        return page.wait_for_function(script, arg=[key, arg], polling="raf", timeout=timeout).json_value()
    except Exception as exc:
        raise AssertionError(f"viewer {key!r} never showed {condition} (arg {arg!r}); it shows "
                             f"{viewer_state(page, key)}\n{what_the_page_shows(page)}") from exc


def wait_ready(page) -> None:
    """Wait until the app is connected and has finished running its script: Streamlit's own
    run state on the app's root, not the status widget (which shows a run only after a delay,
    so a check between a run's start and that delay passed while the run went on)."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']")
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning'],"
                           "[data-testid='stApp'][data-test-script-state='compilationError']")


def choose_option(page, key: str, name: str, attempts: int = 4) -> None:
    """Pick ``name`` in the selectbox with Streamlit key ``key``.

    A rerun that lands just after the click re-renders the selectbox and closes its list, so
    the list is opened again until the option shows (a slow CI machine sees this)."""
    option = page.get_by_role("option", name=name, exact=True)
    for attempt in range(attempts):
        wait_ready(page)
        page.locator(f".st-key-{key} input").click()
        try:
            option.wait_for(timeout=5_000)
            break
        except Exception:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")
    option.click()


def switch_on(page, key: str, attempts: int = 4) -> None:
    """Turn on the toggle with Streamlit key ``key``. As with :func:`choose_option`, a rerun
    that lands just after the click can draw the toggle again as it was (a loaded CI machine
    sees this), so the click is made again until the switch stays on."""
    switch = page.locator(f".st-key-{key} input[role='switch']")
    for attempt in range(attempts):
        wait_ready(page)
        if not switch.is_checked():
            page.locator(f".st-key-{key} label").click()  # the label covers the switch's input
        try:
            expect(switch).to_be_checked(timeout=5_000)
            wait_ready(page)
            expect(switch).to_be_checked(timeout=1_000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def band_image(page, key: str = "image"):
    """The canvas of the image viewer with Streamlit key ``key``, once it has painted an image
    and has nothing to ask of the server (a page's first image may be followed by one at the
    resolution the viewer's box asks for)."""
    wait_viewer(page, "Number(d.painted) > 0 && d.settled === 'true'", key)
    return page.locator(f".st-key-{key} canvas.cs-canvas")


def image_source(page, key: str = "image") -> str:
    """What viewer ``key`` shows: its tile (band, window, step) and a checksum of its colours."""
    band_image(page, key)
    state = viewer_state(page, key)
    return f"{state['tile']}|{state['pixels']}"


def pixel_under(page, x: float, y: float, key: str = "image") -> tuple[int, int]:
    """The image pixel ``(row, col)`` drawn at ``(x, y)`` (CSS pixels from the canvas's top left)
    of viewer ``key``: the window is scaled to fit the canvas and centred in it."""
    state = viewer_state(page, key)
    box = page.locator(f".st-key-{key} canvas.cs-canvas").bounding_box()
    r0, r1, c0, c1 = (int(v) for v in state["view"].split("-"))
    scale = min(box["width"] / (c1 - c0), box["height"] / (r1 - r0))
    left, top = (box["width"] - (c1 - c0) * scale) / 2, (box["height"] - (r1 - r0) * scale) / 2
    return r0 + math.floor((y - top) / scale), c0 + math.floor((x - left) / scale)


def pixel_centre(page, row: int, col: int, key: str = "image") -> tuple[float, float]:
    """Where pixel ``(row, col)``'s centre is drawn in viewer ``key``, in CSS pixels from the
    canvas's top left (a click there cannot fall on a neighbour by rounding)."""
    state = viewer_state(page, key)
    box = page.locator(f".st-key-{key} canvas.cs-canvas").bounding_box()
    r0, r1, c0, c1 = (int(v) for v in state["view"].split("-"))
    scale = min(box["width"] / (c1 - c0), box["height"] / (r1 - r0))
    left, top = (box["width"] - (c1 - c0) * scale) / 2, (box["height"] - (r1 - r0) * scale) / 2
    return left + (col - c0 + 0.5) * scale, top + (row - r0 + 0.5) * scale


def share_link(page, *needed: str) -> str:
    """The link the sidebar shows for sharing, once it holds every text in ``needed`` (the link
    is rewritten after a run settles: a condition, never a fixed wait). The link is a component
    drawn in a shadow root, which Playwright's locators reach and ``document.querySelector`` does
    not."""
    link = page.locator("[data-testid='stSidebar'] .cs-url")
    for text in needed:
        expect(link).to_contain_text(text, timeout=30_000)
    return link.inner_text().strip()


#: JavaScript: name, y values (NaN where missing) and colour of every spectrum drawn under the
#: Streamlit key ``key``: by Cubescope's spectra chart, or by a plotly chart; null before either.
SPECTRA = """(key) => {
    const chart = (window.__cubescopeCharts || {})[key];
    if (chart && chart.spec && document.querySelector(`.st-key-${key}`)) return chart.traces();
    const gd = document.querySelector(`.st-key-${key} .js-plotly-plot`);
    if (!gd || !gd._fullData) return null;
    return gd._fullData.map(t => ({name: t.name, y: Array.from(t.y || []), colour: t.line && t.line.color}));
}"""


def traces(page, key: str) -> list[dict]:
    """Name, y values and line colour of every spectrum the server sent the chart with Streamlit
    key ``key`` (waiting until it draws one: the Bands page's chart is drawn empty before the
    first pin)."""
    return page.wait_for_function(f"([key]) => {{ const t = ({SPECTRA})(key); return t && t.length ? t : null; }}",
                                  arg=[key]).json_value()


def wait_spectra(page, count: int, key: str = "spectra") -> None:
    """Wait until the chart with Streamlit key ``key`` draws at least ``count`` spectra."""
    page.wait_for_function(f"([key, count]) => {{ const t = ({SPECTRA})(key); return t && t.length >= count; }}",
                           arg=[key, count])


def wait_trace(page, name: str, key: str = "spectra") -> None:
    """Wait until the chart with Streamlit key ``key`` draws a spectrum named ``name``."""
    page.wait_for_function(
        f"([key, name]) => {{ const t = ({SPECTRA})(key); return t && t.some(s => s.name === name); }}",
        arg=[key, name])


def choose_tool(page, tool: str, key: str = "image") -> None:
    """Press the viewer's tool button (``select``, ``polygon``, ``line``, ``pan``) inside its shadow root."""
    page.evaluate(
        f"([key, tool]) => ({VIEWER_CANVAS})(key).closest('.cs-viewer').querySelector(`[data-mode=${{tool}}]`).click()",
        [key, tool],
    )



def draw_polygon(page, image, corners: list[tuple[int, int]], key: str = "image") -> None:
    """Draw a polygon ROI with the viewer's Polygon tool (chosen already): a click on each
    corner pixel ``(row, col)``, a double-click on the last to close it."""
    count = "(key) => ((window.__cubescopeOverlays || {})[key] || []).filter(o => o.kind === 'polygon').length"
    before = page.evaluate(count, key)
    for row, col in corners:
        x, y = pixel_centre(page, row, col, key)
        image.click(position={"x": x, "y": y})
    x, y = pixel_centre(page, *corners[-1], key)
    image.dblclick(position={"x": x, "y": y})
    # The server has it once it draws it back: a second polygon drawn before the first one's
    # run began would travel in the same request, and only one of the two would arrive.
    page.wait_for_function(f"([key, before]) => ({count})(key) > before", arg=[key, before])
    wait_ready(page)

def click_and_check_spectrum(page, data, fx: float, fy: float) -> tuple[int, int]:
    """Click the band image at fractions ``(fx, fy)`` of its size; check that the new spectrum
    trace holds ``data[row, col]`` (``data``: the cube as ``(rows, cols, bands)``). Returns the pixel."""
    import numpy as np

    image = band_image(page)
    box = image.bounding_box()
    expected = pixel_under(page, box["width"] * fx, box["height"] * fy)
    x, y = pixel_centre(page, *expected)
    image.click(position={"x": x, "y": y})
    wait_trace(page, f"({expected[0]}, {expected[1]})")
    spectrum = traces(page, "spectra")[-1]
    row, col = (int(v) for v in spectrum["name"].strip("()").split(","))
    assert (row, col) == expected
    np.testing.assert_array_equal(spectrum["y"], data[row, col].astype(float))
    return row, col


def current_url(page, containing: str = "") -> str:
    """The address bar as the app last wrote it (``page.url`` lags behind history.replaceState);
    with ``containing``, once it contains that text (the link is written after the page is drawn)."""
    if containing:
        page.wait_for_function("([text]) => window.location.href.includes(text)", arg=[containing])
    return page.evaluate("() => window.location.href")


def url_cube_id(page, previous: str | None = None, timeout: float = 60_000) -> str:
    """The cube id in the address bar, once there is one (other than ``previous``). The link is
    written after the page has drawn, which a loaded CI machine can take a while to do."""
    try:
        page.wait_for_function(
            "([old]) => { const id = new URLSearchParams(location.search).get('cube'); return id && id !== old; }",
            arg=[previous], timeout=timeout,
        )
    except Exception as exc:
        raise AssertionError(f"the address bar kept cube {previous!r}:\n{what_the_page_shows(page)}") from exc
    return page.evaluate("() => new URLSearchParams(location.search).get('cube')")


def what_the_page_shows(page) -> str:
    """For a failing test's message: the address, headings, messages and share link the page
    shows, whether a run is under way, what the browser said and the end of the server's log."""
    from urllib.parse import urlsplit

    from tests.e2e.conftest import APP_LOGS

    shown = page.evaluate(
        "() => ({href: location.href, headings: [...document.querySelectorAll('h3')].map(h => h.innerText), "
        "state: document.querySelector('[data-testid=\"stApp\"]')?.dataset.testScriptState, "
        "messages: [...document.querySelectorAll('[data-testid=\"stAlert\"], [data-testid=\"stException\"]')]"
        ".map(a => a.innerText.slice(0, 300))})")
    link = page.locator("[data-testid='stSidebar'] .cs-url")
    shown["links"] = link.all_inner_texts()
    # What the share link's component was last given (its data, in a shadow root that only
    # locators reach): tells a link never sent from an address write that was lost.
    shown["link_query"] = page.locator("[data-testid='stSidebar'] .cs-link").evaluate_all(
        "links => links.map(l => l.dataset.query)")
    parts = urlsplit(page.url)
    log = APP_LOGS.get(f"{parts.scheme}://{parts.netloc}")
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else "(no log)"
    console = "\n".join(getattr(page, "console_lines", [])[-30:])
    return f"{shown}\nbrowser console:\n{console}\nserver log:\n{tail}"
