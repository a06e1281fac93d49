"""Optimizers as the reference builds them: Adam, constant learning rate, then a linear decay
to zero."""

import optax


def constant_then_linear_decay(lr: float, total_steps: int, decay_steps: int) -> optax.Schedule:
    """`lr` until `total_steps - decay_steps`, then linearly to 0 at `total_steps`.

    The reference subtracts lr / niter_decay once per epoch after `niter` epochs; in steps that is
    this schedule with decay_steps = niter_decay epochs' worth of steps.
    """
    decay_steps = min(decay_steps, total_steps)
    constant_steps = total_steps - decay_steps
    if decay_steps == 0:
        return optax.constant_schedule(lr)
    return optax.join_schedules(
        [optax.constant_schedule(lr), optax.linear_schedule(lr, 0.0, decay_steps)],
        boundaries=[constant_steps],
    )


def adam(optim_config, total_steps: int) -> optax.GradientTransformation:
    """Adam with `optim_config.{lr, b1, b2, decay_steps}`."""
    schedule = constant_then_linear_decay(optim_config.lr, total_steps, optim_config.decay_steps)
    return optax.adam(schedule, b1=optim_config.b1, b2=optim_config.b2)


def apply_gradients(optimizer: optax.GradientTransformation, net_state: dict, grads) -> dict:
    """`net_state` ({"params", "opt", ...}) after one step of `optimizer` on `grads`."""
    updates, opt = optimizer.update(grads, net_state["opt"], net_state["params"])
    return dict(net_state, params=optax.apply_updates(net_state["params"], updates), opt=opt)
