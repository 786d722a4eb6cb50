"""The one-pass dense statistics and the Gram-free operator against direct formulas."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_deeplinear import _statistics
from sklearn_deeplinear._statistics import (
    GramOperator,
    _scatter_centred_chunks,
    _scatter_folded,
    scatter_dense,
    scatter_sparse,
    target_statistics,
)


def offset_data(offset, dtype=np.float64, seed=0):
    """Return columns on scales 1e-2 to 1e2 whose means are ``offset`` spreads."""
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((3_000, 8)) + offset) * np.logspace(-2, 2, 8)
    Y = X @ rng.standard_normal((8, 2)) + rng.standard_normal((3_000, 2))
    weights = rng.uniform(0.5, 2.0, 3_000)
    return X.astype(dtype), Y.astype(dtype), weights


def exact_scatter(X, Y, weights):
    """Return the weighted centred scatter of ``[X, Y]`` in long double."""
    Z = np.hstack([X, Y]).astype(np.longdouble)
    w = weights.astype(np.longdouble)
    mean = (w @ Z) / w.sum()
    centred = Z - mean
    return (centred.T * w) @ centred, mean


@pytest.mark.parametrize("weighted", [False, True])
def test_folded_scatter_matches_centred_chunks(weighted):
    X, Y, weights = offset_data(offset=0.5)
    if not weighted:
        weights = np.ones(len(X))

    folded = _scatter_folded(X, Y, weights)
    centred = _scatter_centred_chunks(X, Y, weights, True)
    expected, expected_mean = exact_scatter(X, Y, weights)

    assert folded is not None
    # Both are sums of 3 000 products in float64, a few ulps of the largest
    # entry of the scatter each.
    atol = 1e-13 * np.max(np.abs(centred.scatter))
    np.testing.assert_allclose(folded.scatter, centred.scatter, rtol=1e-12, atol=atol)
    np.testing.assert_allclose(folded.scatter, expected.astype(float), atol=atol)
    np.testing.assert_allclose(folded.mean, expected_mean.astype(float), rtol=1e-13)
    assert folded.weight_sum == pytest.approx(weights.sum(), rel=1e-15)


def test_folded_scatter_declines_large_offsets():
    X, Y, weights = offset_data(offset=1e4)

    assert _scatter_folded(X, Y, weights) is None

    # scatter_dense then centres each chunk first, which keeps the columns
    # accurate under means of 1e4 times their spread.
    scatter = scatter_dense(X, Y, weights, True)
    expected, _ = exact_scatter(X, Y, weights)
    diagonal = np.diag(expected).astype(float)
    np.testing.assert_allclose(np.diag(scatter.scatter), diagonal, rtol=1e-9)


def test_folded_scatter_float32():
    X, Y, weights = offset_data(offset=0.5, dtype=np.float32)

    folded = _scatter_folded(X, Y, weights)
    expected, _ = exact_scatter(X, Y, weights)

    assert folded is not None
    assert folded.scatter.dtype == np.float64
    # Products of float32 rows summed in float32 chunks: relative 1e-5 of
    # the largest entry covers the rounding of 3 000 terms.
    atol = 1e-5 * np.max(np.abs(expected.astype(float)))
    np.testing.assert_allclose(folded.scatter, expected.astype(float), atol=atol)


def test_folded_scatter_keeps_non_finite_products():
    X, Y, weights = offset_data(offset=0.0)
    X[10, 3] = np.nan

    folded = _scatter_folded(X, Y, weights)

    # The caller reports the non-finite input instead of a second pass.
    assert folded is not None
    assert not np.all(np.isfinite(folded.scatter))


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc", "coo"])
@pytest.mark.parametrize("shape", [(120, 15), (15, 120)])
@pytest.mark.parametrize("n_columns", [1, 3, 40])
def test_gram_operator_matches_centred_products(monkeypatch, fmt, shape, n_columns):
    # Blocks of 64 elements split every product into several row slices or
    # column blocks, whichever the format uses.
    monkeypatch.setattr(_statistics, "CHUNK_ELEMENTS", 64)
    rng = np.random.default_rng(0)
    X = rng.standard_normal(shape) * (rng.random(shape) < 0.3) + 3.0
    weights = rng.uniform(0.5, 2.0, shape[0])
    offset = rng.standard_normal(shape[1])
    V = rng.standard_normal((shape[1], n_columns))
    data = X if fmt == "dense" else sp.csr_array(X).asformat(fmt)

    operator = GramOperator(data, weights, offset)

    centred = X - offset
    expected = (centred.T * weights) @ centred / weights.sum()
    np.testing.assert_allclose(operator @ V, expected @ V, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(V.T @ operator, V.T @ expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(operator @ V[:, 0], expected @ V[:, 0], rtol=1e-12)

    U = rng.standard_normal((shape[0], n_columns))
    np.testing.assert_allclose(operator.transpose_times(U), X.T @ U, rtol=1e-12)


@pytest.mark.parametrize(
    "shape, n_columns, layouts",
    [
        ((200, 20), 1, {"csc"}),
        ((200, 20), 3, {"csc"}),
        ((200, 20), 4, {"csr"}),
        ((20, 200), 1, {"csr"}),
        ((20, 200), 4, {"csr"}),
    ],
)
def test_gram_operator_builds_used_layouts_only(shape, n_columns, layouts):
    # Each layout other than the input's is a copy of the stored values.
    rng = np.random.default_rng(0)
    X = sp.coo_array(rng.standard_normal(shape) * (rng.random(shape) < 0.3))
    operator = GramOperator(X, np.ones(shape[0]))

    target_statistics(operator, rng.standard_normal((shape[0], n_columns)), True)
    operator @ rng.standard_normal((shape[1], n_columns))

    assert set(operator._layouts) == layouts


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_scatter_recentres_offset_columns(dtype):
    # Column 0 is stored in every row with a mean of 1e4 times its spread:
    # X.T W X - m mean mean.T would cancel 8 digits of its centred sum of
    # squares, more than float32 holds.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3_000, 6)) * (rng.random((3_000, 6)) < 0.3)
    X[:, 0] = 1e4 + rng.standard_normal(3_000)
    X = X.astype(dtype)
    Y = (X.astype(np.float64) @ rng.standard_normal((6, 2))).astype(dtype)
    weights = rng.uniform(0.5, 2.0, 3_000)

    scatter = scatter_sparse(sp.csr_array(X), Y, weights, True)

    expected, expected_mean = exact_scatter(
        X.astype(np.float64), Y.astype(np.float64), weights
    )
    expected = expected.astype(float)
    # The offset column is centred in float64 before its products.
    np.testing.assert_allclose(scatter.scatter[0], expected[0], rtol=1e-9, atol=1e-9)
    # The other products keep the precision of their dtype: sums of 3 000
    # terms, about sqrt(3 000) ulps of the largest entry.
    atol = 100 * np.finfo(dtype).eps * np.max(np.abs(expected[1:, 1:]))
    np.testing.assert_allclose(scatter.scatter[1:, 1:], expected[1:, 1:], atol=atol)
    np.testing.assert_allclose(scatter.mean, expected_mean.astype(float), rtol=1e-12)


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc", "coo"])
@pytest.mark.parametrize("weighted", [False, True])
def test_gram_operator_diagonal_is_the_variances(fmt, weighted):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 7)) * (rng.random((300, 7)) < 0.4) + 2.0
    weights = rng.uniform(0.0, 2.0, 300) if weighted else np.ones(300)
    mean = weights @ X / weights.sum()
    data = X if fmt == "dense" else sp.csr_array(X).asformat(fmt)

    operator = GramOperator(data, weights, mean)

    expected = weights @ (X - mean) ** 2 / weights.sum()
    np.testing.assert_allclose(operator.diagonal(), expected, rtol=1e-12)


def test_unit_weight_variances_reuse_the_statistics_pass():
    rng = np.random.default_rng(0)
    X = sp.csr_array(rng.standard_normal((200, 20)) * (rng.random((200, 20)) < 0.3))
    operator = GramOperator(X, np.ones(200))

    target_statistics(operator, rng.standard_normal((200, 1)), True)
    operator.diagonal()

    # One pass over X gave both the underflow check and the variances.
    assert list(operator._sums_of_squares) == [False]
