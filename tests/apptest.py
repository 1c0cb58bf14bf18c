"""The one way tests start the app with Streamlit's AppTest, and what they read back from it.

AppTest runs the scripts in-process without a browser: widgets, session state and messages,
and the bytes each custom component (viewer, spectra chart, share link) is sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import numpy as np
import streamlit as st
from streamlit.testing.v1 import AppTest

from cubescope import Cube
from cubescope.store import CubeStore
from cubescope_ui.viewer import unpack

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def app_session(timeout: float = 90) -> AppTest:
    """A new browser session of the app, not yet run."""
    return AppTest.from_file(APP, default_timeout=timeout)


def open_page(page: str | None = None, *, query: Mapping[str, str] | None = None,
              session: Mapping[str, Any] | None = None, cube: Cube | None = None, cube_id: str | None = None,
              timeout: float = 90, fresh: bool = True, check: bool = True) -> AppTest:
    """The app as a browser opens it: a link's ``query``, values already in the session
    (``session``; ``cube`` is stored under ``cube_id`` and opened so), then ``page``
    (``"pages/pca.py"``; None: the first page). ``fresh`` empties Streamlit's caches first (a
    new server); ``check`` asserts that no run raised."""
    if fresh:
        st.cache_resource.clear()
        st.cache_data.clear()
    at = app_session(timeout)
    if cube is not None:
        cube_id = cube_id or hashlib.md5(cube.name.encode()).hexdigest()
        at.query_params["cube"] = CubeStore(os.environ["CUBESCOPE_STORE"]).put(cube, cube_id)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(page).run()
    if check:
        assert not at.exception, at.exception
    return at


def viewer_bytes(at: AppTest, key: str) -> bytes:
    """The payload the page sends to the image viewer ``key``."""
    for element in at.get("bidi_component"):
        if element.proto.id.endswith(f"-{key}"):
            return element.proto.bytes
    raise AssertionError(f"no image viewer {key!r}")


def viewer_payload(at: AppTest, key: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """Header, values and pixels the page sends to the image viewer ``key``."""
    return unpack(viewer_bytes(at, key))


def viewer_overlays(at: AppTest, key: str) -> list[dict]:
    """The pins, region and polygons the page draws over the image viewer ``key``."""
    for element in at.get("bidi_component"):
        if element.proto.id.endswith(f"-{key}_overlays"):
            data = json.loads(element.proto.json)
            assert data["target"] == key
            return data["overlays"]
    raise AssertionError(f"no overlays for {key!r}")


def component_image(at: AppTest, key: str) -> np.ndarray:
    """The palette indices the page sends to the image viewer ``key``."""
    return viewer_payload(at, key)[2]


def share_query(at: AppTest) -> dict[str, str]:
    """The query string the share link (and the address bar) holds after the last run."""
    for element in at.get("bidi_component"):
        if element.proto.id.endswith("-share_link"):
            return dict(parse_qsl(json.loads(element.proto.json)["query"]))
    raise AssertionError("no share link")


def spectra_spec(at: AppTest, key: str) -> str:
    """What the chart ``key`` is sent: a plotly figure, or the spectra chart's JSON data."""
    for chart in at.get("plotly_chart"):
        if chart.proto.id.endswith(f"-{key}"):
            return chart.proto.spec
    return next(c.proto.json for c in at.get("bidi_component") if c.proto.id.endswith(f"-{key}"))


def rerun_until(at: AppTest, condition: Callable[[AppTest], Any], what: str, timeout: float = 60) -> Any:
    """Run the app again until ``condition(at)`` gives something true (work done in the
    background, such as the viewer's preview, reaches the page on a later run); that value."""
    deadline = time.monotonic() + timeout
    while not (found := condition(at)):
        assert time.monotonic() < deadline, f"{what} never came"
        time.sleep(0.1)
        at.run()
    return found


def plotly_array(value: Any) -> np.ndarray:
    """An array of a plotly figure's JSON: a typed array (``bdata``, ``dtype``, ``shape``) as
    plotly writes numpy arrays, or a plain list."""
    if isinstance(value, dict):
        import base64

        shape = [int(n) for n in str(value.get("shape", "-1")).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), value["dtype"]).reshape(shape)
    return np.asarray(value)
