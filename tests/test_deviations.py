"""The study's table of the cpu recipe's departures from the reference configuration."""

import pytest

from oldrestore.configuration import load_config_module
from oldrestore.study.deviations import SCALE, deviations
from oldrestore.study.plan import CHAIN, CONFIGS


@pytest.mark.parametrize("stage", [*CHAIN, "face"])
def test_every_stated_deviation_is_a_real_difference(stage):
    """A config's DEVIATIONS must name fields its cpu variant really changes (no stale notes),
    and each shows up in the table with its reason."""
    rows = {row["field"]: row for row in deviations(stage)}
    notes = getattr(load_config_module(CONFIGS / f"{stage}.py"), "DEVIATIONS", {})
    for field, (why, effect) in notes.items():
        assert field in rows, f"{stage}: DEVIATIONS names {field}, which cpu does not change"
        assert (rows[field]["why"], rows[field]["effect"]) == (why, effect)
    for row in rows.values():
        assert row["reference"] != row["cpu"]
        if row["field"] not in notes:
            assert (row["why"], row["effect"]) == SCALE


def test_the_recipe_choices_and_the_scale_are_listed():
    rows = {(r["stage"], r["field"]): r for stage in CHAIN for r in deviations(stage)}
    assert rows[("vae2", "model.colour_stats")]["cpu"] is True
    assert rows[("vae1", "model.colour_stats")]["reference"] is False
    assert rows[("detector", "loss.name")]["cpu"] == "bce"
    assert rows[("mapping", "model.max_channels")] == {
        "stage": "mapping", "field": "model.max_channels", "reference": 512, "cpu": 128,
        "why": SCALE[0], "effect": SCALE[1]}
    assert not any("every_steps" in field or "_dir" in field for _, field in rows)
