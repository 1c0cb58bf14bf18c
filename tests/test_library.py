"""Spectral libraries, resampling and matching (issue 16) against Spectral Python."""

import io
import zipfile

import numpy as np
import pytest
from spectral import BandResampler
from spectral.algorithms.algorithms import spectral_angles as spy_angles

from cubescope import Cube, CubeError, export, load_library, resample_spectra, spectral_angles
from cubescope.library import (
    MAX_FILE_BYTES,
    SpectralLibrary,
    best_match,
    feature_fit,
    library_from_csv,
    library_from_envi,
    library_from_files,
    library_to_csv,
    library_to_envi,
    library_to_envi_zip,
    nearest_reference,
    within,
)

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("to_fwhm", [None, "given"])
def test_resampling_equals_band_resampler(to_fwhm):
    source = np.arange(350.0, 2501.0, 1.0)  # a 1 nm library
    target = np.sort(RNG.uniform(380, 2600, 224))  # non-uniform, past the library's end
    fwhm = RNG.uniform(5, 15, 224) if to_fwhm else None
    spectra = RNG.random((6, source.size))
    spy = BandResampler(source, target, None, fwhm)
    expected = np.array([spy(s) for s in spectra])
    ours = resample_spectra(spectra, source, target, fwhm)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, atol=1e-14)
    outside = target > 2501
    assert np.isnan(ours[:, outside]).all()  # no overlap: NaN, never a silent zero
    assert np.isfinite(ours[:, target < 2400]).all()


def test_resampling_with_source_widths_and_a_nan_band():
    source = np.linspace(400, 2400, 60)
    widths = RNG.uniform(20, 40, 60)
    target = np.linspace(450, 2300, 25)
    spectra = RNG.random((3, 60))
    spectra[1, 30] = np.nan
    resampler = BandResampler(source, target, widths, None)
    # Spectral Python's dense product turns the whole spectrum NaN (NaN x 0); here only the
    # destination bands that draw on the NaN band are NaN, the others equal its values.
    expected = np.array([resampler(np.nan_to_num(s)) for s in spectra])
    touched = resampler.matrix[:, 30] > 0
    expected[1, touched] = np.nan
    ours = resample_spectra(spectra, source, target, None, widths)
    np.testing.assert_allclose(ours, expected, rtol=1e-12, equal_nan=True)
    assert np.isnan(ours[1]).sum() == touched.sum() > 0 and np.isfinite(ours[0]).all()
    shuffled = RNG.permutation(60)  # unsorted source bands give the same result
    np.testing.assert_allclose(resample_spectra(spectra[:, shuffled], source[shuffled], target, None, widths[shuffled]),
                               ours, rtol=1e-12, equal_nan=True)


def test_spectral_angles_equal_spectral_python_and_skip_bad_bands():
    data = RNG.random((20, 30, 40)).astype(np.float32)
    refs = RNG.random((5, 40))
    np.testing.assert_allclose(spectral_angles(data, refs), spy_angles(data, refs), atol=2e-6)
    bad = np.zeros(40, bool)
    bad[[3, 17]] = True
    cube = Cube.from_array(data, np.linspace(400, 2500, 40), bad_bands=bad)
    expected = spy_angles(np.ascontiguousarray(data[..., ~bad]), refs[:, ~bad])
    np.testing.assert_allclose(spectral_angles(cube, refs), expected, atol=2e-6)


def test_best_match_with_threshold():
    angles = np.array([[[0.1, 0.3], [0.5, 0.2]], [[np.nan, np.nan], [0.4, 0.45]]])
    classes, best = best_match(angles, threshold=0.35)
    np.testing.assert_array_equal(classes, [[0, 1], [-1, -1]])
    np.testing.assert_allclose(best, [[0.1, 0.2], [np.nan, 0.4]])


def test_feature_fit_recovers_a_scaled_feature():
    x = np.linspace(2000, 2400, 41)
    ref = 1 - 0.4 * np.exp(-((x - 2200) / 30) ** 2)
    other = 1 - 0.4 * np.exp(-((x - 2320) / 20) ** 2)
    pixel = 0.8 * (1 - 0.2 * np.exp(-((x - 2200) / 30) ** 2))  # half as deep, brighter or darker
    scale, rms = feature_fit(pixel[None], np.stack([ref, other]), x, (2000, 2400))
    assert scale[0, 0] == pytest.approx(0.5, rel=0.05)
    assert rms[0, 0] < rms[0, 1]


