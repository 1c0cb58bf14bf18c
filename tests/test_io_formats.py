"""NumPy, MATLAB, TIFF and HDF5 loading; format detection; axis guessing."""

import io
import pickle

import h5py
import numpy as np
import pytest
import scipy.io
import tifffile

import cubescope
from cubescope import CubeError, load_cube
from cubescope.io import detect_format, list_arrays
from cubescope.io.axes import guess_band_axis
from tests.writers import sample_cube, write_mat73


def as_hwb(cube):
    return np.moveaxis(np.asarray(cube.bsq), 0, 2)


# ----------------------------------------------------------------------------- .npy / .npz
@pytest.mark.parametrize("dtype", ["u1", "i2", "u2", "i4", "f4", "f8"])
def test_npy_rows_cols_bands(tmp_path, dtype):
    data = sample_cube(dtype=dtype)
    np.save(tmp_path / "c.npy", data)
    cube = load_cube(tmp_path / "c.npy")
    np.testing.assert_array_equal(as_hwb(cube), data)


def test_npy_band_first_stays_memory_mapped(tmp_path):
    data = sample_cube(rows=9, cols=9, bands=4)
    np.save(tmp_path / "c.npy", np.ascontiguousarray(data.transpose(2, 0, 1)))
    cube = load_cube(tmp_path / "c.npy")
    assert cube.shape == (9, 9, 4) and cube.is_memory_mapped
    np.testing.assert_array_equal(as_hwb(cube), data)


def test_npy_fortran_order(tmp_path):
    data = np.asfortranarray(sample_cube())
    np.save(tmp_path / "c.npy", data)
    np.testing.assert_array_equal(as_hwb(load_cube(tmp_path / "c.npy")), data)


def test_npy_band_axis_override(tmp_path):
    data = sample_cube(rows=4, cols=5, bands=6)
    np.save(tmp_path / "c.npy", data)
    cube = load_cube(tmp_path / "c.npy", band_axis=0)
    assert cube.shape == (5, 6, 4)
    assert "chosen by the user" in cube.metadata["band axis"]


def test_pickled_npy_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "evil.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(CubeError, match="pickled"):
        load_cube(path)


def test_raw_pickle_named_npy(tmp_path):
    path = tmp_path / "evil.npy"
    path.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(CubeError):
        load_cube(path)


def test_2d_array_is_not_a_cube(tmp_path):
    np.save(tmp_path / "img.npy", np.zeros((4, 5), np.float32))
    with pytest.raises(CubeError, match="single 4 x 5 image"):
        load_cube(tmp_path / "img.npy")


def test_truncated_npy(tmp_path):
    path = tmp_path / "c.npy"
    np.save(path, sample_cube())
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(CubeError, match="holds only"):
        load_cube(path)


def test_complex_npy_refused(tmp_path):
    np.save(tmp_path / "c.npy", np.zeros((3, 3, 3), np.complex64))
    with pytest.raises(CubeError, match="integers or floats"):
        load_cube(tmp_path / "c.npy")


def test_npz_with_wavelengths_and_choice(tmp_path):
    a, b = sample_cube(seed=1), sample_cube(rows=3, seed=2)
    np.savez_compressed(tmp_path / "c.npz", first=a, second=b, wavelengths=np.linspace(400, 900, 6))
    assert {i.name for i in list_arrays(tmp_path / "c.npz")} == {"first", "second", "wavelengths"}
    with pytest.raises(CubeError, match="several cubes"):
        load_cube(tmp_path / "c.npz")
    cube = load_cube(tmp_path / "c.npz", dataset="second")
    np.testing.assert_array_equal(as_hwb(cube), b)
    assert cube.wavelength_units == "nm" and cube.wavelengths[-1] == 900


def test_npz_pickled_member_refused(tmp_path):
    np.savez(tmp_path / "c.npz", cube=np.array([[[object()]]], dtype=object))
    with pytest.raises(CubeError, match="pickled"):
        load_cube(tmp_path / "c.npz")


# ----------------------------------------------------------------------------- MATLAB
def test_mat_v5_with_misspelled_wavelength_key(tmp_path):
    data = sample_cube(rows=8, cols=6, bands=5, dtype="f4")
    scipy.io.savemat(
        tmp_path / "c.mat", {"hsi": data, "wavlength": np.arange(5.0)[:, None] + 400, "labels": np.zeros((8, 6))}
    )
    cube = load_cube(tmp_path / "c.mat")
    np.testing.assert_array_equal(as_hwb(cube), data)
    np.testing.assert_array_equal(cube.wavelengths, np.arange(5.0) + 400)


