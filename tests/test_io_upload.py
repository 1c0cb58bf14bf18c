"""Uploads (cubescope.io.upload): content ids that know each file's role, names kept apart, limits
checked before reading, several cubes in one upload, damaged archives."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest

import cubescope
from cubescope import CubeError, SeveralCubes
from cubescope.io.upload import content_id, safe_name
from cubescope.store import CubeStore
from tests.writers import sample_cube, write_envi


def _high_ratio_files(folder):
    """A file of each container format declaring far more samples than it holds (> 64 MiB)."""
    import h5py
    import tifffile

    shape = (512, 512, 128)  # 128 MiB of float32
    with h5py.File(folder / "unwritten.h5", "w") as handle:
        handle.create_dataset("cube", shape=shape, dtype="f4", chunks=(64, 64, 16))
    with h5py.File(folder / "unwritten.mat", "w", userblock_size=512) as handle:
        handle.create_dataset("cube", shape=shape[::-1], dtype="f4", chunks=(16, 64, 64))
        handle["cube"].attrs["MATLAB_class"] = np.bytes_("single")
    with open(folder / "unwritten.mat", "r+b") as handle:
        handle.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 23 2026 HDF5 schema 1.00 .")
    zeros = np.zeros(shape, np.float32)
    tifffile.imwrite(
        folder / "zeros.tif", np.moveaxis(zeros, 2, 0), tile=(256, 256), compression="zlib", photometric="minisblack"
    )
    np.savez_compressed(folder / "zeros.npz", cube=zeros)
    with zipfile.ZipFile(folder / "zeros.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.npy", zeros.tobytes())
    return [folder / n for n in ("unwritten.h5", "unwritten.mat", "zeros.tif", "zeros.npz", "zeros.zip")]


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


@pytest.mark.parametrize(
    "name",
    [
        "Specim FX17 2026-11-23 14-05-11 sample tray 4 of 12 dark-corrected white-referenced "
        + "x" * 30
        + " Reference Spectrum.bip",
        "스캔",
        "データ cube",
    ],
)
def test_long_and_non_ascii_names_still_pair(tmp_path, name):
    header, raw = write_envi(tmp_path, sample_cube(), name="scene", data_suffix=".img")
    store = CubeStore(tmp_path / "store")
    cube_id = store.put_files([(f"{name}.hdr", header.read_bytes()), (f"{name}.img", raw.read_bytes())])
    cube = store.open(cube_id)
    assert cube.shape == (7, 5, 6)
    assert safe_name(f"{name}.hdr").endswith(".hdr")


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
    with pytest.raises(SeveralCubes, match="choose which cube") as several:
        store.put_files(files)
    assert several.value.choices == ("dark.hdr", "white.hdr")
    cube = store.open(store.put_files(files, dataset="white.hdr"))
    np.testing.assert_array_equal(cube.spectrum(8, 3), second[8, 3])


def test_high_ratio_inputs_are_refused_before_reading(tmp_path):
    files = _high_ratio_files(tmp_path)
    for path in files[:-1]:
        assert path.stat().st_size < 2 * 2**20
        with pytest.raises(CubeError, match="times its size"):
            cubescope.load_cube(path)
    store = CubeStore(tmp_path / "store")
    for path in files:
        with pytest.raises(CubeError, match="times its size"):
            store.put_files([(path.name, path.read_bytes())])
    assert list((tmp_path / "store" / "tmp").iterdir()) == []


@pytest.mark.parametrize("damage", ["crc", "deflate", "method", "encrypted"])
def test_damaged_zip_members_are_messages(tmp_path, damage):
    import struct

    header, raw = write_envi(tmp_path, sample_cube(rows=40, cols=30, bands=8))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(header, header.name)
        archive.write(raw, raw.name)
    data = bytearray(buffer.getvalue())
    local = data.find(b"PK\x03\x04", 1)  # the data file's local header
    name_length, extra_length = struct.unpack("<HH", data[local + 26 : local + 30])
    body = local + 30 + name_length + extra_length
    if damage == "crc":
        data[local + 14] ^= 0xFF
        central = data.find(b"PK\x01\x02", body)
        central = data.find(b"PK\x01\x02", central + 1)
        data[central + 16] ^= 0xFF
    elif damage == "deflate":
        data[body : body + 16] = b"\xff" * 16
    elif damage == "method":
        for at in (local + 8, data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 1) + 10):
            data[at : at + 2] = struct.pack("<H", 99)
    else:
        for at in (local + 6, data.find(b"PK\x01\x02", data.find(b"PK\x01\x02") + 1) + 8):
            data[at] |= 1
    store = CubeStore(tmp_path / "store")
    with pytest.raises(CubeError, match="cannot be unpacked"):
        store.put_files([("bundle.zip", bytes(data))])


def test_a_file_an_upload_was_streamed_into_is_stored_as_its_bytes_are_without_a_copy(tmp_path):
    from cubescope.io.upload import stage_files

    data = sample_cube(rows=9, cols=7, bands=4, dtype="f4")
    header, raw = write_envi(tmp_path, data, name="streamed", interleave="bil")
    as_paths = [(header.name, header), (raw.name, raw)]
    as_bytes = [(header.name, header.read_bytes()), (raw.name, raw.read_bytes())]
    assert content_id(as_paths) == content_id(as_bytes)
    staged = stage_files(as_paths, tmp_path / "staging", cubescope.io.Limits())
    assert [p.stat().st_ino for p in staged] == [header.stat().st_ino, raw.stat().st_ino]  # hard links
    store = CubeStore(tmp_path / "store")
    cube = store.open(store.put_files(as_paths))
    assert np.array_equal(np.asarray(cube.bsq), np.moveaxis(data, -1, 0))
    with zipfile.ZipFile(tmp_path / "both.zip", "w") as bundle:
        bundle.write(header, header.name)
        bundle.write(raw, raw.name)
    zipped = store.open(store.put_files([("both.zip", tmp_path / "both.zip")]))
    assert np.array_equal(np.asarray(zipped.bsq), np.asarray(cube.bsq))
