"""The project's one benchmark, every section on one machine in one invocation, next to the
reference timed in the same run (benchmarks/run_all.py says what it measures):

    python launch/benchmark.py [--quick] [--out DIR] [--runs N] [--restore-sizes 256 512 ...]
"""

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "run_all.py"),
                   run_name="__main__")
