"""Discriminator passes shared by the GAN stages: one forward per input, two gradients from it.

The generator's adversarial terms and the discriminator's loss are both functions of the same
discriminator outputs; one forward with `jax.vjp` gives the discriminator's parameter gradient
(for its own loss) and the gradient with respect to the generated images (for the generator's
loss), instead of running D again on a detached copy.
"""

import jax


def has_spectral_state(disc_state) -> bool:
    return "spectral" in disc_state


def disc_forward(net, disc_state, inputs):
    """D(inputs) with its vjp. Returns (outputs, vjp, new disc state).

    vjp(cotangent of outputs) -> (gradient w.r.t. D's params, gradient w.r.t. inputs). With
    spectral norm this is a training-mode pass: one power iteration, whose vectors are returned in
    the new state.
    """
    spectral = has_spectral_state(disc_state)

    def run(params, x):
        if not spectral:
            return net.apply({"params": params}, x), None
        outputs, mutated = net.apply({"params": params, "spectral": disc_state["spectral"]}, x,
                                     update_stats=True, mutable=["spectral"])
        return outputs, mutated["spectral"]

    outputs, vjp, new_spectral = jax.vjp(run, disc_state["params"], inputs, has_aux=True)
    new_state = dict(disc_state, spectral=new_spectral) if spectral else disc_state
    return outputs, vjp, new_state


def add_trees(a, b):
    return jax.tree.map(lambda x, y: x + y, a, b)
