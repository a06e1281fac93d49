"""The input pipeline: determinism, exact resume, per-process slices, crops, and mesh placement."""

import json
import time

import jax
import numpy as np
import pytest
from PIL import Image

from oldrestore.data.folder_dataset import prepare
from oldrestore.data.pipeline import ImageBatches, from_folder, to_grayscale, upscale_to_cover
from oldrestore.data.sharding import make_mesh, shard_batch

CROP = 32


@pytest.fixture(scope="module")
def photos():
    """A random-access source of colourful images of assorted sizes, some smaller than a crop."""
    rng = np.random.default_rng(0)
    sizes = [(40, 60), (64, 48), (20, 50), (33, 33), (90, 40), (50, 50), (16, 12), (70, 80)]
    return [{"image": rng.integers(0, 256, (*size, 3), dtype=np.uint8)} for size in sizes]


def _take(batches, count):
    return [next(batches)["image"] for _ in range(count)]


def _batches(source, **overrides):
    kwargs = dict(global_batch_size=4, crop_size=CROP, seed=0, process_index=0, process_count=1)
    return ImageBatches(source, **{**kwargs, **overrides})


def test_batches_are_uint8_crops_even_of_small_images(photos):
    for batch in _take(_batches(photos), 4):
        assert batch.shape == (4, CROP, CROP, 3) and batch.dtype == np.uint8


def test_a_batch_of_one_per_process_works(photos):
    """VAE1 takes one old photo per process from a batch of 2; grain's batch(1) of an endless
    dataset used to overflow."""
    batches = _batches(photos, global_batch_size=2, process_index=1, process_count=2)
    assert [b.shape for b in _take(batches, 2)] == [(1, CROP, CROP, 3)] * 2


def test_upscaling_brings_the_short_side_to_the_crop_size():
    image = np.zeros((10, 25, 3), np.uint8)
    assert upscale_to_cover(image, 32).shape == (32, 80, 3)
    assert upscale_to_cover(image, 8) is image


def test_a_seed_fixes_the_batches_and_another_seed_changes_them(photos):
    first = _take(_batches(photos), 3)
    again = _take(_batches(photos), 3)
    other = _take(_batches(photos, seed=1), 3)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_every_epoch_visits_each_image_once_in_a_new_order():
    # Constant images make a crop reveal which image it came from.
    source = [{"image": np.full((40, 40, 3), value, np.uint8)} for value in range(6)]
    epochs = _take(_batches(source, global_batch_size=6, grayscale_prob=0.0), 3)
    orders = [tuple(epoch[:, 0, 0, 0]) for epoch in epochs]
    assert all(sorted(order) == list(range(6)) for order in orders)
    assert len(set(orders)) > 1


def test_a_restored_state_continues_exactly(photos):
    uninterrupted = _take(_batches(photos), 6)
    interrupted = _batches(photos)
    _take(interrupted, 3)
    state = json.loads(json.dumps(interrupted.get_state()))  # as stored in a checkpoint
    resumed = _batches(photos)
    resumed.set_state(state)
    assert all(np.array_equal(a, b)
               for a, b in zip(_take(resumed, 3), uninterrupted[3:], strict=True))


def test_a_state_of_another_seed_is_refused(photos):
    state = _batches(photos, seed=1).get_state()
    with pytest.raises(ValueError, match="seed"):
        _batches(photos).set_state(state)


def test_processes_read_disjoint_slices_that_concatenate_to_the_global_batch(photos):
    # The guarantee is in order: process 0's slice, then process 1's, is the global batch.
    whole = _take(_batches(photos, global_batch_size=6), 3)
    halves = [_take(_batches(photos, global_batch_size=6, process_index=p, process_count=2), 3)
              for p in range(2)]
    for step, batch in enumerate(whole):
        assert halves[0][step].shape == (3, CROP, CROP, 3)
        np.testing.assert_array_equal(np.concatenate([halves[0][step], halves[1][step]]), batch)


def test_bad_batch_sizes_and_empty_sources_are_refused(photos):
    with pytest.raises(ValueError, match="not divisible by the process count 4"):
        _batches(photos, global_batch_size=6, process_count=4)
    with pytest.raises(ValueError, match="no images"):
        _batches([])


def test_grayscale_probability_one_greys_every_crop_and_zero_none(photos):
    grey = np.concatenate(_take(_batches(photos, grayscale_prob=1.0), 3))
    assert (grey == grey[..., :1]).all()
    colour = np.concatenate(_take(_batches(photos, grayscale_prob=0.0), 3))
    assert not (colour == colour[..., :1]).all(axis=(1, 2, 3)).any()


def test_grayscale_is_the_itu_601_luma_as_pil_computes_it(photos):
    image = photos[0]["image"]
    pil_luma = np.asarray(Image.fromarray(image).convert("L"), np.int16)
    assert np.abs(to_grayscale(image)[..., 0] - pil_luma).max() <= 1


def test_shard_batch_places_the_batch_over_the_data_axis():
    mesh = make_mesh()
    assert mesh.axis_names == ("data",) and mesh.size == jax.device_count() == 8
    images = np.arange(16 * 2 * 2 * 3, dtype=np.uint8).reshape(16, 2, 2, 3)
    placed = shard_batch({"image": images}, mesh)["image"]
    assert placed.sharding.spec == jax.sharding.PartitionSpec("data")
    assert len(placed.addressable_shards) == 8
    assert all(shard.data.shape == (2, 2, 2, 3) for shard in placed.addressable_shards)
    np.testing.assert_array_equal(np.asarray(placed), images)
    with pytest.raises(ValueError, match="does not divide over 8 devices"):
        shard_batch({"image": images[:12]}, mesh)


def test_the_embedded_default_feeds_batches(tmp_path):
    batches = from_folder("embedded", data_dir=tmp_path, global_batch_size=2, crop_size=CROP,
                          seed=0)
    assert next(batches)["image"].shape == (2, CROP, CROP, 3)


@pytest.mark.slow
def test_the_real_old_photos_prepare_and_iterate(data_dir, tmp_path):
    start = time.perf_counter()
    prepared = prepare(str(data_dir / "old"), tmp_path)
    print(f"prepared {data_dir / 'old'} in {time.perf_counter() - start:.1f} s")
    assert prepared.num_examples("train") + prepared.num_examples("test") + len(
        prepared.skipped) == 237
    batches = ImageBatches(prepared.source("train"), global_batch_size=8, crop_size=64, seed=0)
    for batch in _take(batches, 2):
        assert batch.shape == (8, 64, 64, 3)