def test_mat_v5_struct_only_refused(tmp_path):
    scipy.io.savemat(tmp_path / "c.mat", {"s": {"a": np.zeros((2, 2, 2))}})
    with pytest.raises(CubeError, match="no 3D array"):
        load_cube(tmp_path / "c.mat")


def test_mat_v73(tmp_path):
    data = sample_cube(rows=8, cols=6, bands=5, dtype="i2")
    write_mat73(tmp_path / "c.mat", {"cube": data, "wavelengths": np.linspace(1.0, 2.0, 5)[:, None]})
    assert detect_format(tmp_path / "c.mat") == "mat"
    cube = load_cube(tmp_path / "c.mat")
    np.testing.assert_array_equal(as_hwb(cube), data)
    assert cube.wavelength_units == "µm"


# ----------------------------------------------------------------------------- TIFF
def test_tiff_band_pages(tmp_path):
    data = sample_cube(rows=8, cols=6, bands=5, dtype="u2")
    tifffile.imwrite(tmp_path / "c.tif", np.ascontiguousarray(data.transpose(2, 0, 1)))
    cube = load_cube(tmp_path / "c.tif")
    np.testing.assert_array_equal(as_hwb(cube), data)


def test_tiff_interleaved_samples_compressed(tmp_path):
    data = sample_cube(rows=8, cols=6, bands=5, dtype="f4")
    tifffile.imwrite(tmp_path / "c.tif", data, planarconfig="contig", compression="zlib")
    cube = load_cube(tmp_path / "c.tif")
    np.testing.assert_array_equal(as_hwb(cube), data)


def test_tiff_gdal_nodata(tmp_path):
    data = sample_cube(rows=8, cols=6, bands=5, dtype="i2")
    data[0, 0, :] = -9999
    tifffile.imwrite(
        tmp_path / "c.tif", np.ascontiguousarray(data.transpose(2, 0, 1)), extratags=[(42113, "s", 0, "-9999", True)]
    )
    cube = load_cube(tmp_path / "c.tif")
    assert cube.nodata == -9999 and not cube.valid_mask[0, 0]


def test_tiff_single_image_refused(tmp_path):
    tifffile.imwrite(tmp_path / "c.tif", np.zeros((8, 6), np.uint8))
    with pytest.raises(CubeError, match="not a cube"):
        load_cube(tmp_path / "c.tif")


# ----------------------------------------------------------------------------- HDF5
def test_hdf5_choice_wavelengths_units(tmp_path):
    data = sample_cube(rows=8, cols=6, bands=5)
    with h5py.File(tmp_path / "c.h5", "w") as handle:
        handle["scene/radiance"] = data
        handle["scene/other"] = data[:4]
        handle["scene/wavelength"] = np.linspace(0.4, 0.9, 5)
        handle["scene/wavelength"].attrs["units"] = "micrometers"
    with pytest.raises(CubeError, match="several cubes"):
        load_cube(tmp_path / "c.h5")
    cube = load_cube(tmp_path / "c.h5", dataset="scene/radiance")
    np.testing.assert_array_equal(as_hwb(cube), data)
    assert cube.wavelength_units == "µm"


def test_hdf5_external_link_refused(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as handle:
        handle["secret"] = np.zeros((4, 4, 4))
    with h5py.File(tmp_path / "c.h5", "w") as handle:
        handle["cube"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "secret")
    with pytest.raises(CubeError):
        load_cube(tmp_path / "c.h5", dataset="cube")


def test_hdf5_external_storage_refused(tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.zeros(64, np.float32).tobytes())
    with h5py.File(tmp_path / "c.h5", "w") as handle:
        handle.create_dataset("cube", shape=(4, 4, 4), dtype="f4", external=[(str(raw), 0, 256)])
    with pytest.raises(CubeError, match="other files"):
        load_cube(tmp_path / "c.h5")


# ----------------------------------------------------------------------------- detection, axes
def test_unknown_file(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CubeError, match="not a cube file"):
        load_cube(tmp_path / "notes.txt")


def test_detection_by_content_not_name(tmp_path):
    np.save(tmp_path / "c.npy", sample_cube())
    (tmp_path / "c.npy").rename(tmp_path / "renamed.mat")
    assert detect_format(tmp_path / "renamed.mat") == "npy"


@pytest.mark.parametrize(
    "shape, n_wl, expected",
    [
        ((145, 145, 224), None, 2),
        ((224, 145, 145), None, 0),
        ((100, 30, 80), 30, 1),
        ((51, 88, 72), None, 2),
        ((51, 88, 72), 72, 2),
    ],
)
def test_guess_band_axis(shape, n_wl, expected):
    assert guess_band_axis(shape, n_wl)[0] == expected


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
