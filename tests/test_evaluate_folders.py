"""launch/evaluate.py on folders of photos, end to end: no-reference and full-reference scores,
FD-VGG16, mask metrics, the table, JSON, CSV and page; bad files named and skipped."""

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from oldrestore.data.images import load_rgb
from oldrestore.data.sources import embedded_photo_paths
from oldrestore.evaluation import folders

REPO = Path(__file__).resolve().parents[1]
NOISE = {"a": 3, "b": 40, "c": 15}  # per photo: standard deviation of the added noise


def _save(array, path):
    Image.fromarray(array).save(path)


@pytest.fixture(scope="module")
def photo_folders(tmp_path_factory):
    """restored/ (noisy photos and bad files), reference/ (clean), masks/ and truth/ for a, b."""
    root = tmp_path_factory.mktemp("photos")
    for name in ("restored", "reference", "masks", "truth"):
        (root / name).mkdir()
    rng = np.random.default_rng(0)
    for (name, sigma), path in zip(NOISE.items(), embedded_photo_paths(), strict=False):
        clean = load_rgb(path)[:96, :192]  # NIQE's smallest size: two 96x96 patches
        _save(clean, root / "reference" / f"{name}.png")
        noisy = np.clip(clean + rng.normal(0, sigma, clean.shape), 0, 255).astype(np.uint8)
        _save(noisy, root / "restored" / f"{name}.png")
    for name in ("a", "b"):
        _save(np.where(rng.uniform(size=(96, 192)) < 0.2, 200, 30).astype(np.uint8),
              root / "masks" / f"{name}.png")
        _save(np.where(rng.uniform(size=(96, 192)) < 0.2, 255, 0).astype(np.uint8),
              root / "truth" / f"{name}.png")
    (root / "restored" / "broken.png").write_text("not an image")
    jpeg = root / "reference" / "a.jpg"
    _save(load_rgb(root / "reference" / "a.png"), jpeg)
    (root / "restored" / "truncated.jpg").write_bytes(jpeg.read_bytes()[:400])
    jpeg.unlink()
    (root / "restored" / "notes.txt").write_text("not a photo name")
    return root


@pytest.fixture(scope="module")
def launched(photo_folders):
    output = photo_folders / "out"
    completed = subprocess.run(
        [sys.executable, str(REPO / "launch" / "evaluate.py"),
         f"--restored={photo_folders / 'restored'}", f"--reference={photo_folders / 'reference'}",
         f"--with_mask={photo_folders / 'masks'}", f"--true_masks={photo_folders / 'truth'}",
         f"--output={output}"],
        capture_output=True, text=True, cwd=REPO, timeout=900)
    return completed, output


def test_bad_files_are_named_in_one_line_and_skipped(launched):
    completed, output = launched
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr + completed.stdout
    skipped = [line for line in completed.stdout.splitlines() if line.startswith("skipping")]
    assert len(skipped) == 2
    assert any("broken.png" in line for line in skipped)
    assert any("truncated.jpg" in line for line in skipped)
    summary = json.loads((output / "summary.json").read_text())
    assert summary["images"] == 3 and sorted(summary["skipped"]) == ["broken.png",
                                                                    "truncated.jpg"]


def test_table_and_json_give_the_scores(launched, photo_folders):
    completed, output = launched
    summary = json.loads((output / "summary.json").read_text())
    assert summary["reference_images"] == 3 and summary["paired_images"] == 3
    assert summary["fd_vgg16"] > 0
    psnr = []
    for name in NOISE:
        a = load_rgb(photo_folders / "restored" / f"{name}.png").astype(np.float64)
        b = load_rgb(photo_folders / "reference" / f"{name}.png").astype(np.float64)
        psnr.append(10 * np.log10(255.0**2 / np.mean((a - b) ** 2)))
    assert summary["paired_scores"]["psnr"] == pytest.approx(np.mean(psnr), abs=1e-3)
    # Noise makes photos look worse to the no-reference metrics too.
    for metric in ("niqe", "brisque"):
        assert summary["restored_scores"][metric] > summary["reference_scores"][metric]
    assert set(summary["images_per_second"]) == {"niqe", "brisque", "psnr", "ssim",
                                                 "lpips_alex", "lpips_vgg", "fd_vgg16"}
    table = completed.stdout
    assert re.search(r"^psnr\s+" + f"{np.mean(psnr):.4f}", table, re.MULTILINE)
    assert re.search(r"^fd_vgg16\s+\d", table, re.MULTILINE)


def test_mask_metrics_count_every_pixel(launched, photo_folders):
    _, output = launched
    predicted, truth = [], []
    for name in ("a", "b"):
        predicted.append(load_rgb(photo_folders / "masks" / f"{name}.png")[..., 0] / 255.0)
        truth.append(load_rgb(photo_folders / "truth" / f"{name}.png")[..., 0] > 127)
    p, t = np.concatenate(predicted).ravel(), np.concatenate(truth).ravel()
    tp, fp, fn = np.sum((p >= 0.5) & t), np.sum((p >= 0.5) & ~t), np.sum((p < 0.5) & t)
    masks = json.loads((output / "summary.json").read_text())["masks"]
    assert masks["images"] == 2
    assert masks["precision"] == pytest.approx(tp / (tp + fp))
    assert masks["recall"] == pytest.approx(tp / (tp + fn))
    assert masks["iou"] == pytest.approx(tp / (tp + fp + fn))
    assert masks["roc_auc"] == pytest.approx(roc_auc_score(t, p))


def test_csv_and_page_sorted_worst_first(launched):
    _, output = launched
    with open(output / "per_image.csv") as f:
        rows = list(csv.DictReader(f))
    restored = {r["name"]: r for r in rows if r["folder"] == "restored"}
    assert sorted(restored) == ["a", "b", "c"]
    assert sorted(r["name"] for r in rows if r["folder"] == "reference") == ["a", "b", "c"]
    assert restored["c"]["scratch_fraction"] == ""  # no mask given for c
    worst_first = sorted(restored, key=lambda n: -float(restored[n]["lpips_alex"]))
    assert worst_first == ["b", "c", "a"]  # the noisiest photo is the worst
    page = (output / "index.html").read_text()
    positions = [page.index(f"thumbnails/{name}.jpg") for name in worst_first]
    assert positions == sorted(positions)
    for name in ("a", "b"):
        assert (output / "thumbnails" / f"{name}.mask.jpg").is_file()
    assert (output / "thumbnails" / "c.reference.jpg").is_file()


def test_restored_alone_gives_no_reference_scores(photo_folders, tmp_path, capsys):
    report = folders.evaluate(photo_folders / "restored", tmp_path)
    assert report["images"] == 3 and "fd_vgg16" not in report and "masks" not in report
    assert set(report["images_per_second"]) == {"niqe", "brisque"}
    assert np.isfinite(report["restored_scores"]["brisque"])
    page = (tmp_path / "index.html").read_text()
    assert "Sorted by brisque" in page
    assert "niqe (restored)" in folders.summary_table(report)


def test_a_missing_folder_is_one_line(tmp_path):
    completed = subprocess.run(
        [sys.executable, str(REPO / "launch" / "evaluate.py"), f"--restored={tmp_path / 'no'}",
         f"--output={tmp_path / 'out'}"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert completed.returncode != 0 and "Traceback" not in completed.stderr
    assert "no such folder" in completed.stderr
