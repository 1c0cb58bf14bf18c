"""Mixed scenes for the analysis tests: endmembers, abundances, noise."""

import numpy as np

RNG = np.random.default_rng(17)


def smooth_abundances(rows, cols, n=4):
    """Abundances that vary smoothly across the image, as land cover does (neighbouring pixels
    alike: the premise of noise from neighbour differences)."""
    r, c = np.mgrid[0:rows, 0:cols] / max(rows, cols)
    weights = np.stack([np.exp(np.sin(2 * np.pi * (f * r + g * c) + phase))
                        for f, g, phase in RNG.uniform(0.3, 1.2, (n, 3))], axis=-1)
    return weights / weights.sum(axis=-1, keepdims=True)


def mixed_scene(rows=40, cols=36, bands=30, noise=None, smooth=False):
    ends = np.abs(np.cumsum(RNG.normal(size=(4, bands)), axis=1)) + 0.5
    abundances = smooth_abundances(rows, cols) if smooth else RNG.dirichlet(np.ones(4), size=(rows, cols))
    clean = abundances @ ends
    if noise is None:
        return clean, ends, abundances
    return clean + RNG.normal(size=clean.shape) * noise, ends, abundances
