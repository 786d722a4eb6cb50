"""Input dtypes and pandas containers, compared with LinearRegression."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from sklearn_deeplinear import DeepLinearRegressor


def problem(n_samples=80, n_features=4, n_outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    Y = X @ rng.standard_normal((n_features, n_outputs)) + 0.7
    Y += 0.1 * rng.standard_normal((n_samples, n_outputs))
    return X, (Y[:, 0] if n_outputs == 1 else Y)


def relative_error(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


@pytest.mark.parametrize("n_outputs", [1, 2])
@pytest.mark.parametrize("depth", [1, 3])
def test_float32_gives_float32(n_outputs, depth):
    X, y = problem(n_outputs=n_outputs)
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    ols = LinearRegression().fit(X, y)
    ols32 = LinearRegression().fit(X32, y32)

    model = DeepLinearRegressor(depth=depth, random_state=0).fit(X32, y32)
    prediction = model.predict(X32)

    assert model.coef_.dtype == ols32.coef_.dtype == np.float32
    assert prediction.dtype == ols32.predict(X32).dtype == np.float32
    assert all(weight.dtype == np.float32 for weight in model.weights_)
    if n_outputs > 1:
        assert model.intercept_.dtype == ols32.intercept_.dtype == np.float32
    # The statistics are formed in float32, each with a relative error of
    # about 1e-7 times the conditioning of this problem (about 2). The solver
    # runs in float64 on them, so 1e-5 leaves a wide margin.
    assert relative_error(model.coef_, ols.coef_) < 1e-5
    np.testing.assert_allclose(model.intercept_, ols.intercept_, rtol=1e-5)
    np.testing.assert_allclose(prediction, ols.predict(X), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("n_outputs", [1, 2])
def test_float64_stays_float64(n_outputs):
    X, y = problem(n_outputs=n_outputs)
    ols = LinearRegression().fit(X, y)

    model = DeepLinearRegressor(random_state=0).fit(X, y)

    assert model.coef_.dtype == np.float64
    assert model.predict(X).dtype == np.float64
    if n_outputs > 1:
        assert model.intercept_.dtype == np.float64
    assert relative_error(model.coef_, ols.coef_) < 1e-6


@pytest.mark.parametrize(
    "dtype", [np.int8, np.int32, np.int64, np.uint16, np.bool_, np.float16]
)
def test_other_dtypes_become_float64(dtype):
    rng = np.random.default_rng(0)
    X_float = rng.standard_normal((80, 4))
    X = (X_float > 0) if dtype is np.bool_ else np.round(4 * X_float).astype(dtype)
    if dtype is np.uint16:
        X = np.round(4 * np.abs(X_float)).astype(dtype)
    y = X.astype(np.float64) @ [1.0, -1.0, 2.0, 0.5] + rng.standard_normal(80)
    # Every entry is a small integer, exact in every dtype above.
    ols = LinearRegression().fit(X.astype(np.float64), y)

    model = DeepLinearRegressor(random_state=0).fit(X, y)

    # LinearRegression keeps float16; float16 sums of squares would overflow
    # at 65504, so the statistics and the model are float64 here.
    assert model.coef_.dtype == np.float64
    assert model.predict(X).dtype == np.float64
    assert relative_error(model.coef_, ols.coef_) < 1e-6


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_integer_and_boolean_target(dtype):
    X, y = problem()
    y = (y > 0) if dtype is np.bool_ else np.round(3 * y).astype(dtype)
    ols = LinearRegression().fit(X, y)

    model = DeepLinearRegressor(random_state=0).fit(X, y)

    assert model.coef_.dtype == np.float64
    assert relative_error(model.coef_, ols.coef_) < 1e-6


def test_float32_model_predicts_float64_input_in_float64():
    X, y = problem()
    model = DeepLinearRegressor(random_state=0).fit(X.astype(np.float32), y)
    ols = LinearRegression().fit(X.astype(np.float32), y)

    assert model.predict(X).dtype == ols.predict(X).dtype == np.float64


def test_dataframe_sets_feature_names():
    X, y = problem()
    frame = pd.DataFrame(X, columns=["age", "dose", "weight", "height"])

    model = DeepLinearRegressor(random_state=0).fit(frame, pd.Series(y))
    ols = LinearRegression().fit(frame, pd.Series(y))

    np.testing.assert_array_equal(model.feature_names_in_, ols.feature_names_in_)
    assert list(model.feature_names_in_) == ["age", "dose", "weight", "height"]
    assert model.n_features_in_ == 4
    assert model.coef_.shape == ols.coef_.shape == (4,)
    np.testing.assert_allclose(model.predict(frame), ols.predict(frame), rtol=1e-6)


def test_unnamed_columns_set_no_feature_names():
    X, y = problem()

    from_array = DeepLinearRegressor(random_state=0).fit(X, y)
    from_integer_names = DeepLinearRegressor(random_state=0).fit(pd.DataFrame(X), y)

    assert not hasattr(from_array, "feature_names_in_")
    assert not hasattr(from_integer_names, "feature_names_in_")


def outcome_of_predict(model, X):
    """Return the warnings or the error that ``model.predict(X)`` gives, as text."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.predict(X)
        except ValueError as error:
            return "ValueError: " + str(error)
    return [f"{w.category.__name__}: {w.message}" for w in caught]


