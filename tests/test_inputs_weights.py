"""Sample weights: the weighted least-squares fit, and invalid weights."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from sklearn_deeplinear import DeepLinearRegressor


def relative_error(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


def weighted_problem(n_samples=60, n_features=4, n_outputs=1, seed=0):
    """Return well-conditioned ``X``, a noisy linear ``y`` and positive weights."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    coef = rng.standard_normal((n_features, n_outputs))
    Y = X @ coef + 1.5 + 0.1 * rng.standard_normal((n_samples, n_outputs))
    y = Y[:, 0] if n_outputs == 1 else Y
    sample_weight = rng.uniform(0.2, 3.0, n_samples)
    return X, y, sample_weight


# The default tol (1e-8 on the remaining relative change of coef_) leaves the
# coefficients of these well-conditioned problems within about 1e-8 of OLS,
# so 1e-6 relative is a safe bound.
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_weighted_fit_matches_linear_regression(depth, fit_intercept, n_outputs):
    X, y, sample_weight = weighted_problem(n_outputs=n_outputs)
    ols = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight)

    model = DeepLinearRegressor(
        depth=depth, fit_intercept=fit_intercept, random_state=0
    ).fit(X, y, sample_weight=sample_weight)

    assert model.coef_.shape == ols.coef_.shape
    assert relative_error(model.coef_, ols.coef_) < 1e-6
    np.testing.assert_allclose(model.intercept_, ols.intercept_, rtol=1e-6, atol=1e-8)


def test_weights_differ_from_unweighted_fit():
    # Guards the test above: the weights must change the OLS coefficients, or
    # a model that ignored them would pass.
    X, y, sample_weight = weighted_problem()
    weighted = LinearRegression().fit(X, y, sample_weight)
    unweighted = LinearRegression().fit(X, y)

    assert relative_error(weighted.coef_, unweighted.coef_) > 1e-3

    model = DeepLinearRegressor(random_state=0).fit(X, y)
    assert relative_error(model.coef_, weighted.coef_) > 1e-3


@pytest.mark.parametrize("depth", [1, 3])
def test_zero_weight_equals_dropping_row(depth):
    X, y, sample_weight = weighted_problem()
    sample_weight[[3, 10, 11]] = 0.0
    # Make the rows with zero weight outliers, so that keeping them shows.
    y = y.copy()
    y[[3, 10, 11]] += 100.0
    positive = sample_weight > 0
    ols = LinearRegression().fit(X[positive], y[positive], sample_weight[positive])

    zero_weight = DeepLinearRegressor(depth=depth, random_state=0).fit(
        X, y, sample_weight=sample_weight
    )
    dropped = DeepLinearRegressor(depth=depth, random_state=0).fit(
        X[positive], y[positive], sample_weight=sample_weight[positive]
    )

    assert relative_error(zero_weight.coef_, ols.coef_) < 1e-6
    assert zero_weight.intercept_ == pytest.approx(ols.intercept_, rel=1e-6)
    assert relative_error(zero_weight.coef_, dropped.coef_) < 1e-6
    assert zero_weight.intercept_ == pytest.approx(dropped.intercept_, rel=1e-6)


@pytest.mark.parametrize("depth", [1, 3])
def test_integer_weight_equals_repeating_row(depth):
    X, y, _ = weighted_problem()
    counts = np.ones(len(y), dtype=np.int64)
    counts[[0, 5, 7]] = [2, 3, 5]
    repeated = np.repeat(np.arange(len(y)), counts)
    ols = LinearRegression().fit(X[repeated], y[repeated])

    weighted = DeepLinearRegressor(depth=depth, random_state=0).fit(
        X, y, sample_weight=counts
    )
    repeated_rows = DeepLinearRegressor(depth=depth, random_state=0).fit(
        X[repeated], y[repeated]
    )

    assert relative_error(weighted.coef_, ols.coef_) < 1e-6
    assert weighted.intercept_ == pytest.approx(ols.intercept_, rel=1e-6)
    assert relative_error(weighted.coef_, repeated_rows.coef_) < 1e-6
    assert weighted.intercept_ == pytest.approx(repeated_rows.intercept_, rel=1e-6)


def test_scaling_all_weights_changes_nothing():
    # The loss divides by the weight sum, so a common factor cancels exactly
    # up to the rounding of the weighted sums.
    X, y, sample_weight = weighted_problem()
    model = DeepLinearRegressor(random_state=0).fit(X, y, sample_weight=sample_weight)
    scaled = DeepLinearRegressor(random_state=0).fit(
        X, y, sample_weight=1e3 * sample_weight
    )

    assert relative_error(scaled.coef_, model.coef_) < 1e-9
    assert scaled.intercept_ == pytest.approx(model.intercept_, rel=1e-9)
    np.testing.assert_allclose(scaled.loss_curve_, model.loss_curve_, rtol=1e-9)


def test_unit_weights_equal_no_weights():
    X, y, _ = weighted_problem()
    model = DeepLinearRegressor(random_state=0).fit(X, y)
    unit = DeepLinearRegressor(random_state=0).fit(X, y, sample_weight=np.ones(len(y)))

    np.testing.assert_allclose(unit.coef_, model.coef_, rtol=1e-12)
    assert unit.intercept_ == pytest.approx(model.intercept_, rel=1e-12)


def test_scalar_weight_equals_no_weights():
    X, y, _ = weighted_problem()
    model = DeepLinearRegressor(random_state=0).fit(X, y)
    scalar = DeepLinearRegressor(random_state=0).fit(X, y, sample_weight=2.5)

    np.testing.assert_allclose(scalar.coef_, model.coef_, rtol=1e-9)


def with_first(sample_weight, value):
    sample_weight = sample_weight.copy()
    sample_weight[0] = value
    return sample_weight


@pytest.mark.parametrize(
    "make_weight, match",
    [
        (lambda w: with_first(w, -1.0), "Negative values in data passed to"),
        (lambda w: with_first(w, np.nan), "sample_weight contains NaN"),
        (lambda w: with_first(w, np.inf), "sample_weight contains infinity"),
        (lambda w: with_first(w, -np.inf), "sample_weight contains infinity"),
        (lambda w: w[:-1], r"sample_weight.shape == \(59,\), expected \(60,\)"),
        (lambda w: np.concatenate([w, w]), r"expected \(60,\)"),
        (lambda w: w[:, np.newaxis], "Sample weights must be 1D array or scalar"),
        (lambda w: np.zeros_like(w), "at least one (non-zero number|positive weight)"),
        (lambda w: np.array(["a"] * len(w)), "could not convert string to float"),
    ],
    ids=[
        "negative",
        "nan",
        "inf",
        "minus-inf",
        "too-short",
        "too-long",
        "two-dimensional",
        "all-zero",
        "strings",
    ],
)
def test_invalid_sample_weight_raises(make_weight, match):
    X, y, sample_weight = weighted_problem()
    with pytest.raises(ValueError, match=match):
        DeepLinearRegressor().fit(X, y, sample_weight=make_weight(sample_weight))


def test_invalid_sample_weight_raises_before_fitting():
    X, y, sample_weight = weighted_problem()
    model = DeepLinearRegressor()
    with pytest.raises(ValueError):
        model.fit(X, y, sample_weight=with_first(sample_weight, -1.0))

    assert not hasattr(model, "coef_")
