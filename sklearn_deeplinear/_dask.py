"""Fitting and prediction on dask arrays without gathering them on the client.

Each row block of the training data is reduced to a :class:`Scatter` where
the block is computed (a thread of the local scheduler, or a worker of a
``distributed`` cluster). The scatters are merged in a tree of tasks, and only
the merged one, an ``(n_features + n_outputs) ** 2`` matrix, reaches the
client. The solve then runs on the client as in an in-memory fit.

Dask is an optional dependency: this module imports it only inside the
functions that need it, so importing the package does not import dask.

Examples
--------
>>> import dask.array as da
>>> import numpy as np
>>> from sklearn_deeplinear import DeepLinearRegressor
>>> X = da.random.default_rng(0).standard_normal((10_000, 4), chunks=(2_500, 4))
>>> y = X @ np.array([1.0, 2.0, 3.0, 4.0]) + 5.0
>>> model = DeepLinearRegressor(random_state=0).fit(X, y)
>>> model.coef_.round(6), round(model.intercept_, 6)
(array([1., 2., 3., 4.]), 5.0)
>>> y_pred = model.predict(X)
>>> type(y_pred).__name__, y_pred.shape
('Array', (10000,))
"""

import math

import numpy as np
from sklearn.utils import assert_all_finite
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_is_fitted,
)

from ._statistics import compute_scatter

# Number of scatters that one task of the reduction tree merges. Each input is
# an (n_features + n_outputs)^2 matrix, so a task stays small, and the tree has
# about log_8(n_blocks) levels.
MERGE_FAN_IN = 8


def is_dask_collection(value):
    """Return whether ``value`` is a dask collection, without importing dask.

    Dask collections implement the ``__dask_graph__`` method of the dask
    collection protocol. Looking for the method, instead of calling
    :func:`dask.is_dask_collection`, leaves dask unimported for in-memory
    inputs. It also recognises a dask input when ``dask.array`` cannot be
    imported, so that the input raises a clear error instead of being
    converted to a NumPy array.
    """
    return not isinstance(value, type) and callable(
        getattr(value, "__dask_graph__", None)
    )


def any_dask_collection(*values):
    """Return whether any of ``values`` is a dask collection."""
    return any(is_dask_collection(value) for value in values)


def fit_dask(estimator, X, y, sample_weight=None):
    """Fit ``estimator`` on data of which at least one input is a dask array.

    The sufficient statistics are computed block by block on the active dask
    scheduler and merged in a tree. Everything after them (starting weights,
    solve, warnings and fitted attributes) runs through the same estimator
    methods as an in-memory fit.

    Parameters
    ----------
    estimator : DeepLinearRegressor
        Estimator to fit, with validated parameters.
    X : dask array or array-like of shape (n_samples, n_features)
        Training data. Blocks may be NumPy arrays or SciPy sparse matrices.
    y : dask array or array-like of shape (n_samples,) or (n_samples, n_outputs)
        Target values.
    sample_weight : dask array, array-like of shape (n_samples,), float or None
        Non-negative weight of each sample; ``None`` weighs every sample 1.

    Returns
    -------
    estimator : DeepLinearRegressor
        The fitted estimator.

    Notes
    -----
    The Gram matrix is always formed (as with ``precompute=True``), because
    a product with it computed from ``X`` itself would cost a pass over the
    distributed data in every step of the solver.
    """
    dask, da = _import_dask("Fitting on")
    X, Y, sample_weight, y_ndim = _validate_training_data(
        estimator, X, y, sample_weight, da
    )
    n_features, n_outputs = X.shape[1], Y.shape[1]
    weights = estimator._starting_weights(estimator._layer_sizes(n_features, n_outputs))

    scatter = _reduce_scatter(X, Y, sample_weight, estimator.fit_intercept, dask)
    if scatter is None or not scatter.weight_sum > 0:
        raise ValueError(
            "sample_weight must contain at least one positive weight; got only zeros."
        )
    gram, cross, target_ss, X_offset, y_offset = scatter.problem()

    result = estimator._solve(weights, gram, cross, target_ss, scatter.weight_sum)
    estimator._report_result(result, n_outputs)

    estimator._set_fitted_attributes(result, X.dtype, X_offset, y_offset, y_ndim)
    # Kept, as by an in-memory fit that forms the Gram matrix, so that
    # partial_fit can continue from this fit.
    estimator._scatter = scatter
    return estimator


