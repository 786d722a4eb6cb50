"""Degenerate and badly scaled data: the OLS fit, a clear error or a warning."""

import functools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.linalg import LinAlgWarning
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from sklearn_deeplinear import DeepLinearRegressor

INITS = ["orthogonal", "glorot_normal", "he_normal"]


def degenerate_case(name):
    """Return ``(X, y)`` of the named degenerate case."""
    rng = np.random.default_rng(0)
    n_samples = 30
    base = rng.standard_normal((n_samples, 3))
    y = base @ [1.0, -2.0, 3.0] + 0.5 + 0.1 * rng.standard_normal(n_samples)
    cases = {
        "constant-column": (np.c_[base, np.full(n_samples, 3.0)], y),
        "zero-column": (np.c_[base, np.zeros(n_samples)], y),
        "duplicated-column": (np.c_[base, base[:, 0]], y),
        "collinear-column": (np.c_[base, 2.0 * base[:, 0] - base[:, 1]], y),
        "constant-target": (base, np.full(n_samples, 2.5)),
        "zero-target": (base, np.zeros(n_samples)),
        "single-feature": (base[:, :1], y),
        "more-features-than-samples": (rng.standard_normal((n_samples, 50)), y),
        "one-sample": (base[:1], y[:1]),
        "two-samples": (base[:2], y[:2]),
    }
    return cases[name]


DEGENERATE_CASES = [
    "constant-column",
    "zero-column",
    "duplicated-column",
    "collinear-column",
    "constant-target",
    "zero-target",
    "single-feature",
    "more-features-than-samples",
    "one-sample",
    "two-samples",
]

# Cases whose least-squares coefficients are unique, so coef_ must match too.
UNIQUE_OLS = {"constant-target", "zero-target", "single-feature"}


@pytest.mark.parametrize("case", DEGENERATE_CASES)
@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_degenerate_data_gives_ols_fitted_values(case, init, depth, fit_intercept):
    X, y = degenerate_case(case)
    ols = LinearRegression(fit_intercept=fit_intercept).fit(X, y)

    with warnings.catch_warnings():
        # SciPy's warning from the extrapolation step does not change the
        # fit. A test of its own below checks it.
        warnings.simplefilter("ignore", LinAlgWarning)
        model = DeepLinearRegressor(
            depth=depth, init=init, fit_intercept=fit_intercept, random_state=0
        ).fit(X, y)

    assert np.all(np.isfinite(model.coef_))
    assert np.all(np.isfinite(model.intercept_))
    # Where OLS is not unique, every minimiser has the same fitted values.
    scale = max(1.0, float(np.sqrt(np.mean(y**2))))
    np.testing.assert_allclose(
        model.predict(X), ols.predict(X), rtol=0, atol=1e-6 * scale
    )
    if case in UNIQUE_OLS and (fit_intercept or case != "constant-target"):
        np.testing.assert_allclose(model.coef_, ols.coef_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("init", INITS)
def test_constant_column_keeps_ols_coef_from_zero_start(init):
    # The centred constant column is zero up to the round-off of its mean, so
    # its coefficient hardly moves: from the orthogonal start (P = 0) it stays
    # near 0, LinearRegression's minimum-norm solution, and the other
    # coefficients are unique.
    X, y = degenerate_case("constant-column")
    ols = LinearRegression().fit(X, y)

    model = DeepLinearRegressor(init=init, random_state=0).fit(X, y)

    np.testing.assert_allclose(model.coef_[:3], ols.coef_[:3], rtol=1e-6)
    if init == "orthogonal":
        assert abs(model.coef_[3]) < 1e-12


def test_one_sample_with_intercept_predicts_the_target():
    X, y = degenerate_case("one-sample")
    ols = LinearRegression().fit(X, y)

    model = DeepLinearRegressor(random_state=0).fit(X, y)

    np.testing.assert_array_equal(model.coef_, ols.coef_)
    assert model.intercept_ == pytest.approx(y[0])
    np.testing.assert_allclose(model.predict(X), y)


def test_zero_target_gives_zero_model():
    X, y = degenerate_case("zero-target")

    model = DeepLinearRegressor(random_state=0).fit(X, y)

    np.testing.assert_array_equal(model.coef_, np.zeros(3))
    assert model.intercept_ == 0.0
    assert model.loss_curve_[-1] == 0.0


def test_constant_target_raises_no_scipy_warning():
    X, y = degenerate_case("constant-target")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LinAlgWarning)
        DeepLinearRegressor(depth=1, init="glorot_normal", random_state=0).fit(X, y)


