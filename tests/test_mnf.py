"""MNF against Spectral Python, and against PCA on band-dependent noise."""

import numpy as np
import pytest
import spectral

from cubescope import Cube, CubeError
from cubescope.mnf import mnf
from cubescope.pca import fit_pca
from tests.scenes import RNG, mixed_scene


def test_mnf_eigenvalues_and_scores_equal_spectral_python():
    data, _, _ = mixed_scene(noise=np.linspace(0.01, 0.3, 30))
    ours = mnf(Cube.from_array(data), 6)
    theirs = spectral.mnf(spectral.calc_stats(data), spectral.noise_from_diffs(data, direction="right"))
    np.testing.assert_allclose(ours.all_eigenvalues_, theirs.napc.eigenvalues, rtol=1e-9)
    np.testing.assert_allclose(ours.snr_, ours.eigenvalues_ - 1)
    scores = ours.transform(Cube.from_array(data))
    reduced = theirs.reduce(data, num=6)
    np.testing.assert_allclose(np.abs(scores), np.abs(reduced), rtol=1e-7, atol=1e-9)  # signs are a convention


def test_mnf_first_component_has_more_snr_than_pca_with_band_dependent_noise():
    sigma = np.r_[np.full(25, 0.005), np.full(5, 3.0)]
    clean, _, _ = mixed_scene(rows=60, cols=60, smooth=True)
    data = clean + RNG.normal(size=clean.shape) * sigma
    cube = Cube.from_array(data)
    first_mnf = mnf(cube, 3).components_[0]
    first_pca = fit_pca(cube, 3).components_[0]
    signal, noise = np.cov(clean.reshape(-1, 30).T), np.diag(sigma ** 2)  # the true ones

    def snr(w):
        return (w @ signal @ w) / (w @ noise @ w)

    assert snr(first_mnf) > 100 * snr(first_pca)  # PCA's first axis follows the noisy bands


def test_mnf_inverse_with_all_components_is_exact_and_fewer_reduce_noise():
    clean, _, _ = mixed_scene(smooth=True)
    noisy = clean + RNG.normal(size=clean.shape) * 0.05
    cube = Cube.from_array(noisy)
    full = mnf(cube, 30)
    np.testing.assert_allclose(full.inverse_transform(full.transform(cube)), noisy, atol=1e-8)
    few = mnf(cube, 4)
    denoised = few.inverse_transform(few.transform(cube))
    assert np.sqrt(np.mean((denoised - clean) ** 2)) < 0.5 * np.sqrt(np.mean((noisy - clean) ** 2))


def test_mnf_refuses_a_noiseless_band():
    data, _, _ = mixed_scene(noise=0.01)
    data[..., 3] = 1.0
    with pytest.raises(CubeError, match="no pixel-to-pixel noise"):
        mnf(Cube.from_array(data), 2)
