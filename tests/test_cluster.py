"""k-means classes."""

import numpy as np

from cubescope import Cube
from cubescope.cluster import kmeans
from tests.scenes import RNG


def test_kmeans_separates_planted_classes_reproducibly():
    rows, cols, bands = 30, 40, 12
    centres = RNG.random((3, bands)) * 5
    truth = RNG.integers(0, 3, (rows, cols))
    data = centres[truth] + RNG.normal(size=(rows, cols, bands)) * 0.05
    data[0, 0, 2] = np.nan
    cube = Cube.from_array(data)
    first, again = kmeans(cube, 3, seed=4), kmeans(cube, 3, seed=4)
    np.testing.assert_array_equal(first.labels, again.labels)
    assert first.labels[0, 0] == -1 and first.counts.sum() == rows * cols - 1
    mapping = {int(t): int(first.labels[r, c]) for (r, c), t in np.ndenumerate(truth) if first.labels[r, c] >= 0}
    assert len(set(mapping.values())) == 3
    valid = first.labels >= 0
    agree = np.vectorize(mapping.get)(truth[valid]) == first.labels[valid]
    assert agree.all()
    np.testing.assert_allclose(np.sort(first.centers[:, 0]), np.sort(centres[:, 0]), atol=0.05)
