import io
import json
import os
import subprocess
import sys
import threading
import time
import zipfile

import numpy as np
import pytest
import scipy.io

from cubescope import Cube, CubeError, SeveralCubes, load_cube
from cubescope.store import CubeStore, valid_id
from tests.writers import sample_cube, write_envi


def envi_files(tmp_path, **kwargs):
    header, data = write_envi(tmp_path, sample_cube(dtype="i2"), **kwargs)
    return [(header.name, header.read_bytes()), (data.name, data.read_bytes())]


def test_upload_round_trip_is_canonical_and_memory_mapped(tmp_path):
    store = CubeStore(tmp_path / "store")
    files = envi_files(
        tmp_path, interleave="bil", byte_order=1, extra="wavelength = {1,2,3,4,5,6}\nwavelength units = um\n"
    )
    cube_id = store.put_files(files)
    assert valid_id(cube_id)
    cube = store.open(cube_id)
    np.testing.assert_array_equal(np.moveaxis(np.asarray(cube.bsq), 0, 2), sample_cube(dtype="i2"))
    assert cube.bsq.dtype.byteorder in "=<|" and cube.is_memory_mapped
    assert cube.wavelength_units == "µm" and cube.wavelengths[-1] == 6


def test_same_files_same_id_in_any_order_other_names_other_id(tmp_path):
    # Names decide roles (header or data) and the name shown: they are part of the id, so the same
    # bytes under other names never show another uploader's name (tests/test_served_right.py).
    store = CubeStore(tmp_path / "store")
    files = envi_files(tmp_path)
    renamed = [("other.hdr", files[0][1]), ("other.img", files[1][1])]
    assert store.put_files(files) == store.put_files(list(reversed(files)))
    assert store.put_files(files) != store.put_files(renamed)


def test_zip_bundle(tmp_path):
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in envi_files(tmp_path):
            archive.writestr(f"folder/{name}", data)
    store = CubeStore(tmp_path / "store")
    cube = store.open(store.put_files([("bundle.zip", buffer.getvalue())]))
    assert cube.shape == (7, 5, 6)


def test_zip_with_parent_path_refused(tmp_path):
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../escape.hdr", "ENVI\n")
    with pytest.raises(CubeError, match="outside"):
        CubeStore(tmp_path / "store").put_files([("b.zip", buffer.getvalue())])


def test_damaged_copy_is_detected_and_removed(tmp_path):
    store = CubeStore(tmp_path / "store")
    cube_id = store.put_files(envi_files(tmp_path))
    data = tmp_path / "store" / "objects" / cube_id / "data.npy"
    raw = bytearray(data.read_bytes())
    raw[-1] ^= 0xFF
    data.write_bytes(bytes(raw))
    cube = store.open(cube_id)  # bands are checked when first read, not all at open
    with pytest.raises(CubeError, match="damaged"):
        cube.band(cube.n_bands - 1)
    assert cube_id not in store
    with pytest.raises(CubeError, match="damaged"):
        cube.band(0)  # nothing more is served from it
    # Opened again (another page, another session), it says why it is gone, naming the band.
    with pytest.raises(CubeError, match=rf"changed or damaged on disk.*band {cube.n_bands - 1} differs"):
        store.open(cube_id)
    store.put_files(envi_files(tmp_path))  # stored again, it opens as any cube
    assert store.open(cube_id).band(cube.n_bands - 1).shape == (cube.rows, cube.cols)
    with pytest.raises(CubeError, match="not on the server"):
        store.open("0" * 32)


@pytest.mark.parametrize("bad", ["../etc", "demo", "ABCDEF0123456789ABCDEF0123456789", "0" * 31, None])
def test_invalid_and_unknown_ids(tmp_path, bad):
    store = CubeStore(tmp_path / "store")
    with pytest.raises(CubeError):
        store.open(bad)
    with pytest.raises(CubeError, match="not on the server"):
        store.open("0" * 32)


def test_concurrent_writers_of_one_cube(tmp_path):
    store = CubeStore(tmp_path / "store")
    cube = Cube.from_array(sample_cube(rows=50, cols=40, bands=30))
    errors = []

    def put():
        try:
            store.put(cube, "a" * 32)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    np.testing.assert_array_equal(store.open("a" * 32).bsq, cube.bsq)
    assert not list((tmp_path / "store" / "tmp").iterdir())


def test_crash_before_rename_leaves_nothing_served(tmp_path):
    store = CubeStore(tmp_path / "store")
    partial = tmp_path / "store" / "tmp" / ("b" * 32 + "-crashed")
    partial.mkdir()
    (partial / "data.npy").write_bytes(b"half")
    assert "b" * 32 not in store
    with pytest.raises(CubeError, match="not on the server"):
        store.open("b" * 32)


