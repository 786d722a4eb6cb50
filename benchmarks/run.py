"""Time DeepLinearRegressor against scikit-learn's least-squares peers.

Usage::

    python benchmarks/run.py [--quick] [--json PATH]

The problems are tall synthetic data, diabetes, linnerud, an ill-conditioned
multi-output problem and a sparse one. On each, the script fits
``LinearRegression``, ``Ridge(solver="cholesky", alpha=1e-10)`` and
``MLPRegressor`` without hidden layers, once with ``solver="adam"`` at its
default settings and once with ``solver="lbfgs"`` run to a tight tolerance.
It also fits ``DeepLinearRegressor`` at depths 1 to 8, with and without
Anderson acceleration. It prints one Markdown table per problem and writes
everything to a JSON file (``benchmarks/results/latest.json`` by default).

How the figures are measured:

- Each estimator is fitted in a forked child process, several times in a
  row, and the best wall-clock time is kept, because the machine is shared.
  Repeats stop early once the fits of one estimator have used up
  ``--repeat-budget`` seconds, so slow fits run once. Fast fits repeat
  until they have used ``--min-seconds`` (up to ``MAX_REPEATS`` fits): the
  first fits in a forked child pay for copy-on-write page faults and cold
  caches, and on diabetes the fifth fit of a 1 ms estimator was still 2 times
  slower than its twentieth.
- BLAS runs on one thread unless ``--blas-threads`` sets another count. On a
  machine whose cores are busy with other work, OpenBLAS threads wait for
  each other. On 2 shared cores, ``X.T @ X`` on 200 000 x 100 took 1.0 to
  1.6 s with 2 threads and 0.08 to 0.2 s with 1 thread.
- Peak memory is the growth of the child's resident set size (``VmHWM``
  minus ``VmRSS`` before the fit, after resetting the high-water mark through
  ``/proc/self/clear_refs``). It includes BLAS buffers and every numpy array
  allocated by the fit. The largest growth over the repeats is reported.
- A fit that runs longer than ``--time-limit`` seconds is stopped. Deeper
  ``DeepLinearRegressor`` configurations are then skipped on that problem,
  because a deeper network costs more per sweep. Networks with more than
  ``--max-parameters`` weights are not fitted at all. At the default width
  ``max(n_features, n_outputs)``, every hidden layer on thousands of
  features is a dense square matrix that costs a QR factorisation to start
  and gigabytes to keep.
- The loss is half the mean squared error over samples and outputs, the scale
  of ``MLPRegressor.loss_curve_``. The gap is ``(loss - loss_ols) /
  loss_ols``, with ``loss_ols`` the loss of ``LinearRegression`` on dense data
  (least squares by ``scipy.linalg.lstsq``) and of a Cholesky solve of the
  centred normal equations on sparse data, where ``LinearRegression`` stops
  ``scipy.sparse.linalg.lsqr`` at ``tol=1e-6``.
"""

import argparse
import datetime
import hashlib
import json
import multiprocessing
import os
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy
import scipy.sparse as sp
import sklearn
from scipy import linalg
from sklearn.datasets import load_diabetes, load_linnerud
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import sklearn_deeplinear
from sklearn_deeplinear import DeepLinearRegressor

DEPTHS = range(1, 9)
ACCELERATIONS = ("anderson", "none")
# The depths that the main table shows next to the defaults.
TABLE_DEPTHS = (1, 3, 8)
GAP_TARGET = 1e-6
# MLPRegressor's lbfgs stops when an iteration lowers the loss by less than
# SciPy's default ftol (about 2.2e-9 relative), at loss gaps of 1e-13 to 1e-8
# here. DeepLinearRegressor's default tol=1e-10 bounds the distance of coef_
# to its limit, a loss gap near 1e-20. This tol stops it at an accuracy
# closer to lbfgs's, for a comparison at equal or smaller loss gaps.
MATCHED_TOL = 1e-6
MATCHED_KEY = ("matched", MATCHED_TOL)
ROUNDOFF_GAP = 1e-14
# Most fits of one estimator on one problem (see --min-seconds).
MAX_REPEATS = 200
DEFAULT_JSON = os.path.join(os.path.dirname(__file__), "results", "latest.json")


@dataclass
class Problem:
    """A regression problem and what is measured on it."""

    name: str
    description: str
    X: object
    y: np.ndarray
    standardised: bool
    info: dict = field(default_factory=dict)
    reference_loss: float = float("nan")
    results: dict = field(default_factory=dict)
    timed_out_depth: int | None = None


# ---------------------------------------------------------------------------
# Problems


