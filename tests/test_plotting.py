"""Tests of LossCurveDisplay."""

import subprocess
import sys
import warnings

import matplotlib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deeplinear import DeepLinearRegressor, LossCurveDisplay
from sklearn_deeplinear.datasets import make_conditioned_regression

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def problem():
    X, y = make_conditioned_regression(
        n_samples=300, n_features=6, n_outputs=2, condition_number=10.0, random_state=0
    )
    X = X + 3.0  # a non-zero mean, so that the intercept matters
    sample_weight = np.random.default_rng(0).uniform(0.5, 2.0, size=len(X))
    return X, y, sample_weight


def expected_least_squares_loss(X, y, sample_weight, fit_intercept):
    """Half the weighted mean over samples of the mean squared residual."""
    model = LinearRegression(fit_intercept=fit_intercept)
    model.fit(X, y, sample_weight=sample_weight)
    squared = (y - model.predict(X)) ** 2
    return 0.5 * np.average(squared.mean(axis=1), weights=sample_weight)


def test_loss_kind_plots_loss_curve(problem):
    X, y, _ = problem
    model = DeepLinearRegressor(depth=3, max_iter=20, tol=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)

    display = LossCurveDisplay.from_estimator(model)

    assert_array_equal(display.line_.get_ydata(), model.loss_curve_)
    assert_array_equal(display.line_.get_xdata(), np.arange(1, model.n_iter_ + 1))
    assert display.ax_.get_yscale() == "log"
    assert display.figure_ is display.ax_.figure
    assert display.least_squares_loss is None
    assert display.ax_.get_legend().get_texts()[0].get_text() == "DeepLinearRegressor"


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gap_kind_subtracts_least_squares_loss(problem, fit_intercept):
    X, y, sample_weight = problem
    model = DeepLinearRegressor(
        depth=2, fit_intercept=fit_intercept, max_iter=15, tol=0, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y, sample_weight=sample_weight)
    expected = expected_least_squares_loss(X, y, sample_weight, fit_intercept)

    display = LossCurveDisplay.from_estimator(
        model, X=X, y=y, sample_weight=sample_weight, kind="gap"
    )

    assert display.least_squares_loss == pytest.approx(expected, rel=1e-12)
    assert_allclose(display.line_.get_ydata(), np.array(model.loss_curve_) - expected)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_gap_scale_matches_converged_fit(problem, fit_intercept):
    # A converged depth-1 fit is least squares, so its last loss is the
    # least-squares loss if both use the same scale (up to the 1e-12 tol).
    X, y, sample_weight = problem
    model = DeepLinearRegressor(
        depth=1, fit_intercept=fit_intercept, tol=1e-12, max_iter=5000
    )
    model.fit(X, y, sample_weight=sample_weight)

    display = LossCurveDisplay.from_estimator(
        model, X=X, y=y, sample_weight=sample_weight, kind="gap"
    )

    assert display.least_squares_loss == pytest.approx(model.loss_curve_[-1], rel=1e-9)


def test_gap_hides_nonpositive_values():
    display = LossCurveDisplay(loss_curve=[1.0, 0.5, 0.4], least_squares_loss=0.5)

    display.plot(kind="gap")

    assert_array_equal(display.line_.get_ydata(), [0.5, np.nan, np.nan])


def test_gap_without_data_raises(problem):
    X, y, _ = problem
    model = DeepLinearRegressor(depth=2, random_state=0).fit(X, y)

    with pytest.raises(ValueError, match="needs the training data"):
        LossCurveDisplay.from_estimator(model, kind="gap")
    with pytest.raises(ValueError, match="needs the training data"):
        LossCurveDisplay.from_estimator(model, X=X, kind="gap")
    with pytest.raises(ValueError, match="needs least_squares_loss"):
        LossCurveDisplay(loss_curve=model.loss_curve_).plot(kind="gap")


def test_invalid_kind_raises(problem):
    X, y, _ = problem
    model = DeepLinearRegressor(depth=2, random_state=0).fit(X, y)

    with pytest.raises(ValueError, match="kind must be one of"):
        LossCurveDisplay.from_estimator(model, kind="loss_gap")


def test_unfitted_estimator_raises():
    with pytest.raises(NotFittedError):
        LossCurveDisplay.from_estimator(DeepLinearRegressor())


def test_estimator_without_loss_curve_raises(problem):
    X, y, _ = problem
    model = LinearRegression().fit(X, y)

    with pytest.raises(ValueError, match="has no loss_curve_"):
        LossCurveDisplay.from_estimator(model)


def test_given_axes_and_label_are_used(problem):
    X, y, _ = problem
    model = DeepLinearRegressor(depth=2, random_state=0).fit(X, y)
    _, ax = plt.subplots()

    display = LossCurveDisplay.from_estimator(
        model, ax=ax, label="depth 2", color="tab:red", linestyle="--"
    )

    assert display.ax_ is ax
    assert display.line_.get_label() == "depth 2"
    assert display.line_.get_linestyle() == "--"
    assert matplotlib.colors.same_color(display.line_.get_color(), "tab:red")


def test_pipeline_gap_uses_transformed_data(problem):
    X, y, _ = problem
    pipeline = make_pipeline(
        StandardScaler(), DeepLinearRegressor(depth=1, tol=1e-12, max_iter=5000)
    )
    pipeline.fit(X, y)
    X_scaled = StandardScaler().fit_transform(X)
    expected = expected_least_squares_loss(X_scaled, y, None, True)

    display = LossCurveDisplay.from_estimator(pipeline, X=X, y=y, kind="gap")

    assert display.least_squares_loss == pytest.approx(expected, rel=1e-12)
    assert display.estimator_name == "DeepLinearRegressor"


def test_mlp_regressor_curve(problem):
    X, y, _ = problem
    model = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)

    display = LossCurveDisplay.from_estimator(model, label="MLP")

    assert_array_equal(display.line_.get_ydata(), model.loss_curve_)


def test_package_import_does_not_import_matplotlib():
    code = (
        "import sys, sklearn_deeplinear\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_raises_install_hint(problem, monkeypatch):
    X, y, _ = problem
    model = DeepLinearRegressor(depth=2, random_state=0).fit(X, y)
    # A None entry in sys.modules makes the import statement raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)

    with pytest.raises(
        ImportError, match=r"pip install sklearn-deeplinear\[examples\]"
    ):
        LossCurveDisplay.from_estimator(model)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        LossCurveDisplay(loss_curve=[1.0]).plot()
