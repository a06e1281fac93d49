"""Throughput of our conv layers at the reference's sizes, and of one VAE training pass.

    python benchmarks/layer_throughput.py [--batch 2] [--out FILE.json]

For each layer: forward, forward + backward (gradients w.r.t. the input and the parameters), and
each gradient alone (its pass's time minus the forward's), as milliseconds and GFLOP/s of useful
work (multiplications by padding or inserted zeros are not
counted). Two rows show the slow forms our layers avoid: the transposed conv as a conv over the
zero-dilated input, and the stride-1 discriminator conv with its plain (2, 2) padding (whose kernel
gradient XLA:CPU computes very slowly). Last, the VAE encoder + decoder (reference width) at
256x256.
"""

import argparse
import json
import os
import platform
import time
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp

from oldrestore.models.discriminator import conv4x4_pad2
from oldrestore.models.layers import Conv
from oldrestore.models.vae import VAE, ConvTranspose2x

DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def best_time(fn, *args, repeats: int = 5, budget_s: float = 5.0) -> float:
    """Best wall time of `fn(*args)` in seconds, after one compile-and-run call."""
    jax.block_until_ready(fn(*args))
    times = []
    while len(times) < repeats and sum(times) < budget_s:
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def measure(name, apply, params, x, macs_per_output_pixel: int) -> dict:
    """Times apply(params, x) forward and with gradients; 2 FLOPs per multiply-accumulate."""

    def loss(params, x):
        return jnp.mean(jnp.square(apply(params, x)))

    y = jax.eval_shape(apply, params, x)
    gflop = 2 * y.size // y.shape[-1] * macs_per_output_pixel / 1e9
    forward_s = best_time(jax.jit(apply), params, x)
    train_s = best_time(jax.jit(jax.grad(loss, argnums=(0, 1))), params, x)
    # Where the backward pass goes: the forward plus one gradient, each alone.
    input_grad_s = best_time(jax.jit(jax.grad(loss, argnums=1)), params, x) - forward_s
    kernel_grad_s = best_time(jax.jit(jax.grad(loss, argnums=0)), params, x) - forward_s
    return {
        "layer": name,
        "input": list(x.shape),
        "output": list(y.shape),
        "forward_gflop": round(gflop, 3),
        "forward_ms": round(forward_s * 1e3, 2),
        "forward_gflops": round(gflop / forward_s, 1),
        # The backward pass costs two forwards: the input gradient and the kernel gradient.
        "train_ms": round(train_s * 1e3, 2),
        "train_gflops": round(3 * gflop / train_s, 1),
        "input_grad_ms": round(input_grad_s * 1e3, 2),
        "input_grad_gflops": round(gflop / input_grad_s, 1),
        "kernel_grad_ms": round(kernel_grad_s * 1e3, 2),
        "kernel_grad_gflops": round(gflop / kernel_grad_s, 1),
    }


def module_case(name, module, shape, macs_per_output_pixel):
    x = jax.random.normal(jax.random.key(0), shape)
    params = jax.jit(module.init)(jax.random.key(1), x)
    return measure(name, module.apply, params, x, macs_per_output_pixel)


def kernel_case(name, conv, shape, kernel_shape, macs_per_output_pixel):
    x = jax.random.normal(jax.random.key(0), shape)
    kernel = 0.02 * jax.random.normal(jax.random.key(1), kernel_shape)
    return measure(name, lambda k, x: conv(x, k), kernel, x, macs_per_output_pixel)


def dilated_conv_transpose(x, kernel):
    """PyTorch ConvTranspose2d(4, 2, 1) as a conv over the zero-dilated input, flipped kernel."""
    flipped = kernel[::-1, ::-1]
    return jax.lax.conv_general_dilated(
        x, flipped, (1, 1), ((2, 2), (2, 2)), lhs_dilation=(2, 2), dimension_numbers=DIMENSIONS
    )


