"""The file spark-submit runs, for a cluster that starts footfall itself:

    spark-submit --master yarn [options] "$(python -m footfall.spark_submit)" run --engine spark --data DIR

Run as a module, it prints its own path (spark-submit takes a file, not a module);
run by spark-submit, it is the `footfall` command, and the Spark engine uses the
session spark-submit configured (its master and settings) instead of starting one.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _main() -> None:
    if len(sys.argv) == 1:  # python -m footfall.spark_submit: where this file is
        print(Path(__file__).resolve())
        return
    from footfall.cli import main

    main()


if __name__ == "__main__":
    _main()
