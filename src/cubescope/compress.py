"""Compression of spectra to ``k`` numbers: an autoencoder beside PCA and a Fourier basis, and
standardized products.

- :func:`fit_autoencoder`: a small fully connected autoencoder (scikit-learn's multi-layer
  perceptron trained to reproduce its input, layers ``bands -> h -> k -> h -> bands``, tanh),
  trained on pixel spectra sampled from the cube or a mask, inputs standardized per band. The
  encoder is the first half of its layers; the same seed gives the same codes.
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
@dataclass
class AutoencoderResult:
    """A fitted autoencoder, with the PCA result's method names.

    Attributes
    ----------
    n_components : int
        Code size ``k``.
    bands_ : ndarray of int
        Cube bands used (others are NaN in reconstructions).
    n_bands : int
        Bands of the cube it was fitted on.
    mean_, scale_ : ndarray, shape (features,)
        Per-band standardization of the inputs: ``z = (x - mean_) / scale_``.
    coefs_, intercepts_ : list of ndarray
        The perceptron's weights, layers ``features -> h -> k -> h -> features``.
    loss_curve_ : list of float
        Training loss (half mean squared error on standardized values) after each epoch.
    seed, n_samples_ : int
    fit_seconds_ : float
    """

    n_components: int
    bands_: np.ndarray
    n_bands: int
    mean_: np.ndarray
    scale_: np.ndarray
    coefs_: list[np.ndarray]
    intercepts_: list[np.ndarray]
    loss_curve_: list[float] = field(default_factory=list)
    seed: int = 0
    n_samples_: int = 0
    fit_seconds_: float = 0.0

    @property
    def _middle(self) -> int:
        return len(self.coefs_) // 2  # layers before the code

    def encode(self, spectra: np.ndarray) -> np.ndarray:
        """Codes ``(n, k)`` of spectra ``(n, features)`` over ``bands_``."""
        values = (np.asarray(spectra, dtype=np.float64) - self.mean_) / self.scale_
        for w, b in zip(self.coefs_[:self._middle], self.intercepts_[:self._middle], strict=True):
            values = np.tanh(values @ w + b)
        return values

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Spectra ``(n, features)`` over ``bands_`` from codes ``(n, k)``."""
        values = np.asarray(codes, dtype=np.float64)
        layers = list(zip(self.coefs_[self._middle:], self.intercepts_[self._middle:], strict=True))
        for i, (w, b) in enumerate(layers):
            values = values @ w + b
            if i < len(layers) - 1:
                values = np.tanh(values)
        return values * self.scale_ + self.mean_

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
        """Everything needed to decode codes in a notebook, as named arrays (an ``.npz``)."""
        arrays = {"bands": self.bands_, "mean": self.mean_, "scale": self.scale_,
                  "n_bands": np.array(self.n_bands), "activation": np.array("tanh")}
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            arrays[f"weights_{i}"], arrays[f"bias_{i}"] = w, b
        arrays["encoder_layers"] = np.array(self._middle)
        return arrays


def fit_autoencoder(cube: Cube, n_components: int, *, seed: int = 0, mask: np.ndarray | None = None,
                    hidden: int | None = None, samples: int = 40_000, epochs: int | None = None,
                    learning_rate: float = 5e-3, batch: int = 256,
                    progress: Progress | None = None) -> AutoencoderResult:
    """Train an autoencoder with a ``n_components`` bottleneck on the cube's pixel spectra.

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
        Width of the two hidden layers (default the number of bands, between 24 and 64).
    samples : int
        Pixel spectra sampled for training.
    epochs : int, optional
        Passes over the sample; by default enough for about :data:`UPDATES` mini-batch steps
        (a small sample is passed over more often), between 20 and 400.
    learning_rate, batch : float, int
        Adam's step size and the mini-batch size.
    progress : callable, optional
        ``progress(fraction, text)`` after each epoch (a page's progress bar).
    """
    from sklearn.neural_network import MLPRegressor

    bands = np.flatnonzero(cube.good_bands)
    if not 1 <= n_components <= bands.size:
        raise CubeError(f"The code size must be between 1 and {bands.size} (the usable bands); got {n_components}.")
    if mask is not None and np.asarray(mask).shape != (cube.rows, cube.cols):
        raise CubeError(f"The mask has shape {np.asarray(mask).shape}; the image is {(cube.rows, cube.cols)}.")
    started = time.perf_counter()
    spectra = sample_spectra(cube, samples, seed=seed, mask=mask, bands=bands)
    mean = spectra.mean(axis=0)
    scale = spectra.std(axis=0)
    scale[scale == 0] = 1.0  # a constant band: nothing to scale
    z = (spectra - mean) / scale
    if epochs is None:
        epochs = int(np.clip(np.ceil(UPDATES * batch / len(z)), 20, 400))
    width = hidden or int(np.clip(bands.size, 24, 64))
    model = MLPRegressor(hidden_layer_sizes=(width, n_components, width), activation="tanh", solver="adam",
                         batch_size=batch, learning_rate_init=learning_rate, random_state=seed, shuffle=True)
    rng = np.random.default_rng(seed)
    losses = []
    for epoch in range(epochs):
        order = rng.permutation(len(z))
        optimizer = getattr(model, "_optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate_init"):
            # Adam's step decays to a tenth over the training: big steps first, then settling.
            optimizer.learning_rate_init = learning_rate * 0.1 ** (epoch / epochs)
        model.partial_fit(z[order], z[order])
        losses.append(float(model.loss_))
        if progress:
            progress((epoch + 1) / epochs, f"epoch {epoch + 1} of {epochs}: loss {model.loss_:.4g}")
    return AutoencoderResult(n_components, bands, cube.n_bands, mean, scale, [w.copy() for w in model.coefs_],
                             [b.copy() for b in model.intercepts_], losses, seed, len(z),
                             time.perf_counter() - started)


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
