"""The app's server: Streamlit's, with the uploads' bytes written to disk as they arrive rather
than held in the server's memory (:mod:`cubescope_ui.streamed_uploads`). ``app.py`` is the
app's script; ``streamlit run serve.py`` serves it so (``streamlit run app.py`` serves it too,
with Streamlit's in-memory uploads)."""

import streamlit as st
from starlette.middleware import Middleware

from cubescope.store import configured_root
from cubescope_ui.streamed_uploads import StreamedUploads


def _max_upload_bytes() -> int:
    return int(st.get_option("server.maxUploadSize")) * 2**20


app = st.App("app.py",
             middleware=[Middleware(StreamedUploads, store_root=configured_root, max_bytes=_max_upload_bytes)])