def standardise(array):
    """Return ``array`` with each column centred and scaled to unit variance."""
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 1:
        return (array - array.mean()) / array.std()
    return StandardScaler().fit_transform(array)


def covariance_condition(X):
    """Return the condition number of the covariance matrix of dense ``X``."""
    eigenvalues = linalg.eigvalsh(np.cov(X, rowvar=False))
    return float(eigenvalues[-1] / eigenvalues[0])


def make_tall(n_samples, n_features, seed):
    """Correlated standard normal features and a noisy linear target.

    Every feature has unit variance and neighbouring features have correlation
    0.5 (an AR(1) sequence along the columns), which puts the condition number
    of the covariance near 9. The noise explains 20 % of the target variance.
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    rho = 0.5
    for j in range(1, n_features):
        X[:, j] *= np.sqrt(1.0 - rho**2)
        X[:, j] += rho * X[:, j - 1]
    signal = X @ rng.standard_normal(n_features)
    y = signal + 0.5 * signal.std() * rng.standard_normal(n_samples)
    description = (
        f"{n_samples} x {n_features}, AR(1) correlation 0.5 between neighbouring "
        "columns, 1 output, target standardised"
    )
    problem = Problem(
        f"tall {n_samples} x {n_features}",
        description,
        X,
        standardise(y),
        standardised=True,
    )
    problem.info["covariance_condition"] = covariance_condition(X[:100_000])
    return problem


def make_diabetes():
    X, y = load_diabetes(return_X_y=True)
    return Problem(
        "diabetes",
        "442 x 10, features and target standardised",
        standardise(X),
        standardise(y),
        standardised=True,
    )


def make_linnerud():
    X, Y = load_linnerud(return_X_y=True)
    return Problem(
        "linnerud",
        "20 x 3, 3 outputs, features and targets standardised",
        standardise(X),
        standardise(Y),
        standardised=True,
    )


def make_ill_conditioned(seed):
    """Rotated log-spaced spectrum with condition number 1e4, then standardised.

    ``X = Z Q diag(sqrt(ev)) Q.T`` with ``Z`` standard normal, ``Q`` a random
    rotation and ``ev = logspace(0, -4, 50)``. The targets are
    ``Y = X B + 0.1 E`` with ``B`` and ``E`` standard normal.
    """
    n_samples, n_features, n_outputs = 5_000, 50, 5
    rng = np.random.default_rng(seed)
    rotation, _ = linalg.qr(rng.standard_normal((n_features, n_features)))
    eigenvalues = np.logspace(0, -4, n_features)
    mixing = rotation @ np.diag(np.sqrt(eigenvalues)) @ rotation.T
    X = rng.standard_normal((n_samples, n_features)) @ mixing
    Y = X @ rng.standard_normal((n_features, n_outputs))
    Y += 0.1 * rng.standard_normal((n_samples, n_outputs))
    X = standardise(X)
    problem = Problem(
        "ill-conditioned",
        f"{n_samples} x {n_features} x {n_outputs} outputs, population covariance "
        "condition number 1e4 (rotated log-spaced eigenvalues), features and "
        "targets standardised",
        X,
        standardise(Y),
        standardised=True,
    )
    problem.info["covariance_condition"] = covariance_condition(X)
    return problem


def make_sparse(n_samples, n_features, density, seed):
    """Sparse CSR features scaled to unit variance (not centred), 1 output."""
    rng = np.random.default_rng(seed)
    X = sp.random_array(
        (n_samples, n_features),
        density=density,
        format="csr",
        rng=rng,
        data_sampler=rng.standard_normal,
    )
    X = sp.csr_array(StandardScaler(with_mean=False).fit_transform(X))
    signal = X @ (rng.standard_normal(n_features) / np.sqrt(n_features * density))
    y = signal + 0.5 * signal.std() * rng.standard_normal(n_samples)
    problem = Problem(
        f"sparse {n_samples} x {n_features}",
        f"{n_samples} x {n_features} CSR, density {density:.2%} "
        f"({X.nnz} stored values), columns scaled to unit variance without "
        "centring, 1 output, target standardised",
        X,
        standardise(y),
        standardised=False,
    )
    problem.info["nnz"] = int(X.nnz)
    return problem


def sparse_least_squares_loss(X, y):
    """Return the least-squares loss from the centred normal equations.

    The normal equations square the condition number, which is harmless here:
    the loss is quadratic around its minimum, so a relative error ``e`` in the
    coefficients changes it by about ``e**2``.
    """
    n_samples = X.shape[0]
    x_mean = np.asarray(X.mean(axis=0)).ravel()
    y_centred = y - y.mean()
    gram = (X.T @ X).toarray() - n_samples * np.outer(x_mean, x_mean)
    rhs = X.T @ y_centred
    coef = linalg.solve(gram, rhs, assume_a="pos")
    residual = y_centred - (X @ coef - x_mean @ coef)
    return 0.5 * float(np.mean(residual**2))


def build_problems(quick, seed):
    if quick:
        tall_sizes = [(20_000, 100), (100_000, 50)]
        sparse_size = (10_000, 500, 0.01)
    else:
        tall_sizes = [(200_000, 100), (1_000_000, 50)]
        sparse_size = (50_000, 5_000, 0.002)
    problems = [make_tall(n, p, seed + i) for i, (n, p) in enumerate(tall_sizes)]
    problems += [make_diabetes(), make_linnerud(), make_ill_conditioned(seed)]
    problems.append(make_sparse(*sparse_size, seed))
    return problems


# ---------------------------------------------------------------------------
# Estimators


def deep_linear(depth=None, acceleration=None):
    """Return a DeepLinearRegressor with the defaults except those given."""
    params = {"random_state": 0}
    if depth is not None:
        params["depth"] = depth
    if acceleration is not None:
        params["acceleration"] = acceleration
    return DeepLinearRegressor(**params)


def count_parameters(estimator, problem):
    """Return the number of weights of ``estimator``'s network on ``problem``."""
    depth = estimator.get_params()["depth"]
    width = estimator.get_params()["width"]
    n_features = problem.X.shape[1]
    n_outputs = 1 if problem.y.ndim == 1 else problem.y.shape[1]
    if width is None:
        width = max(n_features, n_outputs)
    sizes = [n_features] + [width] * (depth - 1) + [n_outputs]
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def deep_linear_key(estimator):
    params = estimator.get_params()
    return ("deep", params["depth"], params["acceleration"])


