"""Mask metrics: counts summed over images, edge-case conventions, exact ROC-AUC, overlay."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from oldrestore.evaluation.mask_metrics import MaskMetrics, overlay, roc_auc


def test_metrics_of_one_image():
    truth = np.array([[1, 1, 0, 0], [1, 0, 0, 0]], bool)
    predicted = np.array([[1, 0, 1, 0], [1, 0, 0, 0]], bool)  # tp 2, fp 1, fn 1
    metrics = MaskMetrics()
    metrics.update(predicted, truth)
    assert metrics.result() == pytest.approx(
        {"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "iou": 2 / 4})


def test_counts_are_summed_over_images_not_ratios_averaged():
    one_pixel = np.array([[1, 0, 0, 0]], bool)
    metrics = MaskMetrics()
    metrics.update(np.ones((1, 4), bool), one_pixel)  # tp 1, fp 3
    metrics.update(one_pixel, one_pixel)  # tp 1
    metrics.update(np.zeros((1, 4), bool), np.array([[1, 1, 1, 0]], bool))  # fn 3
    result = metrics.result()
    assert result["precision"] == pytest.approx(2 / 5)  # per-image mean: (1/4 + 1 + 1) / 3
    assert result["recall"] == pytest.approx(2 / 5)  # per-image mean: (1 + 1 + 0) / 3


def test_empty_denominators():
    empty = np.zeros((3, 3), bool)
    metrics = MaskMetrics()
    metrics.update(empty, empty)
    assert metrics.result() == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "iou": 1.0}
    metrics.update(np.eye(3, dtype=bool), empty)  # false alarms on a clean image
    assert metrics.result() == {"precision": 0.0, "recall": 1.0, "f1": 0.0, "iou": 0.0}
    missed = MaskMetrics()
    missed.update(empty, np.eye(3, dtype=bool))
    assert missed.result() == {"precision": 1.0, "recall": 0.0, "f1": 0.0, "iou": 0.0}


def test_roc_auc_equals_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    labels = rng.random((20, 30)) < 0.1
    scores = np.round(rng.random((20, 30)) * 0.6 + 0.4 * labels, 1)  # coarse: many ties
    assert roc_auc(scores, labels) == pytest.approx(roc_auc_score(labels.ravel(), scores.ravel()),
                                                    abs=1e-12)


def test_roc_auc_accumulated_over_images_equals_pooled_pixels():
    rng = np.random.default_rng(1)
    images = [(rng.random((8, 8)) < 0.15, rng.random((8, 8)).astype(np.float32))
              for _ in range(40)]  # more than HISTOGRAMS_BEFORE_MERGE: merging is exercised
    metrics = MaskMetrics()
    for truth, probabilities in images:
        probabilities = np.clip(probabilities + 0.3 * truth, 0, 1)
        metrics.update(probabilities >= 0.5, truth, probabilities)
    all_truth = np.concatenate([t.ravel() for t, _ in images])
    all_scores = np.concatenate([np.clip(p + 0.3 * t, 0, 1).ravel() for t, p in images])
    assert metrics.result()["roc_auc"] == pytest.approx(roc_auc_score(all_truth, all_scores),
                                                        abs=1e-12)


def test_roc_auc_needs_both_classes():
    assert np.isnan(roc_auc(np.array([0.1, 0.9]), np.array([False, False])))
    assert np.isnan(roc_auc(np.array([0.1, 0.9]), np.array([True, True])))
    assert "roc_auc" not in MaskMetrics().result()


def test_overlay_blends_only_masked_pixels():
    image = np.full((2, 3, 3), 100, np.uint8)
    mask = np.zeros((2, 3), bool)
    mask[1, 2] = True
    result = overlay(image, mask, color=(255, 0, 0), alpha=0.5)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result[1, 2], [178, 50, 50])  # round(177.5), 50, 50
    np.testing.assert_array_equal(result[~mask], image[~mask])
    with pytest.raises(ValueError):
        overlay(image, mask[:, :2])