def badly_scaled_problem(dtype):
    """Return six features on scales from 1e-6 to 1e6, and a target."""
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((200, 6))
    X = Z * np.logspace(-6, 6, 6)
    y = Z @ rng.standard_normal(6) + 0.1 * rng.standard_normal(200)
    return X.astype(dtype), y.astype(dtype)


@functools.cache
def fit_badly_scaled(dtype, depth, init, precompute):
    """Return ``(predictions, warnings)`` of a fit on :func:`badly_scaled_problem`."""
    X, y = badly_scaled_problem(dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = DeepLinearRegressor(
            depth=depth, init=init, precompute=precompute, random_state=0
        ).fit(X, y)
    return model, model.predict(X), caught


BADLY_SCALED = [
    (dtype, depth, init, precompute)
    for dtype in (np.float64, np.float32)
    for depth in (1, 2, 3)
    for init in INITS
    for precompute in ("auto", False)
]


@pytest.mark.parametrize("dtype, depth, init, precompute", BADLY_SCALED)
def test_badly_scaled_features_stay_finite(dtype, depth, init, precompute):
    model, prediction, caught = fit_badly_scaled(dtype, depth, init, precompute)

    assert np.all(np.isfinite(model.coef_))
    assert np.all(np.isfinite(prediction))
    assert np.all(np.isfinite(model.loss_curve_))
    assert prediction.dtype == dtype
    # No overflow or invalid-value RuntimeWarning: the only warning allowed
    # is a ConvergenceWarning that names the fix.
    for warning in caught:
        assert warning.category is ConvergenceWarning, str(warning.message)
        assert "StandardScaler" in str(warning.message)


def test_badly_scaled_features_reach_ols_or_warn():
    silent_failures = []
    for dtype, depth, init, precompute in BADLY_SCALED:
        X, y = badly_scaled_problem(dtype)
        ols = LinearRegression().fit(X.astype(np.float64), y.astype(np.float64))
        model, prediction, caught = fit_badly_scaled(dtype, depth, init, precompute)
        warned = any(w.category is ConvergenceWarning for w in caught)
        # float32 statistics carry a relative error of about 1e-7 times the
        # conditioning of the scaled problem; 1e-3 of the target's spread is
        # far above that and far below the errors of a stalled fit.
        rtol = 1e-3 if dtype == np.float32 else 1e-5
        gap = np.max(np.abs(prediction - ols.predict(X))) / np.std(y)
        if not warned and gap > rtol:
            silent_failures.append(
                f"{np.dtype(dtype).name} depth={depth} init={init} "
                f"precompute={precompute}: "
                f"n_iter_={model.n_iter_}, max |prediction - OLS| / std(y) = "
                f"{gap:.3g}"
            )

    assert not silent_failures, "\n".join(silent_failures)


# With depth 1 the accelerated fit stops by itself after 4 sweeps on these
# 6 features, so it is stopped after 2.
@pytest.mark.parametrize("depth, max_iter", [(1, 2), (3, 5)])
def test_stopped_fit_warns_with_the_fix(depth, max_iter):
    X, y = badly_scaled_problem(np.float64)

    with pytest.warns(ConvergenceWarning) as caught:
        DeepLinearRegressor(depth=depth, max_iter=max_iter, random_state=0).fit(X, y)

    message = str(caught[0].message)
    assert f"max_iter={max_iter}" in message
    assert "StandardScaler" in message
    assert "Pipeline" in message


@pytest.mark.parametrize("depth", [1, 3])
def test_standardized_badly_scaled_features_reach_ols(depth):
    # The fix that the warning names works: standardised, the same data fit
    # to OLS without a warning.
    X, y = badly_scaled_problem(np.float64)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    ols = LinearRegression().fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = DeepLinearRegressor(depth=depth, random_state=0).fit(X, y)

    np.testing.assert_allclose(model.predict(X), ols.predict(X), atol=1e-6)


@pytest.mark.parametrize("scale", [1e-100, 1e100])
def test_uniformly_rescaled_features_give_rescaled_coef(scale):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X @ [1.0, 2.0, 3.0] + 1.0 + 0.1 * rng.standard_normal(40)
    ols = LinearRegression().fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model = DeepLinearRegressor(random_state=0).fit(X * scale, y)

    np.testing.assert_allclose(model.coef_ * scale, ols.coef_, rtol=1e-6)


def overflowing_inputs():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    y = X @ [1.0, 2.0, 3.0]
    return {
        "float64-X": (X * 1e200, y),
        "float64-y": (X, y * 1e160),
        "float32-X": ((X * 1e20).astype(np.float32), y.astype(np.float32)),
        "sparse-X": (sp.csr_array(X * 1e200), y),
    }


@pytest.mark.parametrize("case", ["float64-X", "float64-y", "float32-X", "sparse-X"])
@pytest.mark.parametrize("precompute", [True, False])
def test_overflowing_statistics_raise(case, precompute):
    X, y = overflowing_inputs()[case]
    if case == "float32-X" and not precompute:
        # Without the Gram matrix the products run in float64, where 1e20
        # squared is finite: the fit must then match OLS.
        ols = LinearRegression().fit(X.astype(np.float64), y.astype(np.float64))
        model = DeepLinearRegressor(precompute=False, random_state=0).fit(X, y)
        np.testing.assert_allclose(model.predict(X), ols.predict(X), atol=1e-4)
        return

    with warnings.catch_warnings():
        # The error is the whole report: no RuntimeWarning from numpy first.
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="statistics of X and y overflowed"):
            DeepLinearRegressor(precompute=precompute).fit(X, y)


