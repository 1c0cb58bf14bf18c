"""A Streamlit session without a browser: the websocket protocol and the upload route, as the
frontend speaks them (Streamlit 1.67), for load benchmarks whose clients should cost the machine
next to nothing.

It opens a session on the main page, finds the sidebar's file uploader among the elements the
server sends, uploads files through ``/_stcore/upload_file`` (with the XSRF token as cookie and
header, as the frontend sends it), and reruns the script with the uploader's new value, as a
browser does after an upload. It keeps the texts of the elements the server sends, so a caller
can tell when the page shows what it expects.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import aiohttp
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.Common_pb2 import FileUploaderState, FileURLsRequest, UploadedFileInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.web.server.starlette.starlette_app_utils import generate_xsrf_token_string

_REQUESTS = itertools.count(1)


class Session:
    """One user's session of the app at ``url``; use with ``async with``."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.token = generate_xsrf_token_string()
        self.session_id = ""
        self.page_hash = ""
        self.uploader_id = ""
        self.texts: list[str] = []
        self.last_run: list[str] = []
        self.finished = 0
        self._changed = asyncio.Condition()
        self._file_urls: dict[str, object] = {}

    async def __aenter__(self) -> Session:
        headers = {"Cookie": f"_streamlit_xsrf={self.token}", "Origin": self.url}
        self._socket = await websockets.connect(
            self.url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit", self.token],
            additional_headers=headers, max_size=None)
        self._http = aiohttp.ClientSession(headers=headers)
        self._reader = asyncio.create_task(self._read())
        await self.rerun([])
        return self

    async def __aexit__(self, *exc) -> None:
        self._reader.cancel()
        await self._socket.close()
        await self._http.close()

    async def _read(self) -> None:
        async for raw in self._socket:
            message = ForwardMsg()
            message.ParseFromString(raw)
            kind = message.WhichOneof("type")
            async with self._changed:
                if kind == "new_session":
                    self.session_id = message.new_session.initialize.session_id
                    self.page_hash = self.page_hash or message.new_session.main_script_hash
                elif kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                    element = message.delta.new_element
                    which = element.WhichOneof("type")
                    if which == "file_uploader" and element.file_uploader.label == "Open a cube":
                        self.uploader_id = element.file_uploader.id
                    elif which in ("markdown", "heading"):
                        self.texts.append(getattr(element, which).body)
                elif kind == "file_urls_response":
                    for urls in message.file_urls_response.file_urls:
                        self._file_urls[message.file_urls_response.response_id] = urls
                elif kind == "script_finished":
                    self.finished += 1
                    self.last_run, self.texts = self.texts, []
                self._changed.notify_all()

    async def _until(self, condition, timeout: float) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(condition), timeout)

    async def rerun(self, widget_states: list) -> None:
        """Run the script again with these widget states; return when the run has finished."""
        done = self.finished
        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_script_hash = self.page_hash
        message.rerun_script.widget_states.widgets.extend(widget_states)
        await self._socket.send(message.SerializeToString())
        await self._until(lambda: self.finished > done and self.uploader_id, 120)

    async def upload(self, files: list[Path], shows: str, timeout: float = 600) -> None:
        """Upload ``files`` through the sidebar's uploader, then wait for the end of a run whose
        elements include a text containing ``shows`` (the new cube's name in its heading)."""
        infos = []
        for path in files:
            request_id = str(next(_REQUESTS))
            message = BackMsg()
            message.file_urls_request.CopyFrom(FileURLsRequest(request_id=request_id, file_names=[path.name],
                                                               session_id=self.session_id))
            await self._socket.send(message.SerializeToString())
            await self._until(lambda rid=request_id: rid in self._file_urls, 60)
            urls = self._file_urls.pop(request_id)
            with open(path, "rb") as handle:
                form = aiohttp.FormData()
                form.add_field("file", handle, filename=path.name, content_type="application/octet-stream")
                async with self._http.put(self.url + urls.upload_url, data=form,
                                          headers={"X-Xsrftoken": self.token}) as response:
                    response.raise_for_status()
            infos.append(UploadedFileInfo(name=path.name, size=path.stat().st_size, file_id=urls.file_id,
                                          file_urls=urls))
        state = BackMsg().rerun_script.widget_states.widgets.add()
        state.id = self.uploader_id
        state.file_uploader_state_value.CopyFrom(FileUploaderState(uploaded_file_info=infos))
        await self.rerun([state])
        await self._until(lambda: any(shows in text for text in self.last_run), timeout)
