"""Stage 1: VAE1 (real old R + synthetic X, with the latent discriminator) and VAE2 (clean Y).

One pure step per stage. The reference computes every loss in one forward pass and then steps
its optimizers in the order G, then D, then latent D; D's loss uses the detached fake of that same
forward, so the three updates all start from the parameters as they were before the step. We
compute the three gradients from one forward (one VAE pass, one D pass on the real and one on
the fake images, one latent-D pass) and apply them together: the same update.
"""

import jax
import jax.numpy as jnp

from oldrestore.data import degrade
from oldrestore.evaluation import image_metrics
from oldrestore.losses import gan
from oldrestore.models.layers import count_params
from oldrestore.models.vae import VAE
from oldrestore.models.vgg import load_vgg16_params
from oldrestore.stages import vae_networks
from oldrestore.train import stage1_data
from oldrestore.train.adversarial import disc_forward, discriminate, generator_image_terms
from oldrestore.train.loop import Stage
from oldrestore.train.optim import adam, apply_gradients

MIN_BATCH = 2  # VAE1: at least one old and one synthetic photo


def stride(config) -> int:
    """What crop sizes must be multiples of: the encoder's total downsampling."""
    return 2**config.model.num_downsamples


def optimizers_for(config, nets: dict) -> dict:
    return {name: adam(config.optim, config.total_steps) for name in nets}


def initial_state_fn(config):
    """key -> the initial state: {"step", and per network {"params", "opt"[, "spectral"]}}."""
    nets = vae_networks(config)
    optimizers = optimizers_for(config, nets)
    crop = config.data.crop_size

    def init(key):
        state = {"step": jnp.zeros((), jnp.int32)}
        keys = jax.random.split(key, len(nets))
        for key, (name, net) in zip(keys, sorted(nets.items()), strict=True):
            size = crop // stride(config) if name == "latent_disc" else crop
            channels = config.model.width if name == "latent_disc" else 3
            variables = dict(net.init(key, jnp.zeros((1, size, size, channels))))
            params = variables.pop("params")
            state[name] = {"params": params, "opt": optimizers[name].init(params), **variables}
        return state

    return init


def model_inputs(config, batch, key):
    """[-1, 1] inputs. VAE1 degrades its clean photos into synthetic old ones (domain X) and,
    without real old photos, gives the stand-in R photos the old-print look."""
    images = batch["image"].astype(jnp.float32) / 255.0
    if config.stage != "vae1":
        return images * 2.0 - 1.0
    synthetic_key, substitute_key = jax.random.split(key)
    synthetic, _ = degrade.degrade_batch(synthetic_key, images, config.degradation)
    if config.data.old_dir:
        old = images
    else:
        keys = jax.random.split(substitute_key, images.shape[0])
        old = jax.vmap(lambda k, x: degrade.old_print(k, x, config.degradation))(keys, images)
    is_old = (batch["domain"] == stage1_data.OLD)[:, None, None, None]
    return jnp.where(is_old, old, synthetic) * 2.0 - 1.0


def psnr(a, b):
    """The batch mean of the per-image PSNR in dB of two [-1, 1] image batches: evaluation's
    definition (image_metrics.psnr), so that training logs and evaluation agree."""
    return jnp.mean(image_metrics.psnr(a, b, data_range=2.0))


def make_stage(config, mesh) -> Stage:
    nets = vae_networks(config)
    vae, disc = nets["vae"], nets["disc"]
    optimizers = optimizers_for(config, nets)
    weights = config.loss

    def losses_and_grads(state, x, domain, key, vgg_params):
        """Every loss and every network's gradient, from one forward pass."""
        def vae_forward(params):
            encoded = vae.apply({"params": params}, x, key, method=VAE.encode)
            recon = vae.apply({"params": params}, encoded.latent, method=VAE.decode)
            return recon, vae.learned(encoded.mean), encoded.kl

        (recon, mean, kl), vae_vjp = jax.vjp(vae_forward, state["vae"]["params"])
        d = discriminate(disc, state["disc"], x, recon)
        new_states = {"disc": d.state}
        grads = {"disc": d.grads}
        metrics = {"d_loss": d.loss}

        def generator_terms(fake_outs, recon, kl):
            terms = generator_image_terms(weights, config.disc.num_layers, d.real_outputs,
                                          fake_outs, recon, x, vgg_params)
            terms["g_kl"] = kl * weights.kl
            return sum(terms.values()), terms

        (g_image_total, terms), (ct_fake_outs, ct_recon, ct_kl) = jax.value_and_grad(
            generator_terms, argnums=(0, 1, 2), has_aux=True)(d.fake_outputs, recon, kl)
        ct_recon = ct_recon + d.fake_vjp(ct_fake_outs)[1]
        ct_mean = jnp.zeros_like(mean)
        metrics.update(terms)
        g_total = g_image_total

        if "latent_disc" in nets:
            is_old = domain == stage1_data.OLD
            latent_outs, latent_vjp, new_states["latent_disc"] = disc_forward(
                nets["latent_disc"], state["latent_disc"], mean)
            ld_loss, ct_ld = jax.value_and_grad(
                lambda o: gan.latent_gan_losses(o, is_old)[0])(latent_outs)
            enc_loss, ct_enc = jax.value_and_grad(
                lambda o: gan.latent_gan_losses(o, is_old)[1] * weights.latent_gan)(latent_outs)
            grads["latent_disc"] = latent_vjp(ct_ld)[0]
            ct_mean = latent_vjp(ct_enc)[1]
            metrics.update(latent_d_loss=ld_loss, g_latent_gan=enc_loss)
            g_total = g_total + enc_loss

        grads["vae"] = vae_vjp((ct_recon, ct_mean, ct_kl))[0]
        metrics.update(g_total=g_total, recon_psnr=psnr(recon, x))
        return grads, metrics, new_states, recon

    def step(state, batch, seed_key, constants):
        key = jax.random.fold_in(seed_key, state["step"])
        input_key, noise_key = jax.random.split(key)
        x = model_inputs(config, batch, input_key)
        domain = batch.get("domain", jnp.zeros(x.shape[0], jnp.int32))
        grads, metrics, new_states, recon = losses_and_grads(state, x, domain, noise_key,
                                                             constants["vgg"])
        new_state = {"step": state["step"] + 1}
        for name in nets:
            new_state[name] = apply_gradients(optimizers[name], new_states.get(name, state[name]),
                                              grads[name])
        # the reconstruction trained on: of the sampled latent, not of the mean
        return new_state, metrics, {"input": x, "reconstruction": recon}

    def param_counts(state):
        counts = {name: count_params(state[name]["params"]) for name in nets}
        for part in ("encoder", "decoder"):
            counts[f"vae.{part}"] = count_params(state["vae"]["params"][part])
        return counts

    batches = (stage1_data.DomainBatches(config) if config.stage == "vae1"
               else stage1_data.clean_batches(config))
    return Stage(name=config.stage, init=initial_state_fn(config), step=step,
                 param_counts=param_counts, batches=batches,
                 constants={"vgg": load_vgg16_params()})
