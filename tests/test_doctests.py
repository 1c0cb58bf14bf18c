"""The Examples in the docstrings run, so they stay true: the front doors (``load_cube``,
``band_math``, ``fit_pca``, ``mnf``, ``unmix``) and every other module that has some."""

import doctest
import importlib

import pytest

MODULES = ["cubescope.io", "cubescope.indices", "cubescope.pca", "cubescope.mnf", "cubescope.unmixing",
           "cubescope.compress", "cubescope.export", "cubescope.io.upload", "cubescope.wavelengths", "cubescope.words",
           "cubescope.products", "cubescope.detect",
           "cubescope.classify", "cubescope.badbands", "cubescope.scatter", "cubescope.preview"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
