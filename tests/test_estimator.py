"""DeepLinearRegressor against ordinary least squares and the scikit-learn API."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_linnerud, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_deeplinear import DeepLinearRegressor


def relative_error(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


def without_array_api_check(marker):
    """Drop ``check_array_api_input`` from a ``parametrize_with_checks`` marker.

    scikit-learn skips that check unless SCIPY_ARRAY_API is set, and the
    estimator computes with NumPy and SciPy only, so it does not apply.
    """
    names, params = marker.args
    applicable = [p for p in params if p[1].func.__name__ != "check_array_api_input"]
    return pytest.mark.parametrize(names, applicable, **marker.kwargs)


@without_array_api_check(
    parametrize_with_checks([DeepLinearRegressor(), DeepLinearRegressor(depth=3)])
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_diabetes_matches_ols_without_warning():
    X, y = load_diabetes(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ols = LinearRegression().fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = DeepLinearRegressor(random_state=0).fit(X, y)

    assert model.coef_.shape == ols.coef_.shape
    assert relative_error(model.coef_, ols.coef_) < 1e-6
    assert model.intercept_ == pytest.approx(ols.intercept_, rel=1e-9)


def test_linnerud_predictions_match_ols():
    X, Y = load_linnerud(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    ols = LinearRegression().fit(X, Y)

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = DeepLinearRegressor(random_state=0).fit(X, Y)

    assert model.coef_.shape == ols.coef_.shape == (3, 3)
    assert model.intercept_.shape == ols.intercept_.shape == (3,)
    assert relative_error(model.predict(X), ols.predict(X)) < 1e-6


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("init", ["orthogonal", "glorot_normal", "he_normal"])
def test_synthetic_matches_ols(fit_intercept, n_outputs, depth, init):
    X, y = make_regression(
        n_samples=300, n_features=8, n_targets=n_outputs, noise=5.0, random_state=0
    )
    X = X + 2.0  # an offset, so that the intercept matters
    ols = LinearRegression(fit_intercept=fit_intercept).fit(X, y)

    model = DeepLinearRegressor(
        depth=depth, init=init, fit_intercept=fit_intercept, random_state=0
    ).fit(X, y)

    assert model.coef_.shape == ols.coef_.shape
    assert np.shape(model.intercept_) == np.shape(ols.intercept_)
    assert relative_error(model.coef_, ols.coef_) < 1e-6
    # The default tol=1e-10 bounds the relative error of coef_ along the
    # resolved directions of X.T @ X; the predictions get a wider margin.
    assert relative_error(model.predict(X), ols.predict(X)) < 1e-7


def test_column_target_gives_row_coef():
    X, y = make_regression(n_samples=50, n_features=4, noise=1.0, random_state=0)
    model = DeepLinearRegressor(random_state=0).fit(X, y.reshape(-1, 1))
    ols = LinearRegression().fit(X, y.reshape(-1, 1))

    assert model.coef_.shape == ols.coef_.shape == (1, 4)
    assert model.intercept_.shape == ols.intercept_.shape == (1,)
    assert model.predict(X).shape == (50, 1)


@pytest.mark.parametrize("init", ["orthogonal", "glorot_normal", "he_normal"])
@pytest.mark.parametrize("depth", range(1, 9))
def test_loss_never_rises(init, depth):
    X, y = make_regression(
        n_samples=200, n_features=6, n_targets=2, noise=3.0, random_state=1
    )
    X = StandardScaler().fit_transform(X)
    model = DeepLinearRegressor(
        depth=depth, init=init, acceleration="none", max_iter=300, random_state=2
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)

    curve = np.asarray(model.loss_curve_)
    # Each sweep can only lower the loss. The slack is the round-off of
    # evaluating the loss from the statistics, a few ulps of its first value.
    assert np.all(np.diff(curve) <= 1e-13 * curve[0])
    assert len(curve) == model.n_iter_


def width_seed_curves(acceleration, max_iter=300, tol=0.0):
    """Loss curves for widths 20, 60, 200 (20 features, 3 outputs), three seeds."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 20)) @ rng.standard_normal((20, 20))
    Y = X @ rng.standard_normal((20, 3)) + 0.1 * rng.standard_normal((400, 3))

    curves = []
    for width, seed in [(20, 0), (60, 1), (200, 2)]:
        model = DeepLinearRegressor(
            depth=3,
            width=width,
            acceleration=acceleration,
            fit_intercept=False,
            max_iter=max_iter,
            tol=tol,
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            curves.append(np.asarray(model.fit(X, Y).loss_curve_))
    ols = LinearRegression(fit_intercept=False).fit(X, Y)
    ols_loss = 0.5 * np.mean((Y - ols.predict(X)) ** 2)
    return curves, ols_loss


def test_width_plays_no_role_with_orthogonal_start():
    (reference, *others), _ = width_seed_curves(acceleration="none")

    assert len(reference) == 300
    for curve in others:
        np.testing.assert_allclose(curve, reference, rtol=1e-10, atol=0)


def test_width_plays_no_role_in_accelerated_optimum():
    # In exact arithmetic the extrapolated trajectory is width-independent too,
    # but its small least-squares solve amplifies round-off, so only the
    # optimum it reaches is compared, with the least-squares loss.
    curves, ols_loss = width_seed_curves("anderson", max_iter=5000, tol=1e-8)

    for curve in curves:
        assert curve[-1] == pytest.approx(ols_loss, rel=1e-10)


def test_equal_random_state_equal_results():
    X, y = make_regression(n_samples=100, n_features=5, noise=1.0, random_state=0)
    params = dict(depth=3, init="glorot_normal", max_iter=20, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = DeepLinearRegressor(**params, random_state=7).fit(X, y)
        second = DeepLinearRegressor(**params, random_state=7).fit(X, y)
        other = DeepLinearRegressor(**params, random_state=8).fit(X, y)

    np.testing.assert_array_equal(first.coef_, second.coef_)
    assert first.loss_curve_ == second.loss_curve_
    assert not np.array_equal(first.weights_[0], other.weights_[0])


def test_clone_and_pickle_keep_the_model():
    X, y = make_regression(n_samples=100, n_features=5, noise=1.0, random_state=0)
    model = DeepLinearRegressor(depth=2, width=7, random_state=0).fit(X, y)

    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))

    unfitted = clone(model)
    assert unfitted.get_params() == model.get_params()
    assert not hasattr(unfitted, "coef_")


