"""Acceleration of the one-layer fit: conjugate directions, exact subspace steps."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from sklearn_deeplinear import DeepLinearRegressor
from sklearn_deeplinear._solver import _DirectionMemory, fit_bcgd, objective
from sklearn_deeplinear.datasets import make_conditioned_regression


def quadratic_problem(n_features=7, n_outputs=3, seed=0):
    rng = np.random.default_rng(seed)
    factor = rng.standard_normal((n_features, n_features))
    gram = factor @ factor.T / n_features + 0.1 * np.eye(n_features)
    cross = rng.standard_normal((n_outputs, n_features))
    return gram, cross


def memory_of(directions, gram):
    """Return a :class:`_DirectionMemory` that contains ``directions`` in order."""
    memory = _DirectionMemory(directions[0].size, len(directions))
    for direction in directions:
        memory.add(direction.ravel(), (direction @ gram).ravel())
    return memory


def test_span_minimiser_solves_the_normal_equations():
    # With p = vec(P) (row-major) the loss is 1/2 p.(I kron S)p - c.p, so on
    # p + D a it is minimised by (D.T K D) a = D.T (c - K p), K = I kron S.
    gram, cross = quadratic_problem()
    rng = np.random.default_rng(1)
    product = rng.standard_normal(cross.shape)
    directions = [rng.standard_normal(cross.shape) for _ in range(4)]

    memory = memory_of(directions, gram)
    coefficients, decrease = memory.minimise((product @ gram - cross).ravel())

    kron = np.kron(np.eye(cross.shape[0]), gram)
    basis = np.stack([d.ravel() for d in directions], axis=1)
    rhs = basis.T @ (cross.ravel() - kron @ product.ravel())
    expected = np.linalg.solve(basis.T @ kron @ basis, rhs)
    np.testing.assert_allclose(coefficients, expected, rtol=1e-10)
    move, image_move = memory.combine(coefficients)
    point = product + move.reshape(cross.shape)
    np.testing.assert_allclose(image_move, (move.reshape(cross.shape) @ gram).ravel())
    before = objective([product], gram, cross, 0.0)
    after = objective([point], gram, cross, 0.0)
    assert decrease == pytest.approx(before - after, rel=1e-8)


def test_span_minimiser_drops_parallel_directions():
    gram, cross = quadratic_problem()
    direction = np.ones_like(cross)
    # Two copies of one direction make H singular; the point is then the
    # minimiser along that single direction.
    memory = memory_of([direction, 2.0 * direction], gram)

    coefficients, _ = memory.minimise(-cross.ravel())

    point = memory.combine(coefficients)[0].reshape(cross.shape)
    along = np.sum(direction * cross) / np.sum(direction * (direction @ gram))
    np.testing.assert_allclose(point, along * direction, rtol=1e-10)


def test_memory_reuses_slots_in_turn():
    gram, cross = quadratic_problem()
    rng = np.random.default_rng(3)
    directions = [rng.standard_normal(cross.shape) for _ in range(5)]
    memory = memory_of(directions[:3], gram)

    for direction in directions[3:]:
        memory.add(direction.ravel(), (direction @ gram).ravel())

    # Three slots now hold the last three directions, the newest in slot 1.
    assert memory.count == 3
    assert memory.newest == 1
    stored = [memory.directions[slot] for slot in (2, 0, 1)]
    np.testing.assert_array_equal(stored, [d.ravel() for d in directions[2:]])
    expected = np.array(
        [[np.vdot(a, b @ gram) for b in directions[2:]] for a in directions[2:]]
    )
    hessian = memory.hessian[np.ix_([2, 0, 1], [2, 0, 1])]
    np.testing.assert_allclose(hessian, expected, rtol=1e-12)


def test_conjugate_direction_is_conjugate_and_descending():
    gram, cross = quadratic_problem()
    rng = np.random.default_rng(2)
    stored = rng.standard_normal(cross.shape)
    memory = memory_of([stored], gram)
    steepest = rng.standard_normal(cross.shape)

    direction = memory.conjugate(steepest.ravel()).reshape(cross.shape)

    products = np.vdot(stored, direction @ gram)
    assert abs(products) < 1e-12 * np.linalg.norm(stored) * np.linalg.norm(steepest)
    assert np.vdot(direction, steepest) > 0.0


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_one_layer_ends_within_n_features_sweeps(n_outputs):
    # In exact arithmetic the iterates minimise the loss over a Krylov space
    # that grows by one dimension per sweep, as conjugate gradients do. So
    # n_features sweeps reach the minimiser, and one more confirms it.
    gram, cross = quadratic_problem(n_features=5, n_outputs=n_outputs)
    weights = [np.zeros_like(cross)]

    result = fit_bcgd(
        weights, gram, cross, 0.0, acceleration="anderson", max_iter=100, tol=1e-10
    )

    solution = np.linalg.solve(gram, cross.T).T
    assert result.converged
    assert result.n_iter <= 5 + 1
    np.testing.assert_allclose(weights[0], solution, rtol=1e-9, atol=1e-12)


def ill_conditioned_data():
    rng = np.random.default_rng(0)
    rotation, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    mixing = rotation * np.sqrt(np.logspace(0, -3, 30))
    X = rng.standard_normal((2_000, 30)) @ mixing.T
    Y = X @ rng.standard_normal((30, 2)) + 0.1 * rng.standard_normal((2_000, 2))
    return X, Y


def test_acceleration_needs_far_fewer_sweeps():
    X, Y = ill_conditioned_data()
    ols = LinearRegression().fit(X, Y)

    accelerated = DeepLinearRegressor(depth=1, max_iter=50_000)
    plain = DeepLinearRegressor(depth=1, acceleration="none", max_iter=50_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        accelerated.fit(X, Y)
        plain.fit(X, Y)

    # Both stop by the certificate at tol=1e-10 from least squares.
    for model in (accelerated, plain):
        error = np.linalg.norm(model.coef_ - ols.coef_) / np.linalg.norm(ols.coef_)
        assert error < 1e-8
    # Steepest descent contracts by about (k - 1) / (k + 1) per sweep on a
    # condition number k = 1e3, conjugate directions by (r - 1) / (r + 1)
    # with r = sqrt(k), which takes about 30 times fewer sweeps; 10 times
    # leaves room.
    assert accelerated.n_iter_ * 10 < plain.n_iter_


def test_accelerated_loss_never_rises():
    X, Y = ill_conditioned_data()

    model = DeepLinearRegressor(depth=1, max_iter=50_000).fit(X, Y)

    curve = np.asarray(model.loss_curve_)
    # The slack is the round-off of evaluating the loss from the statistics,
    # whose terms have the size of the zero map's loss: 1e-14 is about 45
    # ulps of it.
    zero_map_loss = 0.5 * float(np.mean(np.var(Y, axis=0)))
    assert np.all(np.diff(curve) <= 1e-14 * zero_map_loss)
    assert len(curve) == model.n_iter_ == len(model.step_sizes_)


def test_plain_one_layer_fit_is_the_paper_algorithm():
    # The reference problem: with acceleration="none" the fit takes only the
    # optimal gradient steps, so the loss after one sweep follows in closed
    # form from P = 0: loss(0) - ||C||^2 / 2 * ||C||^2 / <C, C S>.
    X, Y = make_conditioned_regression(random_state=1)
    model = DeepLinearRegressor(
        depth=1, acceleration="none", fit_intercept=False, max_iter=1, tol=0.0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, Y)

    n_samples, n_outputs = Y.shape
    gram = X.T @ X / n_samples
    cross = Y.T @ X / n_samples
    start = np.sum(Y * Y) / (2 * n_samples)
    norm_sq = np.sum(cross * cross)
    expected = start - 0.5 * norm_sq**2 / np.sum(cross * (cross @ gram))
    assert model.loss_curve_[0] == pytest.approx(expected / n_outputs, rel=1e-12)
    assert model.step_sizes_[0, 0] == pytest.approx(
        norm_sq / np.sum(cross * (cross @ gram)), rel=1e-12
    )


def fit_with_and_without_gram(X, y):
    """Return default fits with and without the Gram matrix; warnings fail."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        with_gram = DeepLinearRegressor(precompute=True).fit(X, y)
        without_gram = DeepLinearRegressor(precompute=False).fit(X, y)
    return with_gram, without_gram


