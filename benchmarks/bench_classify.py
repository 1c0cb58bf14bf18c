"""Issue 28: the Gaussian maximum-likelihood classifier on 512 x 512 x 224 float32, 5 classes,
beside Spectral Python's ``GaussianClassifier`` (``create_training_classes``, training and
``classify_image`` on the same cube in its (rows, cols, bands) layout, built outside the
timing). Training regions: five 60 x 60 blocks. The goal is 3x, with the same class map.
"""

from __future__ import annotations

import numpy as np
import spectral

from benchmarks.common import check, large_cube, report, timeit
from cubescope import Cube
from cubescope.classify import fit_classifier

ROWS, COLS, BANDS = 512, 512, 224


def main() -> bool:
    bsq = large_cube(ROWS, COLS, BANDS)
    cube = Cube(bsq)
    hwb = np.ascontiguousarray(np.moveaxis(bsq, 0, -1))
    labels = np.zeros((ROWS, COLS), int)
    for k, (r, c) in enumerate([(20, 20), (20, 300), (200, 150), (400, 40), (400, 400)]):
        labels[r:r + 60, c:c + 60] = k + 1

    def ours() -> np.ndarray:
        return fit_classifier(cube, labels, "gaussian").predict(cube)

    def theirs() -> np.ndarray:
        classifier = spectral.GaussianClassifier(spectral.create_training_classes(hwb, labels))
        return classifier.classify_image(hwb)

    t_ours = timeit(ours, repeat=3, warmup=1)
    t_spy = timeit(theirs, repeat=2, warmup=0)
    agree = float((ours() == theirs()).mean())
    report(f"Gaussian maximum likelihood, 5 classes, {ROWS} x {COLS} x {BANDS} float32 (training included)", [
        ("fit_classifier + predict", t_ours, f"{t_spy / t_ours:.1f}x faster than SPy's; same class for "
                                             f"{100 * agree:.3f}% of the pixels"),
        ("spectral Python GaussianClassifier", t_spy, ""),
    ])
    ok = check("Gaussian classifier speed-up", t_spy / t_ours, 3.0, better="higher")
    ok &= check("pixels classed alike (fraction)", agree, 0.999, better="higher")
    return ok


if __name__ == "__main__":
    main()
