"""``python -m benchmarks [--quick] [--out DIR] [--device cpu|cuda|all] [key=value ...]``."""

import sys

from vidgan.cli import main

main(["bench", *sys.argv[1:]])
