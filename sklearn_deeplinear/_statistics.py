"""Sufficient statistics of weighted least squares, dense or sparse.

The solver uses the data only through

    S = Xc.T @ W @ Xc / m,   C = Yc.T @ W @ Xc / m,   s = ||W^(1/2) Yc||^2 / (2 m)

where ``W = diag(sample_weight)``, ``m = sum(sample_weight)`` and ``Xc``,
``Yc`` are centred on their weighted means when an intercept is fitted.

They are accumulated as a :class:`Scatter`: the weight sum, the weighted
mean and the centred scatter matrix of the augmented rows ``[x, y]``. Two
scatters merge exactly with the pairwise update of means and centred sums of
products (``Scatter.merge``). The same code therefore serves a chunked pass
over a large array, a stream of batches and a reduction across workers, and a
large offset in the features costs no precision.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

# Rows of a dense X are centred and multiplied in chunks of about this many
# elements, so the centred copy is a small buffer rather than a copy of X.
CHUNK_ELEMENTS = 2**17

# Chunks for the one-pass statistics of dense X, 2 MB in float64. On
# 1 000 000 x 50 data with one BLAS thread, 2**17, 2**18 and 2**19 elements
# took 1.14, 1.11 and 1.10 times the time of X.T @ X alone.
FOLDED_CHUNK_ELEMENTS = 2**18

# Products of GramOperator with up to this many columns are taken one column
# at a time (measurements in its docstring).
MAX_LOOPED_COLUMNS = 3


@dataclass
class Scatter:
    """Weighted scatter of the augmented rows ``z = [x, y]``.

    Attributes
    ----------
    weight_sum : float
        ``m``, the sum of the sample weights.
    mean : ndarray of shape (n_features + n_outputs,)
        Weighted mean of ``z`` (zeros when not centred).
    scatter : ndarray of shape (n_features + n_outputs, n_features + n_outputs)
        ``sum_i w_i (z_i - mean) (z_i - mean).T`` in float64.
    n_features : int
        How many leading coordinates of ``z`` are features.
    centered : bool
        Whether ``mean`` was subtracted.
    """

    weight_sum: float
    mean: np.ndarray
    scatter: np.ndarray
    n_features: int
    centered: bool

    def merge(self, other):
        """Return the scatter of the union of both sets of rows."""
        total = self.weight_sum + other.weight_sum
        if other.weight_sum == 0.0:
            return self
        if self.weight_sum == 0.0:
            return other
        scatter = self.scatter + other.scatter
        mean = self.mean
        if self.centered:
            delta = other.mean - self.mean
            mean = self.mean + (other.weight_sum / total) * delta
            factor = self.weight_sum * other.weight_sum / total
            scatter += factor * np.outer(delta, delta)
        return Scatter(total, mean, scatter, self.n_features, self.centered)

    def problem(self):
        """Return ``(S, C, s, X_offset, y_offset)`` for the solver."""
        p = self.n_features
        m = self.weight_sum
        gram = self.scatter[:p, :p] / m
        cross = self.scatter[p:, :p] / m
        target_ss = float(np.trace(self.scatter[p:, p:])) / (2.0 * m)
        check_finite_statistics(gram, cross, target_ss)
        return gram, cross, target_ss, self.mean[:p].copy(), self.mean[p:].copy()


def check_finite_statistics(gram, cross, target_ss):
    """Raise a ValueError when forming the statistics overflowed.

    Finite data can still give infinite products, for example float64 entries
    above about 1e154 or float32 entries above about 1e19 once squared.
    """
    finite = bool(np.all(np.isfinite(cross))) and np.isfinite(target_ss)
    if gram is not None:
        finite = finite and bool(np.all(np.isfinite(gram)))
    if not finite:
        raise ValueError(
            "The sufficient statistics of X and y overflowed: X.T @ X, X.T @ y "
            "or the sum of squares of y is not finite, because the data are too "
            "large in magnitude. Rescale the features (for example with "
            "StandardScaler in a Pipeline) and the target (for example with "
            "TransformedTargetRegressor)."
        )


def scatter_dense(X, Y, sample_weight, centered):
    """Accumulate the scatter of dense ``X`` and ``Y`` in one pass.

    With an intercept, the pass first forms the uncentred products and centres
    them afterwards (:func:`_scatter_folded`). Where that would cancel more
    than one bit, a second pass centres every chunk before its product.
    """
    if centered:
        scatter = _scatter_folded(X, Y, sample_weight)
        if scatter is not None:
            return scatter
    return _scatter_centred_chunks(X, Y, sample_weight, centered)


def _scatter_folded(X, Y, sample_weight):
    """Return the centred scatter from uncentred products, or None.

    Each chunk of rows ``[x, y, 1]``, scaled by the square roots of the
    weights, gives in one symmetric product the weighted sums of products, the
    weighted sums and the weight sum. The centred scatter is then
    ``sum_i w_i z_i z_i.T - m mean mean.T``. This subtraction cancels digits
    where a mean is large against its column's spread, so the result is
    returned only where every column has ``m mean^2`` at most its centred sum
    of squares, which costs at most one bit against centring first.
    Non-finite products are returned as they are, for the caller to report.
    """
    n_samples, n_features = X.shape
    n_columns = n_features + Y.shape[1]
    width = n_columns + 1
    chunk_rows = max(1, FOLDED_CHUNK_ELEMENTS // width)
    buffer = np.empty((min(chunk_rows, n_samples), width), dtype=X.dtype)
    unit_weights = bool(np.all(sample_weight == 1))
    sqrt_weights = None if unit_weights else np.sqrt(sample_weight).astype(X.dtype)
    total = np.zeros((width, width))
    for start in range(0, n_samples, chunk_rows):
        stop = min(start + chunk_rows, n_samples)
        rows = buffer[: stop - start]
        rows[:, :n_features] = X[start:stop]
        rows[:, n_features:n_columns] = Y[start:stop]
        if unit_weights:
            rows[:, n_columns] = 1.0
        else:
            rows[:, n_columns] = sqrt_weights[start:stop]
            rows[:, :n_columns] *= sqrt_weights[start:stop, np.newaxis]
        total += rows.T @ rows

    weight_sum = float(np.sum(sample_weight, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        # Rows whose weights are all zero (one block of a dask array) have no
        # mean; Scatter.merge drops them, and a fit on them alone raises.
        mean = total[n_columns, :n_columns] / weight_sum
    scatter = total[:n_columns, :n_columns] - weight_sum * np.outer(mean, mean)
    if not (np.all(np.isfinite(scatter)) and np.all(np.isfinite(mean))):
        return Scatter(weight_sum, mean, scatter, n_features, True)
    if np.any(weight_sum * mean**2 > np.diag(scatter)):
        return None
    return Scatter(weight_sum, mean, scatter, n_features, True)


def _scatter_centred_chunks(X, Y, sample_weight, centered):
    """Accumulate the scatter of dense ``X`` and ``Y``, centring each chunk.

    Each chunk is centred on its own mean before its product, and the chunks
    merge exactly, so large means cost no precision.
    """
    n_samples, n_features = X.shape
    width = n_features + Y.shape[1]
    chunk_rows = max(1, CHUNK_ELEMENTS // width)
    buffer = np.empty((min(chunk_rows, n_samples), width), dtype=X.dtype)
    unit_weights = bool(np.all(sample_weight == 1))
    total = None
    for start in range(0, n_samples, chunk_rows):
        stop = min(start + chunk_rows, n_samples)
        rows = buffer[: stop - start]
        rows[:, :n_features] = X[start:stop]
        rows[:, n_features:] = Y[start:stop]
        weights = sample_weight[start:stop]
        chunk = _scatter_rows(rows, weights, n_features, centered, unit_weights)
        total = chunk if total is None else total.merge(chunk)
    return total


def _scatter_rows(rows, weights, n_features, centered, unit_weights=False):
    """Return the scatter of one chunk, overwriting ``rows``."""
    weight_sum = float(np.sum(weights, dtype=np.float64))
    if centered and weight_sum > 0.0:
        mean = (weights @ rows).astype(np.float64) / weight_sum
        rows -= mean.astype(rows.dtype)
    else:
        mean = np.zeros(rows.shape[1])
    if not unit_weights:
        rows *= np.sqrt(weights)[:, np.newaxis]
    # One symmetric product gives S, C and ||Y||^2 of the chunk together.
    scatter = (rows.T @ rows).astype(np.float64)
    return Scatter(weight_sum, mean, scatter, n_features, centered)


def scatter_sparse(X, Y, sample_weight, centered):
    """Return the scatter of sparse ``X`` and dense ``Y`` without densifying X.

    The centring is folded into the products: ``Xc.T W Xc = X.T W X - m x̄ x̄.T``.
    That subtraction cancels the digits of a column whose mean is large
    against its spread, so the products of such columns are formed again
    from the centred columns (:func:`_recentre_offset_columns`).
    """
    X = sp.csr_array(X)
    n_features = X.shape[1]
    weights = np.asarray(sample_weight, dtype=np.float64)
    weight_sum = float(weights.sum())
    x_mean = np.zeros(n_features)
    y_mean = np.zeros(Y.shape[1])
    if centered:
        x_mean = np.asarray(X.T @ weights, dtype=np.float64) / weight_sum
        y_mean = (weights @ Y).astype(np.float64) / weight_sum
    n_samples = X.shape[0]
    row_weights = sp.dia_array(
        (weights.astype(X.dtype)[np.newaxis, :], [0]), shape=(n_samples, n_samples)
    )
    weighted_X = row_weights @ X
    gram = (X.T @ weighted_X).toarray().astype(np.float64)
    Yc = Y.astype(np.float64) - y_mean
    # Yc.T W Xc = Yc.T W X, because the weighted columns of Yc sum to zero.
    cross = np.asarray(weighted_X.T @ Yc, dtype=np.float64).T
    if centered:
        uncentred_diagonal = np.diag(gram).copy()
        gram -= weight_sum * np.outer(x_mean, x_mean)
        cross -= np.outer(weights @ Yc, x_mean)
        # As in _scatter_folded: a mean above the spread, m mean^2 more than
        # the centred sum of squares, that is half the uncentred one.
        with np.errstate(invalid="ignore"):
            offset = weight_sum * x_mean**2 > 0.5 * uncentred_diagonal
        columns = np.flatnonzero(offset)
        if columns.size:
            _recentre_offset_columns(X, Yc, weights, x_mean, columns, gram, cross)
    target = (Yc * weights[:, np.newaxis]).T @ Yc
    scatter = np.block([[gram, cross.T], [cross, target]])
    mean = np.concatenate([x_mean, y_mean])
    return Scatter(weight_sum, mean, scatter, n_features, centered)


def _recentre_offset_columns(X, Yc, weights, x_mean, columns, gram, cross):
    """Form the centred products of ``columns`` of ``X`` from centred columns.

    With unit weights, a column that stores values in a fraction ``f`` of
    the rows has a variance of at least ``mean^2 (1/f - 1)``. So one whose
    mean exceeds its spread fills more than half of them. Its dense centred
    copy ``c`` then costs at most about twice the column's storage. With
    ``c`` centred on its weighted mean, ``Xc.T W c = X.T W c - x̄ (1.T W c)``
    and ``Yc.T W c`` involve no large cancelling terms. ``gram`` and ``cross``
    are updated in place, in float64 whatever the dtype of ``X``.
    """
    centred = X[:, columns].toarray().astype(np.float64) - x_mean[columns]
    weighted = centred * weights[:, np.newaxis]
    block = np.asarray(X.T @ weighted, dtype=np.float64)
    block -= np.outer(x_mean, weighted.sum(axis=0))
    block[columns] = centred.T @ weighted
    gram[:, columns] = block
    gram[columns, :] = block.T
    cross[:, columns] = Yc.T @ weighted


def compute_scatter(X, Y, sample_weight, centered):
    """Return the :class:`Scatter` of ``X`` (dense or sparse) and ``Y``."""
    if sp.issparse(X):
        scatter = scatter_sparse(X, Y, sample_weight, centered)
    else:
        scatter = scatter_dense(X, Y, sample_weight, centered)
    # Only a column whose entries are all below sqrt(tiny) can have underflowed,
    # and its scatter is then at most 4 * m * tiny (centring at most doubles an
    # entry), so only such columns, usually none, are read again.
    bound = 4.0 * scatter.weight_sum * np.finfo(X.dtype).tiny
    _check_suspect_columns(X, Y, np.diag(scatter.scatter), bound)
    return scatter


def _check_suspect_columns(X, Y, sums_of_squares, bound):
    """Check for underflow the columns of ``[X, Y]`` with small squares.

    :func:`check_not_underflowing` reads only the columns whose sum of
    squares is at most ``bound``.
    """
    suspects = np.flatnonzero(sums_of_squares <= bound)
    if suspects.size:
        n_features = X.shape[1]
        x_columns = suspects[suspects < n_features]
        y_columns = suspects[suspects >= n_features] - n_features
        X_part = sp.csc_array(X)[:, x_columns] if sp.issparse(X) else X[:, x_columns]
        check_not_underflowing(X_part, Y[:, y_columns], x_columns, y_columns)


def target_statistics(operator, Y, centered):
    """Return ``(C, s, X_offset, y_offset)`` without forming ``X.T @ X``.

    ``operator`` is the :class:`GramOperator` of ``X`` and the sample
    weights; its layouts of ``X`` serve the products here too.
    """
    X = operator.X
    # As in compute_scatter, only columns whose squares sum to at most
    # n_samples * tiny can have underflowed, and only those are read again.
    bound = X.shape[0] * np.finfo(X.dtype).tiny
    # The solver multiplies S by n_outputs columns, so X is read in their layout.
    n_outputs = Y.shape[1]
    # The layout of the solver's products comes first, so that the passes
    # below and the variances after the fit read it.
    operator.prepare_layout(n_outputs)
    # Squares that overflow are reported by check_finite_statistics below, so
    # numpy's warning would only repeat that error.
    with np.errstate(over="ignore"):
        sums_of_squares = np.concatenate(
            [operator.sums_of_squares(), _column_sums_of_squares(Y)]
        )
    _check_suspect_columns(X, Y, sums_of_squares, bound)
    weights, weight_sum = operator.weights, operator.weight_sum
    if centered:
        y_mean = (weights @ Y).astype(np.float64) / weight_sum
    else:
        y_mean = np.zeros(Y.shape[1])
    Yc = Y.astype(np.float64) - y_mean
    weighted_Yc = Yc * weights[:, np.newaxis]
    products = operator.transpose_times(
        np.column_stack([weights, weighted_Yc]), n_columns=n_outputs
    )
    x_mean = products[:, 0] / weight_sum if centered else np.zeros(X.shape[1])
    cross = products[:, 1:].T
    if centered:
        cross -= np.outer(weighted_Yc.sum(axis=0), x_mean)
    with np.errstate(over="ignore"):
        # An overflow is reported by check_finite_statistics below.
        target_ss = float(np.sum(weighted_Yc * Yc)) / (2.0 * weight_sum)
    # X.T @ X is never formed on this path: the squares of the largest entry
    # bound its entries, so they stand in for it in the overflow check.
    largest = _largest_magnitude(X)
    check_finite_statistics(largest * largest, cross, target_ss)
    return cross / weight_sum, target_ss, x_mean, y_mean


def check_not_underflowing(X, Y, x_columns=None, y_columns=None):
    """Raise a ValueError for a column whose squares underflow.

    ``x_columns`` and ``y_columns`` are the indices that ``X`` and ``Y`` hold
    in the caller's data, for the message. The limit is the square root of the
    dtype's smallest normal number, about
    1e-154 in float64 and 1e-19 in float32. Below it, squares are zero or lose
    their precision, so the statistics of a column that is not all zero but
    has no entry above the limit would lose that column without a trace.
    """
    limit = np.sqrt(np.finfo(X.dtype).tiny)
    for name, data, columns in (("X", X, x_columns), ("y", Y, y_columns)):
        if data.shape[1] == 0:
            continue
        magnitudes = _column_magnitudes(data)
        small = np.flatnonzero((magnitudes > 0.0) & (magnitudes < limit))
        if small.size:
            names = small if columns is None else np.asarray(columns)[small]
            raise ValueError(
                f"The entries of {name} in columns {names.tolist()[:10]} are at "
                f"most {magnitudes[small].max():.3g} in magnitude, so their "
                f"squares underflow in {X.dtype} and the fit would ignore these "
                "columns. Rescale the features (for example with StandardScaler "
                "in a Pipeline) and the target (for example with "
                "TransformedTargetRegressor)."
            )


def _column_magnitudes(X):
    """Return ``max_i |X_ij|`` for every column, without copying dense ``X``."""
    if sp.issparse(X):
        return np.asarray(abs(X).max(axis=0).todense(), dtype=np.float64).ravel()
    return np.maximum(np.max(X, axis=0), -np.min(X, axis=0)).astype(np.float64)


def _column_sums_of_squares(X, weights=None):
    """Return ``sum_i w_i X_ij^2`` for every column in float64, in one pass."""
    if sp.issparse(X):
        if X.format == "csc":
            squares = np.square(X.data, dtype=np.float64)
            if weights is not None:
                squares *= weights[X.indices]
            # Sums over the runs of stored values of the non-empty columns.
            sums = np.zeros(X.shape[1])
            filled = np.diff(X.indptr) > 0
            if squares.size:
                sums[filled] = np.add.reduceat(squares, X.indptr[:-1][filled])
            return sums
        if X.format != "csr":
            X = sp.coo_array(X)
        squares = np.square(X.data, dtype=np.float64)
        if X.format == "coo":
            columns = X.col
            if weights is not None:
                squares *= weights[X.row]
        else:
            columns = X.indices
            if weights is not None:
                squares *= np.repeat(weights, np.diff(X.indptr))
        return np.bincount(columns, weights=squares, minlength=X.shape[1])
    if weights is None:
        return np.einsum("ij,ij->j", X, X, dtype=np.float64)
    return np.einsum("ij,ij,i->j", X, X, weights, dtype=np.float64)


def _largest_magnitude(X):
    """Return ``max |X_ij|`` without a temporary copy of dense ``X``."""
    values = X.data if sp.issparse(X) else X
    if values.size == 0:
        return 0.0
    return max(abs(float(np.max(values))), abs(float(np.min(values))))


class GramOperator(LinearOperator):
    """``S = Xc.T W Xc / m`` as a linear operator that never forms the matrix.

    Each product costs two passes over ``X`` (``nnz`` operations for sparse
    ``X``) per right-hand side, and the centring on ``X_offset`` is applied
    implicitly. ``X_offset`` may be set after :meth:`transpose_times` has
    given the column means.

    SciPy multiplies a compressed matrix by looping over its rows (CSR) or
    columns (CSC), each inner loop running over the stored values of one of
    them. With one right-hand side, long inner loops run faster: on
    50 000 x 5 000 data with 10 values per row, ``X.T @ (X @ v)`` took
    0.48 ms in CSC and 0.97 ms in CSR, and on 5 000 x 50 000 data the other
    way round. A product with several right-hand sides at once took twice
    the time of the column-by-column loop at 2 columns, the same at 4, and
    less from 8 on, least in CSR. So products with up to
    ``MAX_LOOPED_COLUMNS`` columns go one column at a time through CSC for
    tall data and CSR for wide data, and wider products go through CSR. Each
    layout is made once, on first use, unless ``X`` comes in it.
    """

    def __init__(self, X, sample_weight, X_offset=None):
        n_samples, n_features = X.shape
        super().__init__(dtype=np.float64, shape=(n_features, n_features))
        self.X = X
        self._layouts = {}
        self._sums_of_squares = {}
        self._looped_layout = "csc" if n_samples >= n_features else "csr"
        self.weights = np.asarray(sample_weight, dtype=np.float64)
        self.unit_weights = bool(np.all(self.weights == 1.0))
        self.weight_sum = float(np.sum(sample_weight, dtype=np.float64))
        self.X_offset = np.zeros(n_features) if X_offset is None else X_offset

    def _converted(self, layout):
        """Return ``(X, X.T)`` in ``layout``, made once and kept.

        SciPy makes a new ``X.T`` object, and checks it, on every call.
        """
        if layout not in self._layouts:
            data = self.X if self.X.format == layout else self.X.asformat(layout)
            self._layouts[layout] = (data, data.T)
        return self._layouts[layout]

    def prepare_layout(self, n_columns):
        """Make the layout of products with ``n_columns`` columns, for sparse ``X``."""
        if sp.issparse(self.X):
            self._converted(self._layout_for(n_columns))

    def _layout_for(self, n_columns):
        """Return the layout of a product with ``n_columns`` right-hand sides."""
        return self._looped_layout if n_columns <= MAX_LOOPED_COLUMNS else "csr"

    def transpose_times(self, U, n_columns=None):
        """Return ``X.T @ U`` for ``U`` of shape (n_samples, k), uncentred.

        Sparse ``X`` is read in the layout of products ``S @ V`` with
        ``n_columns`` columns (by default k), so that the statistics do not
        make a layout that the solver does not use.
        """
        U = np.asarray(U, dtype=np.float64)
        if not sp.issparse(self.X):
            return self.X.T @ U
        n_columns = U.shape[1] if n_columns is None else n_columns
        transposed = self._converted(self._layout_for(n_columns))[1]
        if U.shape[1] > MAX_LOOPED_COLUMNS:
            return np.asarray(transposed @ U, dtype=np.float64)
        image = np.empty((self.shape[0], U.shape[1]))
        for column in range(U.shape[1]):
            image[:, column] = transposed @ U[:, column]
        return image

    def sums_of_squares(self, weighted=False):
        """Return ``sum_i X_ij^2``, or ``sum_i w_i X_ij^2``, for every column.

        Each is computed once, from the first layout made for the products
        (any layout serves, without another copy) or from ``X`` as it came.
        With unit weights both are the same pass.
        """
        weighted = weighted and not self.unit_weights
        if weighted not in self._sums_of_squares:
            layouts = list(self._layouts.values())
            data = layouts[0][0] if layouts else self.X
            weights = self.weights if weighted else None
            self._sums_of_squares[weighted] = _column_sums_of_squares(data, weights)
        return self._sums_of_squares[weighted]

    def diagonal(self):
        """Return the diagonal of ``S``: the weighted variances of the features."""
        variances = self.sums_of_squares(weighted=True) / self.weight_sum
        # The centring cancels digits of a column whose mean exceeds its
        # spread, so a variance below zero is such round-off.
        return np.maximum(variances - self.X_offset**2, 0.0)

    # ``A @ S`` for an array ``A``: SciPy's LinearOperator supports a left
    # array operand only from 1.11 on; S is symmetric, so A @ S = (S @ A.T).T.
    # The solver multiplies once per sweep, so the product goes to _matmat
    # directly, past LinearOperator's dispatch (about 25 us a call).
    __array_ufunc__ = None

    def __rmatmul__(self, other):
        other = np.asarray(other)
        if other.ndim != 2 or other.shape[1] != self.shape[0]:
            return (self @ other.T).T
        return self._matmat(other.T).T

    def _matmat(self, V):
        """Return ``S @ V``; the loop over columns is described in the class."""
        V = np.asarray(V, dtype=np.float64)
        layout = self._layout_for(V.shape[1])
        if sp.issparse(self.X) and V.shape[1] <= MAX_LOOPED_COLUMNS:
            image = np.zeros((self.shape[0], V.shape[1]))
            for column in range(V.shape[1]):
                image[:, [column]] = self._product(V[:, [column]], layout)
        else:
            image = self._product(V, layout)
        return image / self.weight_sum

    def _product(self, V, layout):
        """Return ``m S @ V``, through sparse ``X`` in ``layout``.

        CSC data are multiplied whole: ``X @ V`` then takes
        ``n_samples x V.shape[1]`` values, one column of the size of ``y``
        here. Otherwise ``X @ V`` is formed one slice of rows at a time, of at
        most ``max(CHUNK_ELEMENTS, V.size)`` elements, so the memory beyond
        ``X`` stays of the order of ``V`` when ``n_samples`` is much larger.
        """
        if not sp.issparse(self.X):
            data, transposed = self.X, self.X.T
        elif layout == "csc":
            return self._centred_product(*self._converted("csc"), V, self.weights)
        else:
            data, transposed = self._converted("csr")
        n_samples = data.shape[0]
        chunk_rows = max(1, max(CHUNK_ELEMENTS, V.size) // max(1, V.shape[1]))
        image = np.zeros((self.shape[0], V.shape[1]))
        for start in range(0, n_samples, chunk_rows):
            stop = min(start + chunk_rows, n_samples)
            rows = _row_slice(data, start, stop)
            rows_transposed = transposed if rows is data else rows.T
            image += self._centred_product(
                rows, rows_transposed, V, self.weights[start:stop]
            )
        return image

    def _centred_product(self, rows, transposed, V, weights):
        """Return ``R.T diag(weights) R @ V`` for rows ``R`` of ``Xc``."""
        projected = np.asarray(rows @ V, dtype=np.float64)
        projected -= self.X_offset @ V
        if not self.unit_weights:
            projected *= weights[:, np.newaxis]
        image = np.asarray(transposed @ projected, dtype=np.float64)
        image -= np.outer(self.X_offset, projected.sum(axis=0))
        return image

    def _matvec(self, v):
        return self._matmat(np.reshape(v, (-1, 1))).ravel()

    def _rmatmat(self, V):
        return self._matmat(V)

    def _rmatvec(self, v):
        return self._matvec(v)

    def _adjoint(self):
        return self


def _row_slice(X, start, stop):
    """Return rows ``start:stop`` of ``X`` without copying its entries.

    Slicing a SciPy CSR array copies the slice, which doubles the memory
    traffic of a product over all rows. Here the data and indices of the
    slice are views, and only ``indptr`` is new.
    """
    if not sp.issparse(X):
        return X[start:stop]
    if start == 0 and stop == X.shape[0]:
        return X
    first, last = X.indptr[start], X.indptr[stop]
    return sp.csr_array(
        (X.data[first:last], X.indices[first:last], X.indptr[start : stop + 1] - first),
        shape=(stop - start, X.shape[1]),
        copy=False,
    )
