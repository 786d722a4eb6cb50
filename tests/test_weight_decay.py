"""Weight decay against its closed forms: Ridge, and singular-value shrinkage.

The estimator minimises

    1/2 sum_i w_i ||y_i - P x_i - b||^2 + alpha/2 sum_j ||W_j||_F^2.

Over all factorisations ``P = W_L ... W_1`` (hidden widths at least the rank
of ``P``) the penalty is smallest for balanced layers, which share the
singular values of ``P`` equally, so ``sum_j ||W_j||_F^2 = L sum_i
sigma_i^(2/L)``. On whitened inputs (weighted, centred ``X.T W X / m = I``)
the residual term is ``m/2 ||P - C||_F^2`` plus a constant, with ``C`` the
least-squares map, so each singular value ``c`` of ``C`` is shrunk on its own
to the minimiser of

    m/2 (sigma - c)^2 + alpha * L/2 * sigma^(2/L),

with the singular vectors of ``C`` kept.
"""

import warnings

import numpy as np
import pytest
from scipy import linalg
from scipy.optimize import brentq
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, Ridge

from sklearn_deeplinear import DeepLinearRegressor

# Singular values of the least-squares map on the whitened problems.
SINGULAR_VALUES = np.array([3.0, 2.0, 1.0, 0.5, 0.2])


def ridge_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((200, 8)) + 2.0
    Y = X @ rng.standard_normal((8, 5)) + rng.standard_normal((200, 5)) + 1.0
    sample_weight = rng.uniform(0.0, 3.0, 200)
    return X, Y, sample_weight


def whitened_data(sample_weight, seed=0):
    """Return ``X, Y`` with ``X.T W X / m = I`` and weighted column means 0.

    The least-squares map of ``Y`` on ``X`` has the singular values
    ``SINGULAR_VALUES``. The residual is orthogonal to ``X`` and to the
    constant, so it changes the loss but not the optimum.
    """
    rng = np.random.default_rng(seed)
    n_samples, n_features, n_outputs = sample_weight.size, 8, SINGULAR_VALUES.size
    root = np.sqrt(sample_weight)[:, np.newaxis]
    # Columns of Z orthonormal and orthogonal to sqrt(w): then X = sqrt(m) Z /
    # sqrt(w) has weighted mean 0 and X.T W X / m = Z.T Z = I.
    basis, _ = linalg.qr(
        np.column_stack([root, rng.standard_normal((n_samples, n_features))]),
        mode="economic",
    )
    X = np.sqrt(sample_weight.sum()) * basis[:, 1:] / root

    left, _ = linalg.qr(rng.standard_normal((n_outputs, n_outputs)))
    right, _ = linalg.qr(rng.standard_normal((n_features, n_outputs)), mode="economic")
    coef = left @ np.diag(SINGULAR_VALUES) @ right.T
    noise = rng.standard_normal((n_samples, n_outputs))
    noise -= basis @ (basis.T @ (root * noise)) / root
    return X, X @ coef.T + noise + 1.0


def schatten_shrinkage(c, threshold, depth):
    """Return the minimiser over sigma >= 0 of the per-value objective.

    With ``threshold = alpha / m`` it is ``1/2 (sigma - c)^2 + threshold * L/2
    * sigma^(2/L)``. For ``sigma = t^L > 0`` the stationarity condition
    ``sigma - c + threshold * sigma^(2/L - 1) = 0`` becomes the polynomial
    ``t^(2L-2) - c t^(L-2) + threshold = 0``. The objective is not convex for
    ``L >= 3`` (``sigma = 0`` is always a local minimum), so the minimiser is
    the best of 0 and the positive roots.
    """

    def objective(sigma):
        return 0.5 * (sigma - c) ** 2 + threshold * depth / 2 * sigma ** (2 / depth)

    # At depth 2 the last two terms are both the constant: t^2 - c + threshold.
    coefficients = np.zeros(2 * depth - 1)
    coefficients[0] = 1.0
    coefficients[depth] -= c
    coefficients[-1] += threshold
    roots = np.roots(coefficients)
    candidates = [0.0] + [
        root.real**depth for root in roots if abs(root.imag) < 1e-10 and root.real > 0
    ]
    return min(candidates, key=objective)


def fit_tight(X, Y, sample_weight=None, **params):
    model = DeepLinearRegressor(tol=1e-12, max_iter=20000, random_state=0, **params)
    return model.fit(X, Y, sample_weight=sample_weight)


