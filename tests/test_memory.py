"""Memory used by fit: no copy of dense X, no densified sparse X."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_deeplinear import DeepLinearRegressor


def peak_allocation(function):
    """Return the peak of the memory that ``function`` allocates, in bytes."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [True, False])
def test_dense_fit_makes_no_copy_of_X(order, fit_intercept, weighted):
    rng = np.random.default_rng(0)
    X = np.asarray(rng.standard_normal((40_000, 50)), order=order)
    y = X @ rng.standard_normal(50) + rng.standard_normal(40_000)
    weight = rng.uniform(0.5, 2.0, 40_000) if weighted else None
    model = DeepLinearRegressor(depth=2, fit_intercept=fit_intercept, random_state=0)

    peak = peak_allocation(lambda: model.fit(X, y, sample_weight=weight))

    # X takes 16 MB; the chunk buffer and the statistics take about 1 MB.
    assert peak < 0.25 * X.nbytes


@pytest.mark.parametrize("precompute", [True, False])
def test_sparse_fit_stays_sparse(precompute):
    rng = np.random.default_rng(0)
    X = sp.csr_array(sp.random(20_000, 2_000, density=0.002, random_state=0))
    y = X @ rng.standard_normal(2_000) + 0.1 * rng.standard_normal(20_000)
    model = DeepLinearRegressor(
        depth=1, precompute=precompute, max_iter=50, random_state=0
    )

    peak = peak_allocation(lambda: model.fit(X, y))

    dense_bytes = 20_000 * 2_000 * 8  # 320 MB if X were densified
    sparse_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    gram_bytes = 2_000 * 2_000 * 8
    assert peak < 4 * (sparse_bytes + gram_bytes)
    assert peak < dense_bytes / 4
