"""The BCGD solver on sufficient statistics, against a direct implementation."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import approx_fprime
from sklearn.exceptions import ConvergenceWarning

from sklearn_deeplinear import DeepLinearRegressor
from sklearn_deeplinear import _solver as solver_module
from sklearn_deeplinear._initializers import glorot_normal, orthogonal_like
from sklearn_deeplinear._solver import (
    end_to_end,
    fit_bcgd,
    objective,
    prefers_thin_products,
)


def random_problem(n_features=6, n_outputs=3, n_samples=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) @ rng.standard_normal(
        (n_features, n_features)
    )
    Y = X @ rng.standard_normal((n_features, n_outputs))
    Y += 0.5 * rng.standard_normal((n_samples, n_outputs))
    gram = X.T @ X / n_samples
    cross = Y.T @ X / n_samples
    target_ss = float(np.sum(Y * Y)) / (2 * n_samples)
    return gram, cross, target_ss


def reference_sweeps(weights, gram, cross, target_ss, order, n_sweeps):
    """Run BCGD with every product recomputed from scratch, for comparison."""
    weights = [w.copy() for w in weights]
    n_outputs, n_features = cross.shape
    curve = []
    for _ in range(n_sweeps):
        for j in order:
            above = np.eye(n_outputs)
            for w in reversed(weights[j + 1 :]):
                above = above @ w
            below = np.eye(n_features)
            for w in weights[:j]:
                below = w @ below
            product = above @ weights[j] @ below
            gradient = above.T @ (product @ gram - cross) @ below.T
            direction = above @ gradient @ below
            curvature = np.trace(direction @ gram @ direction.T)
            if np.sum(gradient**2) > 0:
                weights[j] = weights[j] - np.sum(gradient**2) / curvature * gradient
        curve.append(objective(weights, gram, cross, target_ss))
    return curve


@pytest.mark.parametrize("thin", [False, True])
@pytest.mark.parametrize("update_order", ["forward", "backward"])
@pytest.mark.parametrize("depth", [1, 2, 4])
def test_cached_products_match_direct_computation(thin, update_order, depth):
    gram, cross, target_ss = random_problem()
    sizes = [6] + [5, 7, 4][: depth - 1] + [3]
    start = glorot_normal(sizes, np.random.RandomState(0))
    order = range(depth) if update_order == "forward" else range(depth - 1, -1, -1)

    expected = reference_sweeps(start, gram, cross, target_ss, order, n_sweeps=25)
    weights = [w.copy() for w in start]
    result = fit_bcgd(
        weights,
        gram,
        cross,
        target_ss,
        update_order=update_order,
        max_iter=25,
        tol=0,
        thin=thin,
    )

    np.testing.assert_allclose(result.loss_curve, expected, rtol=1e-11)


@pytest.mark.parametrize("learning_rate", ["lipschitz", 0.01])
@pytest.mark.parametrize("thin", [False, True])
def test_forms_agree_for_other_step_rules(learning_rate, thin):
    gram, cross, target_ss = random_problem(seed=5)
    start = glorot_normal([6, 9, 9, 3], np.random.RandomState(0))
    results = []
    for use_thin in (thin, not thin):
        weights = [w.copy() for w in start]
        results.append(
            fit_bcgd(
                weights,
                gram,
                cross,
                target_ss,
                learning_rate=learning_rate,
                max_iter=30,
                tol=0,
                thin=use_thin,
                random_state=np.random.default_rng(0),
            )
        )

    # The Lipschitz estimate comes from power iterations from the same start,
    # so both forms take the same steps up to round-off.
    np.testing.assert_allclose(results[0].loss_curve, results[1].loss_curve, rtol=1e-9)
    assert np.all(np.diff(results[0].loss_curve) <= 0)


def test_thin_form_for_wide_networks():
    assert prefers_thin_products([500, 500, 500, 1])
    assert not prefers_thin_products([10, 10, 10, 10, 10, 10, 10, 10, 10, 10])


def test_optimal_step_minimises_the_loss_along_the_gradient():
    gram, cross, target_ss = random_problem(seed=3)
    sizes = [6, 8, 8, 3]
    before = glorot_normal(sizes, np.random.RandomState(1))
    after = [w.copy() for w in before]

    # The first block step of a forward sweep starts from ``before``.
    fit_bcgd(after, gram, cross, target_ss, max_iter=1, tol=0)
    block = 0
    step_direction = after[block] - before[block]

    def loss_along(scale):
        weights = [w.copy() for w in before]
        weights[block] = before[block] + scale * step_direction
        return objective(weights, gram, cross, target_ss)

    assert loss_along(1.0) < loss_along(0.9)
    assert loss_along(1.0) < loss_along(1.1)
    assert loss_along(1.0) < loss_along(0.0)


def test_step_direction_is_the_block_gradient():
    gram, cross, target_ss = random_problem(seed=4)
    sizes = [6, 5, 3]
    before = glorot_normal(sizes, np.random.RandomState(2))
    after = [w.copy() for w in before]

    result = fit_bcgd(after, gram, cross, target_ss, max_iter=1, tol=0)
    step = result.step_sizes[0][0]

    def loss_of_first_block(flat):
        weights = [flat.reshape(before[0].shape), before[1]]
        return objective(weights, gram, cross, target_ss)

    numeric = approx_fprime(before[0].ravel(), loss_of_first_block, 1e-7)
    gradient = (before[0] - after[0]).ravel() / step
    # Forward differences with h = 1e-7 are accurate to about 1e-6 relative.
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-6)


def test_zero_last_layer_skips_the_blocks_below():
    gram, cross, target_ss = random_problem()
    weights = orthogonal_like([6, 6, 6, 3], np.random.RandomState(0))

    result = fit_bcgd(weights, gram, cross, target_ss, max_iter=1, tol=0)

    np.testing.assert_array_equal(result.step_sizes[0][:2], [0.0, 0.0])
    assert result.step_sizes[0][2] > 0.0
    assert all(np.all(np.isfinite(w)) for w in result.weights)


def test_zero_target_gives_zero_map():
    gram, cross, _ = random_problem()
    weights = orthogonal_like([6, 6, 3], np.random.RandomState(0))

    result = fit_bcgd(weights, gram, np.zeros_like(cross), 0.0, max_iter=50)

    assert result.converged
    assert result.n_iter == 1
    np.testing.assert_array_equal(end_to_end(result.weights), 0.0)


def test_too_large_fixed_step_stops_without_nan():
    gram, cross, target_ss = random_problem()
    weights = glorot_normal([6, 6, 3], np.random.RandomState(0))

    result = fit_bcgd(weights, gram, cross, target_ss, learning_rate=1e3, max_iter=100)

    assert result.diverged
    assert "learning_rate=1000.0" in result.message
    assert all(np.all(np.isfinite(w)) for w in result.weights)
    assert np.all(np.diff(result.loss_curve) <= 0)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_gram_free_path_gives_the_same_model(sparse, fit_intercept):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 12)) * (rng.random((300, 12)) < 0.3) + 0.5
    y = X @ rng.standard_normal(12) + 0.1 * rng.standard_normal(300)
    weight = rng.uniform(0.5, 2.0, 300)
    if sparse:
        X = sp.csr_array(X)
    params = dict(depth=3, fit_intercept=fit_intercept, random_state=0)

    with_gram = DeepLinearRegressor(precompute=True, **params)
    without_gram = DeepLinearRegressor(precompute=False, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with_gram.fit(X, y, sample_weight=weight)
        without_gram.fit(X, y, sample_weight=weight)

    # Both fits stop within about tol=1e-8 (relative, in norm) of the same
    # least-squares solution.
    difference = np.linalg.norm(without_gram.coef_ - with_gram.coef_)
    assert difference < 1e-7 * np.linalg.norm(with_gram.coef_)
    # intercept_ = y_mean - coef_ @ X_mean inherits the error of coef_ @ X_mean.
    X_mean = np.asarray(X.mean(axis=0)).ravel()
    slack = 1e-7 * np.linalg.norm(with_gram.coef_) * np.linalg.norm(X_mean)
    assert abs(without_gram.intercept_ - with_gram.intercept_) < slack


def test_auto_precompute_follows_the_shape():
    rng = np.random.default_rng(0)
    tall = rng.standard_normal((50, 10))
    wide = rng.standard_normal((10, 50))

    tall_model = DeepLinearRegressor(depth=1).fit(tall, tall[:, 0])
    wide_model = DeepLinearRegressor(depth=1).fit(wide, wide[:, 0])

    assert tall_model._scatter is not None
    assert wide_model._scatter is None


def test_auto_precompute_skips_gram_for_very_sparse_X():
    rng = np.random.default_rng(0)
    # 2 * nnz = 1 200 products per row against 300^2 = 90 000 through S.
    very_sparse = sp.random(2_000, 300, density=0.001, format="csr", random_state=0)
    denser = sp.random(2_000, 300, density=0.2, format="csr", random_state=0)
    y = rng.standard_normal(2_000)

    sparse_model = DeepLinearRegressor(max_iter=5).fit(very_sparse, y)
    denser_model = DeepLinearRegressor(max_iter=5).fit(denser, y)

    assert sparse_model._scatter is None
    assert denser_model._scatter is not None


def test_lipschitz_rule_skips_eigendecompositions(monkeypatch):
    # The block Lipschitz constants come from warm-started power iterations.
    # The only eigendecomposition of the fit is the stopping certificate's.
    calls = []

    def counted(function):
        def wrapper(*args, **kwargs):
            calls.append(function.__name__)
            return function(*args, **kwargs)

        return wrapper

    for name in ("eigh", "eigvalsh"):
        monkeypatch.setattr(
            solver_module.linalg, name, counted(getattr(solver_module.linalg, name))
        )
        monkeypatch.setattr(np.linalg, name, counted(getattr(np.linalg, name)))
    gram, cross, target_ss = random_problem(n_features=6, n_outputs=5)
    weights = orthogonal_like([6, 8, 8, 5], np.random.default_rng(0))

    result = fit_bcgd(
        weights, gram, cross, target_ss, learning_rate="lipschitz", max_iter=20
    )

    assert result.n_iter == 20
    assert calls == ["eigh"]