def test_csv_library_round_trip_units_and_lonlat_rows(tmp_path):
    text = ("wavelength (µm),kaolinite,calcite\n0.40,0.5,0.6\n0.50,0.55,\n0.60,0.6,0.7\n").encode()
    library = library_from_csv(text)
    np.testing.assert_allclose(library.wavelengths, [400, 500, 600])
    assert library.names == ["kaolinite", "calcite"] and np.isnan(library.spectra[1, 1])
    again = library_from_csv(library_to_csv(library))
    np.testing.assert_allclose(again.spectra, library.spectra, equal_nan=True)
    # The spectra CSV Cubescope writes (band, wavelength, bad band, lon/lat rows) reads as a library.
    written = export.spectra_to_csv({"pixel (1, 2)": np.array([0.1, 0.2, 0.3])}, np.array([400.0, 500.0, 600.0]),
                                    "nm", np.array([False, True, False]), locations={"pixel (1, 2)": (10.0, 45.0)})
    pins = library_from_csv(written)
    assert pins.names == ["pixel (1, 2)"] and pins.spectra.shape == (1, 3)


def test_envi_library_round_trip(tmp_path):
    library = SpectralLibrary(["a", "b, with comma"], RNG.random((2, 5)), [400, 500, 600, 700, 800],
                              fwhm=[10, 10, 10, 10, 10])
    header, data = library_to_envi(library)
    (tmp_path / "lib.hdr").write_bytes(header)
    (tmp_path / "lib.sli").write_bytes(data)
    loaded = load_library(tmp_path / "lib.sli")
    assert loaded.names == ["a", "b; with comma"]
    np.testing.assert_allclose(loaded.spectra, library.spectra, rtol=1e-6)
    np.testing.assert_allclose(loaded.wavelengths, library.wavelengths)
    resampled = loaded.resampled(np.array([450.0, 650.0]))
    assert resampled.spectra.shape == (2, 2)


@pytest.mark.parametrize("text", [b"", b"wavelength,a\n", b"wavelength,a\n400,x\n500,1\n", b"only\n1\n2\n"])
def test_broken_csv_libraries_get_a_message(text):
    with pytest.raises(CubeError):
        library_from_csv(text)


def test_the_angle_of_a_spectrum_with_itself_is_zero():
    """float32 cosines rounded below 1 gave 7.7e-4 rad; near-1 cosines are redone in float64."""
    data = np.random.default_rng(24).uniform(0.01, 0.6, (30, 40, 198)).astype(np.float32)
    cube = Cube.from_array(data, np.linspace(400, 2500, 198))
    refs = data[[3, 17, 29], [4, 9, 39]]
    angles = spectral_angles(cube, refs)
    assert angles.dtype == np.float32
    assert max(angles[3, 4, 0], angles[17, 9, 1], angles[29, 39, 2]) < 1e-6
    assert spectral_angles(data, refs)[3, 4, 0] < 1e-6
    # Scaled copies have angle 0 too; other pixels agree with float64 to float32 precision.
    assert spectral_angles(refs * 3.5, refs).diagonal().max() < 1e-6
    wide = data.astype(np.float64).reshape(-1, 198)
    exact = np.arccos(np.clip((wide @ refs.T.astype(np.float64)) / np.outer(
        np.linalg.norm(wide, axis=1), np.linalg.norm(refs.astype(np.float64), axis=1)), -1, 1))
    np.testing.assert_allclose(angles.reshape(-1, 3), exact, atol=2e-6)


@pytest.mark.parametrize("line, problem", [
    ("reflectance scale factor = abc", "not a number"),
    ("reflectance scale factor = -5", "positive"),
    ("header offset = -8", "0 or more"),
])
def test_hostile_sli_headers_get_a_message(line, problem):
    """Issue 26 #6-7: a ValueError box once; now a message naming the header item."""
    library = SpectralLibrary(["a", "b"], RNG.random((2, 5)), [400, 500, 600, 700, 800])
    header, data = library_to_envi(library)
    text = header.decode().replace("header offset = 0", "") + line + "\n"
    with pytest.raises(CubeError, match=problem):
        library_from_envi(text.encode(), data)


