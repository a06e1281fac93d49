"""Losses, by family: GAN and feature matching, perceptual (VGG), VAE (KL), detection (BCE)."""
