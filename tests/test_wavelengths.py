"""Wavelengths (cubescope.wavelengths): their order described in words."""

from __future__ import annotations

import numpy as np

from cubescope import Cube
from cubescope.wavelengths import step_backs, wavelength_order


def test_wavelength_order_is_described():
    w = np.array([650.0, 675.6, 664.1, 690.0])
    assert step_backs(w).tolist() == [2]
    assert "step back at band 2 (675.6 -> 664.1 nm)" in wavelength_order(w, "nm")
    assert "descending" in wavelength_order(w[::-1].copy() * 0 + np.array([4, 3, 2, 1.0]), "nm")
    assert wavelength_order(np.arange(5.0), "nm") is None
    cube = Cube.from_array(np.ones((2, 2, 4), "f4"), w, wavelength_units="nm")
    assert "step back" in cube.describe()["wavelength order"]
