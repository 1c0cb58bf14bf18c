"""Fuzzed uploads of the analysis pages: ROIs (GeoJSON) and spectral libraries (CSV, ENVI .sli
with its header). Each malformed file either reads into something every page can use or is
refused with a CubeError (the only error the pages' upload callbacks catch), quickly.

Cube uploads are fuzzed in ``tests/test_fuzz.py``. ``CUBESCOPE_FUZZ_EXAMPLES`` sets the cases
per format here too (default 2000 there; a quarter of that here: these parsers are fast, the
cases many).
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cubescope import Cube, CubeError, library, roi
from tests.test_fuzz import FUZZ, mutate, mutations
from tests.writers import sample_cube

CASES = max(50, int(os.environ.get("CUBESCOPE_FUZZ_EXAMPLES", "2000")) // 4)
FUZZ = settings(FUZZ, max_examples=CASES)
SECONDS = 2.0
CUBE = Cube(sample_cube(20, 30, 6))

# JSON values of every kind, nested, as a hostile GeoJSON file may hold them anywhere.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
geometry_types = st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString", None, 5])


def accepted_rois(text: str | bytes) -> None:
    """Read ROIs; what is accepted must draw, give statistics, and travel in a link."""
    start = time.perf_counter()
    try:
        rois = roi.from_geojson(text, CUBE)
    except CubeError as exc:
        assert str(exc)
    else:
        assert 0 < len(rois) <= roi.MAX_ROIS
        for area in rois:
            mask = roi.rings_mask(area.rings, 20, 30)
            assert mask.shape == (20, 30) and mask.dtype == bool
            roi.roi_stats(CUBE, area)
            back = roi.decode_rois(roi.encode_rois([area]))
            assert len(back) == 1
        json.loads(roi.to_geojson(rois))  # and can be written out again
    assert time.perf_counter() - start < SECONDS


def valid_geojson() -> str:
    rois = [roi.ROI("field", ((1.0, 1.0), (9.5, 1.0), (9.5, 7.0), (1.0, 7.0)), label="crop"),
            roi.ROI("lake", ((12.0, 3.0), (20.0, 3.0), (16.0, 12.0)), extra_rings=(((14.0, 5.0), (16.0, 5.0),
                                                                                     (15.0, 7.0)),))]
    return roi.to_geojson(rois)


@FUZZ
@given(ops=mutations)
def test_geojson_bytes_mutated(ops):
    accepted_rois(mutate(valid_geojson().encode(), ops))


@FUZZ
@given(coordinates=json_values, properties=json_values, kind=geometry_types, wrap=st.booleans())
def test_geojson_structures(coordinates, properties, kind, wrap):
    feature = {"type": "Feature", "properties": properties, "geometry": {"type": kind, "coordinates": coordinates}}
    document = {"type": "FeatureCollection", "features": [feature]} if wrap else feature
    accepted_rois(json.dumps(document))


@FUZZ
@given(document=json_values)
def test_geojson_any_json(document):
    accepted_rois(json.dumps(document))


def accepted_library(read) -> None:
    """Read a library; what is accepted must resample onto a cube's bands and match."""
    start = time.perf_counter()
    try:
        found = read()
    except CubeError as exc:
        assert str(exc)
    else:
        count, bands = found.spectra.shape
        assert count == len(found.names) >= 1 and bands == len(found.wavelengths) >= 2
        assert all(isinstance(name, str) for name in found.names)
        wavelengths = np.linspace(400, 2400, 6)
        try:
            on_cube = library.resample_spectra(found.spectra, found.wavelengths, wavelengths)
        except CubeError as exc:
            assert str(exc)
        else:
            assert on_cube.shape == (count, 6)
        library.library_to_csv(found)
    assert time.perf_counter() - start < SECONDS


def valid_csv() -> bytes:
    rows = ["wavelength (nm),grass,=soil,water"] + [f"{w},{0.1 + w / 1e4:.4f},{0.2:.1f},{0.01}" for w in
                                                    range(400, 2500, 150)]
    return ("\n".join(rows) + "\n").encode()


@FUZZ
@given(ops=mutations)
def test_csv_bytes_mutated(ops):
    accepted_library(lambda: library.library_from_csv(mutate(valid_csv(), ops)))


cells = st.one_of(st.sampled_from(["", "nan", "inf", "-inf", "1e400", "0", "-1", "abc", "=1+1", '"', "1,5", " "]),
                  st.floats(allow_nan=True).map(repr), st.text(max_size=6))


@FUZZ
@given(table=st.lists(st.lists(cells, min_size=1, max_size=6), min_size=1, max_size=8))
def test_csv_tables(table):
    text = "\n".join(",".join(row) for row in table)
    accepted_library(lambda: library.library_from_csv(text.encode()))


def valid_sli() -> tuple[bytes, bytes]:
    spectra = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.4, 0.3, 0.2]], dtype="<f4")
    header = ("ENVI\nsamples = 4\nlines = 2\nbands = 1\nheader offset = 0\nfile type = ENVI Spectral Library\n"
              "data type = 4\ninterleave = bsq\nbyte order = 0\nwavelength units = Micrometers\n"
              "wavelength = {0.5, 1.0, 1.5, 2.0}\nspectra names = {grass, soil}\nreflectance scale factor = 1\n")
    return header.encode(), spectra.tobytes()


@FUZZ
@given(header_ops=mutations, data_ops=mutations, which=st.sampled_from(["header", "data", "both"]),
       field=st.sampled_from(["samples", "lines", "header offset", "data type", "byte order", "wavelength",
                              "spectra names", "reflectance scale factor", "wavelength units", None]),
       value=st.sampled_from(["0", "-1", "99999999", "1e3", "", "{", "{1, 2}", "{nan, inf, 1, 2}", "abc", "12"]))
def test_sli_mutated(header_ops, data_ops, which, field, value):
    header, data = valid_sli()
    if field is not None:
        header = "\n".join(f"{field} = {value}" if line.startswith(field + " =") else line
                           for line in header.decode().splitlines()).encode()
    if which in ("header", "both"):
        header = mutate(header, header_ops)
    if which in ("data", "both"):
        data = mutate(data, data_ops)
    accepted_library(lambda: library.library_from_envi(header, data))
