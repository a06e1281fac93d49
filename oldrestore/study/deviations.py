"""The cpu recipe's departures from the reference: every field where a stage's `cpu` config
differs from its reference config, with the reason and the measured effect that the config file
states in its DEVIATIONS (field -> (why, measured effect)). Fields it does not name are the
scale a 2-core machine imposes (narrower networks, smaller batches and crops).

Read from the configs themselves, so no deviation goes unlisted. Left out: where the data and the
frozen networks live, how often records are written, and the step counts and learning-rate
decay, which the study's plan sets."""

from oldrestore.configuration import load_config_module
from oldrestore.study.plan import CONFIGS

SCALE = ("scale: 2 CPU cores", "not measured alone")
_BOOKKEEPING = ("log_every_steps", "ckpt_every_steps", "image_every_steps", "total_steps",
                "decay_steps", "_dir", "frozen.", "variant", "loop_over_examples")


def _flat(config, prefix: str = "") -> dict:
    flat = {}
    for name, value in config.items():
        field = f"{prefix}{name}"
        if hasattr(value, "items"):
            flat.update(_flat(value, field + "."))
        else:
            flat[field] = value
    return flat


def deviations(stage: str, variant: str = "cpu") -> list[dict]:
    """[{stage, field, reference, cpu, why, effect}] of configs/<stage>.py, sorted by field
    ("cpu": the value in `variant`)."""
    module = load_config_module(CONFIGS / f"{stage}.py")
    reference, cpu = _flat(module.get_config()), _flat(module.get_config(variant))
    notes = getattr(module, "DEVIATIONS", {})
    rows = []
    for field in sorted(reference.keys() | cpu.keys()):
        if any(word in field for word in _BOOKKEEPING):
            continue
        if reference.get(field) != cpu.get(field):
            why, effect = notes.get(field, SCALE)
            rows.append({"stage": stage, "field": field, "reference": reference.get(field),
                         "cpu": cpu.get(field), "why": why, "effect": effect})
    return rows
