"""Uploads written to disk as they arrive, not held in the server's memory.

Streamlit's upload route spools each file to a temporary file, reads it back whole into memory
and keeps it there until the session lets it go; the app then hashed and copied it again to
convert it. With ten uploads of 50-130 MB at once, that route was most of the server's time,
and a 1 GB upload held 1 GB of the server's memory.

:class:`StreamedUploads` is an ASGI middleware in front of that route (``serve.py`` mounts it).
For a ``PUT`` of a file it reads the multipart body itself, as it arrives:

1. Once the file's part headers have come, it lets Streamlit's own route judge the request with
   an empty file under the same headers: the XSRF token, the session, the size limit are
   Streamlit's checks, unchanged. Streamlit registers the empty stand-in; a refusal goes back to
   the browser as it is, and nothing is written.
2. It then writes the file's bytes into ``<store>/incoming/<session id>/<file id>``, at most
   ``server.maxUploadSize`` MB, and renames the file into place once the body is complete. A
   client that leaves, a body too large or a full disk leave nothing behind.

The session's script finds the file by its own session id and the uploader's file id
(:func:`staged`), so a file reaches only the session that uploaded it.
"""

from __future__ import annotations

import errno
import os
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from cubescope.store import configured_root

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_ID = r"[0-9A-Za-z-]{1,64}"  # Streamlit's session and file ids (UUIDs); never a path
_UPLOAD = re.compile(rf"/_stcore/upload_file/(?P<session>{_ID})/(?P<file>{_ID})$")
#: The most a request may send before its file's part headers are complete.
_HEAD_BYTES = 64 * 1024
#: Incoming files no session took (a browser closed mid-way) are removed after this many seconds.
KEEP_SECONDS = 6 * 3600
_FULL = (errno.ENOSPC, errno.EDQUOT)


def incoming_folder(store_root: Path) -> Path:
    """Where uploads are written: beside the store's entries, so that staging them for a
    conversion is a hard link, not a copy."""
    return Path(store_root) / "incoming"


def staged(store_root: Path, session_id: str, file_id: str) -> Path | None:
    """The file an upload was streamed into, or None (not streamed, or not complete)."""
    if not (re.fullmatch(_ID, session_id) and re.fullmatch(_ID, file_id)):
        return None
    path = incoming_folder(store_root) / session_id / file_id
    return path if path.is_file() else None


def content(uploaded: Any) -> Any:
    """Where the bytes of a Streamlit ``UploadedFile`` of this session's script are: the file
    they were streamed into (a :class:`~pathlib.Path`), else the ``UploadedFile`` itself."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    context = get_script_run_ctx()
    if context is None:
        return uploaded
    return staged(configured_root(), context.session_id, uploaded.file_id) or uploaded


def read(uploaded: Any) -> bytes:
    """The bytes of a small upload (a library, ROIs), wherever they are (see :func:`content`)."""
    where = content(uploaded)
    return where.read_bytes() if isinstance(where, Path) else where.getvalue()


def discard(store_root: Path, session_id: str, file_ids: list[str]) -> None:
    """Remove the streamed files of these uploads (stored, or given up)."""
    for file_id in file_ids:
        path = staged(store_root, session_id, file_id)
        if path is not None:
            path.unlink(missing_ok=True)


def sweep(store_root: Path, now: float | None = None) -> None:
    """Remove incoming files and empty session folders older than :data:`KEEP_SECONDS`."""
    now = time.time() if now is None else now
    folder = incoming_folder(store_root)
    for session in folder.iterdir() if folder.is_dir() else ():
        for entry in session.iterdir() if session.is_dir() else ():
            try:
                if now - entry.stat().st_mtime > KEEP_SECONDS:
                    entry.unlink()
            except OSError:
                pass  # another upload's file, just renamed or removed
        try:
            if now - session.stat().st_mtime > KEEP_SECONDS:  # not one a request just made
                session.rmdir()  # only when empty
        except OSError:
            pass


class _Receiving:
    """How many uploads are being received now, and a way to wait until none is."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    @contextmanager
    def one(self) -> Iterator[None]:
        with self._changed:
            self._count += 1
        try:
            yield
        finally:
            with self._changed:
                self._count -= 1
                self._changed.notify_all()

    def wait_none(self, timeout: float) -> bool:
        """Wait until no upload is being received; False if ``timeout`` seconds pass first."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)


#: The uploads this process is receiving (the previews' whole-cube work waits for none).
RECEIVING = _Receiving()


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status, self.text = status, text


class StreamedUploads:
    """ASGI middleware: file uploads to Streamlit's upload route are written to disk as they
    arrive (see the module's description); every other request passes through.

    Parameters
    ----------
    app : ASGI application
        Streamlit's application.
    store_root : callable
        Returns the cube store's folder (read when a request comes, so that tests and servers
        set it through the environment).
    max_bytes : callable
        Returns the largest file accepted, in bytes (``server.maxUploadSize``).
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], store_root: Callable[[], Path],
                 max_bytes: Callable[[], int]) -> None:
        self.app = app
        self.store_root = store_root
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _UPLOAD.search(scope.get("path", "")) if scope["type"] == "http" else None
        if found and scope["method"] == "DELETE":
            await self._delete(scope, receive, send, found["session"], found["file"])
            return
        boundary = _boundary(scope) if found and scope["method"] == "PUT" else None
        if boundary is None or _declared_length(scope) > self.max_bytes() + _HEAD_BYTES:
            await self.app(scope, receive, send)  # Streamlit refuses what it must, unread
            return
        with RECEIVING.one():
            await _Upload(self, scope, receive, send, found["session"], found["file"], boundary).run()

    async def _delete(self, scope: Scope, receive: Receive, send: Send, session_id: str, file_id: str) -> None:
        """A file removed from its uploader: once Streamlit has removed its stand-in (its XSRF
        check passed), the streamed file goes too."""
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watch)
        if status // 100 == 2:
            discard(self.store_root(), session_id, [file_id])


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0