FRAME_COLUMNS = ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "fit_with_names, make_predict_input, expected",
    [
        (True, lambda X: X, "X does not have valid feature names"),
        (False, lambda X: pd.DataFrame(X, columns=FRAME_COLUMNS), "X has feature"),
        (
            True,
            lambda X: pd.DataFrame(X, columns=FRAME_COLUMNS)[["b", "a", "c", "d"]],
            "Feature names must be in the same order as they were in fit",
        ),
        (
            True,
            lambda X: pd.DataFrame(X, columns=["a", "b", "c", "z"]),
            "Feature names unseen at fit time",
        ),
    ],
    ids=["array-after-frame", "frame-after-array", "reordered", "renamed"],
)
def test_feature_name_mismatch_as_linear_regression(
    fit_with_names, make_predict_input, expected
):
    X, y = problem()
    X_fit = pd.DataFrame(X, columns=FRAME_COLUMNS) if fit_with_names else X
    model = DeepLinearRegressor(random_state=0).fit(X_fit, y)
    ols = LinearRegression().fit(X_fit, y)

    outcome = outcome_of_predict(model, make_predict_input(X))
    ols_outcome = outcome_of_predict(ols, make_predict_input(X))

    assert expected in str(outcome)
    # The same warning or error, word for word, apart from the class name.
    assert str(outcome) == str(ols_outcome).replace(
        "LinearRegression", "DeepLinearRegressor"
    )


@pytest.mark.parametrize(
    "make_target",
    [
        lambda y: pd.DataFrame({"target": y}),
        lambda y: y[:, np.newaxis],
    ],
    ids=["one-column-frame", "column-array"],
)
def test_column_target_gives_row_coef(make_target):
    X, y = problem()
    target = make_target(y)
    ols = LinearRegression().fit(X, target)

    model = DeepLinearRegressor(random_state=0).fit(X, target)

    assert model.coef_.shape == ols.coef_.shape == (1, 4)
    assert np.shape(model.intercept_) == np.shape(ols.intercept_) == (1,)
    assert model.predict(X).shape == ols.predict(X).shape == (80, 1)
    assert relative_error(model.coef_, ols.coef_) < 1e-6


def test_series_target_gives_flat_coef():
    X, y = problem()
    model = DeepLinearRegressor(random_state=0).fit(X, pd.Series(y, name="target"))

    assert model.coef_.shape == (4,)
    assert isinstance(model.intercept_, float)
    assert model.predict(X).shape == (80,)


def test_multi_column_frame_target():
    X, Y = problem(n_outputs=2)
    target = pd.DataFrame(Y, columns=["first", "second"])
    ols = LinearRegression().fit(X, target)

    model = DeepLinearRegressor(random_state=0).fit(X, target)

    assert model.coef_.shape == ols.coef_.shape == (2, 4)
    assert relative_error(model.coef_, ols.coef_) < 1e-6


def test_nullable_pandas_dtypes_are_read_as_float64():
    X, y = problem()
    frame = pd.DataFrame(X, columns=FRAME_COLUMNS).astype("Float64")
    ols = LinearRegression().fit(X, y)

    model = DeepLinearRegressor(random_state=0).fit(
        frame, pd.Series(y, dtype="Float64")
    )

    assert model.coef_.dtype == np.float64
    assert relative_error(model.coef_, ols.coef_) < 1e-6


def test_pandas_missing_value_raises():
    X, y = problem()
    frame = pd.DataFrame(X, columns=FRAME_COLUMNS).astype("Float64")
    frame.iloc[3, 1] = pd.NA

    with pytest.raises(ValueError, match="Input X contains NaN"):
        DeepLinearRegressor().fit(frame, y)
