"""Fit DeepLinearRegressor on a large dask array without loading it on the client.

The data are ``n_samples x n_features`` standard normal features and a
linear target with noise. They are generated lazily, block by block, on the
workers of a local ``distributed`` cluster bound to 127.0.0.1. Each block
has its own seed, so the whole array never exists in one process.

The script prints:

- the wall-clock time of the fit on the cluster, generation included;
- the peak memory of the client process (max RSS, and the tracemalloc peak
  of the allocations made during the fit) against the size of the data, and
  the max RSS of each worker;
- the time of a single-process NumPy fit of an in-memory slice of the same
  shape, with one BLAS thread like each worker, scaled linearly to the full
  number of samples.

Run ``python benchmarks/dask_out_of_core.py --help`` for the options. The
default size, 20 000 000 x 50 in float64, is 8 GB of features.
"""

import argparse
import os
import resource
import time
import tracemalloc

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster
from threadpoolctl import threadpool_info, threadpool_limits

from sklearn_deeplinear import DeepLinearRegressor

NOISE = 0.5
INTERCEPT = 3.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n-samples", type=int, default=20_000_000, help="rows of the dask array"
    )
    parser.add_argument(
        "--n-features", type=int, default=50, help="columns of the dask array"
    )
    parser.add_argument(
        "--chunk-rows", type=int, default=200_000, help="rows per dask block"
    )
    parser.add_argument(
        "--slice-samples",
        type=int,
        default=1_000_000,
        help="rows of the in-memory slice fitted by NumPy in one process",
    )
    parser.add_argument("--n-workers", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--worker-memory",
        default="3GiB",
        help="memory limit of each worker, in dask's notation",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the data")
    return parser.parse_args()


def max_rss_mib():
    """Return the peak resident set size of this process in MiB (Linux units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def blas_threads():
    """Return the thread counts of the BLAS libraries loaded in this process."""
    return sorted({info["num_threads"] for info in threadpool_info()})


def make_dask_data(n_samples, n_features, chunk_rows, seed):
    """Return lazy ``(X, y, coef)``: ``y = X @ coef + INTERCEPT + noise``."""
    coef = np.random.default_rng(seed).standard_normal(n_features)
    X = da.random.default_rng(seed + 1).standard_normal(
        (n_samples, n_features), chunks=(chunk_rows, n_features)
    )
    noise = da.random.default_rng(seed + 2).standard_normal(
        n_samples, chunks=chunk_rows
    )
    y = X @ coef + INTERCEPT + NOISE * noise
    return X, y, coef


def make_numpy_data(n_samples, n_features, seed):
    """Return in-memory ``(X, y)`` drawn as by :func:`make_dask_data`."""
    coef = np.random.default_rng(seed).standard_normal(n_features)
    X = np.random.default_rng(seed + 1).standard_normal((n_samples, n_features))
    noise = np.random.default_rng(seed + 2).standard_normal(n_samples)
    return X, X @ coef + INTERCEPT + NOISE * noise


def main():
    args = parse_args()
    n, p = args.n_samples, args.n_features
    data_gib = n * (p + 1) * 8 / 2**30
    print(
        f"machine: {os.cpu_count()} CPUs, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} "
        f"GiB RAM, load average {os.getloadavg()[0]:.2f} at start"
    )
    print(
        f"data: {n} x {p} float64 features and target = {data_gib:.2f} GiB, "
        f"blocks of {args.chunk_rows} rows"
    )

    with (
        LocalCluster(
            n_workers=args.n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # Some distributed releases start dashboards on every interface
            # even when asked for none, so bind them to loopback explicitly.
            dashboard_address="127.0.0.1:0",
            worker_dashboard_address="127.0.0.1:0",
            memory_limit=args.worker_memory,
        ) as cluster,
        Client(cluster) as client,
    ):
        worker_blas = client.run(blas_threads)
        print(
            f"cluster: {args.n_workers} worker processes x 1 thread, memory limit "
            f"{args.worker_memory} each, BLAS threads per worker "
            f"{sorted({str(threads) for threads in worker_blas.values()})}"
        )
        X, y, coef = make_dask_data(n, p, args.chunk_rows, args.seed)
        model = DeepLinearRegressor(random_state=0)

        rss_before = max_rss_mib()
        tracemalloc.start()
        start = time.perf_counter()
        model.fit(X, y)
        dask_seconds = time.perf_counter() - start
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_after = max_rss_mib()
        worker_rss = client.run(max_rss_mib)

    coef_error = np.abs(model.coef_ - coef).max()
    print(
        f"dask fit: {dask_seconds:.1f} s, {model.n_iter_} sweeps, "
        f"max |coef_ - true coef| = {coef_error:.2e}, "
        f"intercept_ = {model.intercept_:.6f} (true {INTERCEPT})"
    )
    print(
        f"client max RSS: {rss_before:.0f} MiB before the fit, {rss_after:.0f} MiB "
        f"after it; tracemalloc peak during the fit {traced_peak / 2**20:.1f} MiB; "
        f"data {data_gib * 1024:.0f} MiB "
        f"(client peak RSS / data size = {rss_after / (data_gib * 1024):.3f})"
    )
    print(
        "worker max RSS: "
        + ", ".join(f"{rss:.0f} MiB" for rss in sorted(worker_rss.values()))
    )

    # The in-memory reference runs after the cluster fit, so that its arrays
    # do not raise the client's max RSS reported above.
    n_slice = min(args.slice_samples, n)
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        X_slice, y_slice = make_numpy_data(n_slice, p, args.seed)
        generate_seconds = time.perf_counter() - start
        start = time.perf_counter()
        DeepLinearRegressor(random_state=0).fit(X_slice, y_slice)
        fit_seconds = time.perf_counter() - start
    scale = n / n_slice
    scaled_seconds = (generate_seconds + fit_seconds) * scale
    print(
        f"NumPy, one process and one BLAS thread, {n_slice} rows: generation "
        f"{generate_seconds:.2f} s + fit {fit_seconds:.2f} s; scaled by "
        f"{scale:g} to {n} rows: {scaled_seconds:.1f} s "
        f"(dask fit time / scaled NumPy time = {dask_seconds / scaled_seconds:.2f})"
    )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
