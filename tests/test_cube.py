import json

import numpy as np
import pytest

from cubescope import Cube, CubeError
from cubescope.demo import demo_cube
from tests.writers import sample_cube


def test_from_array_layouts_agree():
    data = sample_cube()
    for axis, arranged in [(2, data), (0, data.transpose(2, 0, 1)), (1, data.transpose(0, 2, 1))]:
        cube = Cube.from_array(arranged, band_axis=axis)
        assert cube.shape == data.shape
        np.testing.assert_array_equal(cube.band(4), data[:, :, 4])
        np.testing.assert_array_equal(cube.spectrum(6, 1), data[6, 1])


def test_band_is_contiguous_copy_and_cube_read_only():
    cube = Cube.from_array(sample_cube())
    band = cube.band(0)
    assert band.flags.c_contiguous
    band[:] = 0
    assert cube.band(0).any()
    with pytest.raises(ValueError):
        cube.bsq[0, 0, 0] = 1


def test_integer_types_become_floats_wide_enough():
    assert Cube.from_array(sample_cube(dtype="u2")).band(0).dtype == np.float32
    assert Cube.from_array(sample_cube(dtype="i4")).band(0).dtype == np.float64
    assert Cube.from_array(sample_cube(dtype="f8")).band(0).dtype == np.float64


def test_nodata_and_nan_make_invalid_pixels():
    data = sample_cube(dtype="f4")
    data[1, 1, 2] = np.nan
    data[2, 2, :] = -9999
    cube = Cube.from_array(data, nodata=-9999)
    assert np.isnan(cube.spectrum(2, 2)).all()
    assert not cube.valid_mask[1, 1] and not cube.valid_mask[2, 2]
    assert cube.valid_mask.sum() == data.shape[0] * data.shape[1] - 2


def test_bad_bands_do_not_invalidate_pixels():
    data = sample_cube(dtype="f4")
    data[:, :, 3] = np.nan
    cube = Cube.from_array(data, bad_bands=[False, False, False, True, False, False])
    assert cube.valid_mask.all()
    assert cube.good_bands.sum() == 5


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((3, 3)), "three axes"),
        (np.zeros((3, 3, 3), complex), "not supported"),
        (np.zeros((0, 3, 3)), "empty"),
    ],
)
def test_invalid_arrays(bad, message):
    with pytest.raises(CubeError, match=message):
        Cube.from_array(bad)


def test_wavelengths_must_match_bands():
    with pytest.raises(CubeError, match="must match"):
        Cube.from_array(sample_cube(), wavelengths=[1, 2, 3])


def test_out_of_range_access():
    cube = Cube.from_array(sample_cube())
    with pytest.raises(CubeError, match="does not exist"):
        cube.band(6)
    with pytest.raises(CubeError, match="outside"):
        cube.spectrum(7, 0)


def test_demo_cube_is_deterministic_and_realistic():
    a, b = demo_cube(), demo_cube()
    np.testing.assert_array_equal(a.bsq, b.bsq)
    assert a.wavelength_units == "nm" and a.nbytes < 30e6
    veg = a.spectrum(5, 230)  # north-east corner is dense vegetation
    wl = a.wavelengths
    red, nir = veg[np.argmin(abs(wl - 670))], veg[np.argmin(abs(wl - 850))]
    assert nir > 3 * red  # the red edge
    r, g, bl = a.rgb_bands()
    assert abs(wl[r] - 640) < 20 and abs(wl[g] - 550) < 20 and abs(wl[bl] - 460) < 20


def test_a_cube_described_by_to_meta_is_built_again_by_from_meta():

    cube = Cube(np.arange(2 * 3 * 4, dtype="i2").reshape(4, 2, 3), name="scan", wavelengths=[1.0, 1.1, 1.2, 1.3],
                wavelength_units="um", fwhm=[0.01] * 4, bad_bands=[0, 1, 0, 0], nodata=-9999,
                default_bands=(3, 1, 0), gain=[2.0] * 4, offset=[0.5] * 4, quantity="radiance",
                metadata={"sensor": "x"})
    described = json.loads(json.dumps(cube.to_meta()))  # JSON values only
    again = Cube.from_meta(cube.bsq, described)
    assert again.to_meta() == cube.to_meta()
    np.testing.assert_array_equal(again.band(2), cube.band(2))
    stored = cube.as_stored()
    assert stored.gain is None and stored.quantity == "stored values" and stored.default_bands == (3, 1, 0)


def test_default_band_avoids_water_absorption():
    wl = np.linspace(380, 2510, 425)
    cube = Cube.from_array(np.zeros((2, 2, 425), "f4"), wl, wavelength_units="nm")
    assert abs(cube.wavelengths[cube.default_band()] - 650) < 5
    assert Cube.from_array(np.zeros((2, 2, 5), "f4"), default_bands=(3, 2, 1)).default_band() == 3
    assert Cube.from_array(np.zeros((2, 2, 5), "f4")).default_band() == 2


