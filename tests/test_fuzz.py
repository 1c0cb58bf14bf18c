"""Fuzzed loaders: mutated files of every format either load into a consistent cube or raise
CubeError, quickly, and never allocate beyond the configured limits.

``CUBESCOPE_FUZZ_EXAMPLES`` sets the cases per format (default 2000, as CI runs); for a longer
run: ``CUBESCOPE_FUZZ_EXAMPLES=50000 python -m pytest tests/test_fuzz.py``.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cubescope import CubeError, load_cube
from cubescope.io.limits import Limits
from cubescope.store import CubeStore
from tests.writers import sample_cube, write_envi, write_lan

EXAMPLES = int(os.environ.get("CUBESCOPE_FUZZ_EXAMPLES", "2000"))
#: (format, "loaded" | "refused") -> cases, reported by the last test of this module.
OUTCOMES: Counter = Counter()
LIMITS = Limits(max_bytes=8 * 2**20, max_side=4096, max_bands=512)
SECONDS = 2.0
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

dtypes = st.sampled_from(["u1", "i2", "u2", "i4", "f4", "f8"])
dims = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 7))

mutation = st.one_of(
    st.tuples(st.just("flip"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.floats(0, 1), st.just(0)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.integers(0, 255)),
    st.tuples(st.just("int32"), st.floats(0, 1), st.sampled_from([0, 1, -1, 2**31 - 1, -(2**31), 65536, 7])),
)
mutations = st.lists(st.tuples(mutation, st.booleans()), min_size=1, max_size=3)


def mutate(data: bytes, ops) -> bytes:
    buffer = bytearray(data)
    for (kind, where, value), in_header in ops:
        span = min(len(buffer), 600) if in_header else len(buffer)
        if span == 0:
            break
        pos = min(int(where * span), span - 1)
        if kind == "flip":
            buffer[pos] = value
        elif kind == "truncate":
            del buffer[pos:]
        elif kind == "insert":
            buffer[pos:pos] = bytes([value])
        else:
            buffer[pos : pos + 4] = int(value).to_bytes(4, "little", signed=True)
    return bytes(buffer)


def check(path: Path, **kwargs) -> str:
    """Load; a refusal must be a CubeError, a success a consistent, readable cube."""
    start = time.perf_counter()
    try:
        cube = load_cube(path, limits=LIMITS, **kwargs)
    except CubeError as exc:
        assert str(exc)  # a message for the user
        outcome = "refused"
    else:
        assert cube.nbytes <= LIMITS.max_bytes
        rows, cols, bands = cube.shape
        for band in {0, bands - 1}:
            assert cube.band(band).shape == (rows, cols)
        assert cube.spectrum(rows - 1, cols - 1).shape == (bands,)
        outcome = "loaded"
    assert time.perf_counter() - start < SECONDS
    OUTCOMES[(path.suffix or path.name, outcome)] += 1
    return outcome


@pytest.fixture(scope="module")
def folder():
    # In memory where the machine has it: the store's fsyncs cost nothing there.
    with tempfile.TemporaryDirectory(dir="/dev/shm" if os.path.isdir("/dev/shm") else None) as name:
        yield Path(name)


@FUZZ
@given(
    shape=dims,
    dtype=dtypes,
    interleave=st.sampled_from(["bsq", "bil", "bip"]),
    order=st.integers(0, 1),
    header_ops=mutations,
    data_ops=mutations,
    mutate_data=st.booleans(),
    field=st.sampled_from(["samples", "lines", "bands", "header offset", "data type", "byte order", None]),
    value=st.sampled_from(["0", "-1", "99999999", "4294967297", "1e3", "", "{", "bsq", "12", "9"]),
)
def test_envi(folder, shape, dtype, interleave, order, header_ops, data_ops, mutate_data, field, value):
    header, data = write_envi(folder, sample_cube(*shape, dtype=dtype), interleave=interleave, byte_order=order)
    text = header.read_text()
    if field is not None:
        lines = [f"{field} = {value}" if line.startswith(field + " =") else line for line in text.splitlines()]
        header.write_text("\n".join(lines) + "\n")
    else:
        header.write_bytes(mutate(text.encode(), header_ops))
    if mutate_data:
        data.write_bytes(mutate(data.read_bytes(), data_ops))
    check(header)


def fuzz_file(folder: Path, name: str, content: bytes, ops, **kwargs) -> str:
    path = folder / name
    path.write_bytes(mutate(content, ops))
    return check(path, **kwargs)


@FUZZ
@given(shape=dims, dtype=st.sampled_from(["u1", "i2"]), big=st.booleans(), ops=mutations)
def test_lan(folder, shape, dtype, big, ops):
    path = folder / "valid.lan"
    write_lan(path, sample_cube(*shape, dtype=dtype), big_endian=big)
    fuzz_file(folder, "f.lan", path.read_bytes(), ops)


@FUZZ
@given(shape=dims, dtype=dtypes, ops=mutations)
def test_npy(folder, shape, dtype, ops):
    buffer = io.BytesIO()
    np.save(buffer, sample_cube(*shape, dtype=dtype))
    fuzz_file(folder, "f.npy", buffer.getvalue(), ops)


@FUZZ
@given(shape=dims, dtype=dtypes, ops=mutations, compressed=st.booleans())
def test_npz(folder, shape, dtype, ops, compressed):
    buffer = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(
        buffer, cube=sample_cube(*shape, dtype=dtype), wavelengths=np.arange(shape[2], dtype=float)
    )
    fuzz_file(folder, "f.npz", buffer.getvalue(), ops)


@pytest.fixture(scope="module")
def store(folder):
    return CubeStore(folder / "store", limits=LIMITS)


@FUZZ
@given(shape=dims, dtype=dtypes, ops=mutations, compressed=st.booleans())
def test_mat_v5_through_the_isolated_upload_path(store, shape, dtype, ops, compressed):
    """scipy's MATLAB reader can segfault on a damaged file (found by this test): uploads are
    converted in a child process, and a crash there is a refusal, not a dead server."""
    buffer = io.BytesIO()
    scipy.io.savemat(
        buffer,
        {"cube": sample_cube(*shape, dtype=dtype), "wavelengths": np.arange(shape[2]) + 400.0},
        do_compression=compressed,
    )
    start = time.perf_counter()
    try:
        cube = store.open(store.put_files([("f.mat", mutate(buffer.getvalue(), ops))]))
    except CubeError as exc:
        assert str(exc)
        OUTCOMES[(".mat", "refused")] += 1
    else:
        rows, cols, bands = cube.shape
        assert cube.band(bands - 1).shape == (rows, cols) and cube.nbytes <= LIMITS.max_bytes
        OUTCOMES[(".mat", "loaded")] += 1
    assert time.perf_counter() - start < 4 * SECONDS


@FUZZ
@given(shape=dims, dtype=dtypes, ops=mutations, planar=st.booleans(), compress=st.booleans())
def test_tiff(folder, shape, dtype, ops, planar, compress):
    buffer = io.BytesIO()
    cube = sample_cube(*shape, dtype=dtype)
    tifffile.imwrite(
        buffer,
        np.moveaxis(cube, 2, 0) if planar else cube,
        compression="zlib" if compress else None,
        metadata={"wavelengths": list(range(shape[2]))},
    )
    fuzz_file(folder, "f.tif", buffer.getvalue(), ops)


@pytest.fixture(scope="module")
def hdf5_file():
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        handle["cube"] = sample_cube(5, 4, 6, dtype="f4")
        handle["wavelengths"] = np.linspace(400, 900, 6)
    return buffer.getvalue()


@settings(FUZZ, max_examples=max(1, EXAMPLES // 2))
@given(ops=mutations)
def test_hdf5(folder, hdf5_file, ops):
    fuzz_file(folder, "f.h5", hdf5_file, ops)


@settings(FUZZ, max_examples=max(1, EXAMPLES // 20))
@given(
    shape=st.tuples(st.integers(1, 4096), st.integers(1, 4096), st.integers(1, 512)),
    chunk=st.integers(1, 256),
    matlab=st.booleans(),
    written=st.floats(0, 1),
)
def test_high_ratio_hdf5_and_matlab(folder, shape, chunk, matlab, written):
    """Chunked datasets whose chunks were (mostly) never written: whatever their declared size,
    they load, or are refused before reading, by the expansion ratio or another limit."""
    from cubescope.io.limits import DEFAULT_LIMITS, EXPANSION_FLOOR

    path = folder / ("bomb.mat" if matlab else "bomb.h5")
    with h5py.File(path, "w", userblock_size=512 if matlab else 0) as handle:
        chunks = tuple(min(chunk, n) for n in shape)
        dataset = handle.create_dataset("cube", shape=shape, dtype="f4", chunks=chunks)
        rows = int(written * min(shape[0], 8))
        if rows:
            dataset[:rows, :1, :1] = 1.0
        if matlab:
            dataset.attrs["MATLAB_class"] = np.bytes_("single")
    if matlab:
        with open(path, "r+b") as handle:
            handle.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 23 2026 HDF5 schema 1.00 .")
    declared = int(np.prod(shape)) * 4
    try:
        load_cube(path)
    except CubeError as exc:
        if declared > DEFAULT_LIMITS.max_bytes:
            assert "more than this server accepts" in str(exc)
        elif declared > EXPANSION_FLOOR and declared > DEFAULT_LIMITS.max_expansion * path.stat().st_size:
            assert "times its size" in str(exc)
        return
    assert declared <= EXPANSION_FLOOR or declared <= DEFAULT_LIMITS.max_expansion * path.stat().st_size


def test_header_declaring_a_petabyte_on_a_tiny_file_is_refused_quickly(tmp_path):
    """100000 x 100000 x 1000 float32 (40 TB) on a 1 KB data file: refused unread."""
    header, data = write_envi(tmp_path, sample_cube(4, 4, 4))
    data.write_bytes(b"\0" * 1024)
    header.write_text(
        header.read_text()
        .replace("samples = 4", "samples = 100000")
        .replace("lines = 4", "lines = 100000")
        .replace("bands = 4", "bands = 1000")
    )
    import tracemalloc

    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(CubeError, match="more than this server accepts"):
        load_cube(header)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 2**20
    with pytest.raises(CubeError, match="holds only"):
        load_cube(header, limits=Limits(max_bytes=2**60, max_side=10**6, max_bands=10**4))


def test_npy_declaring_huge_shape_is_refused_unread(tmp_path):
    path = tmp_path / "c.npy"
    np.save(path, np.zeros((2, 2, 2), np.float32))
    raw = path.read_bytes().replace(b"(2, 2, 2)", b"(99999, 99999, 999)")
    path.write_bytes(raw)
    with pytest.raises(CubeError):
        load_cube(path)


def test_zz_every_format_was_both_loaded_and_refused():
    """The mutations reach both outcomes for every format (runs after the fuzz tests above)."""
    formats = sorted({fmt for fmt, _ in OUTCOMES})
    print(
        "\nfuzz cases per format (loaded / refused): "
        + ", ".join(f"{fmt} {OUTCOMES[(fmt, 'loaded')]}/{OUTCOMES[(fmt, 'refused')]}" for fmt in formats)
    )
    if not formats:
        pytest.skip("run with the fuzz tests")
    for fmt in formats:
        assert OUTCOMES[(fmt, "loaded")] > 0 and OUTCOMES[(fmt, "refused")] > 0, fmt