def test_a_huge_csv_is_refused_before_its_values_are_parsed():
    """Issue 26 #10: 10,000 columns x 1,677 rows once cost 1.9 GB; the header row and the line
    count say so first."""
    row = ",".join(["0.5"] * 10_001)
    text = ("wavelength," + ",".join(f"s{i}" for i in range(10_001)) + "\n" + ("400," + row + "\n") * 400).encode()
    with pytest.raises(CubeError, match="at most"):
        library_from_csv(text)


def test_csv_export_neutralizes_formulas():
    """Issue 26 #9: names opened in a spreadsheet are text, never formulas."""
    import csv
    import io

    names = ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "water"]
    library = SpectralLibrary(names, RNG.random((5, 3)), [400, 500, 600])
    header = next(csv.reader(io.StringIO(library_to_csv(library).decode())))
    assert header[1:] == ["'" + n for n in names[:4]] + ["water"]


def test_nearest_reference_streams_and_equals_best_match_of_all_angles():
    """Issue 26 #11: the class map's nearest reference, block by block (here blocks of a few
    rows), equals the argmin over every angle at once; no-data pixels get -1."""
    data = RNG.random((12, 23, 17)).astype(np.float32)  # band-sequential
    data[:, 3, 4] = np.nan
    cube = Cube(data)
    refs = RNG.random((40, 12))
    classes, best = best_match(spectral_angles(cube, refs))
    nearest, angle = nearest_reference(cube, refs, max_bytes=4096)
    np.testing.assert_array_equal(nearest, classes)
    # float32 products summed in other blocks differ in the last bits: ~1e-7 in the cosine,
    # ~3e-7 rad at these angles (1 / sin 0.34 = 3), well inside 2e-6 rad.
    np.testing.assert_allclose(angle, best, rtol=0, atol=2e-6, equal_nan=True)
    assert nearest[3, 4] == -1
    threshold = float(np.nanmedian(angle))
    np.testing.assert_array_equal(within(nearest, angle, threshold), best_match(spectral_angles(cube, refs),
                                                                                 threshold)[0])


def test_uploaded_files_make_a_library_whichever_pair_is_given():
    library = SpectralLibrary(["a", "b"], RNG.random((2, 5)), [400, 500, 600, 700, 800])
    header, data = library_to_envi(library)
    for files in ([("lib.hdr", header), ("lib.sli", data)], [("LIB.SLI", data), ("LIB.HDR", header)],
                  [("lib.csv", library_to_csv(library))]):
        loaded = library_from_files(files)
        assert loaded.names == ["a", "b"]
        np.testing.assert_allclose(loaded.spectra, library.spectra, rtol=1e-6)
    with zipfile.ZipFile(io.BytesIO(library_to_envi_zip(library))) as archive:
        assert sorted(archive.namelist()) == ["library.hdr", "library.sli"]
        assert archive.read("library.sli") == data


@pytest.mark.parametrize("files, problem", [
    ([("lib.hdr", b"ENVI\n")], "ENVI spectral library as its .sli and .hdr together"),
    ([("a.hdr", b"ENVI\n"), ("b.hdr", b"ENVI\n")], "together"),
    ([("lib.png", b"\x89PNG")], "Upload a CSV library"),
    ([("big.csv", b"0" * (MAX_FILE_BYTES + 1))], "larger than 64 MB"),
])
def test_files_that_are_not_a_library_get_a_message(files, problem):
    with pytest.raises(CubeError, match=problem):
        library_from_files(files)


def test_a_library_on_a_cube_leaves_out_the_bands_it_cannot_compare():
    wavelengths = np.array([400.0, 500, 600, 700, 800])
    bad = np.array([False, False, True, False, False])
    cube = Cube.from_array(RNG.random((4, 4, 5)).astype(np.float32), wavelengths, wavelength_units="nm",
                           bad_bands=bad)
    same = SpectralLibrary(["a"], RNG.random((1, 5)), wavelengths)
    on_cube, usable = same.for_cube(cube)
    np.testing.assert_array_equal(usable, ~bad)
    assert np.isnan(on_cube.spectra[0, 2]) and np.isfinite(same.spectra).all()  # a copy, the library untouched
    np.testing.assert_allclose(on_cube.spectra[0, usable], same.spectra[0, usable])
    narrow = SpectralLibrary(["a"], RNG.random((1, 3)), [390.0, 405.0, 420.0])
    with pytest.raises(CubeError, match="fewer than two bands"):
        narrow.for_cube(cube)
    with pytest.raises(CubeError, match="needs wavelengths"):
        same.for_cube(Cube.from_array(RNG.random((4, 4, 5)).astype(np.float32)))
