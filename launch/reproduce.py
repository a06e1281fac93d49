"""Reproduce the study: train the whole chain at the cpu recipe within a budget, score it against
the degraded input and the classical pipeline, and export it as a restoration bundle.

    python launch/reproduce.py --output DIR [--budget_minutes=N] [--ablations [ARM ...]]

The budget (default: the recipe's, oldrestore/study/plan.py) becomes fixed step counts up front
(DIR/plan.json), so the same command gives the same numbers on the same kind of machine (the
same steps on any); run it again on the same DIR to resume a killed run (training picks up from
its last checkpoint; restoring and scoring are redone, which checks the numbers).
--ablations also trains each ablation arm (or those named) at the chain's step counts and scores
it the same way; named alone, it adds every arm and the direct baseline.
Writes DIR/results.md (tables, figures, configs, versions), DIR/results.json and
DIR/bundle.msgpack (the chain's weights, for launch/restore.py --checkpoints).
"""

import argparse
import logging
import sys
from pathlib import Path

from oldrestore.console import quiet_libraries

quiet_libraries()  # before TensorFlow (tfds) and orbax are imported


def main(argv=None) -> int:
    from oldrestore.study.plan import ABLATION_CHOICES, RECIPE_MINUTES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget_minutes", type=float, default=RECIPE_MINUTES,
                        help="training time of the main chain on a 2-core CPU (default: "
                             f"{RECIPE_MINUTES}, the recipe's step counts; another budget "
                             "scales them all alike)")
    parser.add_argument("--output", required=True, help="the study's folder (resumable)")
    parser.add_argument("--ablations", nargs="*", choices=ABLATION_CHOICES, metavar="ARM",
                        help="also train and score these ablation arms (all of them, and the "
                             "direct baseline, when none is named) at the same budget: "
                             + ", ".join(ABLATION_CHOICES))
    args = parser.parse_args(argv)
    if args.ablations is None:
        args.ablations = ()
    elif not args.ablations:
        args.ablations = ABLATION_CHOICES
    if args.budget_minutes <= 0:
        parser.error("--budget_minutes must be positive")
    from oldrestore.configuration import ConfigError
    from oldrestore.runs import RunError
    from oldrestore.study.plan import Plan
    from oldrestore.study.reproduce import PlanMismatch, reproduce
    from oldrestore.study.training import Stopped

    logging.basicConfig(level=logging.INFO, format="%(message)s", force=True)  # ours, plainly
    try:
        reproduce(Path(args.output), Plan.for_budget(args.budget_minutes), tuple(args.ablations))
    except (ConfigError, PlanMismatch, RunError, Stopped) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
