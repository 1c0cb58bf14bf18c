"""Every page x its main controls x the odd-cube corpus: no exception, no error box.

Expected refusals (too few bands for PCA, a window longer than the spectrum) are messages
(warnings or notes); an ``st.error`` here means the page guard caught something unforeseen.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from cubescope.roi import ROI
from cubescope_ui.frame import PAGES
from cubescope_ui.text import plain
from tests.apptest import open_page
from tests.oddcubes import odd_cubes

CUBES = odd_cubes()

# Every page of the app is swept; these are the controls turned on a page, one after another,
# each followed by a check: (widget kind, key, value).
CONTROLS = {
    "pages/bands.py": [
        ("radio", "stretch", "min-max"),
        ("radio", "stretch", "range"),
        ("number_input", "vmin", 5.0),
        ("number_input", "vmax", 1.0),
        ("radio", "stretch", "percentile"),
        ("slider", "pct", (50.0, 50.0)),
        ("selectbox", "cmap", "RdBu_r"),
        ("state", "pins", [[0, 0], [10**6, 10**6]]),
        ("state", "region", [0, 10**6, 0, 10**6]),
        ("state", "zoom", [5, 6, 10**6, 10**6 + 3]),
        ("state", "zoom", [0, 1, 0, 1]),
        ("state", "line", [0, 0, 5, 3]),
        ("state", "line", [0, 0, 10**6, 10**6]),
        ("segmented_control", "view", "RGB"),
    ],
    "pages/smoothing.py": [
        ("selectbox", "sg_deriv", "2nd"),
        ("state", "pins", [[3, 30], [0, 0]]),
        ("toggle", "sg_exact", True),
        ("toggle", "sg_exact", False),
        ("number_input", "sg_degree", 0),
        ("selectbox", "sg_deriv", "1st"),
    ],
    "pages/pca.py": [
        ("slider", "pca_k", 1),
        ("segmented_control", "pca_view", "Reconstruction error"),
        ("segmented_control", "pca_view", "RGB of PCs"),
        ("state", "region", [0, 5, 0, 5]),
        ("toggle", "pca_region", True),
        ("state", "zoom", [2, 3, 2, 3]),
        ("segmented_control", "pca_view", "MNF image"),
    ],
    "pages/bandmath.py": [
        ("state", "pins", [[0, 0], [10**6, 10**6]]),
        ("text_input", "bm_expr", "(R860 - R650) / (R860 + R650)"),
        ("text_input", "bm_expr", "b0 / (b1 - b1)"),
        ("text_input", "bm_expr", "__import__('os')"),
        ("text_input", "bm_expr", "sqrt(b0) * 2"),
        ("radio", "bm_stretch", "min-max"),
    ],
    "pages/continuum.py": [
        ("state", "pins", [[0, 0], [3, 5]]),
        ("slider", "cr_feature", (500.0, 900.0)),
        ("radio", "cr_stretch", "min-max"),
    ],
    "pages/library.py": [
        ("state", "pins", [[0, 0], [3, 5]]),
        ("button", "use_pins", None),
        ("segmented_control", "sam_view", "Angle to one reference"),
        ("segmented_control", "sam_view", "Class map"),
        ("slider", "sam_threshold", 1.5),
    ],
    "pages/unmixing.py": [
        ("state", "pins", [[0, 0], [3, 5], [10**6, 10**6]]),
        ("slider", "um_k", 2),
        ("button", "um_to_rois", None),
        ("segmented_control", "um_view", "Unmixing"),
        ("slider", "um_n", 2),
        ("radio", "um_source", "Pins, region and ROIs"),
        ("radio", "um_source", "k-means class means"),
        ("toggle", "um_sum", False),
        ("selectbox", "um_image", 2),
    ],
    "pages/compress.py": [
        ("state", "pins", [[0, 0], [10**6, 10**6]]),
        ("slider", "cz_k", 1),
        ("segmented_control", "cz_codes", "Fourier"),
    ],
    "pages/scatter.py": [
        ("state", "pins", [[0, 0], [3, 5]]),
        ("state", "region", [0, 2, 0, 3]),
        ("segmented_control", "sc_x", "PC"),
        ("segmented_control", "sc_y", "MNF"),
        ("segmented_control", "sc_y", "Band math"),
        ("text_input", "sc_y_expr", "b0 / (b0 - b0)"),
        ("segmented_control", "sc_x", "Band"),
    ],
    "pages/detect.py": [
        ("state", "pins", [[0, 0], [3, 5]]),
        ("segmented_control", "dt_method", "ACE"),
        ("toggle", "dt_local", True),
        ("number_input", "dt_outer", 199),
        ("segmented_control", "dt_method", "CEM"),
        ("number_input", "dt_threshold", 1e30),
    ],
    "pages/classify.py": [
        ("state", "rois", [ROI("a", ((0, 0), (3, 0), (3, 2), (0, 2)), label="one"),
                           ROI("b", ((0, 2), (3, 2), (3, 4), (0, 4)), label="two")]),
        ("segmented_control", "cl_method", "sam"),
        ("segmented_control", "cl_method", "random_forest"),
        ("segmented_control", "cl_view", "Confidence"),
    ],
    "pages/map.py": [
        ("state", "pins", [[0, 0], [10**6, 10**6]]),
        ("radio", "map_show", "RGB"),
        ("radio", "map_show", "PC image"),
        ("radio", "map_show", "Savitzky-Golay"),
        ("radio", "map_show", "Band"),
        ("radio", "stretch", "min-max"),
    ],
}


def _check(at: AppTest, where: str, name: str) -> None:
    assert not at.exception, f"{where}: {at.exception}"
    assert not at.error, f"{where}: {[e.value for e in at.error]}"
    assert any(plain(name) in h.value for h in at.subheader), f"{where}: the page does not show the cube"


@pytest.mark.parametrize("page", [path for path, *_ in PAGES])
@pytest.mark.parametrize("name", list(CUBES))
def test_page_survives_odd_cube(name: str, page: str) -> None:
    at = open_page(cube=CUBES[name], check=False)
    _check(at, f"{name}, opening", name)
    at.switch_page(page).run()
    _check(at, f"{name} on {page}", name)
    for kind, key, value in CONTROLS.get(page, ()):
        if kind == "state":
            at.session_state[key] = value
            at.run()
        else:
            widgets = [w for w in getattr(at, kind) if w.key == key]
            if not widgets:
                continue  # not on the page for this cube (e.g. no wavelengths, too few bands)
            if kind == "button":
                widgets[0].click().run()
            else:
                widgets[0].set_value(value).run()
        _check(at, f"{name} on {page} after {key}={value!r}", name)
