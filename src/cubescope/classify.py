"""Supervised classification from labelled pixels, and an honest assessment of its accuracy.

A classifier is trained on the pixels of labelled regions (ROIs with a class) and maps every
pixel of the cube, streamed over row blocks. Its accuracy is measured on pixels held out by
region, never on random pixels of the regions it was trained on: neighbouring pixels are
nearly the same spectrum, and a random split would report the accuracy of recognising the
training regions again (Roberts et al. 2017, "Cross-validation strategies for data with
temporal, spatial, hierarchical, or phylogenetic structure", Ecography 40).

Methods:

- ``gaussian``: Gaussian maximum likelihood, one mean and covariance per class, equal priors
  (Spectral Python's ``GaussianClassifier``);
- ``random_forest`` and ``svm``: scikit-learn's ``RandomForestClassifier`` and ``SVC`` (RBF
  kernel, standardized bands), seeded;
- ``sam``: the class whose mean spectrum is at the smallest spectral angle.

Examples
--------
>>> import numpy as np
>>> from cubescope.demo import demo_cube
>>> cube = demo_cube()
>>> labels = np.zeros((cube.rows, cube.cols), int)
>>> labels[140:160, 60:80], labels[60:100, 140:180] = 1, 2   # soil, water
>>> model = fit_classifier(cube, labels, method="gaussian")
>>> int(model.predict(cube)[150, 70]), int(model.predict(cube)[80, 160])
(1, 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.products import Compute, Product
from cubescope.stats import _feature_bands, _map_chunks, _pixels, _valid_pixels, work_dtype

METHODS = ("gaussian", "random_forest", "svm", "sam")
#: Rows per block when a cube is classified.
_ROWS = 32


@dataclass
class Classifier:
    """A trained classifier.

    Attributes
    ----------
    method : str
    classes : ndarray of int, shape (k,)
        The class labels it assigns (the training labels, all above 0).
    bands : ndarray of int
        The cube's bands it reads.
    n_samples : ndarray of int, shape (k,)
        Training pixels per class.
    """

    method: str
    classes: np.ndarray
    bands: np.ndarray
    n_samples: np.ndarray
    model: Any = field(repr=False)

    def scores(self, spectra: np.ndarray) -> np.ndarray:
        """Per-class scores of spectra ``(n, bands used)``, higher is likelier: ``(n, k)``
        (log-likelihoods, probabilities, or minus the spectral angle)."""
        if self.method == "gaussian":
            # Whitened by each class (W = L^-1, L L^T its covariance): the squared distance is a
            # sum of squares of values near 1, exact enough in the samples' own float32.
            out = np.empty((len(spectra), len(self.classes)))
            for i, (mean, whitening, constant) in enumerate(self.model):
                z = (spectra - mean.astype(spectra.dtype)) @ whitening.T.astype(spectra.dtype)
                out[:, i] = constant - 0.5 * np.einsum("ij,ij->i", z, z)
            return out
        if self.method == "sam":
            unit = spectra / np.linalg.norm(spectra, axis=1, keepdims=True)
            return -np.arccos(np.clip(unit @ self.model.T, -1.0, 1.0))
        return self.model.predict_proba(spectra)

    def probabilities(self, spectra: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, k)`` (the Gaussian's posterior with equal priors; the
        forest's and SVM's own); raises for SAM, which has none."""
        if self.method == "sam":
            raise CubeError("SAM assigns the nearest class by angle; it has no class probabilities.")
        scores = self.scores(spectra)
        if self.method == "gaussian":
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def predict(self, cube: Cube) -> np.ndarray:
        """The class of every pixel, ``(rows, cols)`` int; 0 where a pixel lacks data."""
        return self._map(cube, lambda s: self.classes[np.argmax(self.scores(s), axis=1)], np.int32, 0)

    def proba(self, cube: Cube) -> np.ndarray:
        """Class probabilities of every pixel, ``(rows, cols, k)`` float32; NaN without data."""
        return self._map(cube, self.probabilities, np.float32, np.nan, len(self.classes))

    def _map(self, cube: Cube, function, dtype, fill, depth: int | None = None) -> np.ndarray:
        if cube.n_bands <= self.bands.max():
            raise CubeError(f"This classifier reads band {self.bands.max()}; '{cube.name}' has {cube.n_bands} bands.")
        shape = (cube.rows, cube.cols) if depth is None else (cube.rows, cube.cols, depth)
        out = np.full(shape, fill, dtype)

        def run(rows: slice) -> None:
            raw = _pixels(cube, self.bands, rows)
            valid = _valid_pixels(raw, cube.nodata, None)
            if valid.any():
                block = out[rows].reshape(-1, *shape[2:])
                block[valid] = function(np.asarray(raw[:, valid], work_dtype(cube.dtype)).T)
                out[rows] = block.reshape(out[rows].shape)

        _map_chunks(run, [slice(r, min(r + _ROWS, cube.rows)) for r in range(0, cube.rows, _ROWS)])
        return out


