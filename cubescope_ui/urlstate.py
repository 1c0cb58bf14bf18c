"""Pins and region in the URL (``?px=`` and ``?roi=``), kept in step with the session."""

from __future__ import annotations

import streamlit as st

from cubescope import Cube, state
from cubescope_ui.text import warning


def sync_view(cube: Cube) -> None:
    """Adopt a link's pins and region when the session starts; afterwards write the session's."""
    if "pins" not in st.session_state:
        pins, problems = state.decode_pins(st.query_params.get("px"), cube.rows, cube.cols)
        region, more = state.decode_region(st.query_params.get("roi"), cube.rows, cube.cols)
        st.session_state["pins"] = pins
        if region is not None:
            st.session_state["region"] = region
        for problem in problems + more:
            warning(problem)
    _write("px", state.encode_pins(st.session_state.get("pins") or []))
    region = st.session_state.get("region")
    _write("roi", state.encode_region(region) if region else "")


def _write(key: str, value: str) -> None:
    if not value:
        st.query_params.pop(key, None)
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


def share_link() -> str:
    """This page's address with every parameter of the current analysis."""
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    return state.share_link(st.context.url or "", params)
