"""Supervised classification against Spectral Python and scikit-learn, and the accuracy
assessment against scikit-learn's metrics."""

from __future__ import annotations

import numpy as np
import pytest
import spectral
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, precision_recall_fscore_support

from cubescope import Cube, CubeError
from cubescope.classify import accuracy, fit_classifier, hold_out
from tests.apptest import open_page, share_query, viewer_payload

RNG = np.random.default_rng(281)


def three_materials(rows=60, cols=50, bands=6):
    """Three materials in horizontal stripes, each with its own mean and spread."""
    means = RNG.normal(size=(3, bands)) * 2 + 5
    values = np.empty((rows, cols, bands))
    truth = np.repeat(np.arange(1, 4), rows // 3)[:, None].repeat(cols, axis=1)
    for k in range(3):
        mix = RNG.normal(size=(bands, bands)) * (0.3 + 0.2 * k)
        values[truth == k + 1] = RNG.normal(size=((truth == k + 1).sum(), bands)) @ mix + means[k]
    return values, truth


@pytest.fixture(scope="module")
def scene():
    values, truth = three_materials()
    labels = np.zeros_like(truth)
    for k, r in enumerate((2, 22, 42)):
        labels[r:r + 12, 5:20] = k + 1
    return Cube.from_array(values), values, truth, labels


def test_gaussian_classifier_equals_spectral_python(scene):
    cube, values, truth, labels = scene
    ours = fit_classifier(cube, labels, "gaussian").predict(cube)
    classes = spectral.create_training_classes(values, labels)
    theirs = spectral.GaussianClassifier(classes).classify_image(values)
    np.testing.assert_array_equal(ours, theirs)
    assert (ours == truth).mean() > 0.95


def test_forest_and_svm_are_scikit_learn_s_and_seeded(scene):
    cube, values, _, labels = scene
    forest = fit_classifier(cube, labels, "random_forest", seed=3)
    reference = RandomForestClassifier(n_estimators=100, random_state=3, n_jobs=1).fit(
        values[labels > 0], labels[labels > 0])
    np.testing.assert_array_equal(forest.predict(cube), reference.predict(values.reshape(-1, 6)).reshape(60, 50))
    np.testing.assert_allclose(forest.proba(cube).reshape(-1, 3), reference.predict_proba(values.reshape(-1, 6)),
                               rtol=1e-6)
    svm = fit_classifier(cube, labels, "svm", seed=1)
    np.testing.assert_array_equal(svm.predict(cube), fit_classifier(cube, labels, "svm", seed=1).predict(cube))
    np.testing.assert_allclose(svm.proba(cube).sum(axis=2), 1.0, rtol=1e-5)


def test_sam_assigns_the_class_mean_at_the_smallest_angle(scene):
    cube, values, _, labels = scene
    model = fit_classifier(cube, labels, "sam")
    means = np.array([values[labels == k].mean(axis=0) for k in (1, 2, 3)])
    flat = values.reshape(-1, 6)
    cosines = (flat / np.linalg.norm(flat, axis=1, keepdims=True)) @ (
        means / np.linalg.norm(means, axis=1, keepdims=True)).T
    np.testing.assert_array_equal(model.predict(cube).ravel(), np.argmax(cosines, axis=1) + 1)
    with pytest.raises(CubeError, match="no class probabilities"):
        model.proba(cube)


def test_pixels_without_data_get_no_class_and_bad_bands_are_left_out(scene):
    cube, values, _, labels = scene
    holed = np.concatenate([values, RNG.normal(scale=1e3, size=(60, 50, 1))], axis=2)
    holed[30, 30, 0] = np.nan
    noisy = Cube.from_array(holed, bad_bands=np.array([False] * 6 + [True]))
    model = fit_classifier(noisy, labels, "gaussian")
    assert model.bands.tolist() == list(range(6))
    predicted = model.predict(noisy)
    assert predicted[30, 30] == 0
    mask = np.ones((60, 50), bool)
    mask[30, 30] = False
    np.testing.assert_array_equal(predicted[mask], fit_classifier(cube, labels, "gaussian").predict(cube)[mask])
    assert np.isnan(model.proba(noisy)[30, 30]).all()


def test_accuracy_equals_scikit_learn_s_metrics():
    truth = RNG.integers(0, 4, (40, 30))
    predicted = np.where(RNG.random((40, 30)) < 0.7, truth, RNG.integers(1, 4, (40, 30)))
    tested = truth > 0
    result = accuracy(truth, predicted, [1, 2, 3])
    t, p = truth[tested], predicted[tested]
    np.testing.assert_array_equal(result.confusion, confusion_matrix(t, p, labels=[1, 2, 3]))
    assert result.overall == pytest.approx(accuracy_score(t, p))
    assert result.kappa == pytest.approx(cohen_kappa_score(t, p))
    precision, recall, f1, support = precision_recall_fscore_support(t, p, labels=[1, 2, 3])
    np.testing.assert_allclose(result.precision, precision)
    np.testing.assert_allclose(result.recall, recall)
    np.testing.assert_allclose(result.f1, f1)
    np.testing.assert_array_equal(result.support, support)


def test_a_test_pixel_left_without_a_class_counts_as_wrong():
    result = accuracy([1, 1, 2, 2], [1, 0, 2, 2], [1, 2])
    assert result.overall == pytest.approx(0.75) and result.confusion.sum() == 3


def test_held_out_pixels_are_whole_regions_or_the_far_half_of_a_lone_one():
    shape = (40, 40)
    regions = []
    for r, c in [(2, 2), (2, 20), (20, 2)]:
        mask = np.zeros(shape, bool)
        mask[r:r + 8, c:c + 8] = True
        regions.append((1, mask))  # class 1: three regions
    lone = np.zeros(shape, bool)
    lone[25:35, 20:38] = True
    regions.append((2, lone))  # class 2: one region, wider than tall
    train, test = hold_out(regions, seed=0)
    assert not ((train > 0) & (test > 0)).any()
    whole_test = [m for _, m in regions[:3] if (test[m] == 1).all()]
    whole_train = [m for _, m in regions[:3] if (train[m] == 1).all()]
    assert len(whole_test) == 1 and len(whole_train) == 2  # a third of the regions, whole
    cols_train, cols_test = np.nonzero(train == 2)[1], np.nonzero(test == 2)[1]
    assert cols_train.max() < cols_test.min()  # cut along its longer side
    assert abs(cols_train.size - cols_test.size) <= 10
    assert (hold_out(regions, seed=0)[1] == test).all()


@pytest.mark.parametrize("labels, method, message", [
    (lambda given: given, "deep", "one of gaussian"),
    (lambda given: np.where(given == 1, 1, 0), "gaussian", "at least two classes"),
    (lambda given: given[:, :10], "sam", "labels have shape"),
])
def test_unusable_training_gets_a_message(scene, labels, method, message):
    cube, _, _, base = scene
    with pytest.raises(CubeError, match=message):
        fit_classifier(cube, labels(base), method)


def test_a_class_smaller_than_the_bands_is_refused_by_the_gaussian_only(scene):
    cube, _, _, labels = scene
    few = labels.copy()
    few[few == 3] = 0
    few[45, 10:13] = 3
    with pytest.raises(CubeError, match="has 3 pixels"):
        fit_classifier(cube, few, "gaussian")
    assert set(np.unique(fit_classifier(cube, few, "sam").predict(cube))) <= {1, 2, 3}


# ----------------------------------------------------------------------------- the page
def rectangle(name, label, r0, r1, c0, c1):
    from cubescope.roi import ROI

    return ROI(name, ((c0, r0), (c1, r0), (c1, r1), (c0, r1)), label=label)


DEMO_ROIS = [rectangle("v1", "vegetation", 10, 30, 10, 40), rectangle("v2", "vegetation", 150, 190, 180, 230),
             rectangle("s1", "soil", 140, 165, 55, 85), rectangle("w1", "water", 60, 100, 140, 190),
             rectangle("w2", "water", 40, 60, 150, 200)]


def test_classification_page_maps_the_roi_classes_and_reports_held_out_accuracy():
    from cubescope.roi import encode_rois

    at = open_page("pages/classify.py", query={"rois": encode_rois(DEMO_ROIS)})
    assert not at.error and not at.warning, [w.value for w in at.warning]
    report = at.dataframe[0].value
    assert list(report["class"][:3]) == ["soil", "vegetation", "water"]
    # One of two vegetation and water ROIs held out whole; the lone soil ROI cut in two.
    assert (report["test pixels"][:3] > 0).all() and (report["training pixels"][:3] > 0).all()
    from cubescope.classify import classify_regions
    from cubescope.demo import demo_cube

    expected = classify_regions(demo_cube(), encode_rois(DEMO_ROIS), "gaussian", 0)
    assert f"{100 * expected.accuracy.overall:.1f}%" in at.metric[0].value
    header, values, _ = viewer_payload(at, "image_cl")
    assert header["value_names"] == ["soil", "vegetation", "water"]
    np.testing.assert_array_equal(values[0], np.where(expected.classes > 0, expected.classes - 1, np.nan))
    at.segmented_control(key="cl_method").set_value("random_forest").run()
    assert not at.error and share_query(at)["cl_method"] == "random_forest"
    at.segmented_control(key="cl_view").set_value("Confidence").run()
    confidence = viewer_payload(at, "image_cl")[1][0]
    assert np.nanmin(confidence) >= 0 and np.nanmax(confidence) <= 1


def test_without_two_classes_the_page_says_what_to_draw():
    from cubescope.roi import encode_rois

    at = open_page("pages/classify.py", query={"rois": encode_rois(DEMO_ROIS[:2])})
    assert any("at least two classes" in i.value for i in at.info) and not at.error


def test_report_csv_neutralizes_names_and_holds_the_confusion_matrix():
    from cubescope.classify import classify_regions, report_csv
    from cubescope.demo import demo_cube
    from cubescope.roi import encode_rois

    rois = [rectangle("a", "=cmd()", 10, 30, 10, 40), rectangle("b", "water", 60, 100, 140, 190)]
    result = classify_regions(demo_cube(), encode_rois(rois), "sam", 0)
    text = report_csv(result).decode()
    assert "'=cmd()" in text and "true \\\\ assigned" in text.replace("\\", "\\\\")
    assert text.count("\n") == 2 + 3 + 1 + 1 + 2  # header, classes, OA, kappa, blank, matrix header and rows