def test_grid_search_and_cross_validate_in_pipeline():
    X, y = load_diabetes(return_X_y=True)
    cv = KFold(n_splits=3, shuffle=True, random_state=0)
    pipeline = make_pipeline(StandardScaler(), DeepLinearRegressor(random_state=0))
    search = GridSearchCV(
        pipeline,
        {
            "deeplinearregressor__depth": [1, 3],
            "deeplinearregressor__width": [None, 1],
            "deeplinearregressor__init": ["orthogonal", "glorot_normal"],
        },
        cv=cv,
    ).fit(X, y)
    ols_scores = cross_validate(
        make_pipeline(StandardScaler(), LinearRegression()), X, y, cv=cv
    )["test_score"]
    deep_scores = cross_validate(search.best_estimator_, X, y, cv=cv)["test_score"]

    # With one output even width 1 is full rank, so every candidate, and the
    # best one on every fold, solves the same least-squares problem as OLS.
    np.testing.assert_allclose(deep_scores, ols_scores, rtol=1e-6)


def test_weights_multiply_to_coef():
    X, Y = make_regression(
        n_samples=80, n_features=6, n_targets=2, noise=1.0, random_state=0
    )
    model = DeepLinearRegressor(depth=4, width=[5, 9, 3], random_state=0).fit(X, Y)

    assert [w.shape for w in model.weights_] == [(5, 6), (9, 5), (3, 9), (2, 3)]
    product = model.weights_[3] @ model.weights_[2] @ model.weights_[1]
    np.testing.assert_allclose(product @ model.weights_[0], model.coef_, rtol=1e-12)
    assert model.step_sizes_.shape == (model.n_iter_, 4)


def test_convergence_warning_names_the_fix():
    X, y = make_regression(n_samples=100, n_features=5, noise=1.0, random_state=0)
    # Variances spanning 1e4, below the ratio at which the fit warns that the
    # features are badly scaled, so only the max_iter warning is raised.
    X = X * np.array([1e-1, 1.0, 1.0, 1.0, 1e1])
    model = DeepLinearRegressor(max_iter=5, acceleration="none", random_state=0)

    with pytest.warns(ConvergenceWarning, match="max_iter=5") as record:
        model.fit(X, y)

    message = str(record[0].message)
    assert "tol=1e-10" in message
    assert "StandardScaler" in message
    assert model.n_iter_ == 5
    assert np.all(np.isfinite(model.coef_))


def test_verbose_prints_one_line_per_sweep(capsys):
    X, y = make_regression(n_samples=60, n_features=4, noise=1.0, random_state=0)
    model = DeepLinearRegressor(verbose=1, random_state=0).fit(X, y)

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == model.n_iter_
    assert lines[0].startswith("Sweep 1: loss = ")
    last_loss = float(lines[-1].split("loss = ")[1])
    assert last_loss == pytest.approx(model.loss_curve_[-1], rel=1e-10)


def test_verbose_two_adds_one_line_per_block(capsys):
    X, y = make_regression(n_samples=60, n_features=4, noise=1.0, random_state=0)
    model = DeepLinearRegressor(depth=3, verbose=2, random_state=0).fit(X, y)

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == model.n_iter_ * (3 + 1)
    assert lines[0].startswith("Sweep 1, block 1: loss = ")
    assert lines[3].startswith("Sweep 1: loss = ")


@pytest.mark.parametrize(
    "params, match",
    [
        ({"depth": 0}, "depth"),
        ({"width": 0}, "width"),
        ({"init": "uniform"}, "init"),
        ({"learning_rate": "adaptive"}, "learning_rate"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"max_iter": 0}, "max_iter"),
        ({"tol": -1.0}, "tol"),
        ({"alpha": -1.0}, "alpha"),
        ({"update_order": "cyclic"}, "update_order"),
    ],
)
def test_invalid_parameters_raise(params, match):
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    with pytest.raises(InvalidParameterError, match=match):
        DeepLinearRegressor(**params).fit(X, y)


def test_width_sequence_of_wrong_length_raises():
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="width must have depth - 1 = 2 entries"):
        DeepLinearRegressor(depth=3, width=[4]).fit(X, y)


def test_fit_leaves_inputs_unchanged():
    X, y = make_regression(n_samples=50, n_features=4, random_state=0)
    X_before, y_before = X.copy(), y.copy()
    weight = np.linspace(0.5, 2.0, 50)
    weight_before = weight.copy()

    DeepLinearRegressor(random_state=0).fit(X, y, sample_weight=weight).predict(X)

    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(weight, weight_before)
