"""Invalid inputs and parameters, warm starts, and inputs left unchanged."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_deeplinear import DeepLinearRegressor


def problem(n_samples=40, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    y = X @ np.arange(1.0, n_features + 1) + 0.1 * rng.standard_normal(n_samples)
    return X, y


def with_entry(array, index, value):
    array = np.array(array, dtype=np.float64)
    array[index] = value
    return array


def string_frame(X):
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["colour"] = "red"
    return frame


# Each case builds (X, y) from a valid problem. Except where noted, the error
# must be the one that LinearRegression raises, word for word apart from the
# class name.
INVALID_DATA = {
    "nan-in-X": (
        lambda X, y: (with_entry(X, (0, 1), np.nan), y),
        "Input X contains NaN",
    ),
    "inf-in-X": (
        lambda X, y: (with_entry(X, (2, 0), np.inf), y),
        "Input X contains infinity",
    ),
    "nan-in-y": (lambda X, y: (X, with_entry(y, 3, np.nan)), "Input y contains NaN"),
    "inf-in-y": (
        lambda X, y: (X, with_entry(y, 3, -np.inf)),
        "Input y contains infinity",
    ),
    "nan-in-sparse-X": (
        lambda X, y: (sp.csr_array(with_entry(X, (0, 1), np.nan)), y),
        "Input X contains NaN",
    ),
    "no-samples": (
        lambda X, y: (X[:0], y[:0]),
        r"Found array with 0 sample\(s\) \(shape=\(0, 3\)\)",
    ),
    "no-features": (
        lambda X, y: (X[:, :0], y),
        r"Found array with 0 feature\(s\) \(shape=\(40, 0\)\)",
    ),
    "three-dimensional-X": (
        lambda X, y: (X[:, :, np.newaxis], y),
        "Found array with dim 3",
    ),
    "three-dimensional-y": (
        lambda X, y: (X, y[:, np.newaxis, np.newaxis]),
        "Found array with dim 3",
    ),
    "one-dimensional-X": (lambda X, y: (X[:, 0], y), "Expected 2D array, got 1D"),
    "inconsistent-lengths": (
        lambda X, y: (X, y[:-1]),
        r"inconsistent numbers of samples: \[40, 39\]",
    ),
    "string-column": (
        lambda X, y: (string_frame(X), y),
        "could not convert string to float: 'red'",
    ),
    # LinearRegression's message requests numeric data here, and the float
    # conversion's own message names the invalid value instead.
    "string-array": (
        lambda X, y: (np.full(X.shape, "a"), y),
        r"could not convert string to float: (np\.str_\('a'\)|'a')",
    ),
    "string-target": (
        lambda X, y: (X, np.full(len(y), "high")),
        "could not convert string to float",
    ),
    "complex-X": (lambda X, y: (X + 1j, y), "Complex data not supported"),
}


@pytest.mark.parametrize("case", list(INVALID_DATA))
def test_invalid_data_raises_as_linear_regression(case):
    make_data, match = INVALID_DATA[case]
    X, y = make_data(*problem())

    with pytest.raises(ValueError, match=match) as raised:
        DeepLinearRegressor().fit(X, y)
    with pytest.raises(ValueError) as raised_by_ols:
        LinearRegression().fit(X, y)

    expected = str(raised_by_ols.value).replace(
        "LinearRegression", "DeepLinearRegressor"
    )
    if case != "string-array":
        assert str(raised.value) == expected


@pytest.mark.parametrize("value, match", [(np.nan, "NaN"), (-np.inf, "infinity")])
@pytest.mark.parametrize("sparse", [False, True])
# partial_fit always forms the Gram matrix.
@pytest.mark.parametrize(
    "method, precompute", [("fit", True), ("fit", False), ("partial_fit", True)]
)
def test_non_finite_X_raises_on_every_path(value, match, sparse, method, precompute):
    # fit leaves the check of X to the statistics pass where it forms them,
    # so every way to them must still raise LinearRegression's error.
    X, y = problem()
    X = with_entry(X, (5, 2), value)
    if sparse:
        X = sp.csr_array(X)
    model = DeepLinearRegressor(precompute=precompute)

    with pytest.raises(ValueError) as raised:
        getattr(model, method)(X, y)
    with pytest.raises(ValueError) as raised_by_ols:
        LinearRegression().fit(X, y)

    assert f"Input X contains {match}" in str(raised.value)
    expected = str(raised_by_ols.value).replace(
        "LinearRegression", "DeepLinearRegressor"
    )
    assert str(raised.value) == expected


INVALID_PARAMETERS = [
    (dict(depth=0), "'depth' parameter of DeepLinearRegressor must be an int"),
    (dict(depth=2.5), "'depth' parameter"),
    (dict(width=0), "'width' parameter of DeepLinearRegressor must be an int in"),
    (dict(width=-3), "'width' parameter"),
    (dict(width=2.0), "'width' parameter"),
    (dict(width="wide"), "'width' parameter"),
    (dict(depth=3, width=[4]), "width must have depth - 1 = 2 entries.*got 1"),
    (dict(depth=2, width=[4, 4]), "width must have depth - 1 = 1 entries.*got 2"),
    (dict(depth=1, width=[4]), "width must have depth - 1 = 0 entries.*got 1"),
    (dict(depth=3, width=[[4, 4]]), r"flat sequence of ints.*shape \(1, 2\)"),
    (dict(depth=3, width=[0, 4]), "Every entry of width must be an integer >= 1"),
    (dict(depth=3, width=[2.5, 4]), "Every entry of width must be an integer >= 1"),
    (dict(depth=3, width=[True, False]), "Every entry of width must be an integer"),
    (dict(max_iter=0), "'max_iter' parameter"),
    (dict(tol=-1.0), "'tol' parameter"),
    (dict(alpha=-1.0), "'alpha' parameter"),
    (dict(alpha=np.nan), "'alpha' parameter"),
    (dict(init="uniform"), "'init' parameter"),
    (dict(learning_rate=0.0), "'learning_rate' parameter"),
    (dict(learning_rate="adaptive"), "'learning_rate' parameter"),
    (dict(update_order="sideways"), "'update_order' parameter"),
    (dict(acceleration="nesterov"), "'acceleration' parameter"),
    (dict(precompute="sometimes"), "'precompute' parameter"),
]


@pytest.mark.parametrize(
    "params, match", INVALID_PARAMETERS, ids=[str(p) for p, _ in INVALID_PARAMETERS]
)
def test_invalid_parameter_raises(params, match):
    X, y = problem()
    model = DeepLinearRegressor(**params)

    with pytest.raises(InvalidParameterError, match=match):
        model.fit(X, y)

    assert not hasattr(model, "coef_")


def test_width_sequence_of_right_length_is_used():
    X, y = problem()
    model = DeepLinearRegressor(depth=3, width=[5, 2], random_state=0).fit(X, y)

    assert [w.shape for w in model.weights_] == [(5, 3), (2, 5), (1, 2)]


@pytest.mark.parametrize("sparse", [False, True])
def test_predict_with_wrong_number_of_features_raises(sparse):
    X, y = problem()
    model = DeepLinearRegressor(random_state=0).fit(X, y)
    X_predict = np.c_[X, X[:, 0]]
    if sparse:
        X_predict = sp.csr_array(X_predict)

    with pytest.raises(ValueError, match="X has 4 features, but DeepLinearRegressor"):
        model.predict(X_predict)
    with pytest.raises(ValueError, match="is expecting 3 features as input"):
        model.predict(X[:, :2])


def test_predict_before_fit_raises():
    X, _ = problem()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        DeepLinearRegressor().predict(X)


@pytest.mark.parametrize(
    "make_X, match",
    [
        (lambda X: with_entry(X, (0, 0), np.nan), "Input X contains NaN"),
        (lambda X: X[:0], r"Found array with 0 sample\(s\)"),
        (lambda X: X[0], "Expected 2D array, got 1D array"),
        (lambda X: X[:, :, np.newaxis], "Found array with dim 3"),
    ],
    ids=["nan", "no-samples", "one-dimensional", "three-dimensional"],
)
def test_predict_invalid_data_raises(make_X, match):
    X, y = problem()
    model = DeepLinearRegressor(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=match):
        model.predict(make_X(X))


def ill_conditioned_problem():
    """Return data that take tens of sweeps, so that a short fit stops early."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 5)) * np.logspace(0, 1.5, 5)
    y = X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(100)
    return X, y


