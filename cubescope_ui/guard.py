"""Containment: whatever a page meets, the user sees a message, never Streamlit's error box."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from cubescope import CubeError
from cubescope_ui.text import plain

_LOG = logging.getLogger("cubescope")


@contextmanager
def page_guard(what: str = "This page") -> Iterator[None]:
    """Run a page body; turn any exception into a message saying what to change.

    :class:`~cubescope.CubeError` carries a message written for the user and is shown as it is.
    Anything else is a case the code did not foresee: the traceback goes to the server log and
    the user gets the exception's kind and a way out. Streamlit's own control flow (``st.stop``,
    ``st.rerun``, ``st.switch_page``) derives from ``BaseException`` and passes through.
    """
    try:
        yield
    except CubeError as exc:
        st.warning(plain(exc), icon="⚠️")
    except MemoryError:
        _LOG.exception("out of memory in a page")
        st.error("This view needs more memory than the server has free. Choose a smaller region, fewer "
                 "components or another cube.", icon="⚠️")
    except Exception as exc:
        _LOG.exception("unforeseen error in a page")
        st.error(plain(
            f"{what} could not be drawn for this cube and these settings ({type(exc).__name__}: {exc}). "
            "Change the last setting you moved, choose another band, or open the demo cube; "
            "the details are in the server's log."
        ), icon="⚠️")
