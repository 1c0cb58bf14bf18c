"""Uploads streamed to disk (cubescope_ui.streamed_uploads), driven as an ASGI server drives the
middleware, in front of a stand-in for Streamlit's upload route."""

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cubescope_ui.streamed_uploads import KEEP_SECONDS, RECEIVING, StreamedUploads, discard, staged, sweep

SESSION = "0b8f6c1e-2d7a-4f4e-9a51-7c2a9d0e4b11"
FILE = "5f0e3a2b-9c1d-4e8f-8a7b-6d5c4b3a2910"
PATH = f"/_stcore/upload_file/{SESSION}/{FILE}"
BOUNDARY = b"----cubescope7MA4YWxkTrZu0gW"


def form(content: bytes, name: str = "scène 01.npy", parts: int = 1) -> bytes:
    part = (b"--" + BOUNDARY + b"\r\n"
            + f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode()
            + b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n")
    return part * parts + b"--" + BOUNDARY + b"--\r\n"


class Streamlit:
    """Streamlit's upload route as the middleware sees it: it reads the whole body it is given
    and answers with ``status``."""

    def __init__(self, status: int = 204) -> None:
        self.status = status
        self.bodies: list[bytes] = []
        self.scopes: list[dict] = []

    async def __call__(self, scope, receive, send) -> None:
        self.scopes.append(scope)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": self.status, "headers": [(b"x-from", b"streamlit")]})
        await send({"type": "http.response.body", "body": b""})


def put(middleware, body: bytes, *, chunk: int = 1000, path: str = PATH, method: str = "PUT",
        content_type: bytes = b"multipart/form-data; boundary=" + BOUNDARY, leave_after: int | None = None):
    """Send ``body`` in chunks (the client leaving after ``leave_after`` chunks); the answer's
    status, headers and body."""
    pieces = [body[i:i + chunk] for i in range(0, len(body), chunk)] or [b""]
    scope = {"type": "http", "method": method, "path": path,
             "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                         (b"x-xsrftoken", b"token")]}
    sent: list[dict] = []

    async def receive():
        if leave_after is not None and len(sent_pieces) == leave_after:
            return {"type": "http.disconnect"}
        piece = pieces[len(sent_pieces)]
        sent_pieces.append(piece)
        return {"type": "http.request", "body": piece, "more_body": len(sent_pieces) < len(pieces)}

    async def send(message):
        sent.append(message)

    sent_pieces: list[bytes] = []
    # In a thread of its own: the browser tests' Playwright may hold an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, middleware(scope, receive, send)).result()
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    return (None if start is None else start["status"], dict(start["headers"]) if start else {},
            b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))


@pytest.fixture
def setup(tmp_path):
    streamlit = Streamlit()
    return StreamedUploads(streamlit, store_root=lambda: tmp_path, max_bytes=lambda: 10_000), streamlit, tmp_path


def leftovers(root):
    return sorted(str(p.relative_to(root / "incoming")) for p in (root / "incoming").rglob("*") if p.is_file())


def test_the_bytes_go_to_disk_and_streamlit_judges_an_empty_file_under_the_same_headers(setup):
    middleware, streamlit, root = setup
    content = os.urandom(9000) + b"\r\n--" + BOUNDARY[:-1]  # a near-boundary inside the file
    status, headers, _ = put(middleware, form(content))
    assert status == 204 and headers[b"x-from"] == b"streamlit"  # Streamlit's own answer
    assert staged(root, SESSION, FILE).read_bytes() == content
    assert streamlit.bodies == [form(b"")]  # its headers (name, file name), not one byte of the file
    assert dict(streamlit.scopes[0]["headers"])[b"x-xsrftoken"] == b"token"
    assert dict(streamlit.scopes[0]["headers"])[b"content-length"] == str(len(form(b""))).encode()
    assert leftovers(root) == [f"{SESSION}/{FILE}"]
    assert RECEIVING.wait_none(0)


def test_streamlit_s_refusal_goes_back_as_it_is_and_nothing_is_written(tmp_path):
    streamlit = Streamlit(status=403)
    middleware = StreamedUploads(streamlit, store_root=lambda: tmp_path, max_bytes=lambda: 10_000)
    status, headers, _ = put(middleware, form(os.urandom(5000)))
    assert status == 403 and headers[b"x-from"] == b"streamlit"
    assert staged(tmp_path, SESSION, FILE) is None and leftovers(tmp_path) == []


@pytest.mark.parametrize("case", ["too large", "client leaves", "two files", "cut short"])
def test_an_upload_that_fails_midway_leaves_nothing(setup, case):
    middleware, _, root = setup
    if case == "too large":
        status, _, text = put(middleware, form(os.urandom(10_001)))
        assert status == 413 and b"too large" in text
    elif case == "client leaves":
        status, _, _ = put(middleware, form(os.urandom(9000)), leave_after=4)
        assert status is None  # no one to answer
    elif case == "two files":
        status, _, text = put(middleware, form(os.urandom(3000), parts=2))
        assert status == 400 and b"1 file" in text
    else:
        status, _, text = put(middleware, form(os.urandom(3000))[:2500])
        assert status == 400 and b"ended" in text
    assert staged(root, SESSION, FILE) is None and leftovers(root) == []
    assert RECEIVING.wait_none(0)  # no longer counted as being received


def test_other_requests_pass_through_untouched(setup):
    middleware, streamlit, root = setup
    body = form(b"abc")
    for kwargs in ({"method": "DELETE"}, {"path": "/_stcore/upload_file/../x"}, {"path": "/bands"},
                   {"content_type": b"application/octet-stream"}):
        status, _, _ = put(middleware, body, **kwargs)
        assert status == 204 and streamlit.bodies[-1] == body
    assert leftovers(root) == []


def test_a_file_is_found_only_by_its_own_session_and_file_ids(setup):
    middleware, _, root = setup
    put(middleware, form(b"cube bytes"))
    assert staged(root, SESSION, FILE) is not None
    other = "1" * 8 + SESSION[8:]
    assert staged(root, other, FILE) is None
    assert staged(root, "..", FILE) is None and staged(root, SESSION, "../" + FILE) is None
    discard(root, other, [FILE])
    assert staged(root, SESSION, FILE) is not None
    discard(root, SESSION, [FILE])
    assert staged(root, SESSION, FILE) is None


def test_files_no_session_took_are_swept_after_hours(setup):
    middleware, _, root = setup
    put(middleware, form(b"left behind"))
    sweep(root)
    assert staged(root, SESSION, FILE) is not None
    sweep(root, now=time.time() + KEEP_SECONDS + 60)
    assert leftovers(root) == [] and not any((root / "incoming").iterdir())


@pytest.mark.parametrize(("answer", "kept"), [(204, False), (403, True)])
def test_a_file_removed_from_its_uploader_goes_once_streamlit_agrees(tmp_path, answer, kept):
    streamlit = Streamlit()
    middleware = StreamedUploads(streamlit, store_root=lambda: tmp_path, max_bytes=lambda: 10_000)
    put(middleware, form(b"cube bytes"))
    streamlit.status = answer  # 403: a request without the session's XSRF token
    status, _, _ = put(middleware, b"", method="DELETE")
    assert status == answer and streamlit.scopes[-1]["method"] == "DELETE"
    assert (staged(tmp_path, SESSION, FILE) is not None) == kept


def test_a_declared_length_beyond_the_limit_is_left_to_streamlit_unread(setup):
    middleware, streamlit, root = setup
    body = form(os.urandom(80_000))  # more than the limit and the room for form headers
    _, headers, _ = put(middleware, body)
    assert headers[b"x-from"] == b"streamlit" and streamlit.bodies == [body]  # its route, its 413
    assert leftovers(root) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 400), flip=st.integers(0, 399), value=st.integers(0, 255), chunk=st.integers(1, 300))
def test_damaged_form_bodies_get_an_answer_and_leave_nothing_partial(setup, cut, flip, value, chunk):
    middleware, _, root = setup
    body = bytearray(form(bytes(range(200))))
    body[flip % len(body)] = value
    status, _, _ = put(middleware, bytes(body[:len(body) - cut]), chunk=chunk)
    assert status in (204, 400, 413)
    assert all(name.endswith(FILE) for name in leftovers(root))  # a whole file or none, never a partial one
    discard(root, SESSION, [FILE])


def test_a_full_disk_is_named_and_leaves_nothing(setup, monkeypatch):
    import errno

    from cubescope_ui import streamed_uploads

    real_open = open

    class Full:
        def __init__(self, path, mode):
            self.file = real_open(path, mode)
            self.closed = False

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.closed = True
            self.file.close()

    monkeypatch.setattr(streamed_uploads, "open", Full, raising=False)
    middleware, _, root = setup
    status, _, text = put(middleware, form(os.urandom(9000)))
    assert status == 507 and b"disk is full" in text
    assert staged(root, SESSION, FILE) is None and leftovers(root) == []