def _store_for_two(tmp_path, least_recent: int):
    """A store with room for two and a half cubes, holding two, entry ``least_recent`` the
    least recently used; returns the cube, the store and three ids."""
    cube = Cube.from_array(sample_cube(rows=64, cols=64, bands=16))  # 256 KB
    store = CubeStore(tmp_path / "store", max_bytes=int(cube.nbytes * 2.5))
    ids = ["1" * 32, "2" * 32, "3" * 32]
    store.put(cube, ids[0])
    store.put(cube, ids[1])
    old = time.time() - 100
    os.utime(store.root / "objects" / ids[least_recent] / "meta.json", (old, old))
    return cube, store, ids


def test_eviction_least_recently_used(tmp_path):
    cube, store, ids = _store_for_two(tmp_path, least_recent=1)
    store.put(cube, ids[2])
    assert ids[1] not in store and ids[0] in store and ids[2] in store


def test_a_cube_in_use_is_never_evicted_and_still_counts(tmp_path):
    import gc
    import subprocess
    import sys

    cube, store, ids = _store_for_two(tmp_path, least_recent=0)
    viewed = store.open(ids[0])  # a session is viewing it
    store.put(cube, ids[2])
    assert ids[0] in store and ids[1] not in store  # the next one went instead
    np.testing.assert_array_equal(viewed.band(3), cube.band(3))
    # Another process converting an upload evicts too: the lock is seen across processes.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from cubescope.store import CubeStore; print(CubeStore({str(store.root)!r}, max_bytes=1).evict())",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ids[0] not in done.stdout and ids[2] in done.stdout
    del viewed
    gc.collect()
    assert ids[0] in CubeStore(store.root, max_bytes=1).evict()  # closed: evictable again


def test_meta_json_is_plain_text(tmp_path):
    store = CubeStore(tmp_path / "store")
    cube_id = store.put_files(envi_files(tmp_path, extra="description = {<script>alert(1)</script>}\n"))
    meta = json.loads((tmp_path / "store" / "objects" / cube_id / "meta.json").read_text())
    assert meta["metadata"]["description"] == "<script>alert(1)</script>"


def test_container_choice(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, a=sample_cube(seed=1), b=sample_cube(rows=9, seed=2))
    files = [("two.npz", path.read_bytes())]
    store = CubeStore(tmp_path / "store")
    assert [info.name for info in store.list_upload(files)] == ["a", "b"]
    with pytest.raises(SeveralCubes, match="several cubes") as several:
        store.put_files(files)  # converted in a child: the choices come back with the error
    assert several.value.choices == ("a", "b")
    chosen = store.open(store.put_files(files, dataset="b"))
    np.testing.assert_array_equal(np.moveaxis(np.asarray(chosen.bsq), 0, 2), sample_cube(rows=9, seed=2))
    assert store.put_files(files, dataset="a") != store.put_files(files, dataset="b")


# ---------------------------------------------------------------- chunked conversion (issue 9)


@pytest.mark.parametrize("interleave", ["bsq", "bil", "bip"])
@pytest.mark.parametrize("byte_order", [0, 1])
def test_lazy_load_is_a_view_of_the_file(tmp_path, interleave, byte_order):

    values = sample_cube(rows=9, cols=4, bands=5, dtype="i2")
    header, _ = write_envi(tmp_path, values, interleave=interleave, byte_order=byte_order)
    lazy = load_cube(header, lazy=True)
    assert lazy.is_memory_mapped  # no copy of the samples was made
    np.testing.assert_array_equal(np.moveaxis(np.asarray(lazy.bsq), 0, 2), values)


@pytest.mark.parametrize("interleave", ["bil", "bip"])
def test_row_chunked_conversion_equals_band_sequential(tmp_path, monkeypatch, interleave):
    """An interleaved file converted a few rows at a time (a pixel-interleaved one a few pixels
    at a time within a row) gives the same store entry (bytes and per-band checksums) as the
    same cube written band by band."""
    import cubescope.store as store_module

    monkeypatch.setattr(store_module, "_WRITE_CHUNK", 3 * 5 * 7 * 4)  # three rows per step
    monkeypatch.setattr(store_module, "_TRANSPOSE_PIXELS", 3)  # a row of 7 in three steps
    monkeypatch.setattr(store_module, "_TRANSPOSE_MIN_BANDS", 5)  # these 5 bands in blocks
    values = sample_cube(rows=23, cols=7, bands=5, dtype="f4")
    header, _ = write_envi(tmp_path, values, interleave=interleave, byte_order=1)
    fractions = []
    store = CubeStore(tmp_path / "store")
    store.put(load_cube(header, lazy=True), "a" * 32, progress=fractions.append)
    store.put(Cube.from_array(values), "b" * 32)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and len(fractions) == 8
    meta = [json.loads((tmp_path / "store" / "objects" / c / "meta.json").read_text()) for c in ("a" * 32, "b" * 32)]
    assert meta[0]["band_blake3"] == meta[1]["band_blake3"]
    np.testing.assert_array_equal(np.asarray(store.open("a" * 32).bsq), np.asarray(store.open("b" * 32).bsq))
    np.testing.assert_array_equal(np.moveaxis(np.asarray(store.open("a" * 32).bsq), 0, 2), values)


