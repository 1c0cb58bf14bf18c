"""The odd-cube corpus uploaded through the browser, as users' files arrive: every page opens
each of them with no error box and no traceback."""

import numpy as np
import pytest

from cubescope.geo import envi_map_info
from tests.e2e.helpers import url_cube_id, wait_ready
from tests.e2e.test_uploads import upload
from tests.oddcubes import odd_cubes
from tests.writers import write_envi

pytestmark = pytest.mark.e2e


def _write(folder, cube):
    """An ENVI pair holding the cube as stored, with its wavelengths, bad bands, no-data and scale factor."""
    extra = ""
    if cube.wavelengths is not None:
        extra += "wavelength units = nm\nwavelength = {" + ", ".join(f"{w:.4f}" for w in cube.wavelengths) + "}\n"
    if cube.bad_bands is not None:
        extra += "bbl = {" + ", ".join("0" if b else "1" for b in cube.bad_bands) + "}\n"
    if cube.nodata is not None:
        extra += f"data ignore value = {cube.nodata:g}\n"
    if cube.gain is not None:
        extra += f"reflectance scale factor = {1 / cube.gain[0]:g}\n"
    if cube.geo is not None:
        for key, value in envi_map_info(cube.geo).items():
            extra += f"{key} = {{" + (", ".join(value) if isinstance(value, list) else value) + "}\n"
    return write_envi(folder, np.moveaxis(np.asarray(cube.bsq), 0, 2), name=cube.name, extra=extra)


def _no_error(page, where: str) -> None:
    wait_ready(page)
    assert page.locator("[data-testid='stException']").count() == 0, where
    assert page.locator("[data-testid='stAlertContentError']").count() == 0, where


def test_odd_cubes_upload_and_open_on_every_page(page, server, tmp_path, artifacts):
    page.goto(server)
    wait_ready(page)
    cube_id = None
    for cube in odd_cubes().values():
        folder = tmp_path / cube.name.replace(" ", "_")
        folder.mkdir()
        upload(page, _write(folder, cube))
        page.get_by_role("heading", name=cube.name, exact=True).wait_for()
        _no_error(page, f"{cube.name} on Bands")
        cube_id = url_cube_id(page, cube_id)
        for path, heading in (
            ("smoothing", f"Savitzky-Golay · {cube.name}"),
            ("pca", f"Principal components · {cube.name}"),
            ("map", f"{cube.name} on the map"),
        ):
            page.goto(f"{server}/{path}?cube={cube_id}")
            wait_ready(page)
            page.get_by_role("heading", name=heading).wait_for()
            _no_error(page, f"{cube.name} on {path}")
        page.goto(f"{server}/?cube={cube_id}")
        wait_ready(page)
    page.screenshot(path=str(artifacts / "odd-cubes-last.png"), full_page=True)