@pytest.mark.parametrize(
    "make_data, match",
    [
        (lambda X, y: (X * 1e-200, y), r"entries of X in columns \[0, 1, 2\]"),
        (lambda X, y: (X * [1.0, 1e-170, 1.0], y), r"entries of X in columns \[1\]"),
        (lambda X, y: (X, y * 1e-200), r"entries of y in columns \[0\]"),
        (
            lambda X, y: ((X * 1e-20).astype(np.float32), y.astype(np.float32)),
            "underflow in float32",
        ),
        (lambda X, y: (sp.csc_array(X * 1e-200), y), "underflow in float64"),
    ],
    ids=["float64-X", "one-column", "float64-y", "float32-X", "sparse-X"],
)
@pytest.mark.parametrize("precompute", [True, False])
def test_underflowing_columns_raise(make_data, match, precompute):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    X, y = make_data(X, X @ [1.0, 2.0, 3.0] + 1.0)

    with pytest.raises(ValueError, match=match):
        DeepLinearRegressor(precompute=precompute).fit(X, y)


def nearly_collinear_problem(noise):
    """Return 10 standardised features, each twice more with ``noise`` added."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((2_000, 10))
    copies = [base + noise * rng.standard_normal(base.shape) for _ in range(2)]
    X = np.hstack([base, *copies])
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = base @ rng.standard_normal(10) + 0.1 * rng.standard_normal(2_000)
    return X, y


def test_stall_short_of_tol_warns():
    # Noise 1e-3 puts the condition number of X.T @ X near 1e7: the loss
    # reaches its round-off floor while coef_ is still far from least squares
    # in the directions of the small eigenvalues. The fit must warn.
    X, y = nearly_collinear_problem(1e-3)
    ols = LinearRegression().fit(X, y)

    with pytest.warns(ConvergenceWarning, match="stopped after") as caught:
        model = DeepLinearRegressor(max_iter=50_000).fit(X, y)

    message = str(caught[0].message)
    assert "no longer decreased" in message
    assert "tol=1e-10" in message
    assert "StandardScaler" in message
    error = np.linalg.norm(model.coef_ - ols.coef_) / np.linalg.norm(ols.coef_)
    assert error > 1e-10
    assert model.n_iter_ < 50_000


def test_stall_with_weight_decay_names_its_fix():
    # With alpha > 0 the optimum is not least squares, and alpha is already set.
    X, y = nearly_collinear_problem(1e-3)

    with pytest.warns(ConvergenceWarning, match="stopped after") as caught:
        DeepLinearRegressor(alpha=1e-10, max_iter=50_000).fit(X, y)

    message = str(caught[0].message)
    assert "distance of coef_ to its optimum" in message
    assert "raise alpha" in message
    assert "least-squares" not in message


def test_stall_at_tol_zero_is_silent():
    X, y = nearly_collinear_problem(1e-3)

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = DeepLinearRegressor(tol=0.0, max_iter=50_000).fit(X, y)

    assert model.n_iter_ < 50_000


@pytest.mark.parametrize("init", ["glorot_normal", "he_normal"])
@pytest.mark.parametrize("depth", [2, 3])
def test_zero_target_from_gaussian_start_is_silent(init, depth):
    # The layers stay of norm about 1 while their product shrinks to the
    # zero map, down to round-off, where no relative accuracy exists.
    X, y = degenerate_case("zero-target")

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = DeepLinearRegressor(depth=depth, init=init, random_state=0).fit(X, y)

    assert np.max(np.abs(model.coef_)) < 1e-12