def _boundary(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-type":
            kind, options = parse_options_header(value)
            boundary = options.get(b"boundary")
            return boundary if kind == b"multipart/form-data" and boundary else None
    return None


class _Upload:
    """One upload request, read and written as it arrives."""

    def __init__(self, middleware: StreamedUploads, scope: Scope, receive: Receive, send: Send, session_id: str,
                 file_id: str, boundary: bytes) -> None:
        self.middleware, self.scope, self.receive, self.send = middleware, scope, receive, send
        self.boundary = boundary
        self.folder = incoming_folder(middleware.store_root()) / session_id
        self.target = self.folder / file_id
        self.partial = self.folder / f".{file_id}.{uuid.uuid4().hex}.part"
        self.limit = middleware.max_bytes()
        self.headers: list[tuple[bytes, bytes]] = []
        self._field = self._value = b""
        self.parts = 0
        self.headers_done = False
        self.ended = False
        self.early: list[bytes] = []  # file bytes that came before Streamlit's verdict
        self.written = 0
        self.sink: Any = None
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._add("_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._add("_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
        })

    # -- the parser's callbacks (synchronous, as the bytes are fed) --
    def _add(self, name: str, piece: bytes) -> None:
        setattr(self, name, getattr(self, name) + bytes(piece))

    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > 1:
            raise _Refused(400, "Expected 1 file, but got more.")

    def _header_end(self) -> None:
        self.headers.append((self._field, self._value))
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        self.headers_done = True

    def _data(self, data: bytes, start: int, end: int) -> None:
        self.written += end - start
        if self.written > self.limit:
            raise _Refused(413, "File too large")
        if self.sink is None:
            self.early.append(bytes(data[start:end]))
        else:
            self.sink.write(data[start:end])

    def _part_end(self) -> None:
        self.ended = True

    # -- the request --
    async def run(self) -> None:
        verdict: list[Message] | None = None
        received = 0
        try:
            while True:
                message = await self.receive()
                if message["type"] == "http.disconnect":
                    return  # the browser left: nothing to answer, nothing kept
                received += len(message.get("body", b""))
                self.parser.write(message.get("body", b""))
                if verdict is None and self.headers_done:
                    verdict = await self._ask_streamlit()
                    if _status(verdict) // 100 != 2:
                        await self._replay(verdict)
                        return
                    self._open_sink()
                elif verdict is None and received > _HEAD_BYTES:
                    raise _Refused(400, "The upload's form headers are too long.")
                if not message.get("more_body", False):
                    break
            self.parser.finalize()
            if verdict is None or not self.ended:
                raise _Refused(400, "The upload ended before its file did.")
            self.sink.close()
            os.replace(self.partial, self.target)
            await self._replay(verdict)
        except _Refused as refused:
            await self._answer(refused.status, refused.text)
        except ParseError:
            await self._answer(400, "The upload's form data is malformed.")
        except OSError as exc:
            if exc.errno in _FULL:
                await self._answer(507, "The cube store's disk is full; the upload was not kept.")
            else:
                raise
        finally:
            if self.sink is not None and not self.sink.closed:
                self.sink.close()
            self.partial.unlink(missing_ok=True)

    def _open_sink(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        sweep(self.folder.parent.parent)
        self.sink = open(self.partial, "wb")
        for piece in self.early:
            self.sink.write(piece)
        self.early.clear()

    async def _ask_streamlit(self) -> list[Message]:
        """Streamlit's answer to this request with an empty file under the same part headers."""
        body = (b"--" + self.boundary + b"\r\n" + b"".join(f + b": " + v + b"\r\n" for f, v in self.headers)
                + b"\r\n\r\n--" + self.boundary + b"--\r\n")
        headers = [(k, v) for k, v in self.scope["headers"] if k.lower() != b"content-length"]
        scope = {**self.scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        answer: list[Message] = []

        async def keep(message: Message) -> None:
            answer.append(message)

        await self.middleware.app(scope, receive, keep)
        return answer

    async def _replay(self, messages: list[Message]) -> None:
        for message in messages:
            await self.send(message)

    async def _answer(self, status: int, text: str) -> None:
        body = text.encode()
        await self.send({"type": "http.response.start", "status": status,
                         "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                     (b"content-length", str(len(body)).encode())]})
        await self.send({"type": "http.response.body", "body": body})


def _status(messages: list[Message]) -> int:
    return next((m["status"] for m in messages if m["type"] == "http.response.start"), 500)
