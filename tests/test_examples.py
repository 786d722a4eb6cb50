"""Run the examples that reproduce Y. Shin, arXiv:1910.05874, as smoke tests."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.examples

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"

# Each example and the figure it saves in the working directory.
FIGURES = {
    "plot_width_independence.py": "width_independence.png",
    "plot_depth_acceleration.py": "depth_acceleration.png",
    "plot_initialization.py": "initialization.png",
    "plot_learning_rate_rules.py": "learning_rate_rules.png",
}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("script, figure", FIGURES.items())
def test_example_writes_figure(script, figure, tmp_path):
    environment = {
        **os.environ,
        "MPLBACKEND": "Agg",
        # The matrices are at most 100 x 100, too small for BLAS threads to
        # help; threads only compete with the other tests for the cores.
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }

    completed = subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / script)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
    )

    assert completed.returncode == 0, completed.stderr
    assert "Warning" not in completed.stderr, completed.stderr
    written = tmp_path / figure
    assert written.is_file()
    assert written.read_bytes().startswith(PNG_SIGNATURE)
