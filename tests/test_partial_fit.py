"""partial_fit on streamed batches equals one fit on all of them."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sklearn_deeplinear import DeepLinearRegressor


def offset_problem(n_samples=600, n_features=5, n_outputs=2, seed=0):
    """Features with a large offset against their spread, and a target."""
    rng = np.random.default_rng(seed)
    X = 1e4 + rng.standard_normal((n_samples, n_features)) * [1, 2, 3, 0.5, 1]
    coef = rng.standard_normal((n_features, n_outputs))
    Y = X @ coef + 0.1 * rng.standard_normal((n_samples, n_outputs)) - 3.0
    return X, Y


def stream(model, X, Y, batch_sizes, sample_weight=None):
    """Feed X, Y to partial_fit in consecutive batches of the given sizes."""
    start = 0
    for size in batch_sizes:
        stop = start + size
        weight = None if sample_weight is None else sample_weight[start:stop]
        model.partial_fit(X[start:stop], Y[start:stop], sample_weight=weight)
        start = stop
    assert start == X.shape[0]
    return model


def relative_error(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


@pytest.mark.parametrize(
    "batch_sizes",
    [[600], [300, 300], [1] * 40 + [560], [7, 200, 1, 392], [599, 1]],
)
def test_streamed_equals_one_fit_on_offset_data(batch_sizes):
    X, Y = offset_problem()
    params = dict(random_state=0, tol=1e-12, max_iter=5000)
    full = DeepLinearRegressor(**params).fit(X, Y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        streamed = stream(DeepLinearRegressor(**params), X, Y, batch_sizes)

    # Both fits solve the same statistics to tol=1e-12, and the predictions
    # sit on an offset of about 1e4 in the features.
    assert relative_error(streamed.predict(X), full.predict(X)) < 1e-8
    assert relative_error(streamed.coef_, full.coef_) < 1e-8


def test_streamed_weighted_equals_weighted_fit():
    X, Y = offset_problem(seed=1)
    weight = np.random.default_rng(1).uniform(0.0, 3.0, X.shape[0])
    params = dict(random_state=0, tol=1e-12, max_iter=5000)
    full = DeepLinearRegressor(**params).fit(X, Y, sample_weight=weight)

    streamed = stream(
        DeepLinearRegressor(**params), X, Y, [100, 250, 250], sample_weight=weight
    )

    assert relative_error(streamed.predict(X), full.predict(X)) < 1e-8


def test_streamed_sparse_equals_dense_fit():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((500, 8)) * (rng.random((500, 8)) < 0.3)
    y = X @ rng.standard_normal(8) + 0.1 * rng.standard_normal(500)
    params = dict(random_state=0, tol=1e-12, max_iter=5000)
    full = DeepLinearRegressor(**params).fit(X, y)

    X_sparse = sp.csr_array(X)
    streamed = stream(DeepLinearRegressor(**params), X_sparse, y, [123, 377])

    assert relative_error(streamed.predict(X), full.predict(X)) < 1e-8
    assert streamed.coef_.shape == (8,)


def test_first_batch_sets_the_model_up():
    X, Y = offset_problem()
    model = DeepLinearRegressor(depth=2, width=4, random_state=0)

    model.partial_fit(X[:50], Y[:50])

    assert model.n_features_in_ == 5
    assert [w.shape for w in model.weights_] == [(4, 5), (2, 4)]
    assert model.n_iter_ == len(model.loss_curve_)


def test_batch_with_other_features_raises():
    X, Y = offset_problem()
    model = DeepLinearRegressor(random_state=0).partial_fit(X[:50], Y[:50])

    with pytest.raises(ValueError, match="X has 4 features"):
        model.partial_fit(X[50:100, :4], Y[50:100])


def test_batch_with_other_outputs_raises():
    X, Y = offset_problem()
    model = DeepLinearRegressor(random_state=0).partial_fit(X[:50], Y[:50])

    with pytest.raises(ValueError, match="partial_fit cannot continue"):
        model.partial_fit(X[50:100], Y[50:100, :1])


def test_partial_fit_continues_after_fit():
    X, Y = offset_problem()
    params = dict(random_state=0, tol=1e-12, max_iter=5000)
    full = DeepLinearRegressor(**params).fit(X, Y)

    model = DeepLinearRegressor(**params).fit(X[:200], Y[:200])
    model.partial_fit(X[200:], Y[200:])

    assert relative_error(model.predict(X), full.predict(X)) < 1e-8


def test_partial_fit_after_gram_free_fit_raises():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 30))
    y = rng.standard_normal(10)
    model = DeepLinearRegressor(depth=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)

    with pytest.raises(ValueError, match="did not form the Gram matrix"):
        model.partial_fit(X, y)
