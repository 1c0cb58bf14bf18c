"""Reading what the browser shows: the app's state, the band image, plotly traces."""

from __future__ import annotations

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
    script = (f"([key, arg]) => {{ const c = ({VIEWER_CANVAS})(key); if (!c) return false; const d = c.dataset; "
              f"return ({condition}) && performance.now(); }}")
    return page.wait_for_function(script, arg=[key, arg], polling="raf", timeout=timeout).json_value()


def wait_ready(page) -> None:
    """Wait until the app is connected and has finished running its script."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')"
    )


def band_image(page, key: str = "image"):
    """The clickable image with Streamlit key ``key``, inside its component frame, once loaded."""
    image = page.frame_locator(f".st-key-{key} iframe").locator("img#image")
    image.wait_for(state="visible")
    # Poll: the component sets img.onload itself, so waiting on onload would race with it.
    image.evaluate("img => new Promise(r => { const c = () => img.complete && img.naturalWidth > 0 ? r(true)"
                   " : setTimeout(c, 10); c(); })")
    return image


def image_source(page, key: str = "image") -> str:
    return band_image(page, key).get_attribute("src")


def traces(page, key: str) -> list[dict]:
    """Name and y values of every trace in the plotly chart with Streamlit key ``key``."""
    selector = f".st-key-{key} .js-plotly-plot"
    page.wait_for_selector(selector)
    return page.eval_on_selector(
        selector,
        "gd => gd._fullData.map(t => ({name: t.name, y: Array.from(t.y || [])}))",
    )


def click_and_check_spectrum(page, data, fx: float, fy: float) -> tuple[int, int]:
    """Click the band image at fractions ``(fx, fy)`` of its size; check that the new spectrum
    trace holds ``data[row, col]`` (``data``: the cube as ``(rows, cols, bands)``). Returns the pixel."""
    import numpy as np

    image = band_image(page)
    box = image.bounding_box()
    image.click(position={"x": box["width"] * fx, "y": box["height"] * fy})
    spectrum = traces(page, "spectra")[-1]
    row, col = (int(v) for v in spectrum["name"].strip("()").split(","))
    np.testing.assert_array_equal(spectrum["y"], data[row, col].astype(float))
    return row, col


def current_url(page) -> str:
    """The address bar as the app last wrote it (``page.url`` lags behind history.replaceState)."""
    return page.evaluate("() => window.location.href")
