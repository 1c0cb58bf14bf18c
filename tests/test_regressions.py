"""Files the fuzz suite found crashing a reader, each refused with a message now."""

import io

import numpy as np
import pytest
import scipy.io
import tifffile

from cubescope import CubeError, load_cube
from cubescope.store import CubeStore
from tests.writers import sample_cube


def npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, cube=sample_cube(3, 3, 3), wavelengths=np.arange(3.0))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "flag_offset, value, message",
    [
        (6, 0x01, "encrypted"),  # general purpose flag bit 0 of the first local header: "encrypted"
        (8, 0x63, "compression"),  # compression method 99: not supported
    ],
)
def test_npz_member_claiming_encryption_or_unknown_compression(tmp_path, flag_offset, value, message):
    data = bytearray(npz_bytes())
    central = data.rfind(b"PK\x01\x02")  # the central directory entries carry the same fields
    while central != -1:
        data[central + 2 + flag_offset] = value
        central = data.rfind(b"PK\x01\x02", 0, central)
    data[flag_offset] = value
    path = tmp_path / "c.npz"
    path.write_bytes(bytes(data))
    with pytest.raises(CubeError, match=r"not a valid \.npz archive|could not be read"):
        load_cube(path)


def test_tiff_with_a_zeroed_dimension_tag(tmp_path):
    """tifffile divides by a zero-sized dimension (ZeroDivisionError) or trips an assert."""
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, sample_cube(1, 1, 1, dtype="u1"))
    data = bytearray(buffer.getvalue())
    position = int(0.0625 * len(data))
    data[position : position + 4] = (0).to_bytes(4, "little")
    path = tmp_path / "c.tif"
    path.write_bytes(bytes(data))
    with pytest.raises(CubeError):
        load_cube(path)


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
