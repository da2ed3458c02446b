"""``python -m compat.staging.scan PATH [--format text|json] [--fail-on-findings]``."""

import sys

from compat.staging.scan.cli import main

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
