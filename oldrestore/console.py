"""What the launchers print: our messages and progress bars, not the INFO lines of the libraries
underneath (orbax logs a dozen per checkpoint, tfds one per prepared split). Warnings and errors
still show."""

import logging
import os


def quiet_libraries() -> None:
    """Call before importing TensorFlow (via tfds) or orbax."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ INFO and WARNING
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # its "oneDNN custom operations" line
    # orbax and tfds log through absl's Python logger, jax through its own.
    for name in ("absl", "orbax", "jax", "tensorflow", "tensorflow_datasets", "clu", "grain"):
        logging.getLogger(name).setLevel(logging.ERROR)