def test_upload_conversion_reports_progress(tmp_path):
    fractions = []
    store = CubeStore(tmp_path / "store")
    cube_id = store.put_files(envi_files(tmp_path, interleave="bip"), progress=fractions.append)
    assert fractions and fractions[-1] == 1.0
    np.testing.assert_array_equal(np.moveaxis(np.asarray(store.open(cube_id).bsq), 0, 2), sample_cube(dtype="i2"))


def test_every_band_checked_on_first_read_and_after_a_change_on_disk(tmp_path):
    store = CubeStore(tmp_path / "store")
    cube_id = store.put(Cube.from_array(sample_cube(bands=6)), "c" * 32)
    data = tmp_path / "store" / "objects" / cube_id / "data.npy"
    cube = store.open(cube_id)  # a running server's copy
    np.testing.assert_array_equal(cube.band(3), np.asarray(cube.bsq[3], dtype="f4"))
    stored = np.load(data, mmap_mode="r+")
    stored[3, 0, 0] += 1  # changed on disk after it was read and checked once
    stored.flush()
    del stored
    os.utime(data, ns=(time.time_ns(), time.time_ns() + 10**9))  # writes move the modification time
    with pytest.raises(CubeError, match="band 3 differs"):
        cube.band(3)


def test_older_sha256_entries_are_still_checked(tmp_path):
    import hashlib

    store = CubeStore(tmp_path / "store")
    cube_id = store.put(Cube.from_array(sample_cube(bands=4)), "e" * 32)
    folder = tmp_path / "store" / "objects" / cube_id
    meta = json.loads((folder / "meta.json").read_text())
    samples = np.load(folder / "data.npy")
    meta["format_version"] = 2
    meta["band_sha256"] = [hashlib.sha256(np.ascontiguousarray(b).tobytes()).hexdigest() for b in samples]
    meta["band_sha256"][2] = "0" * 64
    (folder / "meta.json").write_text(json.dumps(meta))
    cube = store.open(cube_id)
    cube.band(1)
    with pytest.raises(CubeError, match="band 2 differs"):
        cube.band(2)


def test_store_of_an_older_format_is_not_served(tmp_path):
    store = CubeStore(tmp_path / "store")
    cube_id = store.put(Cube.from_array(sample_cube()), "d" * 32)
    meta_path = tmp_path / "store" / "objects" / cube_id / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["format_version"] = 1
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CubeError, match="damaged"):
        store.open(cube_id)


def test_uploads_read_in_pieces_from_file_objects(tmp_path):
    import io

    files = envi_files(tmp_path)
    store = CubeStore(tmp_path / "store")
    from_bytes = store.put_files(files)
    streams = [(name, io.BytesIO(data)) for name, data in files]
    for _, stream in streams:
        stream.seek(7)  # wherever Streamlit left it
    assert store.put_files(streams) == from_bytes
    assert CubeStore(tmp_path / "other").put_files(streams) == from_bytes


def test_oversized_upload_refused_before_writing(tmp_path):
    from cubescope.io.limits import Limits

    store = CubeStore(tmp_path / "store", limits=Limits(max_bytes=100, max_header_bytes=10))
    with pytest.raises(CubeError, match="more than this server accepts"):
        store.put_files(envi_files(tmp_path))
    assert not list((tmp_path / "store" / "tmp").iterdir())


def test_relayout_keeps_what_still_holds(tmp_path):
    from cubescope.io.axes import cube_from_bare_array

    array = sample_cube(rows=6, cols=7, bands=6, dtype="f4")  # axes 0 and 2 both have 6 entries
    read = cube_from_bare_array(array, name="scan", band_axis=2, default_axis=2, wavelengths=np.arange(6) + 500.0,
                                wavelength_units="nm")
    described = {**read.to_meta(), "quantity": "reflectance", "fwhm": [10.0] * 6,
                 "bad_bands": [False, False, True, False, False, False]}
    store = CubeStore(tmp_path / "store")
    cube_id = store.put(Cube.from_meta(read.bsq, described), "a" * 32)
    same_count = store.open(store.relayout(cube_id, 0))
    assert same_count.quantity == "reflectance" and same_count.wavelengths is not None
    np.testing.assert_array_equal(same_count.fwhm, [10.0] * 6)
    np.testing.assert_array_equal(same_count.bad_bands, described["bad_bands"])
    np.testing.assert_array_equal(same_count.bsq, array)  # bands on axis 0: the array as it is
    other_count = store.open(store.relayout(cube_id, 1))
    assert other_count.quantity == "reflectance" and other_count.n_bands == 7
    assert other_count.fwhm is None and other_count.bad_bands is None and other_count.wavelengths is None


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


