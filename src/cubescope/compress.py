"""Compression of spectra to ``k`` numbers: an autoencoder beside PCA and a Fourier basis, and
standardized products.

- :func:`fit_autoencoder`: a small autoencoder learnt as a non-linear correction on top of PCA,
  in the space of the cube's leading principal components: it starts as PCA's code and
  reconstruction and keeps the epoch with the lowest error on held-out spectra, so it never
  does worse than PCA there, and its cost hardly grows with the number of bands (numpy,
  back-propagation and Adam written out: a few dozen lines, no deep-learning framework). The
  same seed gives the same codes.
- :class:`FourierCodec`: no training: each spectrum's ``k`` lowest-frequency real numbers of its
  real FFT (``numpy.fft.rfft``), inverted with ``irfft``.
- :func:`compare`: reconstruction RMSE per band, per-pixel RMSE and spectral angle of each method.
- :func:`standardize` / :func:`destandardize`: per-band z-score or min-max scaling, with the
  parameters kept so the values can be inverted (and written into exported files).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.products import Compute, Product

Progress = Callable[[float, str], None]
#: Mini-batch steps an autoencoder's training aims at by default.
UPDATES = 8000


# ---------------------------------------------------------------------- sampling
def sample_spectra(cube: Cube, n: int, *, seed: int = 0, mask: np.ndarray | None = None,
                   bands: np.ndarray | None = None) -> np.ndarray:
    """Up to ``n`` pixel spectra ``(n, features)`` drawn at random (seeded) from the pixels in
    ``mask`` that have data in every used band, read chunk of rows by chunk of rows."""
    chosen = np.flatnonzero(cube.good_bands) if bands is None else np.asarray(bands)
    candidates = np.flatnonzero(np.ones(cube.rows * cube.cols, bool) if mask is None else np.asarray(mask).ravel())
    if candidates.size == 0:
        raise CubeError("The region to fit on holds no pixel.")
    rng = np.random.default_rng(seed)
    # Draw more than needed: pixels without data are dropped afterwards.
    picked = np.sort(rng.choice(candidates, size=min(candidates.size, int(n * 1.25) + 16), replace=False))
    rows = picked // cube.cols
    out = []
    for chunk in cube.iter_row_chunks(32 * 2**20):
        inside = (rows >= chunk.start) & (rows < chunk.stop)
        if not inside.any():
            continue
        block = cube.row_block(chunk, chosen)
        flat = block.reshape(chosen.size, -1)
        out.append(flat[:, picked[inside] - chunk.start * cube.cols].T.astype(np.float64))
    spectra = np.concatenate(out) if out else np.empty((0, chosen.size))
    spectra = spectra[np.isfinite(spectra).all(axis=1)]
    if len(spectra) < 10:
        raise CubeError(f"Only {len(spectra)} pixels have data in every used band; fitting needs more.")
    order = rng.permutation(len(spectra))[:n]
    return spectra[order]


# ---------------------------------------------------------------------- the autoencoder
#: Leading principal components the autoencoder works in (at most): its input and what its
#: decoder rebuilds. Past a few dozen components a cube's variance is noise.
MAX_SUBSPACE = 48
#: Width of the encoder's and the decoder's hidden layer.
HIDDEN = 64
#: Share of the sampled spectra kept out of training to choose the epoch kept.
VALIDATION = 0.15

@dataclass
class AutoencoderResult:
    """A fitted autoencoder: a non-linear correction learnt on top of PCA.

    With ``p`` the whitened scores of a spectrum ``x`` on the leading ``m`` principal components
    (``p = ((x - mean_) @ components_.T) / sigma_``), the code and the reconstruction are::

        code = p[:k] + tanh(p @ W1 + b1) @ W2 + b2                     (k numbers)
        q    = code @ A + tanh(code @ U1 + d1) @ U2 + d2                (m numbers)
        x'   = mean_ + (q * sigma_) @ components_

    Training starts from ``W2 = U2 = 0`` and ``A = [I 0]``, where the code is the first ``k``
    whitened PC scores and ``x'`` exactly PCA's reconstruction, and keeps the epoch with the
    lowest error on spectra held out of training; so its error is never above PCA's there.

    Attributes
    ----------
    n_components : int
        Code size ``k``.
    bands_ : ndarray of int
        Cube bands used (others are NaN in reconstructions).
    n_bands : int
        Bands of the cube it was fitted on.
    mean_ : ndarray, shape (features,)
    components_ : ndarray, shape (m, features)
        The leading principal axes of the cube (or the mask's pixels).
    sigma_ : ndarray, shape (m,)
        Standard deviation of each component's scores.
    weights_ : dict of ndarray
        ``W1 (m, h)``, ``b1 (h,)``, ``W2 (h, k)``, ``b2 (k,)``, ``U1 (k, h)``, ``d1 (h,)``,
        ``U2 (h, m)``, ``d2 (m,)``, ``A (k, m)``.
    loss_curve_ : list of float
        Mean squared reconstruction error per band (the data's units squared) on the training
        spectra: before training (PCA's), then after each epoch.
    validation_curve_ : list of float
        The same on the held-out spectra.
    pca_mse_ : float
        PCA's mean squared error at ``k`` on the held-out spectra.
    seed, n_samples_, epoch_ : int
        ``epoch_`` is the epoch kept (0: no epoch improved on PCA).
    fit_seconds_ : float
    """

    n_components: int
    bands_: np.ndarray
    n_bands: int
    mean_: np.ndarray
    components_: np.ndarray
    sigma_: np.ndarray
    weights_: dict[str, np.ndarray]
    loss_curve_: list[float] = field(default_factory=list)
    validation_curve_: list[float] = field(default_factory=list)
    pca_mse_: float = float("nan")
    seed: int = 0
    n_samples_: int = 0
    epoch_: int = 0
    fit_seconds_: float = 0.0

    def describe(self) -> str:
        """What was trained, how, and what was kept, in a sentence."""
        m = self.components_.shape[0]
        kept = f"epoch {self.epoch_} kept" if self.epoch_ else "no epoch beat PCA: PCA's code kept"
        return (f"{self.n_samples_:,} sampled spectra; a non-linear correction on top of PCA in the space of the {m} "
                f"leading components ({m} → {self.hidden} → {self.n_components} → {self.hidden} → {m}, tanh), "
                f"starting from PCA; {kept}; trained in {self.fit_seconds_:.1f} s.")

    @property
    def hidden(self) -> int:
        return int(self.weights_["b1"].size)

    def _scores(self, spectra: np.ndarray) -> np.ndarray:
        return ((np.asarray(spectra, dtype=np.float64) - self.mean_) @ self.components_.T) / self.sigma_

    def encode(self, spectra: np.ndarray) -> np.ndarray:
        """Codes ``(n, k)`` of spectra ``(n, features)`` over ``bands_``."""
        return _forward(self.weights_, self._scores(spectra), self.n_components)[1]

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Spectra ``(n, features)`` over ``bands_`` from codes ``(n, k)``."""
        w = self.weights_
        codes = np.asarray(codes, dtype=np.float64)
        q = codes @ w["A"] + np.tanh(codes @ w["U1"] + w["d1"]) @ w["U2"] + w["d2"]
        return self.mean_ + (q * self.sigma_) @ self.components_

    def transform(self, cube: Cube) -> np.ndarray:
        """Codes ``(rows, cols, k)``, NaN where a pixel lacks data in a used band."""
        return _streamed(cube, self.bands_, self.n_components, self.encode)

    def inverse_transform(self, codes: np.ndarray) -> np.ndarray:
        """Reconstructed spectra ``(..., n_bands)`` (NaN at bands not used) from codes ``(..., k)``."""
        codes = np.asarray(codes)
        flat = codes.reshape(-1, self.n_components)
        out = np.full((flat.shape[0], self.n_bands), np.nan)
        valid = np.isfinite(flat).all(axis=1)
        out[np.ix_(valid, self.bands_)] = self.decode(flat[valid])
        return out.reshape(*codes.shape[:-1], self.n_bands)

    def parameters(self) -> dict[str, np.ndarray]:
        """Everything needed to encode and decode in a notebook, as named arrays (an ``.npz``);
        ``formula`` says how (the class docstring's three lines)."""
        arrays = {"bands": self.bands_, "n_bands": np.array(self.n_bands), "mean": self.mean_,
                  "components": self.components_, "sigma": self.sigma_,
                  "formula": np.array("p = ((x - mean) @ components.T) / sigma; "
                                      "code = p[:k] + tanh(p @ W1 + b1) @ W2 + b2; "
                                      "q = code @ A + tanh(code @ U1 + d1) @ U2 + d2; "
                                      "x = mean + (q * sigma) @ components")}
        arrays.update(self.weights_)
        return arrays


def _forward(w: dict[str, np.ndarray], p: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """The network's layers for whitened scores ``p`` (n, m): ``(h1, code, h2, q)``."""
    h1 = np.tanh(p @ w["W1"] + w["b1"])
    code = p[:, :k] + h1 @ w["W2"] + w["b2"]
    h2 = np.tanh(code @ w["U1"] + w["d1"])
    return h1, code, h2, code @ w["A"] + h2 @ w["U2"] + w["d2"]


def _error(w: dict[str, np.ndarray], p: np.ndarray, k: int, weight: np.ndarray) -> float:
    """Weighted squared error of the network on ``p``, per spectrum. Taken 256 spectra at a
    time: on this machine, temporaries of a megabyte cost more in page faults than in arithmetic
    (a forward pass over 3000 spectra took 20 ms whole, 1 ms in blocks)."""
    total = 0.0
    for start in range(0, len(p), 256):
        block = p[start:start + 256]
        total += float(((_forward(w, block, k)[3] - block) ** 2 @ weight).sum())
    return total / max(len(p), 1)


def _gradients(w: dict[str, np.ndarray], p: np.ndarray, k: int, weight: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of the mean weighted squared error over the batch ``p`` (back-propagation)."""
    h1, code, h2, q = _forward(w, p, k)
    dq = (q - p) * (weight * np.float32(2.0 / len(p)))
    grads = {"A": code.T @ dq, "U2": h2.T @ dq, "d2": dq.sum(axis=0)}
    dz2 = (dq @ w["U2"].T) * (1.0 - h2 * h2)
    grads["U1"], grads["d1"] = code.T @ dz2, dz2.sum(axis=0)
    dcode = dq @ w["A"].T + dz2 @ w["U1"].T
    grads["W2"], grads["b2"] = h1.T @ dcode, dcode.sum(axis=0)
    dz1 = (dcode @ w["W2"].T) * (1.0 - h1 * h1)
    grads["W1"], grads["b1"] = p.T @ dz1, dz1.sum(axis=0)
    return grads


def fit_autoencoder(cube: Cube, n_components: int, *, seed: int = 0, mask: np.ndarray | None = None,
                    hidden: int | None = None, samples: int = 40_000, epochs: int | None = None,
                    learning_rate: float = 2e-3, batch: int = 256, pca: Any = None,
                    progress: Progress | None = None) -> AutoencoderResult:
    """Train an autoencoder with a ``n_components`` bottleneck on the cube's pixel spectra.

    The network works in the space of the cube's leading principal components (at most
    :data:`MAX_SUBSPACE`), starts as PCA's own code and reconstruction, and learns a non-linear
    correction on top (see :class:`AutoencoderResult`). The epoch kept is the one with the
    lowest error on spectra held out of training, PCA's own included: the autoencoder never
    reconstructs those worse than PCA at the same code size. Its cost hardly depends on the
    number of bands.

    Parameters
    ----------
    cube : Cube
    n_components : int
        Code size ``k`` (1 to the number of usable bands).
    seed : int
        Seeds the sampling, the initial weights and the mini-batches: the same seed, the same codes.
    mask : ndarray of bool, shape (rows, cols), optional
        Pixels to train on (a region, or the valid part of an image); default all with data.
    hidden : int, optional
        Width of the hidden layers (default :data:`HIDDEN`).
    samples : int
        Pixel spectra sampled for training and validation.
    epochs : int, optional
        Passes over the training spectra; by default enough for about :data:`UPDATES`
        mini-batch steps, between 10 and 400.
    learning_rate, batch : float, int
        Adam's step size (decaying to a tenth over the training) and the mini-batch size.
    pca : PCAResult, optional
        A PCA of the same pixels and bands with at least the components wanted, to reuse.
    progress : callable, optional
        ``progress(fraction, text)`` after each epoch (a page's progress bar).

    Returns
    -------
    AutoencoderResult

    Examples
    --------
    >>> import numpy as np
    >>> from cubescope import Cube, fit_autoencoder
    >>> wl = np.linspace(400, 2400, 30)
    >>> rng = np.random.default_rng(0)
    >>> c = rng.uniform(0, 2, (40, 40, 1))
    >>> cube = Cube.from_array(np.exp(-c * np.exp(-((wl - 1500) / 300) ** 2)), wl)
    >>> fit_autoencoder(cube, 1, seed=0, epochs=5).transform(cube).shape
    (40, 40, 1)
    """
    from cubescope.pca import fit_pca

    bands = np.flatnonzero(cube.good_bands)
    if not 1 <= n_components <= bands.size:
        raise CubeError(f"The code size must be between 1 and {bands.size} (the usable bands); got {n_components}.")
    if mask is not None and np.asarray(mask).shape != (cube.rows, cube.cols):
        raise CubeError(f"The mask has shape {np.asarray(mask).shape}; the image is {(cube.rows, cube.cols)}.")
    started = time.perf_counter()
    k = int(n_components)
    m = int(min(bands.size, max(4 * k, 16), MAX_SUBSPACE))
    if pca is None or pca.n_components_ < m or not np.array_equal(pca.bands_, bands):
        pca = fit_pca(cube, m, mask=mask, bands=bands)
    components = pca.components_[:m]
    sigma = np.sqrt(np.maximum(pca.explained_variance_[:m], 0.0))
    sigma[sigma <= 0] = 1.0  # a component without variance: nothing to whiten
    mean = pca.mean_
    spectra = sample_spectra(cube, samples, seed=seed, mask=mask, bands=bands)
    p = ((spectra - mean) @ components.T) / sigma
    # Errors in the whitened space, weighted back by each component's variance, are squared
    # errors in the data's units; divided by the bands, a mean squared error per band.
    weight = sigma ** 2 / bands.size
    beyond = float((((spectra - mean) - (p * sigma) @ components) ** 2).sum(axis=1).mean() / bands.size)
    rng = np.random.default_rng(seed)
    held = max(1, round(len(p) * VALIDATION))
    # Training runs in float32: numpy's tanh is 8x faster there (SIMD) and the matrices are
    # small; the starting point (PCA) is exact in any precision.
    p32, weight = p.astype(np.float32), weight.astype(np.float32)
    p_val, p_train = p32[:held], p32[held:]
    width = int(hidden or HIDDEN)
    w = {name: value.astype(np.float32) for name, value in {
        "W1": rng.normal(0, 1 / np.sqrt(m), (m, width)), "b1": np.zeros(width),
        "W2": np.zeros((width, k)), "b2": np.zeros(k),
        "U1": rng.normal(0, 1 / np.sqrt(k), (k, width)), "d1": np.zeros(width),
        "U2": np.zeros((width, m)), "d2": np.zeros(m),
        "A": np.eye(k, m),
    }.items()}
    if epochs is None:
        epochs = int(np.clip(np.ceil(UPDATES * batch / max(len(p_train), 1)), 10, 400))
    moments = {name: (np.zeros_like(v), np.zeros_like(v)) for name, v in w.items()}
    beta1, beta2, step = 0.9, 0.999, 0
    best = (_error(w, p_val, k, weight), 0, {name: v.copy() for name, v in w.items()})
    pca_mse = best[0] + beyond
    losses, checks = [_error(w, p_train, k, weight) + beyond], [pca_mse]
    for epoch in range(1, epochs + 1):
        rate = learning_rate * 0.1 ** ((epoch - 1) / epochs)
        order = rng.permutation(len(p_train))
        for start in range(0, len(order), batch):
            grads = _gradients(w, p_train[order[start:start + batch]], k, weight)
            step += 1
            correction = np.float32(rate * np.sqrt(1 - beta2 ** step) / (1 - beta1 ** step))
            for name, g in grads.items():
                first, second = moments[name]
                first *= beta1
                first += (1 - beta1) * g
                second *= beta2
                second += (1 - beta2) * g * g
                w[name] -= correction * first / (np.sqrt(second) + np.float32(1e-8))
        losses.append(_error(w, p_train, k, weight) + beyond)
        checks.append(_error(w, p_val, k, weight) + beyond)
        if checks[-1] - beyond < best[0]:
            best = (checks[-1] - beyond, epoch, {name: v.copy() for name, v in w.items()})
        if progress:
            progress(epoch / epochs, f"epoch {epoch} of {epochs}: error {losses[-1]:.4g} (PCA {pca_mse:.4g})")
    kept = {name: value.astype(np.float64) for name, value in best[2].items()}
    return AutoencoderResult(k, bands, cube.n_bands, mean, components, sigma, kept, losses, checks, pca_mse,
                             seed, len(p), best[1], time.perf_counter() - started)


# ---------------------------------------------------------------------- Fourier
@dataclass(frozen=True)
class FourierCodec:
    """``k`` real numbers per spectrum from its real FFT: ``[Re c0, Re c1, Im c1, Re c2, ...]``,
    the lowest frequencies; no training, the same basis for every cube.

    Attributes
    ----------
    n_components : int
    bands_ : ndarray of int
        Bands used, in order (the spectrum is taken over them, evenly).
    n_bands : int
    """

    n_components: int
    bands_: np.ndarray
    n_bands: int

    def encode(self, spectra: np.ndarray) -> np.ndarray:
        coefficients = np.fft.rfft(np.asarray(spectra, dtype=np.float64), axis=-1)
        parts = np.empty((*coefficients.shape[:-1], 2 * coefficients.shape[-1] - 1))
        parts[..., 0] = coefficients[..., 0].real
        parts[..., 1::2] = coefficients[..., 1:].real
        parts[..., 2::2] = coefficients[..., 1:].imag
        return parts[..., :self.n_components]

    def decode(self, codes: np.ndarray) -> np.ndarray:
        codes = np.asarray(codes, dtype=np.float64)
        n = self.bands_.size
        coefficients = np.zeros((*codes.shape[:-1], n // 2 + 1), dtype=np.complex128)
        coefficients[..., 0] = codes[..., 0]
        real, imag = codes[..., 1::2], codes[..., 2::2]
        coefficients[..., 1:1 + real.shape[-1]] += real
        coefficients[..., 1:1 + imag.shape[-1]] += 1j * imag
        return np.fft.irfft(coefficients, n=n, axis=-1)

    def transform(self, cube: Cube) -> np.ndarray:
        return _streamed(cube, self.bands_, self.n_components, self.encode)


def reconstruct_pixels(cube: Cube, pixels: Any, autoencoder: AutoencoderResult, pca: Any
                       ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The spectra of ``pixels`` (``(row, col)`` pairs) and each method's reconstruction of them
    from its ``k`` numbers (PCA's projection, the autoencoder, the Fourier basis), by method
    name; each ``(n, n_bands)``, NaN at the bands the methods do not use and for pixels
    without data in one of them."""
    bands = autoencoder.bands_
    spectra = np.array([cube.spectrum(r, c)[bands] for r, c in pixels], dtype=np.float64).reshape(-1, bands.size)
    filled = np.nan_to_num(spectra)
    fourier = fourier_codec(cube, autoencoder.n_components)
    rebuilt = {
        "PCA": (spectra - pca.mean_) @ pca.components_.T @ pca.components_ + pca.mean_,
        "autoencoder": autoencoder.decode(autoencoder.encode(filled)),
        "Fourier": fourier.decode(fourier.encode(filled)),
    }
    missing = ~np.isfinite(spectra).all(axis=1)

    def full(values: np.ndarray) -> np.ndarray:
        out = np.full((len(values), cube.n_bands), np.nan)
        out[:, bands] = values
        out[missing] = np.nan
        return out

    return full(spectra), {name: full(values) for name, values in rebuilt.items()}


def parameters_npz(autoencoder: AutoencoderResult) -> bytes:
    """The autoencoder's parameters (:meth:`AutoencoderResult.parameters`) as a NumPy .npz file."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **autoencoder.parameters())
    return buffer.getvalue()


def fourier_codec(cube: Cube, n_components: int) -> FourierCodec:
    """The Fourier codec of ``n_components`` numbers over the cube's usable bands."""
    bands = np.flatnonzero(cube.good_bands)
    if not 1 <= n_components <= bands.size:
        raise CubeError(f"The code size must be between 1 and {bands.size}; got {n_components}.")
    return FourierCodec(n_components, bands, cube.n_bands)


def _streamed(cube: Cube, bands: np.ndarray, k: int, encode: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    out = np.full((k, cube.rows, cube.cols), np.nan, dtype=np.float32)
    for rows in cube.iter_row_chunks(32 * 2**20):
        block = cube.row_block(rows, bands)
        spectra = block.reshape(bands.size, -1).T
        valid = np.isfinite(spectra).all(axis=1)
        codes = np.full((spectra.shape[0], k), np.nan)
        if valid.any():
            codes[valid] = encode(spectra[valid])
        out[:, rows] = codes.T.reshape(k, -1, cube.cols)
    return np.moveaxis(out, 0, 2)


# ---------------------------------------------------------------------- comparing
@dataclass
class Reconstruction:
    """How well one method reconstructs the cube from its codes.

    Attributes
    ----------
    band_rmse : ndarray, shape (n_bands,)
        RMSE per band over the pixels with data (NaN at bands not used).
    pixel_rmse : ndarray, shape (rows, cols)
    angle : ndarray, shape (rows, cols)
        Spectral angle (radians) between each spectrum and its reconstruction.
    codes : ndarray, shape (rows, cols, k)
    rmse : float
        Over every used band and pixel.
    """

    band_rmse: np.ndarray
    pixel_rmse: np.ndarray
    angle: np.ndarray
    codes: np.ndarray
    rmse: float

    def summary(self) -> dict[str, str]:
        """The overall errors as a table row reads them."""
        return {"RMSE": f"{self.rmse:.5g}", "mean spectral angle (rad)": f"{np.nanmean(self.angle):.4g}",
                "median pixel RMSE": f"{np.nanmedian(self.pixel_rmse):.4g}"}


def reconstruct(cube: Cube, bands: np.ndarray, k: int, encode: Callable, decode: Callable) -> Reconstruction:
    """Encode and decode every pixel, chunk by chunk, measuring the errors on the way."""
    sums = np.zeros(bands.size)
    count = 0
    pixel = np.full((cube.rows, cube.cols), np.nan, dtype=np.float32)
    angle = np.full((cube.rows, cube.cols), np.nan, dtype=np.float32)
    codes_out = np.full((cube.rows, cube.cols, k), np.nan, dtype=np.float32)
    for rows in cube.iter_row_chunks(32 * 2**20):
        block = cube.row_block(rows, bands)
        spectra = block.reshape(bands.size, -1).T.astype(np.float64)
        valid = np.isfinite(spectra).all(axis=1)
        if not valid.any():
            continue
        x = spectra[valid]
        codes = encode(x)
        y = decode(codes)
        error = y - x
        sums += (error ** 2).sum(axis=0)
        count += len(x)
        flat_pixel = np.full(spectra.shape[0], np.nan)
        flat_pixel[valid] = np.sqrt((error ** 2).mean(axis=1))
        pixel[rows] = flat_pixel.reshape(-1, cube.cols)
        with np.errstate(invalid="ignore", divide="ignore"):
            cosine = (x * y).sum(axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
        flat_angle = np.full(spectra.shape[0], np.nan)
        flat_angle[valid] = np.arccos(np.clip(cosine, -1, 1))
        angle[rows] = flat_angle.reshape(-1, cube.cols)
        flat_codes = np.full((spectra.shape[0], k), np.nan)
        flat_codes[valid] = codes
        codes_out[rows] = flat_codes.reshape(-1, cube.cols, k)
    band_rmse = np.full(cube.n_bands, np.nan)
    if count:
        band_rmse[bands] = np.sqrt(sums / count)
    rmse = float(np.sqrt(sums.sum() / (count * bands.size))) if count else float("nan")
    return Reconstruction(band_rmse, pixel, angle, codes_out, rmse)


def compare(cube: Cube, n_components: int, *, mask: np.ndarray | None = None, seed: int = 0,
            autoencoder: AutoencoderResult | None = None, pca: Any = None,
            progress: Progress | None = None) -> dict[str, Reconstruction]:
    """PCA, the autoencoder and the Fourier codec at the same code size, on the whole cube
    (fitted on ``mask``'s pixels, unless fitted models are given):
    ``{"PCA": ..., "autoencoder": ..., "Fourier": ...}``."""
    from cubescope.pca import fit_pca

    bands = np.flatnonzero(cube.good_bands)
    pca = pca or fit_pca(cube, n_components, mask=mask, bands=bands)
    ae = autoencoder or fit_autoencoder(cube, n_components, seed=seed, mask=mask, progress=progress)
    fourier = fourier_codec(cube, n_components)
    return {
        "PCA": reconstruct(cube, bands, n_components, lambda x: (x - pca.mean_) @ pca.components_.T,
                           lambda c: c @ pca.components_ + pca.mean_),
        "autoencoder": reconstruct(cube, bands, n_components, ae.encode, ae.decode),
        "Fourier": reconstruct(cube, bands, n_components, fourier.encode, fourier.decode),
    }


# ---------------------------------------------------------------------- standardized products
@dataclass(frozen=True)
class Standardization:
    """Per-band scaling: ``standardized = (value - offset) / scale``; ``value = standardized x
    scale + offset``.

    Attributes
    ----------
    method : str
        ``"z-score"`` (offset the mean, scale the standard deviation, ddof 0) or ``"min-max"``
        (offset the minimum, scale the range: values in [0, 1]).
    offset, scale : ndarray, shape (bands,)
        NaN for a band without data; a constant band has scale 1.
    """

    method: str
    offset: np.ndarray
    scale: np.ndarray

    def metadata(self) -> dict[str, Any]:
        return {"standardization": self.method, "offset": self.offset.tolist(), "scale": self.scale.tolist(),
                "inverse": "value = standardized * scale + offset"}


STANDARDIZATIONS = ("z-score", "min-max")


def standardization(cube: Cube, method: str = "z-score") -> Standardization:
    """The per-band parameters of ``method`` over every pixel with data, in one streamed pass."""
    if method not in STANDARDIZATIONS:
        raise CubeError(f"Standardize by one of {', '.join(STANDARDIZATIONS)}, not '{method}'.")
    n = cube.n_bands
    count, total, squares = np.zeros(n), np.zeros(n), np.zeros(n)
    low, high = np.full(n, np.inf), np.full(n, -np.inf)
    shift = None
    for rows in cube.iter_row_chunks(32 * 2**20):
        block = cube.row_block(rows).reshape(n, -1).astype(np.float64)
        finite = np.isfinite(block)
        if shift is None:  # sums around a first estimate keep the variance's digits
            with np.errstate(invalid="ignore"):
                shift = np.nan_to_num(np.nanmean(np.where(finite, block, np.nan), axis=1))
        centred = np.where(finite, block - shift[:, None], 0.0)
        count += finite.sum(axis=1)
        total += centred.sum(axis=1)
        squares += (centred ** 2).sum(axis=1)
        low = np.minimum(low, np.where(finite, block, np.inf).min(axis=1))
        high = np.maximum(high, np.where(finite, block, -np.inf).max(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        if method == "z-score":
            offset = shift + total / count
            scale = np.sqrt(np.maximum(squares / count - (total / count) ** 2, 0.0))
        else:
            offset, scale = low, high - low
    offset = np.where(count > 0, offset, np.nan)
    scale = np.where(count > 0, np.where(scale > 0, scale, 1.0), np.nan)
    return Standardization(method, offset, scale)


def standardize(cube: Cube, method: str = "z-score", dtype: Any = np.float32) -> tuple[np.ndarray, Standardization]:
    """The cube standardized per band, ``(bands, rows, cols)`` floats, with its parameters."""
    params = standardization(cube, method)
    out = np.empty((cube.n_bands, cube.rows, cube.cols), dtype=dtype)
    for rows in cube.iter_row_chunks(32 * 2**20):
        block = cube.row_block(rows).astype(np.float64)
        out[:, rows] = (block - params.offset[:, None, None]) / params.scale[:, None, None]
    return out, params


def destandardize(values: np.ndarray, params: Standardization) -> np.ndarray:
    """Back to the original values: ``values (bands, rows, cols) x scale + offset``."""
    values = np.asarray(values, dtype=np.float64)
    return values * params.scale[:, None, None] + params.offset[:, None, None]


@dataclass(frozen=True)
class ReconstructionImage(Product):
    """A method's per-pixel RMSE (``code`` None) or its code ``code`` (0-based), from the
    compression ``fit`` names (a key the caller gives it) and holds in ``reconstruction``."""

    fit: tuple
    method: str
    code: int | None
    reconstruction: Reconstruction = field(compare=False, repr=False)

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        if self.code is None:
            return self.reconstruction.pixel_rmse
        return self.reconstruction.codes[:, :, self.code]
