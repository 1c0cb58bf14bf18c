"""What the store and the upload path serve, and to whom (role-aware ids, names, limits, the child)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cubescope
from cubescope import CubeError
from cubescope.io.upload import content_id, safe_name
from cubescope.store import CubeStore
from tests.writers import sample_cube, write_envi


def test_swapped_roles_are_different_cubes(tmp_path):
    header, raw = write_envi(tmp_path, sample_cube())
    a, b = header.read_bytes(), raw.read_bytes()
    assert content_id([("x.hdr", a), ("x.img", b)]) != content_id([("x.hdr", b), ("x.img", a)])
    assert content_id([("x.hdr", a), ("x.img", b)]) == content_id([("x.img", b), ("x.hdr", a)])


def test_same_bytes_under_another_name_do_not_share_the_first_name(tmp_path):
    path = tmp_path / "c.npy"
    np.save(path, sample_cube())
    store = CubeStore(tmp_path / "store")
    first = store.put_files([("patient_042_confidential.npy", path.read_bytes())])
    second = store.put_files([("scan.npy", path.read_bytes())])
    assert first != second
    assert store.open(second).name == "scan"


@pytest.mark.parametrize("name", [
    "Specim FX17 2026-11-23 14-05-11 sample tray 4 of 12 dark-corrected white-referenced " + "x" * 30
    + " Reference Spectrum.bip",
    "스캔", "データ cube",
])
def test_long_and_non_ascii_names_still_pair(tmp_path, name):
    header, raw = write_envi(tmp_path, sample_cube(), name="scene", data_suffix=".img")
    store = CubeStore(tmp_path / "store")
    cube_id = store.put_files([(f"{name}.hdr", header.read_bytes()), (f"{name}.img", raw.read_bytes())])
    cube = store.open(cube_id)
    assert cube.shape == (7, 5, 6)
    assert safe_name(f"{name}.hdr").endswith(".hdr")


def test_band_limit_checked_on_the_final_layout(tmp_path):
    path = tmp_path / "tall.npy"
    np.save(path, np.zeros((20000, 1, 1), np.float32))
    with pytest.raises(CubeError, match="bands"):
        cubescope.load_cube(path)


def test_small_first_axis_is_taken_as_bands(tmp_path):
    path = tmp_path / "channels_first.npy"
    data = np.random.default_rng(0).random((15, 100, 120)).astype("f4")
    np.save(path, data)
    cube = cubescope.load_cube(path)
    assert cube.shape == (100, 120, 15)
    np.testing.assert_array_equal(cube.spectrum(4, 7), data[:, 4, 7])
    assert cubescope.load_cube(path, band_axis=2).shape == (15, 100, 120)


def test_conversion_child_does_not_run_the_callers_script(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        # No __main__ guard, as in many users' scripts.
        from pathlib import Path
        import numpy as np
        from cubescope.store import CubeStore
        print("BODY")
        np.save({str(tmp_path / 'c.npy')!r}, np.ones((4, 5, 6), np.float32))
        print(CubeStore({str(tmp_path / 'store')!r}).put_path(Path({str(tmp_path / 'c.npy')!r}), "a" * 32))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["BODY", "a" * 32]


def test_several_headers_ask_which_cube(tmp_path):
    first = sample_cube(rows=7, cols=5, bands=6, seed=1)
    second = sample_cube(rows=9, cols=4, bands=3, seed=2)
    files = []
    for name, data in (("dark", first), ("white", second)):
        header, raw = write_envi(tmp_path, data, name=name)
        files += [(header.name, header.read_bytes()), (raw.name, raw.read_bytes())]
    store = CubeStore(tmp_path / "store")
    listed = store.list_upload(files)
    assert [(info.name, info.shape) for info in listed] == [("dark.hdr", (7, 5, 6)), ("white.hdr", (9, 4, 3))]
    with pytest.raises(CubeError, match="choose which cube"):
        store.put_files(files)
    cube = store.open(store.put_files(files, dataset="white.hdr"))
    np.testing.assert_array_equal(cube.spectrum(8, 3), second[8, 3])


def test_what_dead_processes_left_in_tmp_is_removed_at_start(tmp_path):
    import os

    store = CubeStore(tmp_path / "store")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    left = tmp_path / "store" / "tmp" / f"convert-{dead.stdout.strip()}-abc"
    (left / "entry-1-x").mkdir(parents=True)
    (left / "entry-1-x" / "data.npy").write_bytes(b"\0" * 4096)
    live = tmp_path / "store" / "tmp" / f"upload-{os.getpid()}-def"
    live.mkdir()
    CubeStore(store.root)  # a server starting on the same store
    assert not left.exists() and live.exists()


def test_a_failed_conversion_leaves_nothing_in_tmp(tmp_path):
    header, raw = write_envi(tmp_path, sample_cube())
    header.write_text(header.read_text().replace("data type = 4", "data type = 4\nheader offset = 999999"))
    store = CubeStore(tmp_path / "store")
    with pytest.raises(CubeError):
        store.put_files([(header.name, header.read_bytes()), (raw.name, raw.read_bytes())])
    assert list((tmp_path / "store" / "tmp").iterdir()) == []
