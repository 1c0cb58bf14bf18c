"""The real cubes in ../shared/data agree with the reference readers (skipped when absent)."""

import numpy as np
import pytest
import scipy.io
import spectral

from cubescope import load_cube

MAT_CUBES = [
    ("aviris_santa_barbara_2014_crop/a_hsi_img_for_VI_demo.mat", "hsi_img", "wavelengths"),
    ("indian_pines_sim/simu_indian.mat", "Ori_H", None),
    ("muufl_gulfport_subsets/an_hsi_image_sub_for_demo.mat", "hsi_img_sub", "wavelengths"),
    ("muufl_gulfport_subsets/an_hsi_img_for_class_demo.mat", "hsi_sub", "wavlength"),
    ("muufl_gulfport_subsets/an_hsi_img_for_tgt_det_demo.mat", "hsi_sub", "wavelengths"),
    ("pavia_university_subimg/paviaU_subimg.mat", "paviaU_subimg", None),
]


@pytest.mark.parametrize("relative, key, wl_key", MAT_CUBES)
def test_mat_cubes_match_scipy(shared_data, relative, key, wl_key):
    path = shared_data / relative
    reference = scipy.io.loadmat(path)
    cube = load_cube(path)
    np.testing.assert_array_equal(np.moveaxis(np.asarray(cube.bsq), 0, 2), reference[key])
    if wl_key:
        np.testing.assert_array_equal(cube.wavelengths, reference[wl_key].ravel())
        assert cube.wavelength_units == "nm"
    else:
        assert cube.wavelengths is None


def test_fenix_envi_matches_spectral(shared_data):
    header = shared_data / "fenix_napari_hippo" / "image.hdr"
    reference = spectral.envi.open(str(header))
    cube = load_cube(header)
    np.testing.assert_array_equal(np.moveaxis(np.asarray(cube.bsq), 0, 2), reference.open_memmap(interleave="bip"))
    np.testing.assert_allclose(cube.wavelengths, [float(w) for w in reference.metadata["wavelength"]])
    assert cube.wavelength_units == "nm" and cube.fwhm is not None
    assert cube.nodata == 0
    zero = np.asarray(cube.bsq[0]) == 0
    assert np.isnan(cube.band(0)[zero]).all()
    assert cube.is_memory_mapped
    assert cube.rgb_bands() is not None


def test_aviris_true_colour(shared_data):
    cube = load_cube(shared_data / "aviris_santa_barbara_2014_crop" / "a_hsi_img_for_VI_demo.mat")
    r, g, b = (cube.wavelengths[i] for i in cube.rgb_bands())
    assert abs(r - 640) < 10 and abs(g - 550) < 10 and abs(b - 460) < 10
