"""DeepLinearRegressor on dask arrays, with threads and a local cluster.

Every fit on a dask array is compared with the in-memory fit of the same
estimator on the same values. The statistics (the merged scatter) agree to
round-off, so they are compared tightly. The coefficients of a multi-block
fit are compared at 1e-6 relative. The solver stops when the loss, evaluated
from the statistics, no longer decreases in floating point. That leaves
either fit about 1e-8 (relative) from the least-squares solution, and
round-off in the statistics changes the sweep at which it stops.
"""

import subprocess
import sys

import dask
import dask.array as da
import numpy as np
import pytest
import scipy.sparse as sp
from distributed import Client, LocalCluster, get_task_stream
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LinearRegression

from sklearn_deeplinear import DeepLinearRegressor

N_SAMPLES = 3000
# 20 row blocks, so the reduction merges in a tree of two levels of 8.
ROW_CHUNK = 150
COEF_RTOL = 1e-6
# Sums of 3000 products grouped differently differ by at most about
# 3000 * 2.2e-16 = 7e-13 relative to the largest entry.
SCATTER_RTOL = 1e-12


def make_data(n_outputs=3, dtype=np.float64, seed=0):
    """Return ``(X, y, sample_weight)`` with offset, unevenly scaled features."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N_SAMPLES, 6)) * [1.0, 2.0, 3.0, 0.5, 1.0, 4.0] + 2.0
    coef = rng.standard_normal((6, n_outputs))
    y = X @ coef + 0.1 * rng.standard_normal((N_SAMPLES, n_outputs)) + 1.0
    if n_outputs == 1:
        y = y[:, 0]
    sample_weight = rng.uniform(0.0, 2.0, N_SAMPLES)
    return X.astype(dtype), y.astype(dtype), sample_weight


def to_dask(X, y, sample_weight):
    """Return dask versions chunked by rows, and X also split in columns."""
    return (
        da.from_array(X, chunks=(ROW_CHUNK, 4)),
        da.from_array(y, chunks=ROW_CHUNK),
        da.from_array(sample_weight, chunks=ROW_CHUNK),
    )


def assert_same_scatter(actual, expected, rtol=SCATTER_RTOL):
    scale = np.abs(expected.scatter).max()
    assert actual.weight_sum == pytest.approx(expected.weight_sum, rel=rtol)
    assert_allclose(actual.mean, expected.mean, rtol=rtol, atol=rtol * 10)
    assert_allclose(actual.scatter, expected.scatter, rtol=0, atol=rtol * scale)


def relative_error(actual, expected):
    return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


@pytest.fixture(scope="module")
def client():
    with (
        LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            # Every HTTP server on loopback too, on a free port.
            dashboard_address="127.0.0.1:0",
            worker_dashboard_address="127.0.0.1:0",
        ) as cluster,
        Client(cluster, set_as_default=False) as client,
    ):
        yield client


@pytest.fixture
def threads():
    with dask.config.set(scheduler="threads"):
        yield


def test_package_import_leaves_dask_unimported():
    code = "import sys, sklearn_deeplinear; print('dask' in sys.modules)"
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert output.stdout.strip() == "False"


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_fit_matches_numpy_on_threads(threads, n_outputs, fit_intercept, weighted):
    X, y, sample_weight = make_data(n_outputs)
    X_dask, y_dask, weight_dask = to_dask(X, y, sample_weight)
    if not weighted:
        sample_weight = weight_dask = None
    params = dict(fit_intercept=fit_intercept, random_state=0)

    model = DeepLinearRegressor(**params).fit(X_dask, y_dask, weight_dask)
    reference = DeepLinearRegressor(**params).fit(X, y, sample_weight)
    ols = LinearRegression(fit_intercept=fit_intercept).fit(X, y, sample_weight)

    assert model.n_features_in_ == 6
    assert model.coef_.shape == reference.coef_.shape == ols.coef_.shape
    assert_same_scatter(model._scatter, reference._scatter)
    assert relative_error(model.coef_, reference.coef_) < COEF_RTOL
    assert relative_error(model.coef_, ols.coef_) < COEF_RTOL
    if fit_intercept:
        assert_allclose(model.intercept_, ols.intercept_, rtol=COEF_RTOL)
    else:
        assert model.intercept_ == 0.0
    assert relative_error(model.predict(X), ols.predict(X)) < COEF_RTOL


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_fit_matches_numpy_on_cluster(client, fit_intercept):
    X, y, sample_weight = make_data(n_outputs=3)
    X_dask, y_dask, weight_dask = to_dask(X, y, sample_weight)
    params = dict(fit_intercept=fit_intercept, random_state=0)

    with dask.config.set(scheduler=client), get_task_stream(client) as tasks:
        model = DeepLinearRegressor(**params).fit(X_dask, y_dask, weight_dask)
        y_pred = model.predict(X_dask).compute()
    reference = DeepLinearRegressor(**params).fit(X, y, sample_weight)

    workers = set(client.scheduler_info()["workers"])
    scatter_tasks = [
        task for task in tasks.data if str(task["key"]).startswith("_block_scatter")
    ]
    assert len(scatter_tasks) == N_SAMPLES // ROW_CHUNK
    assert {task["worker"] for task in scatter_tasks} <= workers
    assert_same_scatter(model._scatter, reference._scatter)
    assert relative_error(model.coef_, reference.coef_) < COEF_RTOL
    assert_allclose(model.intercept_, reference.intercept_, rtol=COEF_RTOL)
    # Same coefficients, multiplied block by block: equal to round-off.
    assert_allclose(y_pred, model.predict(X), rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_single_block_fit_equals_numpy(threads, dtype):
    # One block gives the same statistics as the in-memory pass, so the whole
    # fit repeats the in-memory one operation for operation.
    X, y, sample_weight = make_data(dtype=dtype)
    model = DeepLinearRegressor(random_state=0).fit(
        da.from_array(X), da.from_array(y), da.from_array(sample_weight)
    )
    reference = DeepLinearRegressor(random_state=0).fit(X, y, sample_weight)

    assert model.coef_.dtype == reference.coef_.dtype == dtype
    assert model.n_iter_ == reference.n_iter_
    assert_allclose(model.coef_, reference.coef_, rtol=1e-12)
    assert_allclose(model.intercept_, reference.intercept_, rtol=1e-12)


def test_float32_keeps_dtype(threads):
    X, y, sample_weight = make_data(dtype=np.float32)
    model = DeepLinearRegressor(random_state=0).fit(*to_dask(X, y, sample_weight))
    reference = DeepLinearRegressor(random_state=0).fit(X, y, sample_weight)

    assert model.coef_.dtype == np.float32
    assert model.intercept_.dtype == np.float32
    assert model.predict(da.from_array(X)).dtype == np.float32
    # float32 rows summed in blocks of different sizes.
    assert_same_scatter(model._scatter, reference._scatter, rtol=1e-5)
    assert relative_error(model.coef_, reference.coef_) < 1e-4


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_predict_returns_lazy_dask_array(threads, n_outputs):
    X, y, _ = make_data(n_outputs)
    model = DeepLinearRegressor(random_state=0).fit(X, y)
    X_dask = da.from_array(X, chunks=(ROW_CHUNK, 4))

    y_pred = model.predict(X_dask)

    assert isinstance(y_pred, da.Array)
    assert y_pred.shape == model.predict(X).shape
    assert y_pred.chunks[0] == X_dask.chunks[0]
    assert_allclose(y_pred.compute(), model.predict(X), rtol=1e-12)


def test_mixed_inputs_and_row_chunks(threads):
    X, y, sample_weight = make_data()
    reference = DeepLinearRegressor(random_state=0).fit(X, y, sample_weight)

    # y in memory, sample_weight in other row chunks than X.
    model = DeepLinearRegressor(random_state=0).fit(
        da.from_array(X, chunks=(ROW_CHUNK, 6)),
        y,
        da.from_array(sample_weight, chunks=400),
    )

    assert_same_scatter(model._scatter, reference._scatter)
    assert relative_error(model.coef_, reference.coef_) < COEF_RTOL


def test_unknown_chunk_sizes(threads):
    X, y, sample_weight = make_data()
    X_dask, y_dask, weight_dask = to_dask(X, y, sample_weight)
    keep = X[:, 0] > 2.0
    keep_dask = X_dask[:, 0] > 2.0
    X_kept = X_dask[keep_dask]
    assert np.isnan(X_kept.shape[0])

    model = DeepLinearRegressor(random_state=0).fit(
        X_kept, y_dask[keep_dask], weight_dask[keep_dask]
    )
    reference = DeepLinearRegressor(random_state=0).fit(
        X[keep], y[keep], sample_weight[keep]
    )

    assert_same_scatter(model._scatter, reference._scatter)
    assert relative_error(model.coef_, reference.coef_) < COEF_RTOL


def test_sparse_blocks_match_sparse_fit(threads):
    X, y, _ = make_data()
    X[np.abs(X - 2.0) < 1.0] = 0.0
    X_sparse = da.from_array(X, chunks=(ROW_CHUNK, 6)).map_blocks(
        sp.csr_matrix, meta=sp.csr_matrix((0, 6))
    )

    model = DeepLinearRegressor(random_state=0).fit(X_sparse, y)
    reference = DeepLinearRegressor(random_state=0).fit(sp.csr_matrix(X), y)

    assert_same_scatter(model._scatter, reference._scatter)
    assert relative_error(model.coef_, reference.coef_) < COEF_RTOL
    assert_allclose(model.predict(X_sparse).compute(), model.predict(X), rtol=1e-12)


def test_scalar_weight_matches_unweighted(threads):
    X, y, _ = make_data()
    X_dask, y_dask, _ = to_dask(X, y, np.ones(N_SAMPLES))

    model = DeepLinearRegressor(random_state=0).fit(X_dask, y_dask, 2.0)
    reference = DeepLinearRegressor(random_state=0).fit(X, y)

    assert model._scatter.weight_sum == 2.0 * N_SAMPLES
    assert relative_error(model.coef_, reference.coef_) < COEF_RTOL


def test_partial_fit_continues_dask_fit(threads):
    X, y, sample_weight = make_data()
    half = N_SAMPLES // 2
    X_dask, y_dask, weight_dask = to_dask(X[:half], y[:half], sample_weight[:half])

    model = DeepLinearRegressor(random_state=0).fit(X_dask, y_dask, weight_dask)
    model.partial_fit(X[half:], y[half:], sample_weight[half:])
    reference = DeepLinearRegressor(random_state=0).fit(X, y, sample_weight)

    assert_same_scatter(model._scatter, reference._scatter)
    assert relative_error(model.coef_, reference.coef_) < COEF_RTOL


@pytest.mark.parametrize(
    "name, bad_value, message",
    [
        ("X", np.nan, "Input X contains NaN"),
        ("y", np.inf, "Input y contains infinity"),
        ("sample_weight", np.nan, "Input sample_weight contains NaN"),
        ("sample_weight", -1.0, "sample_weight has negative values"),
    ],
)
def test_invalid_values_raise_with_rows(threads, name, bad_value, message):
    data = dict(zip(["X", "y", "sample_weight"], make_data(), strict=True))
    data[name][200] = bad_value
    X_dask, y_dask, weight_dask = to_dask(data["X"], data["y"], data["sample_weight"])

    with pytest.raises(ValueError, match=message) as error:
        DeepLinearRegressor().fit(X_dask, y_dask, weight_dask)
    assert "rows 150 to 299" in str(error.value)


def test_predict_non_finite_raises_on_compute(threads):
    X, y, _ = make_data()
    model = DeepLinearRegressor(random_state=0).fit(X, y)
    X[10, 2] = np.nan

    y_pred = model.predict(da.from_array(X, chunks=ROW_CHUNK))

    with pytest.raises(ValueError, match="Input X contains NaN"):
        y_pred.compute()


def test_zero_weights_raise(threads):
    X, y, _ = make_data()
    X_dask, y_dask, weight_dask = to_dask(X, y, np.zeros(N_SAMPLES))

    with pytest.raises(ValueError, match="at least one positive weight"):
        DeepLinearRegressor().fit(X_dask, y_dask, weight_dask)


def test_invalid_shapes_raise(threads):
    X, y, _ = make_data()
    X_dask, y_dask, _ = to_dask(X, y, np.ones(N_SAMPLES))

    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        DeepLinearRegressor().fit(X_dask, y_dask[:-1])
    with pytest.raises(ValueError, match="2-dimensional array for X"):
        DeepLinearRegressor().fit(X_dask[:, 0], y_dask)
    with pytest.raises(ValueError, match="real numeric dtype"):
        DeepLinearRegressor().fit(X_dask.astype(complex), y_dask)

    model = DeepLinearRegressor(random_state=0).fit(X_dask, y_dask)
    with pytest.raises(ValueError, match="X has 5 features, but"):
        model.predict(X_dask[:, :5])


def test_other_dask_collection_raises():
    X, y, _ = make_data()
    X_delayed = dask.delayed(np.asarray)(X)

    with pytest.raises(TypeError, match="pass a dask array"):
        DeepLinearRegressor().fit(X_delayed, y)


def test_missing_dask_raises_import_error(monkeypatch):
    X, y, _ = make_data()
    X_dask = da.from_array(X, chunks=ROW_CHUNK)
    model = DeepLinearRegressor(random_state=0).fit(X, y)
    # A None entry in sys.modules makes the import statement raise ImportError.
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)

    with pytest.raises(ImportError, match=r"sklearn-deeplinear\[dask\]"):
        DeepLinearRegressor().fit(X_dask, y)
    with pytest.raises(ImportError, match=r"sklearn-deeplinear\[dask\]"):
        model.predict(X_dask)


def test_in_memory_fit_unchanged_by_dask_branch():
    X, y, sample_weight = make_data()

    model = DeepLinearRegressor(random_state=0).fit(X, y, sample_weight)

    assert_array_equal(model.predict(X), X @ model.coef_.T + model.intercept_)
    assert isinstance(model.predict(X), np.ndarray)