def test_a_subset_is_exactly_its_samples_with_everything_that_describes_them():
    demo = demo_cube()
    bad = np.zeros(demo.n_bands, bool)
    bad[[12, 60]] = True
    cube = Cube.from_meta(demo.bsq, {**demo.to_meta(), "bad_bands": bad}, geo=demo.geo)
    slice_bands = np.arange(10, 40)
    part = cube.subset(slice(20, 70), slice(100, 180), slice_bands)
    assert part.shape == (50, 80, 30)
    np.testing.assert_array_equal(part.spectrum(0, 0), cube.spectrum(20, 100)[slice_bands])
    np.testing.assert_array_equal(part.band(5), cube.band(15)[20:70, 100:180])
    np.testing.assert_array_equal(part.wavelengths, cube.wavelengths[10:40])
    np.testing.assert_array_equal(part.bad_bands, cube.bad_bands[10:40])
    np.testing.assert_allclose(part.lonlat(0, 0), cube.lonlat(20, 100))  # pixel (0, 0) where (20, 100) was
    np.testing.assert_allclose(part.lonlat(49, 79), cube.lonlat(69, 179))
    assert np.shares_memory(part.bsq, cube.bsq)  # one run of bands: a view, never a copy
    assert part.metadata["subset of"] == cube.name and part.metadata["subset bands"] == "30 of 128"


def test_a_subset_of_scattered_bands_copies_only_them_over_the_window():
    values = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    cube = Cube.from_array(values, wavelengths=[400, 500, 600, 700, 800, 900], wavelength_units="nm",
                           fwhm=[10] * 6, gain=[1, 2, 3, 4, 5, 6], default_bands=(4, 2, 0))
    mask = np.array([True, False, True, False, True, False])
    part = cube.subset(slice(1, 3), slice(0, 5), mask)
    assert part.shape == (2, 5, 3) and not np.shares_memory(part.bsq, cube.bsq)
    np.testing.assert_array_equal(part.spectrum(1, 2), cube.spectrum(2, 2)[mask])  # gain moved with the bands
    np.testing.assert_array_equal(part.wavelengths, [400, 600, 800])
    assert part.default_bands == (2, 1, 0)
    assert cube.subset(bands=[1, 3]).default_bands is None  # the true-colour bands are not all there


@pytest.mark.parametrize("rows, cols, bands, message", [
    (slice(5, 5), slice(None), None, "not empty"),
    (slice(0, 4, 2), slice(None), None, "step 1"),
    (slice(None), slice(None), [], "at least one"),
    (slice(None), slice(None), [9], "within 0..5"),
])
def test_an_impossible_subset_is_a_message(rows, cols, bands, message):
    cube = Cube.from_array(np.zeros((4, 5, 6), np.float32))
    with pytest.raises(CubeError, match=message):
        cube.subset(rows, cols, bands)


def test_a_subset_of_a_stored_cube_reads_only_checked_bands(tmp_path):
    from cubescope.store import CubeStore

    store = CubeStore(tmp_path / "store")
    cube_id = store.put(Cube.from_array(sample_cube(rows=12, cols=10, bands=8)), "e" * 32)
    data = store.root / "objects" / cube_id / "data.npy"
    raw = bytearray(data.read_bytes())
    raw[-5] ^= 0xFF  # a sample of the last band
    data.write_bytes(bytes(raw))
    cube, again = store.open(cube_id), store.open(cube_id)
    part = cube.subset(slice(2, 9), slice(1, 7), [5, 6, 7])  # a view of the last three bands
    np.testing.assert_array_equal(part.band(0), cube.band(5)[2:9, 1:7])
    with pytest.raises(CubeError, match="damaged"):
        part.band(2)
    assert part.damaged and cube.damaged
    with pytest.raises(CubeError, match="damaged"):
        again.subset(bands=[0, 7])  # scattered bands are checked before they are copied


def test_an_edited_bad_band_list_is_left_out_of_fits_on_the_same_samples():
    cube = demo_cube()
    bad = np.zeros(cube.n_bands, bool)
    bad[[5, 6, 40]] = True
    edited = cube.with_bad_bands(bad)
    assert np.shares_memory(edited.bsq, cube.bsq)
    np.testing.assert_array_equal(edited.good_bands, ~bad)
    assert edited.default_band() not in (5, 6, 40)
    np.testing.assert_array_equal(edited.wavelengths, cube.wavelengths)
    assert edited.geo is cube.geo and edited.name == cube.name
    assert edited.with_bad_bands(None).bad_bands is None
    with pytest.raises(CubeError, match="band mask of 3"):
        cube.with_bad_bands([True, False, True])