@pytest.mark.parametrize("alpha", [0.1, 10.0, 1000.0])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_outputs", [1, 5])
def test_depth_one_is_ridge(alpha, weighted, n_outputs):
    # Ridge minimises sum_i w_i ||y_i - P x_i - b||^2 + alpha ||P||_F^2 and
    # does not rescale alpha by the sample weights (checked with scikit-learn
    # 1.9.1), so it has the minimiser of the network's objective at depth 1.
    X, Y, sample_weight = ridge_data()
    if not weighted:
        sample_weight = None
    y = Y[:, 0] if n_outputs == 1 else Y
    ridge = Ridge(alpha=alpha).fit(X, y, sample_weight=sample_weight)

    model = fit_tight(X, y, sample_weight, depth=1, alpha=alpha)

    # Solved to tol=1e-12; the largest relative error measured is 1.2e-10 on
    # one small coefficient and 1.4e-11 on intercept_.
    np.testing.assert_allclose(model.coef_, ridge.coef_, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(model.intercept_, ridge.intercept_, rtol=1e-9)


def test_depth_one_alpha_zero_is_least_squares():
    X, Y, sample_weight = ridge_data()
    ols = LinearRegression().fit(X, Y, sample_weight=sample_weight)

    model = fit_tight(X, Y, sample_weight, depth=1)

    np.testing.assert_allclose(model.coef_, ols.coef_, rtol=1e-9, atol=1e-11)


def whitened_problem(weighted):
    n_samples = 200
    if weighted:
        sample_weight = np.random.default_rng(3).uniform(0.2, 3.0, n_samples)
    else:
        sample_weight = np.ones(n_samples)
    X, Y = whitened_data(sample_weight)
    ols = LinearRegression().fit(X, Y, sample_weight=sample_weight)
    return X, Y, sample_weight, ols.coef_


def test_whitened_data_are_whitened():
    for weighted in (False, True):
        X, _, sample_weight, ols_coef = whitened_problem(weighted)
        mean = sample_weight @ X / sample_weight.sum()
        centred = X - mean
        gram = centred.T @ (sample_weight[:, np.newaxis] * centred)

        np.testing.assert_allclose(mean, 0.0, atol=1e-12)
        np.testing.assert_allclose(gram / sample_weight.sum(), np.eye(8), atol=1e-12)
        np.testing.assert_allclose(linalg.svdvals(ols_coef), SINGULAR_VALUES)


@pytest.mark.parametrize("weighted", [False, True])
def test_depth_two_soft_thresholds_singular_values(weighted):
    # Depth 2: m/2 (sigma - c)^2 + alpha sigma per singular value, the
    # nuclear-norm penalty, minimised by sigma = max(c - alpha / m, 0).
    X, Y, sample_weight, ols_coef = whitened_problem(weighted)
    threshold = 0.6
    alpha = threshold * sample_weight.sum()
    left, singular_values, right = linalg.svd(ols_coef, full_matrices=False)
    shrunk = np.maximum(singular_values - threshold, 0.0)

    model = fit_tight(X, Y, sample_weight, depth=2, alpha=alpha)

    np.testing.assert_allclose(
        linalg.svdvals(model.coef_), shrunk, rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(
        model.coef_, left @ np.diag(shrunk) @ right, rtol=1e-8, atol=1e-9
    )


@pytest.mark.parametrize("depth", [3, 4])
@pytest.mark.parametrize("weighted", [False, True])
def test_deeper_networks_shrink_by_schatten_quasi_norm(depth, weighted):
    # With threshold 0.6, the smallest c that has a positive stationary point
    # is 1.20 at depth 3 and 1.34 at depth 4. So 0 is the only minimiser for
    # 1.0, 0.5 and 0.2, while 3.0 and 2.0 shrink to positive values.
    X, Y, sample_weight, ols_coef = whitened_problem(weighted)
    threshold = 0.6
    alpha = threshold * sample_weight.sum()
    left, singular_values, right = linalg.svd(ols_coef, full_matrices=False)
    shrunk = np.array(
        [schatten_shrinkage(c, threshold, depth) for c in singular_values]
    )

    model = fit_tight(X, Y, sample_weight, depth=depth, alpha=alpha)

    assert np.all(shrunk[:2] > 0)
    assert np.all(shrunk[2:] == 0)
    np.testing.assert_allclose(
        linalg.svdvals(model.coef_), shrunk, rtol=1e-8, atol=1e-10
    )
    np.testing.assert_allclose(
        model.coef_, left @ np.diag(shrunk) @ right, rtol=1e-8, atol=1e-10
    )
    assert model.rank_ == 2


def test_schatten_shrinkage_is_global_minimum():
    # The reference itself, against a fine grid of the scalar objective.
    grid = np.linspace(0.0, 4.0, 400001)
    for depth in (2, 3, 4):
        for c in (3.0, 2.0, 1.3, 1.0, 0.5):
            objective = 0.5 * (grid - c) ** 2 + 0.3 * depth * grid ** (2 / depth)
            best = grid[np.argmin(objective)]
            # The grid spacing is 1e-5.
            assert schatten_shrinkage(c, 0.6, depth) == pytest.approx(best, abs=2e-5)


def group_penalised_optimum(X, y, alpha):
    """Return ``min_q 1/2 ||y - X q||^2 + alpha ||q||`` for centred X and y.

    That is the depth-2 objective with one output: balanced layers give
    ``alpha / 2 * (||W_1||^2 + ||W_2||^2) = alpha * ||q||``. The minimiser
    is ``q = (X.T X + mu I)^-1 X.T y`` with ``mu = alpha / ||q||``.
    """
    gram, cross = X.T @ X, X.T @ y

    def coef(norm):
        return np.linalg.solve(gram + alpha / norm * np.eye(len(gram)), cross)

    ridge_free = np.linalg.solve(gram, cross)
    norm = brentq(
        lambda t: np.linalg.norm(coef(t)) - t, 1e-12, np.linalg.norm(ridge_free)
    )
    q = coef(norm)
    return 0.5 * np.sum((y - X @ q) ** 2) + alpha * np.linalg.norm(q)


@pytest.mark.parametrize("init", ["glorot_normal", "he_normal", "orthogonal"])
@pytest.mark.parametrize("target_scale", [1.0, 1000.0])
def test_depth_two_decay_reaches_optimum_or_warns(init, target_scale):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    X -= X.mean(axis=0)
    y = X @ (target_scale * rng.normal(size=5)) + rng.normal(size=200)
    y -= y.mean()
    optimum = group_penalised_optimum(X, y, alpha=1.0)

    model = DeepLinearRegressor(depth=2, alpha=1.0, init=init, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)

    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    # loss_curve_ is the objective divided by n_samples (one output).
    reached = model.loss_curve_[-1] * len(y) <= optimum * (1 + 1e-8)
    assert warned or reached
    if target_scale == 1.0:
        assert reached