def peer_estimators(problem):
    """Return ``(label, factory)`` pairs for the scikit-learn estimators."""
    if sp.issparse(problem.X):
        # Ridge's Cholesky solver rejects sparse X with fit_intercept=True.
        ridge_label = 'Ridge(solver="sparse_cg", alpha=1e-10, tol=1e-10)'

        def ridge():
            return Ridge(solver="sparse_cg", alpha=1e-10, tol=1e-10)

    else:
        ridge_label = 'Ridge(solver="cholesky", alpha=1e-10)'

        def ridge():
            return Ridge(solver="cholesky", alpha=1e-10)

    return [
        ("LinearRegression", LinearRegression),
        (ridge_label, ridge),
        (
            'MLPRegressor(solver="adam"), defaults',
            lambda: MLPRegressor(
                hidden_layer_sizes=(), activation="identity", random_state=0
            ),
        ),
        (
            'MLPRegressor(solver="lbfgs", max_iter=2000, tol=1e-10, alpha=0)',
            lambda: MLPRegressor(
                hidden_layer_sizes=(),
                activation="identity",
                solver="lbfgs",
                max_iter=2000,
                tol=1e-10,
                alpha=0.0,
                random_state=0,
            ),
        ),
    ]


# ---------------------------------------------------------------------------
# Measuring one estimator in a forked child process


def _read_status_kib(key):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _reset_peak_rss():
    # Writing 5 resets VmHWM to the current resident set size (Linux >= 4.0).
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def half_mse(y, prediction):
    y = np.asarray(y, dtype=np.float64)
    prediction = np.asarray(prediction, dtype=np.float64).reshape(y.shape)
    return 0.5 * float(np.mean((y - prediction) ** 2))


def _fit_repeatedly(factory, X, y, args, sender):
    """Fit in the child process and send one message per repeat."""
    # Start BLAS threads and buffers before the first measurement.
    warm = np.ones((64, 64))
    warm @ warm
    spent = 0.0
    for repeat in range(1, MAX_REPEATS + 1):
        try:
            estimator = factory()
            _reset_peak_rss()
            baseline_kib = _read_status_kib("VmRSS")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                start = time.perf_counter()
                estimator.fit(X, y)
                seconds = time.perf_counter() - start
            peak_kib = _read_status_kib("VmHWM")
            messages = [
                str(warning.message)
                for warning in caught
                if issubclass(warning.category, ConvergenceWarning)
            ]
            n_iter = getattr(estimator, "n_iter_", None)
            if n_iter is not None:
                n_iter = int(np.max(n_iter))
            sender.send(
                {
                    "seconds": seconds,
                    "peak_mib": (peak_kib - baseline_kib) / 1024.0,
                    "loss": half_mse(y, estimator.predict(X)),
                    "n_iter": n_iter,
                    "convergence_warnings": messages,
                }
            )
        except Exception as error:  # reported in the table, not re-raised
            sender.send({"error": f"{type(error).__name__}: {error}"})
            break
        spent += seconds
        enough = repeat >= args.repeats and spent >= args.min_seconds
        if spent > args.repeat_budget or enough:
            break
    sender.send(None)
    sender.close()