def crashing_mat() -> bytes:
    """A MAT v5 file whose last variable's data element has type code 0: scipy.io.loadmat
    segfaults on it (scipy 1.17), so it may only ever be read in a child process."""
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, {"cube": sample_cube(3, 4, 5), "wavelengths": np.arange(5) + 400.0})
    data = bytearray(buffer.getvalue())
    # The wavelengths' real part: the last data element, 5 doubles = 40 bytes after an 8-byte tag.
    tag = len(data) - 40 - 8
    assert int.from_bytes(data[tag : tag + 4], "little") == 9  # miDOUBLE
    data[tag : tag + 4] = (0).to_bytes(4, "little")
    return bytes(data)


def test_mat_file_that_crashes_scipy_is_refused_by_the_store(tmp_path):
    store = CubeStore(tmp_path / "store")
    with pytest.raises(CubeError, match="crashed the file reader"):
        store.put_files([("scan.mat", crashing_mat())])
    # The server (this process) is still here, and the store still works.
    good = io.BytesIO()
    scipy.io.savemat(good, {"cube": sample_cube(3, 4, 5)})
    assert store.open(store.put_files([("ok.mat", good.getvalue())])).shape == (3, 4, 5)


def test_scaled_cube_survives_the_store_and_pca_sees_physical_values(tmp_path):
    from cubescope.pca import fit_pca
    from cubescope.store import CubeStore

    rng = np.random.default_rng(1)
    stored = rng.integers(0, 5000, (20, 30, 6)).astype("i2")
    gain = np.array([1e-4, 2e-4, 1e-4, 5e-4, 1e-4, 1e-4])
    cube = Cube.from_array(stored, gain=gain, quantity="reflectance")
    store = CubeStore(tmp_path)
    reopened = store.open(store.put(cube, "c" * 32))
    np.testing.assert_allclose(reopened.spectrum(3, 4), stored[3, 4] * gain, rtol=1e-6)
    physical = Cube.from_array((stored * gain).astype("f4"))
    a, b = fit_pca(reopened, 3), fit_pca(physical, 3)
    np.testing.assert_allclose(a.explained_variance_, b.explained_variance_, rtol=1e-4)


def test_a_subset_is_stored_under_an_id_of_its_parent_and_bounds(tmp_path):
    from cubescope.geo import Georef

    array = sample_cube(rows=20, cols=16, bands=8, dtype="f4")
    geo = Georef(20, 16, crs="EPSG:32633", geotransform=(380000.0, 30.0, 0.0, 5810000.0, 0.0, -30.0))
    bad = np.zeros(8, bool)
    bad[[2, 5]] = True
    parent = Cube.from_array(array, np.arange(8) * 10 + 500.0, wavelength_units="nm", bad_bands=bad, geo=geo,
                             name="scene")
    store = CubeStore(tmp_path / "store")
    parent_id = store.put(parent, "b" * 32)
    first = store.subset(parent, parent_id, slice(4, 12), slice(3, 9), ~bad)
    assert store.subset(parent, parent_id, slice(4, 12), slice(3, 9), ~bad) == first  # the same cut: the same entry
    assert len({first, store.subset(parent, parent_id, slice(4, 12), slice(3, 10), ~bad),
                store.subset(parent, parent_id, slice(4, 12), slice(3, 9))}) == 3
    part = store.open(first)
    assert (part.rows, part.cols, part.n_bands) == (8, 6, 6)
    np.testing.assert_array_equal(np.moveaxis(np.asarray(part.bsq), 0, 2), array[4:12, 3:9][:, :, ~bad])
    np.testing.assert_array_equal(part.wavelengths, (np.arange(8) * 10 + 500.0)[~bad])
    assert part.lonlat(0, 0) == pytest.approx(parent.lonlat(4, 3))
    assert part.metadata["subset of cube id"] == parent_id and part.metadata["subset of"] == "scene"
    assert part.metadata["subset rows"] == "4-12" and part.metadata["subset bands"] == "6 of 8"
    with pytest.raises(CubeError, match="window of rows and columns"):
        store.subset(parent, parent_id, slice(12, 4), slice(None))
