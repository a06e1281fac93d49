"""oldrestore: old-photo restoration by deep latent space translation, in JAX/Flax."""

__version__ = "0.1.0"
