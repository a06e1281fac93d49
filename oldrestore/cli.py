"""Command-line parsing for the launchers: a bad --config or override stops with one line."""

import re
import sys

from absl import flags


def _one_line(err: BaseException) -> str:
    text = str(err).replace("\\n", "\n").replace("\\'", "'")
    if "Traceback" in text:  # a config file that raised: its last line says what went wrong
        head = text.split(":", 1)[0]
        text = f"{head}: {text.strip().splitlines()[-1]}"
    return " ".join(text.split())


def parse_flags_or_exit(argv: list[str]) -> list[str]:
    """absl flags parser for `app.run(..., flags_parser=...)`.

    ml_collections reports an unknown override field as a traceback from deep inside; here every
    parsing problem (unknown field, wrong type, unknown variant, missing flag) is one line.
    """
    try:
        return flags.FLAGS(argv)
    except flags.Error as err:
        message = _one_line(err)
    except (AttributeError, KeyError, TypeError, ValueError) as err:
        cause = err.__cause__ or err.__context__ or err
        message = _one_line(err)
        if isinstance(cause, (AttributeError, KeyError)):
            hint = re.search(r'Did you mean "\w+"', str(cause))
            fields = [a.split("=")[0] for a in argv if a.startswith("--config.")]
            message = f"{' or '.join(fields)}: no such config field" + (
                f" ({hint.group(0)}?)" if hint else "")
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)
