"""Sparse X in every SciPy format: the dense fit, without densifying X."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from sklearn_deeplinear import DeepLinearRegressor

FORMATS = ["csr", "csc", "coo"]
CONTAINERS = ["matrix", "array"]


def to_sparse(X, fmt, container):
    """Return ``X`` as, for example, ``scipy.sparse.csr_matrix`` or ``csr_array``."""
    return getattr(sp, f"{fmt}_{container}")(X)


def sparse_problem(n_samples=80, n_features=6, n_outputs=1, density=0.4, seed=0):
    """Return dense ``X`` with about ``density`` non-zeros, ``y`` and weights."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    X *= rng.random((n_samples, n_features)) < density
    # A positive offset in one column, so that centring matters.
    X[:, 0] = np.abs(X[:, 0]) + (X[:, 0] != 0)
    Y = X @ rng.standard_normal((n_features, n_outputs)) + 2.0
    Y += 0.1 * rng.standard_normal((n_samples, n_outputs))
    y = Y[:, 0] if n_outputs == 1 else Y
    sample_weight = rng.uniform(0.5, 2.0, n_samples)
    return X, y, sample_weight


def relative_error(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


# precompute=True forms X.T @ X from sparse products, and precompute=False
# never forms it but goes through X twice per product. Both must give the
# dense fit.
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("container", CONTAINERS)
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("precompute", [True, False])
def test_sparse_fit_equals_dense_fit(fmt, container, fit_intercept, precompute):
    X, y, sample_weight = sparse_problem()
    X_sparse = to_sparse(X, fmt, container)
    ols = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight)
    params = dict(fit_intercept=fit_intercept, precompute=precompute, random_state=0)

    dense = DeepLinearRegressor(**params).fit(X, y, sample_weight=sample_weight)
    sparse = DeepLinearRegressor(**params).fit(X_sparse, y, sample_weight=sample_weight)

    # Against OLS: the solver's tolerance. Against the dense fit: the same
    # sweeps on statistics that differ by round-off only.
    assert relative_error(sparse.coef_, ols.coef_) < 1e-6
    assert relative_error(sparse.coef_, dense.coef_) < 1e-9
    np.testing.assert_allclose(sparse.intercept_, ols.intercept_, rtol=1e-6)
    np.testing.assert_allclose(sparse.intercept_, dense.intercept_, rtol=1e-9)
    np.testing.assert_allclose(
        sparse.predict(X_sparse), ols.predict(X), rtol=1e-6, atol=1e-8
    )
    assert isinstance(sparse.predict(X_sparse), np.ndarray)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("depth", [1, 3])
def test_sparse_multi_output_equals_dense(fmt, depth):
    X, Y, _ = sparse_problem(n_outputs=3)
    X_sparse = to_sparse(X, fmt, "array")
    ols = LinearRegression().fit(X, Y)

    model = DeepLinearRegressor(depth=depth, random_state=0).fit(X_sparse, Y)

    assert model.coef_.shape == (3, X.shape[1])
    assert relative_error(model.coef_, ols.coef_) < 1e-6
    np.testing.assert_allclose(model.intercept_, ols.intercept_, rtol=1e-6)


@pytest.mark.parametrize("precompute", [True, False])
def test_coo_duplicate_entries_are_summed(precompute):
    # A COO matrix may list one position several times, and its value is then
    # the sum, as in toarray().
    rng = np.random.default_rng(0)
    n_samples, n_features = 40, 4
    rows = np.concatenate([np.arange(n_samples)] * 2 + [[0, 0, 1]])
    cols = np.concatenate(
        [np.arange(n_samples) % n_features, (np.arange(n_samples) + 1) % n_features]
        + [[0, 0, 2]]
    )
    values = rng.standard_normal(len(rows))
    X_sparse = sp.coo_array((values, (rows, cols)), shape=(n_samples, n_features))
    X = X_sparse.toarray()
    y = X @ [1.0, -2.0, 0.5, 3.0] + 0.1 * rng.standard_normal(n_samples)
    ols = LinearRegression().fit(X, y)

    model = DeepLinearRegressor(precompute=precompute, random_state=0).fit(X_sparse, y)

    assert relative_error(model.coef_, ols.coef_) < 1e-6


