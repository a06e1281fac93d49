"""Pixel metrics of scratch masks: precision, recall, F1, IoU, exact ROC-AUC; and an overlay image.

Over a dataset the confusion counts (and, for the AUC, the score histogram) are summed over all
pixels of all images, and the metrics computed once from the sums. This is not the mean of
per-image ratios, which would let an image with three scratch pixels weigh as much as one with
thirty thousand, and is undefined for images without scratches.

Empty denominators, by convention "no error of that kind is possible, so the score is perfect":
* precision = 1 when nothing is predicted as scratch;
* recall = 1 when the ground truth has no scratch;
* F1 = IoU = 1 when prediction and ground truth are both empty (F1 = 0 when only one is).
ROC-AUC needs both classes: it is NaN when all pixels are scratch or none is.
"""

import numpy as np

HISTOGRAMS_BEFORE_MERGE = 32


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def _score_histogram(scores, positives, negatives):
    """(sorted distinct scores, positive count per score, negative count per score), from pixels
    (counts 0/1) or from concatenated histograms (counts are summed)."""
    distinct, index = np.unique(scores, return_inverse=True)
    index = index.ravel()
    count = lambda weights: np.bincount(index, np.ravel(weights), len(distinct))
    return distinct, count(positives), count(negatives)


def _merge_histograms(histograms):
    return _score_histogram(*(np.concatenate(parts) for parts in zip(*histograms, strict=True)))


def _auc_from_histogram(positives, negatives) -> float:
    """Mann-Whitney U / (P N) over scores in ascending order; ties count one half, as the
    trapezoidal area under the ROC curve (scikit-learn's roc_auc_score) does."""
    n_positive, n_negative = positives.sum(), negatives.sum()
    if n_positive == 0 or n_negative == 0:
        return float("nan")
    negatives_below = np.cumsum(negatives) - negatives
    wins = np.sum(positives * (negatives_below + 0.5 * negatives))
    return float(wins / (n_positive * n_negative))


def roc_auc(probabilities, labels) -> float:
    """Exact ROC-AUC of scores against boolean labels of the same shape."""
    scores, labels = np.asarray(probabilities), np.asarray(labels, bool)
    if scores.shape != labels.shape:
        raise ValueError(f"probabilities {scores.shape} and labels {labels.shape} differ in shape")
    _, positives, negatives = _score_histogram(scores, labels, ~labels)
    return _auc_from_histogram(positives, negatives)


class MaskMetrics:
    """Accumulates counts over images; `result()` gives the dataset's metrics (module docstring)."""

    def __init__(self):
        self.true_positives = self.false_positives = self.false_negatives = 0
        # Score histograms, one per image, merged every HISTOGRAMS_BEFORE_MERGE images: exact, and
        # neither re-sorting everything at each image nor keeping one entry per pixel.
        self.histograms = []

    def update(self, predicted_mask, true_mask, probabilities=None):
        """Add one image: boolean masks of the same shape, and optionally its probabilities."""
        predicted, truth = np.asarray(predicted_mask, bool), np.asarray(true_mask, bool)
        if predicted.shape != truth.shape:
            raise ValueError(f"mask shapes differ: {predicted.shape} vs {truth.shape}")
        self.true_positives += int(np.sum(predicted & truth))
        self.false_positives += int(np.sum(predicted & ~truth))
        self.false_negatives += int(np.sum(~predicted & truth))
        if probabilities is not None:
            scores = np.asarray(probabilities, np.float32)
            if scores.shape != truth.shape:
                raise ValueError(f"probabilities {scores.shape} and mask {truth.shape} differ")
            self.histograms.append(_score_histogram(scores, truth, ~truth))
            if len(self.histograms) >= HISTOGRAMS_BEFORE_MERGE:
                self.histograms = [_merge_histograms(self.histograms)]

    def result(self) -> dict[str, float]:
        """precision, recall, f1, iou; plus roc_auc over the images given with probabilities."""
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        metrics = {
            "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "iou": _ratio(tp, tp + fp + fn),
        }
        if self.histograms:
            _, positives, negatives = _merge_histograms(self.histograms)
            metrics["roc_auc"] = _auc_from_histogram(positives, negatives)
        return metrics


def overlay(image_rgb, mask, color=(255, 0, 0), alpha: float = 0.5) -> np.ndarray:
    """The photo with masked pixels blended towards `color` (weight alpha), as uint8 RGB."""
    image = np.asarray(image_rgb)
    mask = np.asarray(mask, bool)
    if image.shape[:2] != mask.shape or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"need an H x W x 3 image and an H x W mask: {image.shape}, {mask.shape}")
    blended = image.astype(np.float32)
    blended[mask] = (1.0 - alpha) * blended[mask] + alpha * np.asarray(color, np.float32)
    return np.clip(np.round(blended), 0, 255).astype(np.uint8)
