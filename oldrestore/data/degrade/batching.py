"""How the degradation runs under vmap: vectorised, or as a loop over the examples."""

import jax


def per_example(fn, loop: bool):
    """`fn` itself, or `fn` made to run as a loop over the examples when vmapped (`loop`).

    Vectorised, a switch on a per-example index evaluates every branch for every example (four
    operations at four positions, every switched-off defect). A loop runs only the chosen ones:
    several times faster on CPU and on one device. But a loop indexes the batch axis, so inside a
    jit whose batch is sharded over devices it gathers the whole batch on every device.
    """
    return jax.custom_batching.sequential_vmap(fn) if loop else fn