def loss_roundoff(y):
    """Return the round-off of the loss evaluated from the statistics.

    The loss 1/2 <P, P S> - <P, C> + s sums terms of the size of s, the loss
    of the zero map, so near a good fit its round-off is a few ulps of s
    rather than of the loss itself; 1e-14 is about 45 ulps.
    """
    return 1e-14 * 0.5 * float(np.var(y))


def fit_quietly(model, X, y):
    with warnings.catch_warnings():
        # The short fits here stop at max_iter on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("acceleration", ["anderson", "none"])
def test_warm_start_continues_from_fitted_weights(depth, acceleration):
    X, y = ill_conditioned_problem()
    model = DeepLinearRegressor(
        depth=depth, max_iter=5, warm_start=True, acceleration=acceleration
    )
    first_curve = list(fit_quietly(model, X, y).loss_curve_)
    second_curve = list(fit_quietly(model, X, y).loss_curve_)

    # The second fit starts where the first ended, so its first sweep ends at
    # or below the first fit's last loss (the loss never rises), and well
    # below where a fresh start's first sweep ends.
    assert second_curve[0] <= first_curve[-1] + loss_roundoff(y)
    assert second_curve[0] < first_curve[0]


@pytest.mark.parametrize("depth", [1, 3])
def test_warm_start_sweeps_add_up(depth):
    # Without extrapolation, whose history restarts with each fit, 5 + 5 warm
    # sweeps are the same computation as 10 sweeps in one fit.
    X, y = ill_conditioned_problem()
    params = dict(depth=depth, acceleration="none", random_state=0, tol=0.0)
    warm = DeepLinearRegressor(max_iter=5, warm_start=True, **params)
    first_curve = list(fit_quietly(warm, X, y).loss_curve_)
    second_curve = list(fit_quietly(warm, X, y).loss_curve_)
    cold = fit_quietly(DeepLinearRegressor(max_iter=10, **params), X, y)

    np.testing.assert_allclose(first_curve + second_curve, cold.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(warm.coef_, cold.coef_, rtol=1e-10)


def test_without_warm_start_a_second_fit_starts_afresh():
    X, y = ill_conditioned_problem()
    model = DeepLinearRegressor(max_iter=5, random_state=0)
    first_curve = list(fit_quietly(model, X, y).loss_curve_)
    second_curve = list(fit_quietly(model, X, y).loss_curve_)

    assert second_curve == first_curve


@pytest.mark.parametrize(
    "change, make_data",
    [
        ({}, lambda X, y: (X[:, :4], y)),
        ({}, lambda X, y: (X, np.c_[y, y])),
        ({"depth": 2}, lambda X, y: (X, y)),
        ({"width": 7}, lambda X, y: (X, y)),
        ({"depth": 4, "width": 5}, lambda X, y: (X, y)),
    ],
    ids=["n_features", "n_outputs", "depth", "width", "depth-and-width"],
)
def test_warm_start_with_new_shapes_raises(change, make_data):
    X, y = ill_conditioned_problem()
    model = fit_quietly(DeepLinearRegressor(depth=3, max_iter=5, warm_start=True), X, y)
    coef = model.coef_.copy()
    weights = [w.copy() for w in model.weights_]

    model.set_params(**change)
    with pytest.raises(ValueError, match="cannot continue from the previous fit"):
        model.fit(*make_data(X, y))

    # The failed fit leaves the fitted model as it was.
    np.testing.assert_array_equal(model.coef_, coef)
    for weight, before in zip(model.weights_, weights):
        np.testing.assert_array_equal(weight, before)


def test_warm_start_accepts_column_target_after_flat_target():
    X, y = ill_conditioned_problem()
    model = fit_quietly(DeepLinearRegressor(max_iter=5, warm_start=True), X, y)
    last_loss = model.loss_curve_[-1]

    fit_quietly(model, X, y[:, np.newaxis])

    assert model.coef_.shape == (1, 5)
    assert model.loss_curve_[0] <= last_loss + loss_roundoff(y)


def sparse_snapshot(X):
    """Return copies of every array that makes up sparse ``X``."""
    if X.format == "coo":
        return [X.row.copy(), X.col.copy(), X.data.copy()]
    return [X.indices.copy(), X.indptr.copy(), X.data.copy()]


def make_inputs(kind):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    X[rng.random(X.shape) < 0.5] = 0.0
    y = X @ [1.0, -1.0, 2.0, 0.5] + 3.0
    if kind == "dense":
        return X, y
    if kind == "fortran":
        return np.asfortranarray(X), np.c_[y, -y]
    if kind == "float32":
        return X.astype(np.float32), y.astype(np.float32)
    if kind == "integer":
        return np.round(3 * X).astype(np.int64), np.round(y).astype(np.int64)
    if kind == "frame":
        return pd.DataFrame(X, columns=list("abcd")), pd.Series(y, name="target")
    fmt, container = kind.split("-")
    return getattr(sp, f"{fmt}_{container}")(X), y


INPUT_KINDS = [
    "dense",
    "fortran",
    "float32",
    "integer",
    "frame",
    "csr-matrix",
    "csc-array",
    "coo-matrix",
    "coo-array",
]


@pytest.mark.parametrize("kind", INPUT_KINDS)
@pytest.mark.parametrize("precompute", [True, False])
def test_fit_and_predict_leave_inputs_unchanged(kind, precompute):
    X, y = make_inputs(kind)
    sample_weight = np.linspace(0.5, 2.0, len(y))
    X_before = X.copy()
    y_before = y.copy()
    weight_before = sample_weight.copy()
    parts_before = sparse_snapshot(X) if sp.issparse(X) else None

    model = fit_quietly(
        DeepLinearRegressor(precompute=precompute, random_state=0),
        X,
        y,
    )
    model.fit(X, y, sample_weight=sample_weight)
    model.predict(X)

    if sp.issparse(X):
        assert X.format == X_before.format
        for part, before in zip(sparse_snapshot(X), parts_before):
            np.testing.assert_array_equal(part, before)
        np.testing.assert_array_equal(X.toarray(), X_before.toarray())
    elif isinstance(X, pd.DataFrame):
        pd.testing.assert_frame_equal(X, X_before)
    else:
        assert X.dtype == X_before.dtype
        np.testing.assert_array_equal(X, X_before)
    if isinstance(y, pd.Series):
        pd.testing.assert_series_equal(y, y_before)
    else:
        np.testing.assert_array_equal(y, y_before)
    np.testing.assert_array_equal(sample_weight, weight_before)


def test_fitted_arrays_are_not_views_of_inputs():
    # A model must not change when the caller later edits the arrays it was
    # fitted on.
    X, y = make_inputs("dense")
    model = DeepLinearRegressor(random_state=0).fit(X, y)
    coef = model.coef_.copy()
    prediction = model.predict(X)

    X[:] = 0.0
    y[:] = 0.0
    prediction[:] = 0.0

    np.testing.assert_array_equal(model.coef_, coef)