def measure(factory, X, y, args):
    """Fit ``factory()`` on ``(X, y)`` in a forked child and collect the runs.

    Returns a dict with the best time, the largest memory growth, the loss,
    the iteration count and the convergence warnings of the fastest run.
    ``timeout`` is true when a fit ran longer than ``args.time_limit`` and
    ``error`` names an exception of a fit. When no fit finished, the dict has
    no ``seconds``.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_fit_repeatedly,
        args=(factory, X, y, args, sender),
    )
    child.start()
    sender.close()
    runs = []
    timed_out = False
    error = None
    while True:
        if not receiver.poll(args.time_limit):
            timed_out = True
            break
        try:
            message = receiver.recv()
        except EOFError:
            error = f"the child process exited with code {child.exitcode}"
            break
        if message is None:
            break
        if "error" in message:
            error = message["error"]
            break
        runs.append(message)
    if child.is_alive():
        child.kill()
    child.join()
    receiver.close()

    if not runs:
        return {"timeout": timed_out, "error": error, "runs": 0}
    best = min(runs, key=lambda run: run["seconds"])
    return {
        "seconds": best["seconds"],
        "all_seconds": [run["seconds"] for run in runs],
        "peak_mib": max(run["peak_mib"] for run in runs),
        "loss": best["loss"],
        "n_iter": best["n_iter"],
        "convergence_warnings": best["convergence_warnings"],
        "timeout": timed_out,
        "error": error,
        "runs": len(runs),
    }


def best_time(function, repeats):
    """Return the best wall-clock time of ``repeats`` calls of ``function``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


# ---------------------------------------------------------------------------
# Running a problem


def run_problem(problem, args):
    print(f"\n## {problem.name}\n\n{problem.description}.", flush=True)
    condition = problem.info.get("covariance_condition")
    if condition is not None:
        print(f"Condition number of the feature covariance: {condition:.3g}.")

    for label, factory in peer_estimators(problem):
        problem.results[("peer", label)] = measure(factory, problem.X, problem.y, args)
        print(f"  measured {label}", file=sys.stderr, flush=True)

    if sp.issparse(problem.X):
        problem.reference_loss = sparse_least_squares_loss(problem.X, problem.y)
    else:
        problem.reference_loss = problem.results[("peer", "LinearRegression")]["loss"]

    problem.results[MATCHED_KEY] = measure(
        lambda: DeepLinearRegressor(tol=MATCHED_TOL, random_state=0),
        problem.X,
        problem.y,
        args,
    )
    print(f"  measured {MATCHED_KEY}", file=sys.stderr, flush=True)

    for depth in DEPTHS:
        for acceleration in ACCELERATIONS:
            key = ("deep", depth, acceleration)
            if problem.timed_out_depth is not None and depth >= problem.timed_out_depth:
                problem.results[key] = {"skipped_after_depth": problem.timed_out_depth}
                continue
            n_parameters = count_parameters(deep_linear(depth), problem)
            if n_parameters > args.max_parameters:
                problem.results[key] = {"skipped_parameters": n_parameters}
                continue
            result = measure(
                lambda d=depth, a=acceleration: deep_linear(d, a),
                problem.X,
                problem.y,
                args,
            )
            problem.results[key] = result
            if result["timeout"] and problem.timed_out_depth is None:
                problem.timed_out_depth = depth
            print(f"  measured {key}", file=sys.stderr, flush=True)

    print_main_table(problem, args)
    print_depth_table(problem, args)


def relative_gap(loss, reference):
    return (loss - reference) / reference


def format_result_cells(result, reference, lr_seconds, args):
    """Return the cells after the label for one row of the main table."""
    if "skipped_after_depth" in result:
        text = (
            f"not run: depth {result['skipped_after_depth']} exceeded "
            f"{args.time_limit:g} s"
        )
        return [text, "", "", "", "", ""]
    if "skipped_parameters" in result:
        text = f"not run: {result['skipped_parameters']:.3g} weights"
        return [text, "", "", "", "", ""]
    if result.get("error") and not result["runs"]:
        return [f"failed: {result['error']}", "", "", "", "", ""]
    if result["timeout"] and not result["runs"]:
        return [f"> {args.time_limit:g} s, stopped", "", "", "", "", ""]
    seconds = result["seconds"]
    ratio = seconds / lr_seconds if lr_seconds else float("nan")
    gap = relative_gap(result["loss"], reference)
    n_iter = "" if result["n_iter"] is None else str(result["n_iter"])
    warned = "yes" if result["convergence_warnings"] else "no"
    return [
        f"{seconds:.4g}",
        f"{ratio:.3g}",
        f"{gap:.1e}",
        n_iter,
        f"{result['peak_mib']:.1f}",
        warned,
    ]


