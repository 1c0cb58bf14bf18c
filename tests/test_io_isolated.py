"""Conversions in a child process (cubescope.io.isolated)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from cubescope.io import isolated


def test_conversion_child_does_not_run_the_callers_script(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(f"""
        # No __main__ guard, as in many users' scripts.
        from pathlib import Path
        import numpy as np
        from cubescope.store import CubeStore
        print("BODY")
        np.save({str(tmp_path / "c.npy")!r}, np.ones((4, 5, 6), np.float32))
        print(CubeStore({str(tmp_path / "store")!r}).put_path(Path({str(tmp_path / "c.npy")!r}), "a" * 32))
    """)
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["BODY", "a" * 32]


READERS = ("rasterio", "h5py", "scipy.io", "tifffile", "spectral.io.envi")


def _readers_imported() -> list[str]:
    return [name for name in READERS if name in sys.modules]


def test_children_start_with_the_file_readers_imported():
    """A conversion child is forked from a server that imported the readers once: a GeoTIFF's
    conversion does not import rasterio (and boto3) again, half a second of CPU each."""
    isolated.start_forkserver()
    isolated.start_forkserver()  # a second call finds it running
    assert isolated.run_isolated(_readers_imported, what="a test") == list(READERS)