def predict_dask(estimator, X):
    """Return the predictions of ``estimator`` for a dask array, lazily.

    Parameters
    ----------
    estimator : DeepLinearRegressor
        Fitted estimator.
    X : dask array of shape (n_samples, n_features)
        Samples. Blocks may be NumPy arrays or SciPy sparse matrices.

    Returns
    -------
    y_pred : dask array of shape (n_samples,) or (n_samples, n_outputs)
        Predicted values, chunked along the rows as ``X``. Non-finite values
        in ``X`` raise a ``ValueError`` when the predictions are computed.
    """
    check_is_fitted(estimator)
    _, da = _import_dask("Predicting on")
    X = _as_dask_array(X, "X", da)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-dimensional dask array for X; got ndim={X.ndim} with "
            f"shape {X.shape}."
        )
    _check_n_features(estimator, X, reset=False)
    _check_feature_names(estimator, X, reset=False)
    X = X.astype(_float_dtype(X.dtype, "X")).rechunk({1: -1})

    coef, intercept = estimator.coef_, estimator.intercept_
    meta = _predict_block(np.empty((0, X.shape[1]), dtype=X.dtype), coef, intercept)
    if meta.ndim == 1:
        return X.map_blocks(_predict_block, coef, intercept, drop_axis=1, meta=meta)
    return X.map_blocks(
        _predict_block,
        coef,
        intercept,
        chunks=(X.chunks[0], (meta.shape[1],)),
        meta=meta,
    )


def _import_dask(action):
    """Import and return ``(dask, dask.array)``, or raise a clear ImportError."""
    try:
        import dask
        import dask.array as da
    except ImportError as error:
        raise ImportError(
            f"{action} a dask collection needs dask.array, which failed to import "
            f"({error}). Install the optional dependencies with "
            "pip install 'sklearn-deeplinear[dask]'."
        ) from error
    return dask, da


def _as_dask_array(value, name, da):
    """Return ``value`` unchanged if it is a dask array; reject other collections."""
    if isinstance(value, da.Array):
        return value
    raise TypeError(
        f"{name} is a {type(value).__module__}.{type(value).__name__}, a dask "
        "collection that DeepLinearRegressor does not accept: pass a dask array. "
        "Convert a dask DataFrame or Series with .to_dask_array(lengths=True)."
    )


def _float_dtype(dtype, name):
    """Return the dtype that an in-memory fit would convert ``dtype`` to."""
    if dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must have a real numeric dtype (bool, integer or float); "
            f"got {dtype}."
        )
    if dtype in (np.float32, np.float64):
        return dtype
    return np.dtype(np.float64)


def _validate_training_data(estimator, X, y, sample_weight, da):
    """Return lazy ``(X, Y, sample_weight, y_ndim)`` ready for the reduction.

    ``X`` and ``Y`` become two-dimensional dask arrays of one float dtype,
    chunked alike along the rows and in one chunk along the columns.
    ``sample_weight`` becomes a dask array chunked as the rows of ``X``, or
    a float. Only the dimensions, dtypes and chunks are checked here. The
    values are checked by the tasks that reduce each block.
    """
    X_input = X
    arrays = {"X": X, "y": y}
    if sample_weight is not None and np.ndim(sample_weight) != 0:
        arrays["sample_weight"] = sample_weight
    for name, value in arrays.items():
        if is_dask_collection(value):
            arrays[name] = _as_dask_array(value, name, da)
        else:
            arrays[name] = np.asarray(value)
    X, y = arrays["X"], arrays["y"]

    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-dimensional array for X; got ndim={X.ndim} with shape "
            f"{X.shape}. Reshape a single feature with X.reshape(-1, 1)."
        )
    if y.ndim not in (1, 2):
        raise ValueError(
            f"y must be 1- or 2-dimensional; got ndim={y.ndim} with shape {y.shape}."
        )
    if "sample_weight" in arrays and arrays["sample_weight"].ndim != 1:
        raise ValueError(
            "sample_weight must be a 1-dimensional array or a scalar; got shape "
            f"{arrays['sample_weight'].shape}."
        )
    if X.shape[1] == 0:
        raise ValueError(f"X has 0 features (shape {X.shape}); at least 1 is needed.")
    n_samples = X.shape[0]
    if n_samples == 0:
        raise ValueError(f"X has 0 samples (shape {X.shape}); at least 1 is needed.")
    lengths = [value.shape[0] for value in arrays.values()]
    known_lengths = [length for length in lengths if not math.isnan(length)]
    if len(set(known_lengths)) > 1:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: "
            f"{dict(zip(arrays, lengths, strict=True))}."
        )

    _check_n_features(estimator, X, reset=True)
    _check_feature_names(estimator, X_input, reset=True)

    dtype = _float_dtype(X.dtype, "X")
    _float_dtype(y.dtype, "y")
    arrays = _align_row_chunks(arrays, da)
    X = arrays["X"].astype(dtype).rechunk({1: -1})
    Y = arrays["y"] if y.ndim == 2 else arrays["y"][:, np.newaxis]
    Y = Y.astype(dtype).rechunk({1: -1})
    if "sample_weight" in arrays:
        _float_dtype(arrays["sample_weight"].dtype, "sample_weight")
        sample_weight = arrays["sample_weight"].astype(dtype)
    else:
        sample_weight = _check_scalar_weight(sample_weight)
    return X, Y, sample_weight, y.ndim


def _check_scalar_weight(sample_weight):
    """Return a scalar or missing sample weight as a float, checking its value."""
    if sample_weight is None:
        return 1.0
    weight = float(sample_weight)
    if not (math.isfinite(weight) and weight >= 0):
        raise ValueError(
            f"A scalar sample_weight must be finite and non-negative; got {weight}."
        )
    return weight


