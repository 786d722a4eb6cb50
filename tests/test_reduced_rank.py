"""Narrow hidden layers: reduced-rank regression, saddle points and ``rank_``."""

import itertools
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import linalg
from sklearn.datasets import load_linnerud
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import StandardScaler

from sklearn_deeplinear import DeepLinearRegressor
from sklearn_deeplinear._reduced_rank import (
    numerical_rank,
    reduced_rank_coef,
    reduced_rank_loss,
    reduced_rank_regression,
)
from sklearn_deeplinear._statistics import GramOperator, compute_scatter

# A fit at the reduced-rank optimum is within this loss of it, relative to the
# optimal loss. Measured gaps are below 2e-14 on both data sets.
LOSS_GAP_RTOL = 1e-8


def synthetic_data(seed=0, n_samples=500, n_features=10, n_outputs=6):
    """Full-rank linear targets with noise: ``C S^-1 C.T`` has distinct eigenvalues."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) + rng.uniform(-2, 2, n_features)
    coef = rng.standard_normal((n_outputs, n_features))
    Y = X @ coef.T + rng.standard_normal((n_samples, n_outputs)) + 1.0
    return X, Y


def linnerud_data():
    X, Y = load_linnerud(return_X_y=True)
    return StandardScaler().fit_transform(X), StandardScaler().fit_transform(Y)


def training_loss(X, Y, coef, intercept):
    """Half the mean squared residual, summed over outputs."""
    residuals = Y - X @ coef.T - intercept
    return 0.5 * np.sum(residuals**2) / X.shape[0]


def fit_without_warnings(X, Y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return DeepLinearRegressor(**params).fit(X, Y)


# Closed form.


@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5])
def test_statistics_and_data_routes_agree(rank):
    X, Y = synthetic_data()
    sample_weight = np.random.default_rng(1).uniform(0.1, 3.0, X.shape[0])
    gram, cross, target_ss, _, _ = compute_scatter(
        X, Y, sample_weight, centered=True
    ).problem()

    from_statistics = reduced_rank_coef(gram, cross, rank)
    from_data, _ = reduced_rank_regression(X, Y, rank, sample_weight=sample_weight)

    # Both routes are backward stable and the problem is well conditioned.
    np.testing.assert_allclose(from_statistics, from_data, rtol=1e-9, atol=1e-11)
    assert np.linalg.matrix_rank(from_data) == rank
    loss = (
        0.5 * np.sum(from_data * (from_data @ gram))
        - np.sum(from_data * cross)
        + target_ss
    )
    assert reduced_rank_loss(gram, cross, target_ss, rank) == pytest.approx(
        loss, rel=1e-12
    )


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_closed_form_beats_every_other_critical_point(rank):
    # The critical points of the rank-constrained loss project the
    # least-squares map onto a set J of eigenvectors of its fitted values'
    # second moment, with loss s - 1/2 sum_{i in J} lambda_i; the optimum
    # takes the top eigenvectors.
    X, Y = synthetic_data(n_outputs=4)
    ols = LinearRegression().fit(X, Y)
    fitted = X @ ols.coef_.T - (X @ ols.coef_.T).mean(axis=0)
    _, _, right = linalg.svd(fitted, full_matrices=False)

    coef, intercept = reduced_rank_regression(X, Y, rank)

    optimum = training_loss(X, Y, coef, intercept)
    for subset in itertools.combinations(range(4), rank):
        directions = right[list(subset)].T
        candidate = directions @ directions.T @ ols.coef_
        candidate_intercept = Y.mean(axis=0) - candidate @ X.mean(axis=0)
        loss = training_loss(X, Y, candidate, candidate_intercept)
        if subset == tuple(range(rank)):
            assert loss == pytest.approx(optimum, rel=1e-12)
        else:
            assert loss > optimum


def test_full_rank_is_least_squares():
    X, Y = synthetic_data()
    ols = LinearRegression().fit(X, Y)

    coef, intercept = reduced_rank_regression(X, Y, rank=6)

    np.testing.assert_allclose(coef, ols.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(intercept, ols.intercept_, rtol=1e-10)


def test_singular_gram_gives_minimum_norm_map():
    # A repeated feature makes S singular: the minimum-norm map splits the
    # weight of that feature equally between its two copies.
    X, Y = synthetic_data(n_features=5, n_outputs=4)
    X_repeated = np.column_stack([X, X[:, 0]])
    gram, cross, _, _, _ = compute_scatter(
        X_repeated, Y, np.ones(X.shape[0]), centered=True
    ).problem()

    from_statistics = reduced_rank_coef(gram, cross, rank=2)
    from_data, _ = reduced_rank_regression(X_repeated, Y, rank=2)
    reference, _ = reduced_rank_regression(X, Y, rank=2)

    np.testing.assert_allclose(from_statistics, from_data, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(from_data[:, 0], reference[:, 0] / 2, rtol=1e-8)
    np.testing.assert_allclose(from_data[:, -1], reference[:, 0] / 2, rtol=1e-8)
    np.testing.assert_allclose(from_data[:, 1:-1], reference[:, 1:], rtol=1e-8)


@pytest.mark.parametrize("shape", [(30, 50), (60, 8)])
@pytest.mark.parametrize("sparse", [False, True])
def test_gram_operator_matches_dense_gram(shape, sparse):
    # Without the Gram matrix the closed form comes from the
    # n_samples x n_samples kernel (more features than samples) or from S
    # formed through the operator.
    rng = np.random.default_rng(2)
    X = rng.standard_normal(shape) + 3.0
    Y = rng.standard_normal((shape[0], 4))
    sample_weight = rng.uniform(0.1, 2.0, shape[0])
    gram, cross, target_ss, X_offset, _ = compute_scatter(
        X, Y, sample_weight, centered=True
    ).problem()
    operator = GramOperator(sp.csr_array(X) if sparse else X, sample_weight, X_offset)

    for rank in (1, 2, 3):
        np.testing.assert_allclose(
            reduced_rank_coef(operator, cross, rank),
            reduced_rank_coef(gram, cross, rank),
            rtol=1e-8,
            atol=1e-10,
        )
        assert reduced_rank_loss(operator, cross, target_ss, rank) == pytest.approx(
            reduced_rank_loss(gram, cross, target_ss, rank), rel=1e-10
        )


# The network reaches the closed form.


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("width", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("random_state", [0, 1])
def test_synthetic_fit_reaches_reduced_rank_optimum(depth, width, random_state):
    X, Y = synthetic_data()
    coef, intercept = reduced_rank_regression(X, Y, rank=width)
    optimum = training_loss(X, Y, coef, intercept)

    model = fit_without_warnings(
        X, Y, depth=depth, width=width, random_state=random_state
    )

    loss = training_loss(X, Y, model.coef_, model.intercept_)
    assert (loss - optimum) / optimum < LOSS_GAP_RTOL
    assert model.rank_ == width


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("width", [1, 2])
@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_linnerud_fit_reaches_reduced_rank_optimum(depth, width, random_state):
    X, Y = linnerud_data()
    coef, intercept = reduced_rank_regression(X, Y, rank=width)
    optimum = training_loss(X, Y, coef, intercept)

    model = fit_without_warnings(
        X, Y, depth=depth, width=width, random_state=random_state
    )

    loss = training_loss(X, Y, model.coef_, model.intercept_)
    assert (loss - optimum) / optimum < LOSS_GAP_RTOL
    assert model.rank_ == width


def test_narrowest_of_several_hidden_layers_sets_rank():
    X, Y = synthetic_data()
    coef, intercept = reduced_rank_regression(X, Y, rank=2)
    optimum = training_loss(X, Y, coef, intercept)

    model = fit_without_warnings(X, Y, depth=4, width=[8, 2, 5], random_state=0)

    loss = training_loss(X, Y, model.coef_, model.intercept_)
    assert (loss - optimum) / optimum < LOSS_GAP_RTOL
    assert model.rank_ == 2


# Saddle points.


def saddle_weights(X, Y, directions, depth):
    """Balanced weights of ``V_J V_J.T P_ols`` for eigenvector indices ``J``.

    Every block gradient vanishes there, so the layer-wise fit cannot leave
    unless round-off pushes it away.
    """
    ols = LinearRegression().fit(X, Y).coef_
    fitted = (X - X.mean(axis=0)) @ ols.T
    _, _, right = linalg.svd(fitted, full_matrices=False)
    chosen = right[directions].T
    saddle = chosen @ chosen.T @ ols
    left, singular_values, right_rows = linalg.svd(saddle, full_matrices=False)
    rank = len(directions)
    root = singular_values[:rank] ** (1.0 / depth)
    weights = [root[:, np.newaxis] * right_rows[:rank]]
    weights += [np.diag(root) for _ in range(depth - 2)]
    weights.append(left[:, :rank] * root)
    return weights, saddle


@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("precompute", [True, False])
def test_saddle_point_warns_with_both_losses(depth, precompute):
    # On the Linnerud data the eigenvalues of the fitted values' second moment
    # are 0.878, 0.0090 and 0.0035. The map on the first and third direction
    # is a saddle. Leaving it means turning the third direction into the
    # second, and the gap 0.0055 makes that so slow that the fit stops first.
    X, Y = linnerud_data()
    weights, saddle = saddle_weights(X, Y, [0, 2], depth)
    coef, intercept = reduced_rank_regression(X, Y, rank=2)
    optimum = training_loss(X, Y, coef, intercept) / Y.shape[1]
    saddle_loss = training_loss(X, Y, saddle, Y.mean(axis=0)) / Y.shape[1]
    model = DeepLinearRegressor(
        depth=depth, width=2, warm_start=True, precompute=precompute
    )
    model.weights_ = weights

    with pytest.warns(ConvergenceWarning, match="saddle point") as record:
        model.fit(X, Y)

    message = str(record[0].message)
    reported = [float(value) for value in re.findall(r"\d+\.\d+", message)]
    assert reported == pytest.approx([saddle_loss, optimum], rel=1e-7)
    assert "random_state" in message
    assert "max_iter" in message
    assert model.loss_curve_[-1] == pytest.approx(saddle_loss, rel=1e-10)
    np.testing.assert_allclose(model.coef_, saddle, atol=1e-10)


@pytest.mark.parametrize("width", [1, 2])
def test_escaped_saddle_does_not_warn(width):
    # From the map on the second (or second and third) direction, the unstable
    # direction has curvature lambda_1 - lambda_2 = 0.87, so round-off grows
    # fast enough for the fit to leave and reach the optimum.
    X, Y = linnerud_data()
    weights, _ = saddle_weights(X, Y, [1, 2][:width], depth=3)
    coef, intercept = reduced_rank_regression(X, Y, rank=width)
    optimum = training_loss(X, Y, coef, intercept)
    model = DeepLinearRegressor(depth=3, width=width, warm_start=True)
    model.weights_ = weights

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, Y)

    loss = training_loss(X, Y, model.coef_, model.intercept_)
    assert (loss - optimum) / optimum < LOSS_GAP_RTOL


def test_saddle_check_skipped_with_weight_decay():
    # With alpha > 0 the rank-constrained optimum has no closed form, so the
    # check does not run even at the constructed saddle.
    X, Y = linnerud_data()
    weights, _ = saddle_weights(X, Y, [0, 2], depth=2)
    model = DeepLinearRegressor(depth=2, width=2, warm_start=True, alpha=1e-12)
    model.weights_ = weights

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, Y)


# rank_.


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_rank_of_wide_fit_is_full(depth):
    X, Y = synthetic_data()

    model = fit_without_warnings(X, Y, depth=depth, random_state=0)

    assert model.rank_ == 6
    assert model.rank_ == np.linalg.matrix_rank(LinearRegression().fit(X, Y).coef_)


def test_rank_of_single_output_is_one():
    X, Y = synthetic_data()

    model = fit_without_warnings(X, Y[:, 0], depth=2, random_state=0)

    assert model.coef_.ndim == 1
    assert model.rank_ == 1


def test_rank_of_float32_narrow_fit():
    # Casting coef_ to float32 leaves singular values of 3e-8 to 1e-7 times the
    # largest where exact arithmetic has zeros. They are below the float32
    # tolerance 10 * eps(float32) = 1.2e-6 but would count with float64's eps.
    X, Y = synthetic_data()

    model = fit_without_warnings(
        X.astype(np.float32), Y.astype(np.float32), depth=2, width=3, random_state=0
    )

    assert model.coef_.dtype == np.float32
    assert model.rank_ == 3


def test_numerical_rank_tolerance():
    # Singular values 1, 1e-3 and 1e-14: the cutoff is 1 * 4 * eps = 8.9e-16
    # in float64, so all three count; in float32 (eps 1.2e-7) the last does not.
    rng = np.random.default_rng(0)
    left, _ = linalg.qr(rng.standard_normal((3, 3)))
    right, _ = linalg.qr(rng.standard_normal((4, 3)), mode="economic")
    coef = left @ np.diag([1.0, 1e-3, 1e-14]) @ right.T

    assert numerical_rank(coef) == np.linalg.matrix_rank(coef) == 3
    assert numerical_rank(coef.astype(np.float32)) == 2
    assert numerical_rank(np.zeros((3, 4))) == 0