def print_markdown_table(header, rows):
    print("\n| " + " | ".join(header) + " |")
    print("|" + "|".join(" --- " for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main_table_rows(problem):
    """Return ``(label, key)`` pairs of the main table: peers, then ours."""
    defaults = DeepLinearRegressor().get_params()
    rows = [(key[1], key) for key in problem.results if key[0] == "peer"]
    rows.append(
        (
            f"DeepLinearRegressor() (depth={defaults['depth']}, "
            f"acceleration={defaults['acceleration']!r})",
            deep_linear_key(DeepLinearRegressor()),
        )
    )
    rows.append((f"DeepLinearRegressor(tol={MATCHED_TOL:g})", MATCHED_KEY))
    for depth in TABLE_DEPTHS:
        rows.append(
            (f"DeepLinearRegressor(depth={depth})", deep_linear_key(deep_linear(depth)))
        )
    return rows


def print_main_table(problem, args):
    lr = problem.results[("peer", "LinearRegression")]
    lr_seconds = lr.get("seconds")
    header = ["estimator", "time (s)", "/ LR", "loss gap", "iter", "peak MiB", "warn"]
    rows = []
    for label, key in main_table_rows(problem):
        result = problem.results[key]
        cells = format_result_cells(result, problem.reference_loss, lr_seconds, args)
        rows.append([label, *cells])
    print_markdown_table(header, rows)
    print(f"\nOLS loss (half mean squared error): {problem.reference_loss:.10g}.")


def print_depth_table(problem, args):
    """Print sweeps, loss gap, time and warnings for every depth and acceleration."""
    lr_seconds = problem.results[("peer", "LinearRegression")].get("seconds")
    header = ["depth"]
    for acceleration in ACCELERATIONS:
        header += [f"{acceleration}: {column}" for column in ("sweeps", "gap", "/ LR")]
        header.append(f"{acceleration}: warn")
    rows = []
    for depth in DEPTHS:
        row = [str(depth)]
        for acceleration in ACCELERATIONS:
            result = problem.results[("deep", depth, acceleration)]
            cells = format_result_cells(
                result, problem.reference_loss, lr_seconds, args
            )
            # Keep sweeps, gap, ratio to LinearRegression and the warning flag.
            row += [cells[3], cells[2], cells[1], cells[5]]
            if not cells[1]:
                row[-4] = cells[0]
        rows.append(row)
    print("\nDeepLinearRegressor by depth and acceleration:")
    print_markdown_table(header, rows)


# ---------------------------------------------------------------------------
# Floors and time per sweep


def run_floor(problem, args):
    """Time ``X.T @ X``, the statistics pass and the default fit, interleaved.

    The three are timed in turn in each repeat and the best of each is kept,
    so that all three see the same load on the shared machine.
    """
    X = problem.X
    y2d = problem.y.reshape(len(problem.y), -1)
    weights = np.ones(X.shape[0])
    try:
        from sklearn_deeplinear._statistics import compute_scatter

        def statistics():
            return compute_scatter(X, y2d, weights, True)

    except ImportError as error:
        statistics = None
        statistics_error = f"{type(error).__name__}: {error}"

    tasks = {
        "gram_seconds": lambda: X.T @ X,
        "default_fit_seconds": lambda: DeepLinearRegressor(random_state=0).fit(
            X, problem.y
        ),
    }
    if statistics is not None:
        tasks["statistics_seconds"] = statistics
    times = {name: [] for name in tasks}
    for _ in range(args.repeats):
        for name, task in tasks.items():
            times[name].append(best_time(task, 1))
    floor = {name: min(values) for name, values in times.items()}
    problem.info["floor"] = floor

    gram_seconds = floor["gram_seconds"]
    print(f"\n### Floor on {problem.name}\n")
    print(f"- `X.T @ X` alone: {gram_seconds:.4g} s")
    if statistics is not None:
        print(
            "- statistics pass of the estimator (`compute_scatter`): "
            f"{floor['statistics_seconds']:.4g} s "
            f"({floor['statistics_seconds'] / gram_seconds:.2f} x `X.T @ X`)"
        )
    else:
        print(f"- statistics pass not timed: {statistics_error}")
    print(
        f"- DeepLinearRegressor() fit: {floor['default_fit_seconds']:.4g} s "
        f"({floor['default_fit_seconds'] / gram_seconds:.2f} x `X.T @ X`)"
    )


def time_solver(X, y, repeats):
    """Time the statistics pass and the default solver on ``(X, y)``.

    The solver runs from the default start with ``tol=0``, so it sweeps until
    a sweep no longer lowers the loss (or ``max_iter``), and its best time is
    divided by the sweeps it ran. This calls the package's private functions.
    """
    from sklearn.utils import check_random_state

    from sklearn_deeplinear._initializers import INITIALIZERS
    from sklearn_deeplinear._solver import fit_bcgd
    from sklearn_deeplinear._statistics import compute_scatter

    defaults = DeepLinearRegressor().get_params()
    n_rows = X.shape[0]
    Y = y.reshape(n_rows, -1)
    weights = np.ones(n_rows)
    statistics_seconds = best_time(
        lambda: compute_scatter(X, Y, weights, True), repeats
    )
    gram, cross, target_ss, _, _ = compute_scatter(X, Y, weights, True).problem()
    layer_sizes = DeepLinearRegressor()._layer_sizes(X.shape[1], Y.shape[1])
    acceleration = None if defaults["acceleration"] == "none" else "anderson"

    def solve():
        start_weights = INITIALIZERS[defaults["init"]](
            layer_sizes, check_random_state(0)
        )
        return fit_bcgd(
            start_weights,
            gram,
            cross,
            target_ss,
            acceleration=acceleration,
            max_iter=defaults["max_iter"],
            tol=0.0,
        )

    n_sweeps = solve().n_iter
    solver_seconds = best_time(solve, repeats)
    return {
        "n_rows": n_rows,
        "n_features": X.shape[1],
        "statistics_seconds": statistics_seconds,
        "solver_seconds": solver_seconds,
        "sweeps": n_sweeps,
        "seconds_per_sweep": solver_seconds / n_sweeps,
    }


def run_time_per_sweep(X, y, row_counts, args):
    """Print the time per sweep of the default solver at several row counts.

    A change of the private functions that :func:`time_solver` calls is
    reported, not raised.
    """
    defaults = DeepLinearRegressor().get_params()
    try:
        rows = [time_solver(X[:n], y[:n], args.repeats) for n in row_counts]
    except (ImportError, TypeError, AttributeError) as error:
        print(f"\nTime per sweep not measured: {type(error).__name__}: {error}")
        return {"error": f"{type(error).__name__}: {error}"}

    print(
        f"\n## Time per sweep (defaults: depth={defaults['depth']}, "
        f"acceleration={defaults['acceleration']!r}, {X.shape[1]} features)\n\n"
        "The solver runs alone on statistics formed once, with tol=0, and its "
        "best time is divided by the sweeps it ran."
    )
    header = ["rows", "statistics (s)", "solver (s)", "sweeps", "ms per sweep"]
    table = [
        [
            str(row["n_rows"]),
            f"{row['statistics_seconds']:.4g}",
            f"{row['solver_seconds']:.4g}",
            str(row["sweeps"]),
            f"{1e3 * row['seconds_per_sweep']:.3g}",
        ]
        for row in rows
    ]
    print_markdown_table(header, table)
    return {"rows": rows}


# ---------------------------------------------------------------------------
# Summary: which defaults meet the accuracy target, and where the defaults fall short


def passes(result, reference):
    if "seconds" not in result:
        return False
    gap = relative_gap(result["loss"], reference)
    return gap <= GAP_TARGET and not result["convergence_warnings"]


def print_summary(problems):
    """Print, per configuration, the standardised problems it solves and its time.

    The time column is the geometric mean, over the standardised problems, of
    the fit time divided by LinearRegression's.
    """
    standardised = [problem for problem in problems if problem.standardised]
    header = ["depth", "acceleration", "passes", "worst gap", "geo-mean / LR"]
    rows = []
    summary = []
    for depth in DEPTHS:
        for acceleration in ACCELERATIONS:
            key = ("deep", depth, acceleration)
            n_pass = 0
            gaps = []
            log_ratios = []
            for problem in standardised:
                result = problem.results[key]
                lr_seconds = problem.results[("peer", "LinearRegression")]["seconds"]
                n_pass += passes(result, problem.reference_loss)
                if "seconds" in result:
                    gaps.append(relative_gap(result["loss"], problem.reference_loss))
                    log_ratios.append(np.log(result["seconds"] / lr_seconds))
            worst = max(gaps) if gaps else float("nan")
            ratio = float(np.exp(np.mean(log_ratios))) if log_ratios else float("nan")
            rows.append(
                [
                    str(depth),
                    acceleration,
                    f"{n_pass}/{len(standardised)}",
                    f"{worst:.1e}",
                    f"{ratio:.3g}",
                ]
            )
            summary.append(
                {
                    "depth": depth,
                    "acceleration": acceleration,
                    "passes": n_pass,
                    "cases": len(standardised),
                    "worst_gap": worst,
                    "geometric_mean_ratio_to_lr": ratio,
                }
            )
    names = ", ".join(problem.name for problem in standardised)
    print(
        "\n## Summary over the standardised problems\n\n"
        f"Problems: {names}. A configuration passes a problem when its loss gap "
        f"is at most {GAP_TARGET:g} and it raised no ConvergenceWarning."
    )
    print_markdown_table(header, rows)
    return summary


def lbfgs_result(problem):
    return next(
        value
        for (kind, label), value in problem.results.items()
        if kind == "peer" and "lbfgs" in label
    )


def print_flags(problems, args):
    """List the problems where the defaults warn, miss the gap or trail lbfgs.

    The fit at ``tol=MATCHED_TOL`` is flagged where it trails lbfgs or stops
    at a larger loss gap.
    """
    default_key = deep_linear_key(DeepLinearRegressor())
    flags = []
    for problem in problems:
        lbfgs = lbfgs_result(problem)
        matched = problem.results[MATCHED_KEY]
        if "seconds" in lbfgs and "seconds" in matched:
            lbfgs_gap = relative_gap(lbfgs["loss"], problem.reference_loss)
            matched_gap = relative_gap(matched["loss"], problem.reference_loss)
            # Gaps below ROUNDOFF_GAP are round-off in the two losses.
            if matched["seconds"] > lbfgs["seconds"] or matched_gap > max(
                lbfgs_gap, ROUNDOFF_GAP
            ):
                flags.append(
                    f"{problem.name}: tol={MATCHED_TOL:g} took "
                    f"{matched['seconds']:.3g} s at a loss gap of "
                    f"{matched_gap:.1e}, MLPRegressor(lbfgs) "
                    f"{lbfgs['seconds']:.3g} s at {lbfgs_gap:.1e}"
                )
        result = problem.results[default_key]
        if "seconds" not in result:
            reason = format_result_cells(result, problem.reference_loss, None, args)[0]
            flags.append(f"{problem.name}: the defaults did not finish ({reason})")
            continue
        gap = relative_gap(result["loss"], problem.reference_loss)
        if result["convergence_warnings"]:
            flags.append(
                f"{problem.name}: the defaults raised a ConvergenceWarning: "
                f"{result['convergence_warnings'][0]}"
            )
        if gap > GAP_TARGET:
            flags.append(f"{problem.name}: the defaults' loss gap is {gap:.1e}")
        if "seconds" in lbfgs and result["seconds"] > lbfgs["seconds"]:
            flags.append(
                f"{problem.name}: the defaults took {result['seconds']:.3g} s, "
                f"MLPRegressor(lbfgs) {lbfgs['seconds']:.3g} s"
            )
    print("\n## Flags on DeepLinearRegressor()\n")
    for flag in flags or ["none"]:
        print(f"- {flag}")
    return flags


# ---------------------------------------------------------------------------
# Output


def package_fingerprint():
    """Return the SHA-256 of the package's Python sources, to tell versions apart.

    The package is edited between commits, so the commit alone does not say
    which solver was measured.
    """
    folder = os.path.dirname(sklearn_deeplinear.__file__)
    digest = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as source:
                digest.update(name.encode() + b"\0" + source.read())
    return digest.hexdigest()[:16]


def git_head():
    """Return the commit checked out in the repository, read from ``.git``."""
    git_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".git")
    try:
        with open(os.path.join(git_dir, "HEAD")) as head:
            ref = head.read().strip()
        if not ref.startswith("ref: "):
            return ref
        ref = ref[len("ref: ") :]
        ref_path = os.path.join(git_dir, ref)
        if os.path.exists(ref_path):
            with open(ref_path) as ref_file:
                return ref_file.read().strip()
        with open(os.path.join(git_dir, "packed-refs")) as packed:
            for line in packed:
                if line.rstrip().endswith(" " + ref):
                    return line.split()[0]
    except OSError:
        pass
    return None


def machine_info():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "load_average": os.getloadavg(),
        "package_sources_sha256": package_fingerprint(),
        "git_head": git_head(),
    }


