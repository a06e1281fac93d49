"""The scratch detector: a U-Net predicting the defect mask of a degraded grayscale photo.

Inputs are made inside the step: clean crops -> the whole degradation model (old print,
unstructured, structured defects with their exact mask), optionally with a real defect shape
from `data.masks_dir` stamped on (painted light, as scratches on a print are) -> grayscale.
Batch norm uses the batch's statistics in training (over the global batch: under jit the sharded
batch is one array) and its running statistics in evaluation.
"""

import jax
import jax.numpy as jnp

from oldrestore.data import degrade
from oldrestore.data.real_masks import load_masks, random_real_masks
from oldrestore.losses.detection import detection_loss
from oldrestore.models.layers import count_params
from oldrestore.models.scratch_unet import ScratchUNet
from oldrestore.stages import detector_networks
from oldrestore.train.loop import Stage
from oldrestore.train.optim import adam, apply_gradients
from oldrestore.train.stage1_data import clean_batches

MIN_BATCH = 1
LUMA = jnp.array([0.299, 0.587, 0.114])


def stride(config) -> int:
    return 2**config.model.depth


def build_network(config) -> ScratchUNet:
    return detector_networks(config)["unet"]


def stamp_real_masks(key, images, masks, defect_masks, prob: float):
    """With probability `prob` per image, paints a random real mask light onto the image and adds
    it to the defect mask. images [B, H, W, 3] in [0, 1]; masks [K, H, W]."""
    real_key, tone_key = jax.random.split(key)
    batch = images.shape[0]
    real = random_real_masks(real_key, masks, batch, prob)
    tone = jax.random.uniform(tone_key, (batch, 1, 1, 1), minval=0.75, maxval=1.0)
    # Every stamped pixel moves by at least 0.05 (as the structured defects do), so the mask is
    # exactly where pixels changed.
    painted = jnp.where(jnp.abs(tone - images) < 0.05, images - 0.1, tone)
    images = jnp.where(real > 0, jnp.clip(painted, 0.0, 1.0), images)
    return images, jnp.maximum(defect_masks, real)


def detector_inputs(config, batch, key, masks):
    """(grayscale input [B, H, W, 1] in [-1, 1], defect mask [B, H, W, 1] in {0, 1})."""
    images = batch["image"].astype(jnp.float32) / 255.0
    degrade_key, stamp_key = jax.random.split(key)
    degraded, defect_masks = degrade.degrade_batch(degrade_key, images, config.degradation)
    if masks is not None:
        degraded, defect_masks = stamp_real_masks(stamp_key, degraded, masks, defect_masks,
                                                  config.data.real_mask_prob)
    gray = degraded @ LUMA
    return gray[..., None] * 2.0 - 1.0, defect_masks


def loss_options(config) -> dict:
    if config.loss.name == "focal":
        return {"gamma": config.loss.focal_gamma, "alpha": config.loss.focal_alpha}
    return {}


def initial_state_fn(config):
    """key -> {"step", "params", "batch_stats", "opt"}."""
    net, crop = build_network(config), config.data.crop_size
    optimizer = adam(config.optim, config.total_steps)

    def init(key):
        variables = net.init(key, jnp.zeros((1, crop, crop, 1)))
        params = variables["params"]
        return {"step": jnp.zeros((), jnp.int32), "params": params,
                "batch_stats": variables["batch_stats"], "opt": optimizer.init(params)}

    return init


def make_stage(config, mesh) -> Stage:
    net = build_network(config)
    optimizer = adam(config.optim, config.total_steps)
    crop = config.data.crop_size
    masks = load_masks(config.data.masks_dir, crop) if config.data.masks_dir else None

    def step(state, batch, seed_key, constants):
        key = jax.random.fold_in(seed_key, state["step"])
        x, target = detector_inputs(config, batch, key, constants["masks"])

        def loss_fn(params):
            logits, updated = net.apply(
                {"params": params, "batch_stats": state["batch_stats"]}, x, train=True,
                mutable=["batch_stats"])
            loss = detection_loss(config.loss.name, logits, target, **loss_options(config))
            return loss, (logits, updated["batch_stats"])

        (loss, (logits, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state["params"])
        predicted = jax.nn.sigmoid(logits) >= config.threshold
        truth = target > 0.5
        true_positives = jnp.sum(predicted & truth)
        metrics = {
            "loss": loss,
            "defect_share": jnp.mean(target),
            "pixel_precision": true_positives / jnp.maximum(jnp.sum(predicted), 1),
            "pixel_recall": true_positives / jnp.maximum(jnp.sum(truth), 1),
        }
        new_state = dict(apply_gradients(optimizer, state, grads), step=state["step"] + 1,
                         batch_stats=batch_stats)
        rows = {"input": x, "mask": target * 2.0 - 1.0,
                "predicted": jax.nn.sigmoid(logits) * 2.0 - 1.0}
        return new_state, metrics, rows

    batches = clean_batches(config)  # the same clean-photo crops VAE2 trains on
    return Stage(name="detector", init=initial_state_fn(config), step=step,
                 param_counts=lambda state: {"unet": count_params(state["params"])},
                 batches=batches, constants={"masks": masks})

