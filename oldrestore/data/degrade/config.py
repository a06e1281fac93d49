"""Every range and probability of the degradation model, in one ml_collections config.

Ranges are (low, high) tuples sampled uniformly; integer ranges (counts, JPEG quality) include both
ends. Unstructured values are the reference's released pipeline (reference-implementation.md,
section 6); the old-print look and the structured defects are ours (the paper describes them, the
authors never released them). Colours are RGB in [0, 1]; sizes in pixels unless said otherwise.
"""

import ml_collections


def _unstructured() -> ml_collections.ConfigDict:
    cfg = ml_collections.ConfigDict()
    cfg.enabled = True  # blur, noise, low resolution and JPEG, each maybe, in a random order

    cfg.blur = ml_collections.ConfigDict()
    cfg.blur.prob = 0.7
    cfg.blur.kernel_sizes = (3, 5, 7)  # square OpenCV Gaussian kernel, size drawn uniformly
    cfg.blur.sigma_range = (1.0, 5.0)

    cfg.noise = ml_collections.ConfigDict()
    cfg.noise.prob = 0.7
    cfg.noise.kinds = ("gaussian", "speckle", "salt_pepper")  # one of these, equally likely
    cfg.noise.sigma_range = (5 / 255, 50 / 255)  # std of Gaussian and speckle noise
    cfg.noise.amount_range = (0.0, 0.01)  # salt and pepper: probability that an element flips
    cfg.noise.salt_fraction_range = (0.3, 0.8)  # salt and pepper: share of flips that go white

    cfg.resize = ml_collections.ConfigDict()
    cfg.resize.prob = 0.7
    cfg.resize.min_scale = 0.5  # each side shrinks to a size drawn in [min_scale, 1] of itself
    cfg.resize.bilinear_prob = 0.5  # upscaling back: bilinear, else nearest

    cfg.jpeg = ml_collections.ConfigDict()
    cfg.jpeg.prob = 0.7
    cfg.jpeg.quality_range = (40, 100)
    return cfg


def _old_print() -> ml_collections.ConfigDict:
    cfg = ml_collections.ConfigDict()
    cfg.enabled = True  # the look of an aged print: grain, toning, contrast loss, fading, paper

    cfg.grain_prob = 0.5
    cfg.grain_sigma_range = (0.01, 0.04)  # grain std in the mid-tones
    cfg.grain_size_range = (0.5, 1.5)  # std of the Gaussian that makes the grain clump

    cfg.tone_prob = 0.5  # sepia toning or a colour cast
    cfg.sepia_fraction = 0.5  # share of toned prints that are sepia (else a colour cast)
    cfg.sepia_dark = (0.10, 0.06, 0.03)  # sepia maps black to this ...
    cfg.sepia_light = (1.0, 0.93, 0.78)  # ... and white to this
    cfg.sepia_strength_range = (0.4, 1.0)  # blend weight of the sepia version
    cfg.cast_range = 0.25  # colour cast: channel value v becomes v ** exp(u), |u| <= cast_range

    cfg.contrast_prob = 0.5
    cfg.contrast_range = (0.6, 0.95)  # deviations from the mean luminance are scaled by this

    cfg.fade_prob = 0.5
    cfg.fade_range = (0.05, 0.35)  # blend weight towards the paper tone
    cfg.paper_tone = (0.96, 0.92, 0.82)

    cfg.texture_prob = 0.5  # only when paper textures are given
    cfg.texture_strength_range = (0.02, 0.08)  # relative brightness change per std of relief
    return cfg


def _structured() -> ml_collections.ConfigDict:
    cfg = ml_collections.ConfigDict()
    cfg.enabled = True  # scratches, blotches and dust, with the mask of the pixels they change
    cfg.no_defect_prob = 0.5  # image left without any (reference: --random_hole, p = 0.5)
    # A covered pixel always moves by at least this much: where the blend would not show (a white
    # scratch on white), it moves the other way, as a scratch's groove shows faintly on white.
    cfg.min_change = 0.05

    cfg.scratches = ml_collections.ConfigDict()
    cfg.scratches.count_range = (1, 5)
    cfg.scratches.length_range = (0.15, 1.0)  # fraction of the long side
    cfg.scratches.bend_range = 0.3  # control point off the chord by up to this fraction of it
    cfg.scratches.width_range = (1.0, 4.0)
    cfg.scratches.opacity_range = (0.5, 1.0)
    cfg.scratches.brightness_range = (0.6, 1.0)  # grey level of the scratch layer
    cfg.scratches.modes = ("add", "screen", "lighten")  # blend modes, as the paper blends them
    cfg.scratches.dark_prob = 0.15  # dark scratch: the modes act on the image's negative

    cfg.blotches = ml_collections.ConfigDict()
    cfg.blotches.count_range = (0, 2)
    cfg.blotches.radius_range = (0.03, 0.15)  # fraction of the short side
    cfg.blotches.aspect_range = (0.4, 1.0)  # short over long radius
    cfg.blotches.irregularity = 0.5  # amplitude of the wobble of the outline
    cfg.blotches.softness_range = (1.0, 8.0)  # width of the soft edge
    cfg.blotches.opacity_range = (0.5, 0.9)
    # Stain colours: brown, dark brown, and the whitish spot where the emulsion has faded.
    cfg.blotches.tints = ((0.6, 0.45, 0.25), (0.25, 0.18, 0.1), (0.95, 0.93, 0.87))
    cfg.blotches.modes = ("normal",)
    cfg.blotches.dark_prob = 0.0

    cfg.dust = ml_collections.ConfigDict()
    cfg.dust.count_range = (0, 30)
    cfg.dust.radius_range = (0.5, 2.0)
    cfg.dust.aspect_range = (0.5, 1.0)
    cfg.dust.irregularity = 0.3
    cfg.dust.softness_range = (0.7, 1.0)
    cfg.dust.opacity_range = (0.6, 1.0)
    cfg.dust.brightness_range = (0.75, 1.0)
    cfg.dust.modes = ("normal",)
    cfg.dust.dark_prob = 0.5  # dust on the print is dark, dust on the negative prints white
    return cfg


def default_config() -> ml_collections.ConfigDict:
    """The degradation model's configuration; stages switch families on and off with `enabled`."""
    cfg = ml_collections.ConfigDict()
    cfg.old_print = _old_print()
    cfg.unstructured = _unstructured()
    cfg.structured = _structured()
    cfg.grayscale_prob = 0.1  # the whole pair (clean target too) turns grey, as in the reference
    # Under vmap, loop over the examples (see batching.py): several times faster on CPU and one
    # device; keep False inside a jit whose batch is sharded over devices (a loop gathers it).
    cfg.loop_over_examples = False
    return cfg