@pytest.mark.parametrize("sparse", [False, True])
def test_gram_free_one_layer_matches_gram(sparse):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 60)) * (rng.random((400, 60)) < 0.2)
    y = X @ rng.standard_normal(60) + 0.1 * rng.standard_normal(400)
    if sparse:
        X = sp.csr_array(X)

    with_gram, without_gram = fit_with_and_without_gram(X, y)

    # The Gram-free fit refreshes P @ S every few sweeps instead of every
    # sweep and stops on an estimated rate, both within tol=1e-10 of the
    # least-squares solution, which a condition number near 10 resolves to
    # about 1e-13.
    difference = np.linalg.norm(without_gram.coef_ - with_gram.coef_)
    assert difference < 1e-8 * np.linalg.norm(with_gram.coef_)


def test_gram_free_fit_on_badly_scaled_columns():
    # Column scales from 0.1 to 10 give a condition number near 2e4, and the
    # fit runs for hundreds of sweeps. P @ S is carried along between
    # refreshes, and its round-off must not grow into the iterates.
    rng = np.random.default_rng(0)
    X = sp.random(2_000, 200, density=0.02, format="csr", random_state=rng)
    X.data = rng.standard_normal(X.nnz)
    X = sp.csr_array(X.multiply(np.logspace(-1, 1, 200)))
    y = X @ rng.standard_normal(200) + 0.1 * rng.standard_normal(2_000)

    with_gram, without_gram = fit_with_and_without_gram(X, y)

    difference = np.linalg.norm(without_gram.coef_ - with_gram.coef_)
    assert difference < 1e-7 * np.linalg.norm(with_gram.coef_)
    curve = np.asarray(without_gram.loss_curve_)
    assert np.all(np.diff(curve) <= 1e-14 * curve[0])
    residual = y - without_gram.predict(X)
    assert curve[-1] == pytest.approx(0.5 * np.mean(residual**2), rel=1e-10)