def plain_pad2_conv(x, kernel):
    return jax.lax.conv_general_dilated(
        x, kernel, (1, 1), ((2, 2), (2, 2)), dimension_numbers=DIMENSIONS
    )


def layer_cases(b: int) -> list[dict]:
    c = 64
    rows = []
    for size in (256, 64):
        for pad in ("zero", "reflect"):
            conv = Conv(c, 3, padding=1, pad_mode=pad)
            name = f"conv3x3 {c}->{c} {pad} pad, {size}x{size}"
            rows.append(module_case(name, conv, (b, size, size, c), 9 * c * c))
    down = Conv(c, 4, stride=2, padding=1)
    rows.append(module_case("conv4x4 s2 (VAE down), 256->128", down, (b, 256, 256, c), 16 * c * c))

    # Each output pixel of a stride-2 transposed 4x4 conv receives 4 input taps.
    up_macs, up_input = 4 * c * c, (b, 128, 128, c)
    up = ConvTranspose2x(c)
    rows.append(module_case("transposed 4x4 (ours, 4 phases), 128->256", up, up_input, up_macs))
    name = "transposed 4x4 (dilated form), 128->256"
    rows.append(kernel_case(name, dilated_conv_transpose, up_input, (4, 4, c, c), up_macs))

    stride2 = partial(conv4x4_pad2, stride=2)
    kernel1, input1, macs1 = (4, 4, 64, 128), (b, 129, 129, 64), 16 * 64 * 128
    rows.append(kernel_case("D layer1 s2 64->128, 129->65", stride2, input1, kernel1, macs1))
    stride1 = partial(conv4x4_pad2, stride=1)
    kernel3, input3, macs3 = (4, 4, 256, 512), (b, 33, 33, 256), 16 * 256 * 512
    rows.append(kernel_case("D layer3 s1 256->512 (ours), 33->34", stride1, input3, kernel3, macs3))
    name = "D layer3 s1 256->512 (plain pad 2)"
    rows.append(kernel_case(name, plain_pad2_conv, input3, kernel3, macs3))
    return rows


def vae_case(b: int) -> dict:
    vae = VAE()
    x = jax.random.uniform(jax.random.key(0), (b, 256, 256, 3), minval=-1, maxval=1)
    params = jax.jit(vae.init)(jax.random.key(1), x)

    def loss(params, x):
        reconstruction, encoded = vae.apply(params, x, jax.random.key(2))
        return jnp.mean(jnp.abs(reconstruction - x)) + encoded.kl

    return {
        "case": f"VAE encoder+decoder (64 wide), {b}x256x256x3",
        "forward_s": round(best_time(jax.jit(vae.apply), params, x), 3),
        "forward_backward_s": round(best_time(jax.jit(jax.grad(loss)), params, x), 3),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/layer_throughput.json")
    args = parser.parse_args()

    layers = layer_cases(args.batch)
    print(f"{'layer':<48} {'fwd ms':>9} {'GFLOP/s':>8} {'fwd+bwd ms':>11} {'GFLOP/s':>8} "
          f"{'d input ms':>11} {'GFLOP/s':>8} {'d kernel ms':>12} {'GFLOP/s':>8}")
    for r in layers:
        print(
            f"{r['layer']:<48} {r['forward_ms']:>9.1f} {r['forward_gflops']:>8.1f} "
            f"{r['train_ms']:>11.1f} {r['train_gflops']:>8.1f} "
            f"{r['input_grad_ms']:>11.1f} {r['input_grad_gflops']:>8.1f} "
            f"{r['kernel_grad_ms']:>12.1f} {r['kernel_grad_gflops']:>8.1f}"
        )
    vae = vae_case(args.batch)
    times = f"forward {vae['forward_s']} s, forward+backward {vae['forward_backward_s']} s"
    print(f"{vae['case']}: {times}")

    result = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "jax": jax.__version__,
        },
        "batch": args.batch,
        "layers": layers,
        "vae": vae,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