@pytest.mark.parametrize("fmt", FORMATS)
def test_sparse_more_features_than_samples(fmt):
    # precompute="auto" takes the path without X.T @ X here. OLS is not
    # unique, so the fitted values are compared.
    X, y, _ = sparse_problem(n_samples=15, n_features=40, density=0.3)
    X_sparse = to_sparse(X, fmt, "matrix")
    ols = LinearRegression().fit(X, y)

    model = DeepLinearRegressor(random_state=0).fit(X_sparse, y)

    np.testing.assert_allclose(
        model.predict(X_sparse), ols.predict(X), rtol=1e-6, atol=1e-6
    )
    assert np.all(np.isfinite(model.coef_))


@pytest.mark.parametrize("fmt", FORMATS)
def test_sparse_float32_gives_float32(fmt):
    X, y, _ = sparse_problem()
    X_sparse = to_sparse(X.astype(np.float32), fmt, "array")
    ols = LinearRegression().fit(X, y)

    model = DeepLinearRegressor(random_state=0).fit(X_sparse, y.astype(np.float32))

    assert model.coef_.dtype == np.float32
    assert model.predict(X_sparse).dtype == np.float32
    # The statistics are formed in float32, with a relative error of about
    # 1e-7 times the conditioning of this problem. The solver then works in
    # float64 on them.
    assert relative_error(model.coef_, ols.coef_) < 1e-4


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_sparse_integer_and_boolean_become_float64(dtype):
    X, y, _ = sparse_problem()
    X_typed = (X > 0) if dtype is np.bool_ else np.round(3 * X).astype(dtype)
    ols = LinearRegression().fit(X_typed.astype(np.float64), y)

    model = DeepLinearRegressor(random_state=0).fit(sp.csr_array(X_typed), y)

    assert model.coef_.dtype == np.float64
    assert relative_error(model.coef_, ols.coef_) < 1e-6


def large_sparse_problem():
    """Return sparse X whose dense form takes 80 MB, with 16 000 non-zeros."""
    rng = np.random.default_rng(0)
    n_samples, n_features = 100_000, 100
    X = sp.csr_array(sp.random(n_samples, n_features, density=1.6e-3, random_state=rng))
    y = rng.standard_normal(n_samples)
    return X, y


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("precompute", ["auto", False])
def test_sparse_fit_never_densifies(fmt, precompute):
    X, y = large_sparse_problem()
    X = X.asformat(fmt)
    dense_bytes = X.shape[0] * X.shape[1] * 8
    model = DeepLinearRegressor(depth=2, max_iter=5, precompute=precompute)

    tracemalloc.start()
    try:
        with warnings.catch_warnings():
            # Five sweeps are a memory probe, not a fit to convergence.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        _, fit_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        model.predict(X)
        _, predict_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # The fit keeps a few float64 vectors of length n_samples (0.8 MB each),
    # a CSR copy of X (0.2 MB) and the 100 x 100 statistics. Its peak was
    # measured at 3.9 to 5.1 MB, and a dense copy of X alone takes 80 MB.
    assert fit_peak < dense_bytes / 10
    assert predict_peak < dense_bytes / 10


@pytest.mark.parametrize("precompute", [True, False])
def test_sparse_float32_column_with_large_mean(precompute):
    # A float32 column stored in every row, with a mean of 1e4 times its
    # spread: its centred statistics must not cancel away.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3_000, 30)) * (rng.random((3_000, 30)) < 0.05)
    X[:, 0] = 1e4 + rng.standard_normal(3_000)
    X = X.astype(np.float32)
    y = X.astype(np.float64) @ rng.standard_normal(30)
    y = (y + 0.01 * rng.standard_normal(3_000)).astype(np.float32)
    ols = LinearRegression().fit(X.astype(np.float64), y.astype(np.float64))

    model = DeepLinearRegressor(precompute=precompute).fit(sp.csr_array(X), y)

    # float32 data: statistics to about 1e-7, coefficients to a few 1e-7.
    assert relative_error(model.coef_, ols.coef_) < 1e-5
