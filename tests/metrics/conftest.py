"""The metric tests' fixtures (defined in metric_helpers, which the tests also import from)."""

from metric_helpers import i3d_file, no_weights_from_the_environment, run_dir  # noqa: F401
