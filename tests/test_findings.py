"""The convergence findings of Y. Shin, arXiv:1910.05874, on the reference problem.

Every fit here runs the plain layer-wise algorithm (``acceleration="none"``)
without an intercept, so that sweep counts are those of the paper's method.
The reference problem is ``make_conditioned_regression(random_state=1)``:
2000 samples, 20 features with condition number 100, 3 outputs, noise 0.1.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from sklearn_deeplinear import DeepLinearRegressor, _solver
from sklearn_deeplinear._initializers import INITIALIZERS
from sklearn_deeplinear.datasets import make_conditioned_regression

# Relative gap to the least-squares loss at which a fit counts as converged.
TARGET_GAP = 1e-8

# Sweeps to TARGET_GAP on the reference problem, width 20, forward order,
# optimal step, orthogonal-like start, measured with the reference recipe.
REFERENCE_SWEEPS = {1: 463, 2: 162, 4: 78, 8: 37, 16: 20}

# Layer sizes of a depth-4, width-20 network on the reference problem.
LAYER_SIZES = [20, 20, 20, 20, 3]


@pytest.fixture(scope="module")
def reference():
    """Return ``X``, ``Y``, the least-squares fit and its loss."""
    X, Y = make_conditioned_regression(random_state=1)
    ols = LinearRegression(fit_intercept=False).fit(X, Y)
    least_squares = 0.5 * np.mean((Y - ols.predict(X)) ** 2)
    return X, Y, ols, least_squares


def fit_plain(X, Y, **params):
    """Fit the plain algorithm for exactly ``max_iter`` sweeps, unless it stops."""
    model = DeepLinearRegressor(
        acceleration="none", fit_intercept=False, tol=0, **params
    )
    with warnings.catch_warnings():
        # tol=0 with a fixed max_iter ends every fit with this warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, Y)


def sweeps_to_gap(loss_curve, least_squares):
    """Return the first sweep (from 1) within TARGET_GAP, or None."""
    gap = (np.asarray(loss_curve) - least_squares) / least_squares
    reached = np.flatnonzero(gap <= TARGET_GAP)
    return int(reached[0]) + 1 if reached.size else None


def relative_difference(curve, reference_curve):
    curve = np.asarray(curve)
    reference_curve = np.asarray(reference_curve)
    return np.max(np.abs(curve - reference_curve) / reference_curve)


# Width. At depth 2, round-off outside the starting subspace grows and the
# curves pass 1e-10 after about 45 sweeps, so that horizon is shorter. At
# depths 3, 4 and 8 the curves agree to about 6e-13 over horizons that end
# before the fits stall at the round-off floor (after about 230, 134 and 68
# sweeps).
DEPTH_SIX_DRIFT = pytest.mark.xfail(
    strict=True,
    reason="at depth 6 on this problem the curves drift apart transiently, to "
    "about 4e-9 between sweeps 33 and 50, and agree to 1e-13 again at the optimum",
)


@pytest.mark.parametrize(
    "depth, n_sweeps",
    [(2, 30), (3, 150), (4, 100), pytest.param(6, 60, marks=DEPTH_SIX_DRIFT), (8, 60)],
)
def test_width_and_seed_leave_curve_unchanged(reference, depth, n_sweeps):
    X, Y, _, _ = reference
    baseline = fit_plain(X, Y, depth=depth, width=20, max_iter=n_sweeps, random_state=0)
    assert baseline.n_iter_ == n_sweeps

    for width, seed in [(20, 1), (60, 2), (200, 3)]:
        model = fit_plain(
            X, Y, depth=depth, width=width, max_iter=n_sweeps, random_state=seed
        )

        assert model.n_iter_ == n_sweeps
        assert relative_difference(model.loss_curve_, baseline.loss_curve_) <= 1e-10


@pytest.mark.parametrize("width", [19, 10])
def test_narrow_width_changes_curve(reference, width):
    X, Y, _, _ = reference
    wide = fit_plain(X, Y, depth=3, width=20, max_iter=30, random_state=0)
    narrow = fit_plain(X, Y, depth=3, width=width, max_iter=30, random_state=0)

    # Measured: the largest relative difference is about 0.7 (width 19) and
    # 6 (width 10), far above the 1e-10 of equal curves.
    assert relative_difference(narrow.loss_curve_, wide.loss_curve_) > 0.1


def test_depth_cuts_sweeps_to_gap(reference):
    X, Y, _, least_squares = reference
    counts = {}
    for depth, expected in REFERENCE_SWEEPS.items():
        model = fit_plain(
            X,
            Y,
            depth=depth,
            width=20,
            max_iter=int(1.1 * expected) + 1,
            random_state=0,
        )
        counts[depth] = sweeps_to_gap(model.loss_curve_, least_squares)

    for depth, expected in REFERENCE_SWEEPS.items():
        assert counts[depth] is not None, f"depth {depth} never reached the gap"
        assert counts[depth] == pytest.approx(expected, rel=0.1), (depth, counts)
    sweeps = [counts[depth] for depth in REFERENCE_SWEEPS]
    assert all(deeper < shallower for shallower, deeper in zip(sweeps, sweeps[1:]))


@pytest.mark.parametrize("init", ["glorot_normal", "he_normal"])
@pytest.mark.parametrize("depth", [2, 4, 8, 16])
def test_gaussian_start_needs_more_sweeps(reference, init, depth):
    X, Y, _, least_squares = reference
    orthogonal = fit_plain(
        X, Y, depth=depth, width=20, max_iter=REFERENCE_SWEEPS[depth] + 20
    )
    n_orthogonal = sweeps_to_gap(orthogonal.loss_curve_, least_squares)

    for seed in range(3):
        # Running the Gaussian start only as long as the orthogonal-like one
        # needed shows that it needs more, without running it to the end.
        model = fit_plain(
            X,
            Y,
            depth=depth,
            width=20,
            init=init,
            max_iter=n_orthogonal,
            random_state=seed,
        )

        assert model.n_iter_ == n_orthogonal
        assert sweeps_to_gap(model.loss_curve_, least_squares) is None


@pytest.mark.parametrize("depth, width", [(1, None), (2, 20), (3, 20), (5, 60)])
def test_whitened_inputs_converge_in_one_sweep(depth, width):
    rng = np.random.default_rng(0)
    n_samples, n_features = 500, 20
    basis, _ = np.linalg.qr(rng.standard_normal((n_samples, n_features)))
    X = np.sqrt(n_samples) * basis
    Y = X @ rng.standard_normal((n_features, 3)) + rng.standard_normal((n_samples, 3))
    assert_allclose(X.T @ X / n_samples, np.eye(n_features), atol=1e-13)
    ols = LinearRegression(fit_intercept=False).fit(X, Y)
    least_squares = 0.5 * np.mean((Y - ols.predict(X)) ** 2)

    model = fit_plain(X, Y, depth=depth, width=width, max_iter=1, random_state=0)

    # With S = I the last layer's optimal step is exactly 1 and lands on
    # P = C, the least-squares map; only round-off separates them.
    assert model.loss_curve_[0] == pytest.approx(least_squares, rel=1e-12)
    assert_allclose(model.coef_, ols.coef_, rtol=1e-10, atol=1e-12)


def reference_statistics(X, Y):
    """Return ``S``, ``C`` and ``s`` without centring."""
    n_samples = len(X)
    return X.T @ X / n_samples, Y.T @ X / n_samples, np.sum(Y**2) / (2 * n_samples)


class BlockStepper:
    """Block steps on ``weights``, one at a time, with the solver's own code.

    ``thin`` selects the solver's form of the prefix products: cached
    products, or thin products updated after each step and recomputed once
    a sweep, as the solver does.
    """

    def __init__(self, weights, statistics, thin):
        self.weights = weights
        self.gram, self.cross, self.target_ss = statistics
        self.cache = _solver._ProductCache(weights, self.gram)
        self.thin = _solver._ThinProducts(weights, self.gram) if thin else None
        self.norm_estimator = _solver._SpectralNormEstimator(np.random.default_rng(0))

    def step(self, block, learning_rate):
        """Take one step on ``block`` and return its step size."""
        step, _ = _solver._block_step(
            self.cache,
            self.thin,
            block,
            self.cross,
            0.0,
            learning_rate,
            self.norm_estimator,
        )
        return step

    def end_sweep(self):
        if self.thin is not None:
            self.thin.refresh()

    def loss(self):
        return _solver.objective(self.weights, self.gram, self.cross, self.target_ss)


def loss_after_block_step(weights, block, statistics, learning_rate, thin):
    """Return the loss and step size of one step on a copy of ``weights``."""
    stepper = BlockStepper([weight.copy() for weight in weights], statistics, thin)
    step = stepper.step(block, learning_rate)
    return stepper.loss(), step


def starting_points(X, Y):
    """Return Gaussian starts and a point part-way through a fit, at depth 4."""
    points = []
    for seed in range(3):
        random_state = np.random.RandomState(seed)
        points.append(INITIALIZERS["glorot_normal"](LAYER_SIZES, random_state))
    midway = fit_plain(X, Y, depth=4, width=20, max_iter=5, random_state=0)
    points.append([np.array(weight) for weight in midway.weights_])
    return points


@pytest.mark.parametrize("thin", [False, True])
def test_optimal_step_beats_lipschitz_step(reference, thin):
    X, Y, _, _ = reference
    statistics = reference_statistics(X, Y)
    # The loss is evaluated from S, C and s = 7.1 with terms of up to about 15
    # that cancel, so its round-off is about 1e-14.
    roundoff = 1e-12

    for weights in starting_points(X, Y):
        loss = _solver.objective(weights, *statistics)
        for block in range(len(weights)):
            optimal, step = loss_after_block_step(
                weights, block, statistics, "optimal", thin
            )
            lipschitz, _ = loss_after_block_step(
                weights, block, statistics, "lipschitz", thin
            )
            shorter, _ = loss_after_block_step(
                weights, block, statistics, 0.9 * step, thin
            )
            longer, _ = loss_after_block_step(
                weights, block, statistics, 1.1 * step, thin
            )

            assert optimal < loss
            assert lipschitz < loss
            assert optimal <= lipschitz + roundoff
            # The optimal step minimises the loss along the block gradient.
            assert optimal <= shorter + roundoff
            assert optimal <= longer + roundoff


@pytest.mark.parametrize("thin", [False, True])
@pytest.mark.parametrize("learning_rate", ["optimal", "lipschitz"])
@pytest.mark.parametrize("init", ["orthogonal", "glorot_normal"])
def test_descent_rules_never_raise_loss(reference, learning_rate, init, thin):
    X, Y, _, _ = reference
    weights = INITIALIZERS[init](LAYER_SIZES, np.random.RandomState(0))
    stepper = BlockStepper(weights, reference_statistics(X, Y), thin)
    losses = [stepper.loss()]

    for _ in range(40):
        for block in range(len(weights)):
            stepper.step(block, learning_rate)
            losses.append(stepper.loss())
        stepper.end_sweep()

    # Round-off of the loss evaluation, as in the test above.
    assert np.all(np.diff(losses) <= 1e-12)
    assert losses[-1] < 0.1 * losses[0]


@pytest.mark.parametrize("learning_rate", ["optimal", "lipschitz"])
def test_descent_rules_loss_curve_decreases(reference, learning_rate):
    X, Y, _, _ = reference
    model = fit_plain(
        X,
        Y,
        depth=4,
        width=20,
        init="glorot_normal",
        learning_rate=learning_rate,
        max_iter=60,
        random_state=0,
    )

    assert model.n_iter_ == 60
    assert np.all(np.diff(model.loss_curve_) <= 0.0)


@pytest.mark.parametrize("depth, learning_rate", [(4, 1.0), (4, 0.3), (1, 100.0)])
def test_large_fixed_step_stops_with_warning(reference, depth, learning_rate):
    X, Y, _, _ = reference
    model = DeepLinearRegressor(
        depth=depth,
        width=20,
        learning_rate=learning_rate,
        acceleration="none",
        fit_intercept=False,
        tol=0,
        max_iter=500,
        random_state=0,
    )

    with pytest.warns(ConvergenceWarning, match="would increase the loss"):
        model.fit(X, Y)

    assert model.n_iter_ < 500
    for weight in model.weights_:
        assert np.all(np.isfinite(weight))
    assert np.all(np.isfinite(model.coef_))
    assert np.all(np.isfinite(model.loss_curve_))
    assert np.all(np.diff(model.loss_curve_) <= 0.0)


def coefficient_tolerance(X, Y):
    """Return how closely the loss pins down the coefficients at its minimum.

    The loss is evaluated with an absolute round-off of about ``eps * s``, and
    a coefficient error ``e`` along the weakest direction of ``S`` raises it
    by only ``lambda_min * e^2 / 2``. So a fit stopped at the round-off floor
    is known to about ``sqrt(2 eps s / lambda_min)``; a factor 10 covers the
    several terms of the sum.
    """
    gram, _, target_ss = reference_statistics(X, Y)
    smallest = np.linalg.eigvalsh(gram)[0]
    return 10 * np.sqrt(2 * np.finfo(float).eps * target_ss / smallest)


@pytest.mark.parametrize("update_order", ["backward", "random"])
@pytest.mark.parametrize("depth", [3, 5])
def test_update_orders_reach_least_squares(reference, update_order, depth):
    X, Y, ols, least_squares = reference
    model = fit_plain(
        X, Y, depth=depth, update_order=update_order, max_iter=3000, random_state=0
    )

    assert model.n_iter_ < 3000
    # Relative round-off of the loss is about eps * s / least_squares, 1e-12.
    assert model.loss_curve_[-1] == pytest.approx(least_squares, rel=1e-10)
    assert_allclose(model.coef_, ols.coef_, atol=coefficient_tolerance(X, Y))


def test_random_order_is_reproducible(reference):
    X, Y, _, _ = reference
    params = {"depth": 4, "update_order": "random", "max_iter": 40}

    first = fit_plain(X, Y, random_state=0, **params)
    second = fit_plain(X, Y, random_state=0, **params)
    other = fit_plain(X, Y, random_state=1, **params)

    assert_array_equal(first.loss_curve_, second.loss_curve_)
    assert_array_equal(first.coef_, second.coef_)
    # The orthogonal-like start gives the same curve for every seed, so a
    # different curve here comes from a different order of the blocks.
    assert relative_difference(other.loss_curve_, first.loss_curve_) > 1e-6
