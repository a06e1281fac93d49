"""Spectral normalisation of a conv kernel with the semantics of PyTorch's `spectral_norm`.

W = W_orig / sigma with sigma = u . (W_mat v), where W_mat is the kernel as PyTorch sees it,
`weight_orig.reshape(out, -1)` of the OIHW tensor. Our kernels are HWIO, so `weight_matrix`
transposes to OIHW before reshaping: the vectors u (out,) and v (in * kh * kw,) of a reference
checkpoint then import unchanged.

u and v are non-trainable state in the "spectral" collection. Without `update_stats` (eval) the
stored vectors are used exactly as they are. With `update_stats` (train) one power iteration runs
first, v <- normalize(W_mat^T u), u <- normalize(W_mat v), and the new vectors are stored (apply
with `mutable=["spectral"]`). As in PyTorch, gradients flow through W_mat only, not u and v.
"""

import flax.linen as nn
import jax
import jax.numpy as jnp

SPECTRAL = "spectral"


def weight_matrix(kernel):
    """HWIO kernel -> (out, in * kh * kw), the row-major flattening PyTorch uses for OIHW."""
    return jnp.transpose(kernel, (3, 2, 0, 1)).reshape(kernel.shape[-1], -1)


def l2_normalize(x, eps: float = 1e-12):
    return x / jnp.maximum(jnp.linalg.norm(x), eps)


def power_iteration(w_mat, u, eps: float = 1e-12):
    """One step of the power method; returns the new (u, v)."""
    v = l2_normalize(w_mat.T @ u, eps)
    u = l2_normalize(w_mat @ v, eps)
    return u, v


class SpectralNorm(nn.Module):
    """Divides a kernel by its largest singular value, estimated from the stored u and v."""

    eps: float = 1e-12

    @nn.compact
    def __call__(self, kernel, update_stats: bool = False):
        w_mat = weight_matrix(kernel)
        out_dim, in_dim = w_mat.shape
        # PyTorch initialises both vectors as normalised standard normal draws.
        u_var = self.variable(SPECTRAL, "u", self._random_unit, (out_dim,), kernel.dtype)
        v_var = self.variable(SPECTRAL, "v", self._random_unit, (in_dim,), kernel.dtype)
        u, v = u_var.value, v_var.value
        if update_stats:
            u, v = power_iteration(jax.lax.stop_gradient(w_mat), u, self.eps)
            u_var.value, v_var.value = u, v
        u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
        sigma = u @ (w_mat @ v)
        return kernel / sigma

    def _random_unit(self, shape, dtype):
        return l2_normalize(jax.random.normal(self.make_rng("params"), shape, dtype), self.eps)