def _align_row_chunks(arrays, da):
    """Return the arrays as dask arrays with the row chunks of the first dask one.

    In-memory arrays are wrapped, and dask arrays with other row chunks are
    rechunked. When the row chunks of a dask array are unknown (NaN), they
    cannot be rechunked, so the arrays must then have as many row blocks,
    and the tasks check that each block has the same length.
    """
    reference = next(value for value in arrays.values() if isinstance(value, da.Array))
    row_chunks = reference.chunks[0]
    aligned = {}
    for name, value in arrays.items():
        if not isinstance(value, da.Array):
            if any(math.isnan(size) for size in row_chunks):
                raise ValueError(
                    f"{name} is in memory, and the row chunk sizes of the dask "
                    "input are unknown, so it cannot be split to match them. "
                    "Call compute_chunk_sizes() on the dask input first."
                )
            value = da.from_array(value, chunks=(row_chunks, *value.shape[1:]))
        elif value.chunks[0] != row_chunks:
            unknown = any(math.isnan(size) for size in (*row_chunks, *value.chunks[0]))
            if not unknown:
                value = value.rechunk({0: row_chunks})
            elif len(value.chunks[0]) != len(row_chunks):
                raise ValueError(
                    f"{name} has {len(value.chunks[0])} row blocks and "
                    f"{next(iter(arrays))} has {len(row_chunks)}, with unknown "
                    "chunk sizes, so they cannot be aligned. Call "
                    "compute_chunk_sizes() on the dask inputs first."
                )
        aligned[name] = value
    return aligned


def _reduce_scatter(X, Y, sample_weight, centered, dask):
    """Compute the merged :class:`Scatter` of all row blocks on the scheduler."""
    # The array graphs are not optimised: blockwise fusion of each input's
    # graph on its own would compute a block that several inputs share, such
    # as a block of X in y = X @ coef, once for each of them.
    X_blocks = X.to_delayed(optimize_graph=False).ravel()
    Y_blocks = Y.to_delayed(optimize_graph=False).ravel()
    if is_dask_collection(sample_weight):
        weight_blocks = sample_weight.to_delayed(optimize_graph=False).ravel()
    else:
        weight_blocks = [sample_weight] * len(X_blocks)

    block_scatter = dask.delayed(_block_scatter, pure=True)
    partials = [
        block_scatter(X_block, Y_block, weight_block, location, centered)
        for X_block, Y_block, weight_block, location in zip(
            X_blocks,
            Y_blocks,
            weight_blocks,
            _block_locations(X.chunks[0]),
            strict=True,
        )
    ]
    merge = dask.delayed(_merge_scatters, pure=True)
    while len(partials) > 1:
        partials = [
            merge(*partials[start : start + MERGE_FAN_IN])
            for start in range(0, len(partials), MERGE_FAN_IN)
        ]
    (scatter,) = dask.compute(partials[0])
    return scatter


def _block_locations(row_chunks):
    """Return a description of each row block for error messages."""
    if any(math.isnan(size) for size in row_chunks):
        return [f"row block {index}" for index in range(len(row_chunks))]
    stops = np.cumsum(row_chunks)
    return [
        f"rows {stop - size} to {stop - 1}"
        for size, stop in zip(row_chunks, stops.tolist(), strict=True)
    ]


def _block_scatter(X, Y, sample_weight, location, centered):
    """Return the Scatter of one row block, or None for an empty block.

    Raises a ValueError, naming the rows of the block, when a value is not
    finite, a weight is negative, or the blocks of the inputs differ in length.
    """
    n_rows = X.shape[0]
    Y = np.asarray(Y)
    if np.ndim(sample_weight) == 0:
        sample_weight = np.full(n_rows, sample_weight, dtype=X.dtype)
    if Y.shape[0] != n_rows or sample_weight.shape[0] != n_rows:
        raise ValueError(
            f"The blocks of {location} have different lengths: X has {n_rows} "
            f"rows, y {Y.shape[0]} and sample_weight {sample_weight.shape[0]}. "
            "Give the dask inputs the same row chunks."
        )
    for name, values in (("X", X), ("y", Y), ("sample_weight", sample_weight)):
        try:
            assert_all_finite(values, input_name=name)
        except ValueError as error:
            raise ValueError(f"{error} Found in {location}.") from None
    if np.any(sample_weight < 0):
        raise ValueError(
            f"sample_weight has negative values in {location}; every weight must "
            "be non-negative."
        )
    if n_rows == 0:
        return None
    return compute_scatter(X, Y, sample_weight, centered)


def _merge_scatters(*scatters):
    """Return the merge of the scatters, skipping None (empty blocks)."""
    total = None
    for scatter in scatters:
        if scatter is None:
            continue
        total = scatter if total is None else total.merge(scatter)
    return total


def _predict_block(X, coef, intercept):
    """Return the predictions for one row block."""
    assert_all_finite(X, input_name="X")
    return safe_sparse_dot(X, coef.T, dense_output=True) + intercept