def training_pixels(cube: Cube, labels: Any, bands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The spectra ``(n, bands used)`` and labels ``(n,)`` of the labelled pixels with data."""
    labels = np.asarray(labels)
    if labels.shape != (cube.rows, cube.cols):
        raise CubeError(f"The labels have shape {labels.shape}; the image is {(cube.rows, cube.cols)}.")
    spectra, found = [], []
    for start in range(0, cube.rows, _ROWS):
        rows = slice(start, min(start + _ROWS, cube.rows))
        wanted = labels[rows].ravel() > 0
        if wanted.any():
            raw = _pixels(cube, bands, rows)[:, wanted]
            valid = _valid_pixels(raw, cube.nodata, None)
            spectra.append(np.asarray(raw[:, valid], np.float64).T)
            found.append(labels[rows].ravel()[wanted][valid])
    if not spectra:
        return np.empty((0, bands.size)), np.empty(0, int)
    return np.concatenate(spectra), np.concatenate(found).astype(int)


def fit_classifier(cube: Cube, labels: Any, method: str = "gaussian", seed: int = 0,
                   bands: Any = None) -> Classifier:
    """Train a classifier on the labelled pixels of ``cube``.

    Parameters
    ----------
    cube : Cube
    labels : ndarray of int, shape (rows, cols)
        Each pixel's class, 0 for unlabelled.
    method : {"gaussian", "random_forest", "svm", "sam"}
    seed : int
        Seed of the forest and the SVM: the same seed, the same model.
    bands : sequence of int, optional
        Bands used (default every band not marked bad).

    Raises
    ------
    CubeError
        For an unknown method, fewer than two classes with data, or (Gaussian) a class with
        fewer pixels than bands, whose covariance cannot be estimated.
    """
    if method not in METHODS:
        raise CubeError(f"Classify with one of {', '.join(METHODS)}, not '{method}'.")
    bands = _feature_bands(cube, bands)
    spectra, found = training_pixels(cube, labels, bands)
    classes, counts = np.unique(found, return_counts=True)
    if classes.size < 2:
        raise CubeError("Classification needs labelled pixels of at least two classes.")
    if method == "gaussian":
        model = []
        for label, count in zip(classes, counts, strict=True):
            if count <= bands.size:
                raise CubeError(f"Class {label} has {count} pixels; the maximum-likelihood classifier needs more "
                                f"than the {bands.size} bands used. Draw larger regions or use another method.")
            members = spectra[found == label]
            covariance = np.atleast_2d(np.cov(members, rowvar=False))
            try:
                lower = np.linalg.cholesky(covariance)
            except np.linalg.LinAlgError:
                raise CubeError(f"The pixels of class {label} do not vary in every band: their covariance cannot "
                                "be inverted. Use another method.") from None
            whitening = np.linalg.solve(lower, np.eye(bands.size))
            log_det = 2.0 * np.log(np.diag(lower)).sum()
            model.append((members.mean(axis=0), whitening, -0.5 * log_det))
    elif method == "sam":
        means = np.array([spectra[found == label].mean(axis=0) for label in classes])
        model = means / np.linalg.norm(means, axis=1, keepdims=True)
    else:
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVC

        model = (RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=1) if method == "random_forest"
                 else make_pipeline(StandardScaler(), SVC(probability=True, random_state=seed)))
        model.fit(spectra, found)
    return Classifier(method, classes, bands, counts, model)


# ----------------------------------------------------------------------------- accuracy
def hold_out(regions: Sequence[tuple[int, np.ndarray]], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Training and test labels ``(rows, cols)`` from labelled regions, held out by region.

    ``regions`` are ``(class, mask)`` pairs (an ROI each). A class with several regions keeps a
    third of them (at least one, chosen by ``seed``) for testing; a class with one region has
    it cut in two along its longer side, the first half for training and the second for
    testing: never random pixels of a region trained on.
    """
    if not regions:
        raise CubeError("There are no labelled regions.")
    shape = regions[0][1].shape
    train, test = np.zeros(shape, int), np.zeros(shape, int)
    rng = np.random.default_rng(seed)
    for label in sorted({label for label, _ in regions}):
        masks = [np.asarray(mask, bool) for cls, mask in regions if cls == label]
        if len(masks) > 1:
            held = set(rng.choice(len(masks), size=max(1, len(masks) // 3), replace=False).tolist())
            for i, mask in enumerate(masks):
                (test if i in held else train)[mask & (train == 0) & (test == 0)] = label
        else:
            rows, cols = np.nonzero(masks[0])
            along = rows if np.ptp(rows) >= np.ptp(cols) else cols
            cut = np.median(along)
            first = along <= cut if (along <= cut).sum() < along.size else along < cut
            train[rows[first], cols[first]] = label
            test[rows[~first], cols[~first]] = label
    return train, test


@dataclass(frozen=True)
class Accuracy:
    """How a class map agrees with test labels.

    Attributes
    ----------
    classes : ndarray of int, shape (k,)
    confusion : ndarray of int, shape (k, k)
        Rows: the true class; columns: the class assigned.
    overall : float
        Fraction of test pixels assigned their class.
    kappa : float
        Cohen's kappa: agreement beyond what chance gives with these class totals.
    precision, recall, f1 : ndarray, shape (k,)
        Per class (NaN where undefined: a class never assigned, or never tested).
    """

    classes: np.ndarray
    confusion: np.ndarray
    overall: float
    kappa: float
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray

    @property
    def support(self) -> np.ndarray:
        """Test pixels per class."""
        return self.confusion.sum(axis=1)


def accuracy(truth: Any, predicted: Any, classes: Any) -> Accuracy:
    """The agreement of ``predicted`` with ``truth`` (same shape; 0 in ``truth``: not tested)
    over ``classes``."""
    truth, predicted = np.asarray(truth).ravel(), np.asarray(predicted).ravel()
    classes = np.asarray(classes)
    tested = truth > 0
    if not tested.any():
        raise CubeError("There are no test pixels to measure the accuracy on.")
    index = {int(c): i for i, c in enumerate(classes)}
    k = classes.size
    t = np.array([index.get(int(v), -1) for v in truth[tested]])
    p = np.array([index.get(int(v), -1) for v in predicted[tested]])
    keep = (t >= 0) & (p >= 0)
    confusion = np.bincount(t[keep] * k + p[keep], minlength=k * k).reshape(k, k)
    n = t.size  # a test pixel left without a class counts as wrong
    overall = float(np.trace(confusion) / n)
    chance = float((confusion.sum(axis=1) @ confusion.sum(axis=0)) / n ** 2)
    kappa = (overall - chance) / (1 - chance) if chance < 1 else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.diag(confusion) / confusion.sum(axis=0)
        recall = np.diag(confusion) / confusion.sum(axis=1)
        f1 = 2 * precision * recall / (precision + recall)
    return Accuracy(classes, confusion, overall, float(kappa), precision, recall, f1)


# ----------------------------------------------------------------------------- from ROIs
@dataclass(frozen=True)
class Classification:
    """A classification trained on labelled ROIs and assessed on ROIs held out.

    Attributes
    ----------
    names : list of str
        The classes, in order: class ``i + 1`` of the maps is ``names[i]``.
    classes : ndarray of int, shape (rows, cols)
        The class map: 1..k, 0 where a pixel lacks data.
    confidence : ndarray, shape (rows, cols), or None
        The assigned class's probability (None for SAM, which has none).
    accuracy : Accuracy
        On the held-out pixels.
    train, test : ndarray of int, shape (rows, cols)
        The training and test labels.
    means : ndarray, shape (k, n_bands)
        Each class's mean spectrum over its training pixels (NaN at bands not used).
    """

    names: list[str]
    classes: np.ndarray
    confidence: np.ndarray | None
    accuracy: Accuracy
    train: np.ndarray
    test: np.ndarray
    means: np.ndarray


def classify_regions(cube: Cube, encoded_rois: str, method: str = "gaussian", seed: int = 0) -> Classification:
    """Train ``method`` on the ROIs (as a link encodes them, :func:`cubescope.roi.encode_rois`)
    that have a class, hold out ROIs by :func:`hold_out`, map every pixel and assess the map on
    the held-out pixels.

    Raises
    ------
    CubeError
        With fewer than two classes, or no test pixel of a class.
    """
    from cubescope.roi import decode_rois

    areas = [area for area in decode_rois(encoded_rois) if area.label.strip()] if encoded_rois else []
    names = sorted({area.label.strip() for area in areas})
    if len(names) < 2:
        raise CubeError("Give ROIs at least two classes (their 'class' in the ROI panel): a classifier learns from "
                        "labelled examples of each.")
    regions = [(names.index(area.label.strip()) + 1, area.mask(cube.rows, cube.cols)) for area in areas]
    train, test = hold_out(regions, seed)
    model = fit_classifier(cube, train, method, seed)
    classes = model.predict(cube)
    confidence = None
    if method != "sam":
        confidence = np.nanmax(model.proba(cube), axis=2, initial=-np.inf)
        confidence[classes == 0] = np.nan
    spectra, found = training_pixels(cube, train, model.bands)
    means = np.full((len(names), cube.n_bands), np.nan)
    for label in model.classes:
        means[label - 1, model.bands] = spectra[found == label].mean(axis=0)
    return Classification(names, classes, confidence, accuracy(test, classes, np.arange(1, len(names) + 1)),
                          train, test, means)


def report_rows(result: Classification) -> list[dict[str, Any]]:
    """The accuracy per class, a row each: training and test pixels, precision, recall, F1."""
    a = result.accuracy
    train = np.bincount(result.train.ravel(), minlength=len(result.names) + 1)[1:]
    rows = [{"class": name, "training pixels": int(train[i]), "test pixels": int(a.support[i]),
             "precision": float(a.precision[i]), "recall": float(a.recall[i]), "F1": float(a.f1[i])}
            for i, name in enumerate(result.names)]
    return rows


def report_csv(result: Classification) -> bytes:
    """The accuracy report and the confusion matrix as CSV (formula-leading names neutralized)."""
    import csv
    import io

    from cubescope.words import spreadsheet_safe

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["class", "training pixels", "test pixels", "precision", "recall", "F1"])
    for row in report_rows(result):
        writer.writerow([spreadsheet_safe(row["class"]), *list(row.values())[1:]])
    writer.writerow(["overall accuracy", "", int(result.accuracy.support.sum()), result.accuracy.overall])
    writer.writerow(["Cohen's kappa", "", "", result.accuracy.kappa])
    writer.writerow([])
    writer.writerow(["true \\ assigned"] + [spreadsheet_safe(n) for n in result.names])
    for name, counts in zip(result.names, result.accuracy.confusion, strict=True):
        writer.writerow([spreadsheet_safe(name)] + [int(c) for c in counts])
    return out.getvalue().encode()


@dataclass(frozen=True)
class ConfidenceImage(Product):
    """The probability of each pixel's assigned class, from :func:`classify_regions`."""

    encoded_rois: str
    method: str
    seed: int
    doing = "Classifying every pixel…"

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        result = compute(classify_regions, self.encoded_rois, self.method, self.seed)
        if result.confidence is None:
            raise CubeError("SAM has no class probabilities to show.")
        return result.confidence
