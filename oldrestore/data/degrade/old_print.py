"""The look of an aged print, which the paper describes and the reference never released: film
grain, sepia toning or a colour cast, contrast loss, fading towards the paper, paper texture."""

import jax
import jax.numpy as jnp

from oldrestore.data.degrade.blur import gaussian_kernel, separable_filter
from oldrestore.data.degrade.color import luminance
from oldrestore.data.degrade.sampling import as_integer, draw


def _grain(key, image, params):
    """Clumped film grain, strongest in the mid-tones and weaker in deep shadows and highlights."""
    kernel = gaussian_kernel(7, params["grain_size"], max_size=7)
    white = jax.random.normal(key, image.shape[:2] + (1,))
    # Blurring white noise shrinks its std to sum(kernel^2) (separable kernel): undo that.
    grain = separable_filter(white, kernel) / jnp.sum(kernel**2)
    lum = luminance(image)
    sigma = params["grain_sigma"] * (0.5 + 2.0 * lum * (1.0 - lum))
    return jnp.clip(image + sigma * grain, 0.0, 1.0)


def _tone(image, params, cfg):
    """Sepia (the luminance mapped between two browns) or a colour cast: a gamma per channel, as
    dyes fade unevenly, keeping black and white."""
    dark, light = jnp.array(cfg.sepia_dark), jnp.array(cfg.sepia_light)
    sepia = dark + (light - dark) * luminance(image)
    sepia = image + params["sepia_strength"] * (sepia - image)
    gammas = jnp.exp(jnp.stack([params["cast_r"], params["cast_g"], params["cast_b"]]))
    cast = image**gammas
    return jnp.where(params["sepia"] < cfg.sepia_fraction, sepia, cast)


def _contrast(image, params):
    mean = jnp.mean(luminance(image))
    return mean + params["contrast_factor"] * (image - mean)


def _fade(image, params, cfg):
    return image + params["fade_weight"] * (jnp.array(cfg.paper_tone) - image)


def _texture(image, params, textures):
    """Modulates brightness by the relief of one of the K x h x w x 3 `textures`, randomly flipped;
    the relief is normalised so that every texture shows with the drawn strength."""
    count = textures.shape[0]
    texture = textures[as_integer(params["texture_index"] * count, 0, count - 1)]
    if texture.shape != image.shape:
        texture = jax.image.resize(texture, image.shape, method="linear")
    texture = jnp.where(params["flip_rows"] < 0.5, texture[::-1], texture)
    texture = jnp.where(params["flip_cols"] < 0.5, texture[:, ::-1], texture)
    relief = luminance(texture)
    # In std units, clipped: rare extremes of a texture would otherwise print as black specks.
    relief = jnp.clip((relief - relief.mean()) / (relief.std() + 1e-3), -2.5, 2.5)
    return jnp.clip(image * (1.0 + params["texture_strength"] * relief), 0.0, 1.0)


def old_print(key, image, cfg, textures=None):
    """Ages the H x W x 3 `image` with the effects of `cfg.old_print` (the full degradation
    config), each applied with its probability; `textures` (K x h x w x 3 in [0, 1], see
    load_textures) or None for no paper texture. The image itself when the family is off."""
    pcfg = cfg.old_print
    if not pcfg.enabled:
        return image
    params_key, grain_key = jax.random.split(key)
    cast = (-pcfg.cast_range, pcfg.cast_range)
    # The texture draws are made with or without textures, so the other draws stay the same.
    p = draw(
        params_key,
        grain=(0, 1), grain_sigma=pcfg.grain_sigma_range, grain_size=pcfg.grain_size_range,
        tone=(0, 1), sepia=(0, 1), sepia_strength=pcfg.sepia_strength_range,
        cast_r=cast, cast_g=cast, cast_b=cast,
        contrast=(0, 1), contrast_factor=pcfg.contrast_range,
        fade=(0, 1), fade_weight=pcfg.fade_range,
        texture=(0, 1), texture_index=(0, 1), flip_rows=(0, 1), flip_cols=(0, 1),
        texture_strength=pcfg.texture_strength_range,
    )
    image = jnp.where(p["grain"] < pcfg.grain_prob, _grain(grain_key, image, p), image)
    image = jnp.where(p["tone"] < pcfg.tone_prob, _tone(image, p, pcfg), image)
    image = jnp.where(p["contrast"] < pcfg.contrast_prob, _contrast(image, p), image)
    image = jnp.where(p["fade"] < pcfg.fade_prob, _fade(image, p, pcfg), image)
    if textures is not None:
        image = jnp.where(p["texture"] < pcfg.texture_prob, _texture(image, p, textures), image)
    return image
