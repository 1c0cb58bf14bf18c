"""One large upload: the server's memory and the time to the first page, with the uploads
written to disk as they arrive (``serve.py``) against Streamlit's own uploads (``app.py``, which
keep the file in the server's memory), in the same run.

A 480 MB ``.npy`` cube (1024 x 1024 x 120 float32) is uploaded by a protocol client
(``benchmarks/streamlit_client.py``) while the server's private memory (``RssAnon``) is sampled
every 10 ms. Goal: the server's private memory grows by at most a quarter of the file.
Run: ``python -m benchmarks.run upload``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.common import check
from benchmarks.soak_uploads import _server_pid
from tests.e2e.conftest import running_app


def _private_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssAnon"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(folder: Path, cube: Path, script: str) -> tuple[float, float]:
    """(seconds from the upload's start to the run showing the cube, private memory growth in MB)."""
    from benchmarks.streamlit_client import Session

    with running_app(folder / f"store-{script}", folder / f"{script}.log", script=script) as url:
        pid = _server_pid(int(url.rsplit(":", 1)[1]))
        peak, done = [0.0], threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _private_mb(pid))
                time.sleep(0.01)

        async def upload() -> tuple[float, float]:
            async with Session(url) as session:
                before = _private_mb(pid)
                threading.Thread(target=sample, daemon=True).start()
                start = time.perf_counter()
                await session.upload([cube], shows=cube.stem, timeout=300)
                seconds = time.perf_counter() - start
                done.set()
                return seconds, peak[0] - before

        return asyncio.run(upload())


def main() -> bool:
    with tempfile.TemporaryDirectory(dir=Path.home()) as name:
        folder = Path(name)
        cube = folder / "large.npy"
        np.save(cube, np.random.default_rng(0).random((1024, 1024, 120), dtype=np.float32))
        size = cube.stat().st_size / 2**20
        print(f"\n## One upload of {size:.0f} MB: the server's private memory and the first page")
        results = {script: measure(folder, cube, script) for script in ("serve.py", "app.py")}
    for script, (seconds, growth) in results.items():
        kind = "written to disk as they arrive" if script == "serve.py" else "Streamlit's, in memory"
        print(f"  {script:9} (uploads {kind}): first page {seconds:.1f} s, private memory +{growth:.0f} MB "
              f"({growth / size:.2f}x the file)")
    streamed, in_memory = results["serve.py"], results["app.py"]
    print(f"    first page: {in_memory[0] / streamed[0]:.2f}x as fast; memory growth: "
          f"{in_memory[1] / max(streamed[1], 1):.1f}x less than Streamlit's uploads")
    return check("private memory growth / file size", streamed[1] / size, 0.25)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