def json_result(result):
    return {key: value for key, value in result.items() if key != "runs"} | {
        "runs": result.get("runs", 0)
    }


def problem_to_json(problem):
    peers = {}
    deep = []
    matched = None
    for key, result in problem.results.items():
        if key[0] == "peer":
            peers[key[1]] = json_result(result)
        elif key == MATCHED_KEY:
            matched = {"tol": MATCHED_TOL, **json_result(result)}
        else:
            deep.append(
                {"depth": key[1], "acceleration": key[2], **json_result(result)}
            )
    for entry in list(peers.values()) + deep + [matched or {}]:
        if "loss" in entry:
            entry["loss_gap"] = relative_gap(entry["loss"], problem.reference_loss)
    return {
        "name": problem.name,
        "description": problem.description,
        "shape": list(problem.X.shape),
        "n_outputs": 1 if problem.y.ndim == 1 else problem.y.shape[1],
        "standardised": problem.standardised,
        "reference_loss": problem.reference_loss,
        "info": problem.info,
        "peers": peers,
        "deep_linear": deep,
        "deep_linear_matched_tol": matched,
    }


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="shrink the problems for a fast check"
    )
    parser.add_argument(
        "--json",
        default=DEFAULT_JSON,
        help="path of the JSON results (default: %(default)s)",
    )

    parser.add_argument(
        "--repeats", type=int, default=5, help="fits per estimator (default: 5)"
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=1.0,
        help="seconds of fitting after which a fast estimator stops repeating "
        f"(at most {MAX_REPEATS} fits; default: %(default)s)",
    )
    parser.add_argument(
        "--repeat-budget",
        type=float,
        default=None,
        help="seconds after which an estimator is not fitted again "
        "(default: 10, 3 with --quick)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds after which one fit is stopped (default: 120, 30 with --quick)",
    )
    parser.add_argument(
        "--max-parameters",
        type=int,
        default=60_000_000,
        help="largest number of weights of a DeepLinearRegressor that is "
        "fitted (default: %(default)s)",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="threads of the BLAS library, 0 for the library's own choice "
        "(default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the data")

    args = parser.parse_args(argv)
    if args.repeat_budget is None:
        args.repeat_budget = 3.0 if args.quick else 10.0
    if args.time_limit is None:
        args.time_limit = 30.0 if args.quick else 120.0
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.blas_threads:
        # Forked children inherit the limit.
        threadpool_limits(limits=args.blas_threads, user_api="blas")
    started = datetime.datetime.now().astimezone()
    machine = machine_info()
    print(
        f"# DeepLinearRegressor benchmark, {started:%Y-%m-%d %H:%M %Z}\n\n"
        f"{machine['cpus']} CPUs ({machine['cpu']}), load average at start "
        f"{machine['load_average'][0]:.2f}; numpy {machine['numpy']}, scipy "
        f"{machine['scipy']}, scikit-learn {machine['scikit-learn']}; commit "
        f"{(machine['git_head'] or 'unknown')[:10]}, package sources (SHA-256 of "
        f"the .py files) {machine['package_sources_sha256']}. BLAS threads: "
        f"{args.blas_threads or 'library default'}. Best of {args.repeats} fits "
        f"or more, repeated until {args.min_seconds:g} s of fitting (at most "
        f"{MAX_REPEATS} fits), and fewer once the fits pass "
        f"{args.repeat_budget:g} s. Peak memory is the growth of the resident "
        f"set size in a forked child. Fits are stopped after {args.time_limit:g} s."
    )

    problems = build_problems(args.quick, args.seed)
    for problem in problems:
        run_problem(problem, args)
        if problem.name.startswith("tall"):
            run_floor(problem, args)

    tallest = max(
        (problem for problem in problems if problem.name.startswith("tall")),
        key=lambda problem: problem.X.shape[0],
    )
    per_sweep = run_time_per_sweep(
        tallest.X, tallest.y, (10_000, tallest.X.shape[0]), args
    )
    summary = print_summary(problems)
    flags = print_flags(problems, args)

    machine["load_average_at_end"] = os.getloadavg()
    output = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": (datetime.datetime.now().astimezone() - started).total_seconds(),
        "arguments": vars(args),
        "machine": machine,
        "problems": [problem_to_json(problem) for problem in problems],
        "time_per_sweep": per_sweep,
        "summary": summary,
        "flags": flags,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as handle:
        json.dump(output, handle, indent=1, default=str)
    print(f"\nResults written to {args.json}.")


if __name__ == "__main__":
    main()
