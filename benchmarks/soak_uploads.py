"""Soak: 30 different 21 MB cubes uploaded one after another in one browser session, with the
server's memory read before and after (bounded: 30 uploads, 10 minutes at most, localhost only).

Run: ``python -m benchmarks.soak_uploads``. Prints the server's resident and private memory
(``VmRSS``, ``RssAnon`` from /proc) after the first page, after every 10 uploads, and at the end.
An upload leaves the server's memory once it is stored (the uploader is replaced), so private
memory should stay near its level after the first few uploads rather than grow by 21 MB each.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

UPLOADS, ROWS, COLS, BANDS = 30, 256, 256, 80  # 21 MB of float32 each
DEADLINE_SECONDS = 600


def _server_pid(port: int) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"streamlit" in b" ".join(command) and str(port).encode() in command:
                return int(entry.name)
    raise RuntimeError(f"no streamlit process on port {port}")


def _memory(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def main() -> bool:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, running_app
    from tests.e2e.helpers import wait_ready
    from tests.e2e.test_uploads import upload

    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        with running_app(folder / "store", folder / "app.log") as url, sync_playwright() as playwright:
            pid = _server_pid(int(url.rsplit(":", 1)[1]))
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.set_default_timeout(60_000)
            page.goto(url)
            wait_ready(page)
            readings = [("first page", _memory(pid))]
            rng = np.random.default_rng(0)
            for k in range(UPLOADS):
                if time.monotonic() - started > DEADLINE_SECONDS:
                    print(f"stopped after {k} uploads: {DEADLINE_SECONDS} s reached")
                    break
                path = folder / f"soak_{k:02d}.npy"
                np.save(path, rng.random((ROWS, COLS, BANDS), dtype=np.float32))
                upload(page, [path])
                page.get_by_role("heading", name=f"soak_{k:02d}", exact=True).wait_for()
                wait_ready(page)
                path.unlink()
                if (k + 1) % 10 == 0:
                    readings.append((f"after {k + 1} uploads", _memory(pid)))
            time.sleep(2)
            readings.append(("at the end", _memory(pid)))
            sidebar = page.get_by_test_id("stSidebarUserContent")
            uploaders = sidebar.get_by_test_id("stFileUploaderDropzoneInput").count()
            assert uploaders == 1, f"{uploaders} uploaders on the page"
            browser.close()
    print(f"\n## Soak: {UPLOADS} uploads of {ROWS * COLS * BANDS * 4 / 1e6:.0f} MB in one session")
    for label, memory in readings:
        print(f"  {label:<18} resident {memory['VmRSS']:7.0f} MB   private {memory['RssAnon']:7.0f} MB")
    growth = readings[-1][1]["RssAnon"] - readings[1][1]["RssAnon"]
    print(f"  private memory growth from 10 to {UPLOADS} uploads: {growth:.0f} MB "
          f"(holding the uploads would be {(UPLOADS - 10) * ROWS * COLS * BANDS * 4 / 2**20:.0f} MB)")
    return growth < 0.5 * (UPLOADS - 10) * ROWS * COLS * BANDS * 4 / 2**20


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
