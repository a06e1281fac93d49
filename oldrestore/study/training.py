"""Training a study's arms at a plan's fixed step counts, one stage after another, resuming
whatever a killed run left: a stage whose last checkpoint is its last step is done."""

import datetime
import json
import time
from pathlib import Path

from oldrestore import runs
from oldrestore.outputs import write_json_atomically
from oldrestore.study.plan import (
    CHAIN,
    MAIN,
    SECONDS_PER_STEP,
    Arm,
    Data,
    Plan,
    stage_config,
)
from oldrestore.train.run import run


class Stopped(RuntimeError):
    """A stage was stopped by a signal (its checkpoint is saved): run the command again."""


def arm_workdirs(arm: Arm, output: Path) -> dict[str, Path]:
    """Where each chain stage of `arm` lives: its own folder for the stages it retrains, the
    main chain's for the others."""
    return {stage: output / (arm.name if stage in arm.retrains() else MAIN.name) / stage
            for stage in CHAIN}


def is_trained(workdir: Path, steps: int) -> bool:
    return steps in runs.checkpoint_steps(workdir)


def _eta(minutes: float) -> str:
    finish = datetime.datetime.now() + datetime.timedelta(minutes=minutes)
    return finish.strftime("%H:%M")


def train_jobs(jobs: list[tuple[str, str, Path, object]], timings: Path, say=print,
               devices=None) -> None:
    """jobs: (label, stage, workdir, config) in order; each trained to config.total_steps on
    `devices` (default: all). The minutes each job took (its last, uninterrupted part) go into
    the JSON file `timings`."""
    remaining = []
    for job in jobs:
        label, _, workdir, config = job
        if is_trained(workdir, config.total_steps):
            say(f"{label}: done ({config.total_steps} steps in {workdir})")
        else:
            remaining.append(job)

    def planned_minutes(items):
        return sum(c.total_steps * SECONDS_PER_STEP[s] / 60.0 for _, s, _, c in items)

    for i, (label, _, workdir, config) in enumerate(remaining):
        minutes = planned_minutes(remaining[i:])
        say(f"[{i + 1}/{len(remaining)}] {label}: {config.total_steps} steps, about "
            f"{planned_minutes([remaining[i]]):.0f} min; all remaining training done about "
            f"{_eta(minutes)}")
        started = time.perf_counter()
        result = run(config, workdir, devices)
        if result.stopped_by:
            raise Stopped(f"{label}: stopped by {result.stopped_by} at step {result.step}; run "
                          "the same command again to resume")
        minutes = (time.perf_counter() - started) / 60.0
        say(f"{label}: {config.total_steps} steps in {minutes:.1f} min")
        done = json.loads(timings.read_text()) if timings.is_file() else {}
        write_json_atomically(timings, {**done, label: round(minutes, 2)})


def chain_jobs(arm: Arm, plan: Plan, output: Path, variant: str,
               data: Data) -> list[tuple[str, str, Path, object]]:
    workdirs = arm_workdirs(arm, output)
    return [(f"{arm.name}/{stage}", stage, workdirs[stage],
             stage_config(stage, plan.steps[stage], workdirs, arm.overrides.get(stage), variant,
                          data))
            for stage in arm.retrains()]
