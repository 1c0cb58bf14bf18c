"""Unsupervised classes: k-means over the cube's pixels, streamed, seeded.

scikit-learn's ``MiniBatchKMeans`` is fitted by ``partial_fit`` on chunks of rows (pixels with
data in every used band only), then every pixel is assigned to its nearest centre chunk by
chunk. The same seed gives the same classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError

#: Most classes offered.
MAX_CLASSES = 32


@dataclass(frozen=True)
class KMeansResult:
    """Classes of every pixel.

    Attributes
    ----------
    labels : ndarray of int, shape (rows, cols)
        Class of each pixel, -1 where it has no data in a used band.
    centers : ndarray, shape (n_classes, bands)
        Class mean spectra over all the cube's bands (NaN at bands not used).
    counts : ndarray of int, shape (n_classes,)
    bands : ndarray of int
        Bands the classes were formed on.
    """

    labels: np.ndarray
    centers: np.ndarray
    counts: np.ndarray
    bands: np.ndarray


def kmeans(cube: Cube, n_classes: int, *, seed: int = 0, bands: Any = None, passes: int = 2,
           max_bytes: int = 32 * 2**20) -> KMeansResult:
    """k-means classes of the cube's pixels.

    Parameters
    ----------
    cube : Cube
    n_classes : int
        2 to :data:`MAX_CLASSES`.
    seed : int
        Seeds the centres' initialisation and the mini-batches.
    bands : array_like of int, optional
        Bands used (default those not flagged bad).
    passes : int
        Passes of mini-batches over the image before the final assignment.
    """
    if not 2 <= n_classes <= MAX_CLASSES:
        raise CubeError(f"k-means makes 2 to {MAX_CLASSES} classes; got {n_classes}.")
    from sklearn.cluster import MiniBatchKMeans

    chosen = np.flatnonzero(cube.good_bands) if bands is None else np.unique(np.asarray(bands, dtype=int))
    if chosen.size == 0:
        raise CubeError("No usable band to form classes on.")
    per_row = cube.cols * chosen.size * 8
    step = max(1, max_bytes // max(per_row, 1))
    chunks = [slice(r, min(r + step, cube.rows)) for r in range(0, cube.rows, step)]

    def pixels(rows: slice) -> tuple[np.ndarray, np.ndarray]:
        block = cube.row_block(rows, chosen)
        spectra = block.reshape(chosen.size, -1).T.astype(np.float64)
        valid = np.isfinite(spectra).all(axis=1)
        return spectra, valid

    model = MiniBatchKMeans(n_clusters=n_classes, random_state=seed, batch_size=4096, n_init=3)
    rng = np.random.default_rng(seed)
    seen = 0
    for _ in range(passes):
        for rows in rng.permutation(len(chunks)):
            spectra, valid = pixels(chunks[rows])
            batch = spectra[valid]
            if len(batch) < n_classes and seen == 0:
                continue
            if len(batch):
                model.partial_fit(batch[rng.permutation(len(batch))])
                seen += len(batch)
    if seen < n_classes:
        raise CubeError(f"{seen} pixels have data in every used band; k-means into {n_classes} classes needs more.")
    labels = np.full((cube.rows, cube.cols), -1, dtype=np.int32)
    sums = np.zeros((n_classes, chosen.size))
    counts = np.zeros(n_classes, dtype=np.int64)
    for rows in chunks:
        spectra, valid = pixels(rows)
        assigned = np.full(len(spectra), -1, dtype=np.int32)
        if valid.any():
            assigned[valid] = model.predict(spectra[valid])
            np.add.at(sums, assigned[valid], spectra[valid])
            counts += np.bincount(assigned[valid], minlength=n_classes)
        labels[rows] = assigned.reshape(-1, cube.cols)
    centers = np.full((n_classes, cube.n_bands), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        centers[:, chosen] = sums / counts[:, None]
    return KMeansResult(labels, centers, counts, chosen)
