"""Profile the default DeepLinearRegressor fit on tall data.

Usage::

    python benchmarks/profile_tall.py [--rows 200000] [--features 100] [--top 25]

Fits ``DeepLinearRegressor(random_state=0)`` once on the same correlated
standard normal data as ``run.py`` (200 000 x 100 by default) under
:mod:`cProfile`, prints the ``--top`` functions by cumulative time and the
share of the fit spent in input validation, the statistics pass and the
solver. Then it times the fit, ``X.T @ X`` and the statistics pass outside
the profiler. BLAS runs on one thread, as in ``run.py``.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sklearn_deeplinear import DeepLinearRegressor

sys.path.insert(0, os.path.dirname(__file__))
from run import make_tall, package_fingerprint  # noqa: E402

# Functions whose cumulative time splits the fit, by name as cProfile reports it.
PHASES = {
    "input validation": "validate_data",
    "statistics pass": "compute_scatter",
    "solver": "fit_bcgd",
}


def print_phases(stats):
    """Print the cumulative time of each phase of the fit from the profile."""
    totals = dict.fromkeys(PHASES, 0.0)
    fit_seconds = 0.0
    for (filename, _, function), (_, _, _, cumulative, _) in stats.stats.items():
        if function == "fit" and filename.endswith("_estimator.py"):
            fit_seconds = max(fit_seconds, cumulative)
        for phase, name in PHASES.items():
            if function == name:
                totals[phase] = max(totals[phase], cumulative)
    print(f"Fit under the profiler: {fit_seconds:.3f} s, of which")
    for phase, seconds in totals.items():
        share = seconds / fit_seconds if fit_seconds else float("nan")
        print(f"  {phase} ({PHASES[phase]}): {seconds:.3f} s ({share:.0%})")


def time_call(function):
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def print_split(X, y):
    """Time the fit, ``X.T @ X`` and the statistics pass, each on its own.

    The statistics pass is the package's private ``compute_scatter``; when
    it cannot be imported, only the fit and ``X.T @ X`` are timed.
    """
    fit_seconds, model = time_call(
        lambda: DeepLinearRegressor(random_state=0).fit(X, y)
    )
    gram_seconds, _ = time_call(lambda: X.T @ X)
    print(f"\nFit: {fit_seconds:.3f} s, {model.n_iter_} sweeps.")
    print(f"X.T @ X alone: {gram_seconds:.3f} s.")
    try:
        from sklearn_deeplinear._statistics import compute_scatter
    except ImportError as error:
        print(f"Statistics pass not timed: {error}.")
        return
    weights = np.ones(X.shape[0])
    statistics_seconds, _ = time_call(
        lambda: compute_scatter(X, y.reshape(-1, 1), weights, True)
    )
    rest = fit_seconds - statistics_seconds
    print(
        f"Statistics pass (compute_scatter): {statistics_seconds:.3f} s; "
        f"the rest of the fit (validation, start, solver): {rest:.3f} s."
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000, help="samples")
    parser.add_argument("--features", type=int, default=100, help="features")
    parser.add_argument("--top", type=int, default=25, help="functions to print")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="threads of the BLAS library, 0 for the library's own choice "
        "(default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.blas_threads:
        threadpool_limits(limits=args.blas_threads, user_api="blas")

    problem = make_tall(args.rows, args.features, seed=0)
    X, y = problem.X, problem.y
    # A first small fit imports and warms up everything outside the profile.
    DeepLinearRegressor(random_state=0).fit(X[:1000], y[:1000])

    profiler = cProfile.Profile()
    profiler.enable()
    DeepLinearRegressor(random_state=0).fit(X, y)
    profiler.disable()

    output = io.StringIO()
    stats = pstats.Stats(profiler, stream=output)
    stats.sort_stats("cumulative").print_stats(args.top)
    print(
        f"DeepLinearRegressor() on {problem.description}; package sources "
        f"(SHA-256 of the .py files) {package_fingerprint()}."
    )
    print(output.getvalue())
    print_phases(stats)

    print_split(X, y)


if __name__ == "__main__":
    main()
