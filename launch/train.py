"""Train one stage.

    python launch/train.py --config=configs/vae1.py[:variant] --workdir=DIR [--config.a.b=value]

Resumes from DIR automatically. A bad config stops with one line naming the field.
"""

import logging
import sys

from oldrestore.console import quiet_libraries

quiet_libraries()  # before TensorFlow (tfds) and orbax are imported

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", None, "Stage config file[:variant].")
_WORKDIR = flags.DEFINE_string("workdir", None, "Where checkpoints and records go.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from oldrestore.configuration import ConfigError
    from oldrestore.train.loop import NonFiniteLossError
    from oldrestore.train.run import run

    quiet_libraries()  # again: parsing absl's flags set its logger back to INFO
    logging.getLogger().setLevel(logging.INFO)  # our own messages
    try:
        result = run(_CONFIG.value, _WORKDIR.value)
    except (ConfigError, NonFiniteLossError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2 if isinstance(err, ConfigError) else 1)
    if result.stopped_by:
        sys.exit(128 + 15 if result.stopped_by == "SIGTERM" else 130)


if __name__ == "__main__":
    from oldrestore.cli import parse_flags_or_exit

    app.run(main, flags_parser=parse_flags_or_exit)
