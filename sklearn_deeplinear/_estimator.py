"""The scikit-learn estimator: validation, centring, the solve, attributes."""

import contextlib
import functools
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    StrOptions,
)
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)
from threadpoolctl import ThreadpoolController  # a dependency of scikit-learn

from . import _dask
from ._initializers import INITIALIZERS
from ._reduced_rank import numerical_rank, warn_if_saddle_point
from ._solver import UPDATE_ORDERS, end_to_end, fit_bcgd
from ._statistics import (
    GramOperator,
    compute_scatter,
    target_statistics,
)

# Feature variances spanning more than this ratio put the small-scale features
# below the eigenvalue cutoff of the solver's stopping rule (1e-10 times the
# largest eigenvalue of X.T @ X), so the fit warns instead of trusting it.
MAX_VARIANCE_RATIO = 1e10


# Matrices up to this size are multiplied and factorised faster on one BLAS
# thread: measured with OpenBLAS on 2 cores, a 100 x 100 QR took 1.5 ms on
# one thread and 4.3 ms on two, and far longer when other processes ran.
MAX_SIZE_FOR_ONE_BLAS_THREAD = 512


def _blas_threads_for(sizes):
    """Return a context that limits BLAS to one thread for small layers.

    ``sizes`` is a list of layer sizes or of weight matrices.
    """
    largest = max(np.max(np.shape(size)) if np.ndim(size) else size for size in sizes)
    if largest > MAX_SIZE_FOR_ONE_BLAS_THREAD:
        return contextlib.nullcontext()
    return _threadpool_controller().limit(limits=1, user_api="blas")


@functools.cache
def _threadpool_controller():
    # Inspecting the loaded libraries takes about a millisecond: do it once.
    return ThreadpoolController()


class DeepLinearRegressor(RegressorMixin, BaseEstimator):
    r"""Deep linear network trained layer by layer with the optimal step.

    The model is a linear map factorised into ``depth`` weight matrices,
    ``P = W_L @ ... @ W_1``, fitted by block coordinate gradient descent
    (BCGD): one weight matrix at a time, with the step that minimises the loss
    exactly along that block's gradient. The data enter only through their
    sufficient statistics, formed in one pass, so a sweep over the layers
    costs nothing that grows with the number of samples.

    Parameters
    ----------
    depth : int, default=1
        Number of weight matrices ``L``. ``depth=1`` is linear regression
        trained by gradient descent with the optimal step, which the default
        acceleration turns into a limited-memory conjugate gradient method.
        It is the default because it was the fastest and most reliable
        setting in the project's benchmark (``benchmarks/run.py``) on
        standardised data. Without acceleration, deeper networks need fewer
        sweeps, as the layer-wise analysis predicts, but each sweep costs
        more. A hidden layer is needed for reduced rank.

    width : int, array-like of int or None, default=None
        Sizes of the ``depth - 1`` hidden layers: one int for all of them, or
        one int per hidden layer. ``None`` uses ``max(n_features, n_outputs)``,
        the narrowest width at which the orthogonal-like start makes the fit
        independent of the width. Ignored when ``depth=1``. A width below
        ``min(n_features, n_outputs)`` restricts the fitted map to that rank
        (reduced-rank regression). A
        width between ``min`` and ``max(n_features, n_outputs)`` expresses
        every map too, but can need far more sweeps than ``None``. With
        thousands of features, ``None`` makes every hidden layer
        ``n_features x n_features``: pass a small width, or ``depth=1``.

    init : {"orthogonal", "glorot_normal", "he_normal"}, default="orthogonal"
        Starting weights. ``"orthogonal"`` draws random semi-orthogonal hidden
        layers and a zero last layer, so the fit starts from the zero map and
        its trajectory depends on neither the width nor the seed. The other
        two draw Gaussian weights with variance ``2 / (fan_in + fan_out)``
        and ``2 / fan_in``.

    learning_rate : {"optimal", "lipschitz"} or float, default="optimal"
        Step-size rule for each block. ``"optimal"`` takes the exact minimiser
        of the loss along the block gradient. ``"lipschitz"`` takes the
        inverse of the block's Lipschitz constant, estimated by power
        iteration. A positive float is a fixed step.

    update_order : {"forward", "backward", "random"}, default="forward"
        Order of the blocks within a sweep: from the input layer up, from the
        output layer down, or a new random permutation each sweep.

    acceleration : {"anderson", "none"}, default="anderson"
        ``"anderson"`` extrapolates the weights from the last sweeps (Anderson
        acceleration) and keeps the extrapolated point only when it lowers
        the loss, so the loss still never rises. With ``depth=1`` and the
        optimal learning rate, where the loss is quadratic in the weights,
        each sweep moves to the exact minimiser of the loss over the span of
        the gradient and the last five search directions, a limited-memory
        conjugate gradient method. ``"none"`` runs the plain layer-wise
        algorithm. Anderson acceleration keeps six copies of all the weights,
        so networks with more than 10 million weights run without it.

    alpha : float, default=0.0
        Weight decay: the objective adds ``alpha / 2 * sum_j ||W_j||_F^2`` to
        half the (weighted) residual sum of squares, so ``depth=1`` fits the
        same model as ``Ridge(alpha=alpha)``.

    max_iter : int, default=5000
        Maximum number of sweeps over the layers.

    tol : float, default=1e-10
        Relative accuracy of ``coef_`` at which the fit stops. When the Gram
        matrix is formed with at most 500 features, and the optimum is the
        minimiser of a quadratic (``depth=1``, or no weight decay and no
        hidden layer narrower than ``min(n_features, n_outputs)``), the
        distance of ``coef_`` to it is bounded from the gradient and the
        eigenvalues of ``X.T @ X`` (plus ``alpha``). Otherwise it is estimated
        from the last change of ``coef_`` and the observed contraction rate
        ``rho`` as ``change * rho / (1 - rho)``, with ``rho`` the largest
        contraction over the last 10 sweeps at ``depth=1`` and their
        geometric mean for deeper networks. The fit stops when that
        distance is at most ``tol`` times the norm of ``coef_``. It also stops
        when neither the loss nor the distance has improved for 100 sweeps,
        which happens at the round-off floor. If the bound from the
        eigenvalues is then still above ``tol``, as on nearly collinear
        features, the fit raises a ``ConvergenceWarning``.

    fit_intercept : bool, default=True
        Whether to fit an intercept by centring ``X`` and ``y``.

    precompute : "auto" or bool, default="auto"
        Whether to form the ``n_features x n_features`` Gram matrix. Without
        it every product with the Gram matrix goes through ``X`` (two passes).
        ``"auto"`` forms it when ``n_samples > n_features`` and a product
        with it is cheaper than one through ``X`` (``n_features^2 <= 2 *
        nnz``): always for dense ``X``, and for sparse ``X`` unless it is
        very sparse. Without the Gram matrix, sparse ``X`` is multiplied in
        CSC when ``n_samples >= n_features`` and there are at most 3 outputs,
        and in CSR otherwise, which costs a copy of its stored values when it
        comes in another format. On sparse ``X`` the choice is a trade-off
        that ``"auto"`` cannot see: forming the Gram matrix costs a sparse
        product, and then each sweep is cheap. With 10 to 25 stored values
        per row, fits with ``precompute=False`` took 2 to 5 times less time
        on standardised features (about 10 sweeps) and 2.5 to 5 times more
        on features with scales spanning a factor of 100 (about 1 000
        sweeps). Standardising the features helps both.

    random_state : int, RandomState instance or None, default=None
        Seed of the starting weights, the random update order and the power
        iterations of the ``"lipschitz"`` rule.

    verbose : int, default=0
        ``1`` prints one line per sweep, ``2`` also one line per block.

    warm_start : bool, default=False
        Whether to start from the weights of the previous fit.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
        End-to-end linear map ``P``; one-dimensional when ``y`` is.

    intercept_ : float or ndarray of shape (n_outputs,)
        Intercept; ``0.0`` when ``fit_intercept=False``.

    weights_ : list of ndarray
        The ``depth`` weight matrices, ``weights_[j]`` of shape
        ``(n_{j+1}, n_j)`` with ``n_0 = n_features`` and ``n_L = n_outputs``.

    n_iter_ : int
        Number of sweeps run.

    rank_ : int
        Numerical rank of ``coef_``: the number of its singular values above
        ``sigma_max * max(coef_.shape) * eps``, with ``sigma_max`` the largest
        and ``eps`` the machine epsilon of ``coef_.dtype`` (the default of
        :func:`numpy.linalg.matrix_rank`).

    loss_curve_ : list of float
        Objective after each sweep, on the scale of
        :attr:`sklearn.neural_network.MLPRegressor.loss_curve_`: half the
        weighted mean of the squared residuals over samples and outputs, plus
        the weight decay divided by ``n_outputs`` times the weight sum.

    step_sizes_ : ndarray of shape (n_iter_, depth)
        Step size taken for each block in each sweep; 0 where a block was
        skipped because its gradient was zero.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn.linear_model.LinearRegression : Ordinary least squares.
    sklearn.linear_model.Ridge : Least squares with an L2 penalty.
    sklearn.neural_network.MLPRegressor : Multi-layer network trained by
        stochastic or quasi-Newton gradient methods.

    Notes
    -----
    With sample weights ``w`` summing to ``m`` and ``n_outputs = k``, the
    loss of ``P`` is

    .. math::

        \ell(P) = \frac{1}{2m} \sum_i w_i \lVert y_i - P x_i \rVert^2
                = \tfrac12 \operatorname{tr}(P S P^\top)
                  - \operatorname{tr}(P C^\top) + s,

    with ``S = X^T W X / m``, ``C = Y^T W X / m`` and
    ``s = ||W^{1/2} Y||^2 / (2m)`` after centring. For block ``j`` with
    ``A = W_L ... W_{j+1}`` and ``R = W_{j-1} ... W_1``, the gradient is
    ``G_j = A^T (P S - C) R^T`` and the optimal step is

    .. math::

        \eta_j^* = \frac{\lVert G_j \rVert_F^2}
                        {\operatorname{tr}(D S D^\top)}, \qquad D = A G_j R,

    the minimiser of the parabola ``eta -> loss(W_j - eta G_j)``.
    ``loss_curve_`` reports the loss divided by ``k``.

    Over all factorisations of one map ``P`` with hidden widths of at least
    its rank, the weight decay is smallest for balanced layers, where it
    equals ``alpha * L / 2 * sum_i sigma_i(P)^(2/L)`` with ``sigma_i(P)`` the
    singular values of ``P``: a Schatten ``2/L`` quasi-norm penalty on ``P``
    [2]_. Depth 2 penalises the nuclear norm, and deeper networks favour low
    rank more strongly.

    References
    ----------
    .. [1] Y. Shin, "Effects of Depth, Width, and Initialization: A Convergence
       Analysis of Layer-wise Training for Deep Linear Neural Networks",
       Analysis and Applications 20(1), 2022. arXiv:1910.05874.
    .. [2] A. Ledent and R. Alves, "Generalization Analysis of Deep Non-linear
       Matrix Completion", ICML 2024, PMLR 235.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn_deeplinear import DeepLinearRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> model = DeepLinearRegressor(depth=3, random_state=0).fit(X, y)
    >>> round(model.score(X, y), 4)
    0.5177
    >>> len(model.weights_), model.coef_.shape
    (3, (10,))
    """

    _parameter_constraints: dict = {
        "depth": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "init": [StrOptions(set(INITIALIZERS))],
        "learning_rate": [
            StrOptions({"optimal", "lipschitz"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "update_order": [StrOptions(set(UPDATE_ORDERS))],
        "acceleration": [StrOptions({"anderson", "none"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "precompute": [StrOptions({"auto"}), "boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        *,
        depth=1,
        width=None,
        init="orthogonal",
        learning_rate="optimal",
        update_order="forward",
        acceleration="anderson",
        alpha=0.0,
        max_iter=5000,
        tol=1e-10,
        fit_intercept=True,
        precompute="auto",
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.depth = depth
        self.width = width
        self.init = init
        self.learning_rate = learning_rate
        self.update_order = update_order
        self.acceleration = acceleration
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network by block coordinate gradient descent.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if _dask.any_dask_collection(X, y, sample_weight):
            return _dask.fit_dask(self, X, y, sample_weight)
        X, Y, sample_weight, y_ndim = self._validate_training_data(
            X, y, sample_weight, reset=True
        )
        weights = self._starting_weights(self._layer_sizes(X.shape[1], Y.shape[1]))

        gram, cross, target_ss, X_offset, y_offset = self._statistics(
            X, Y, sample_weight
        )

        result = self._solve(weights, gram, cross, target_ss, sample_weight.sum())
        self._report_result(result, Y.shape[1])
        self._warn_if_badly_scaled(gram)

        self._set_fitted_attributes(result, X.dtype, X_offset, y_offset, y_ndim)
        warn_if_saddle_point(result, gram, cross, target_ss, self.alpha)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """Fold a batch into the running statistics and continue the fit.

        Each call adds the batch to the weighted means and centred scatter of
        all batches seen so far (merged exactly, so a large offset in the
        features loses no precision) and runs up to ``max_iter`` sweeps from
        the current weights. After the last batch the model is the one that
        :meth:`fit` gives on all batches together. Unlike :meth:`fit`, a call
        that stops at ``max_iter`` does not warn, since the next call
        continues the fit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Batch of training data.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values of the batch.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample in the batch.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        first_call = not hasattr(self, "weights_")
        X, Y, sample_weight, y_ndim = self._validate_training_data(
            X, y, sample_weight, reset=first_call
        )
        batch = self._checked_scatter(X, Y, sample_weight)
        if first_call:
            weights = self._starting_weights(self._layer_sizes(X.shape[1], Y.shape[1]))
            scatter = batch
        else:
            weights = self._continued_weights(X.shape[1], Y.shape[1], "partial_fit")
            if self._scatter is None:
                raise ValueError(
                    "partial_fit cannot continue this model: the previous fit did "
                    "not form the Gram matrix (precompute=False, or 'auto' with "
                    "n_features >= n_samples), so its statistics are not kept. "
                    "Call partial_fit on every batch from the start, or fit with "
                    "precompute=True."
                )
            scatter = self._scatter.merge(batch)

        gram, cross, target_ss, X_offset, y_offset = scatter.problem()

        result = self._solve(weights, gram, cross, target_ss, scatter.weight_sum)
        self._report_result(result, Y.shape[1], warn_max_iter=False)

        self._set_fitted_attributes(result, X.dtype, X_offset, y_offset, y_ndim)
        self._scatter = scatter
        return self

    def _validate_training_data(self, X, y, sample_weight, reset):
        """Return ``(X, Y, sample_weight, y_ndim)`` with ``Y`` two-dimensional."""
        # X is checked for NaN and infinity later (_checked_scatter, _statistics):
        # where the statistics are formed, they are non-finite exactly when X
        # is, which saves a pass over X. y is checked here.
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            accept_sparse=["csr", "csc", "coo"],
            dtype=[np.float64, np.float32],
            multi_output=True,
            y_numeric=True,
            ensure_all_finite=False,
        )
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        if not np.sum(sample_weight) > 0:
            raise ValueError(
                "sample_weight must contain at least one positive weight; "
                "got only zeros."
            )
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return X, Y.astype(X.dtype, copy=False), sample_weight, y.ndim

    def _solve(self, weights, gram, cross, target_ss, weight_sum):
        """Run the solver on the statistics with this estimator's settings."""
        with _blas_threads_for(weights):
            return fit_bcgd(
                weights,
                gram,
                cross,
                target_ss,
                l2=self.alpha / float(weight_sum),
                learning_rate=self.learning_rate,
                update_order=self.update_order,
                acceleration=None if self.acceleration == "none" else "anderson",
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=check_random_state(self.random_state),
                callback=self._progress_printer(cross.shape[0]),
            )

    def _layer_sizes(self, n_features, n_outputs):
        n_hidden = self.depth - 1
        if self.width is None:
            hidden = [max(n_features, n_outputs)] * n_hidden
        elif isinstance(self.width, Integral):
            hidden = [int(self.width)] * n_hidden
        else:
            widths = np.asarray(self.width)
            if widths.ndim != 1:
                raise InvalidParameterError(
                    "width must be an int or a flat sequence of ints, one per "
                    f"hidden layer; got an array of shape {widths.shape}: "
                    f"{self.width!r}."
                )
            hidden = list(widths)
            if len(hidden) != n_hidden:
                raise InvalidParameterError(
                    f"width must have depth - 1 = {n_hidden} entries, one per "
                    f"hidden layer; got {len(hidden)}: {self.width!r}."
                )
            for size in hidden:
                is_integer = isinstance(size, Integral | np.integer) and not (
                    isinstance(size, bool | np.bool_)
                )
                if not (is_integer and size >= 1):
                    raise InvalidParameterError(
                        "Every entry of width must be an integer >= 1; got "
                        f"{self.width!r}."
                    )
            hidden = [int(size) for size in hidden]
        return [n_features, *hidden, n_outputs]

    def _starting_weights(self, layer_sizes):
        if self.warm_start and hasattr(self, "weights_"):
            return self._continued_weights(
                layer_sizes[0], layer_sizes[-1], "warm_start=True", layer_sizes
            )
        random_state = check_random_state(self.random_state)
        with _blas_threads_for(layer_sizes):
            return INITIALIZERS[self.init](layer_sizes, random_state)

    def _continued_weights(self, n_features, n_outputs, caller, layer_sizes=None):
        """Return float64 copies of the fitted weights, checking their shapes."""
        if layer_sizes is None:
            layer_sizes = self._layer_sizes(n_features, n_outputs)
        fitted = [w.shape[1] for w in self.weights_] + [self.weights_[-1].shape[0]]
        if fitted != layer_sizes:
            raise ValueError(
                f"{caller} cannot continue from the previous fit: its layer sizes "
                f"are {fitted}, and this data and these parameters need "
                f"{layer_sizes}. Fit afresh (warm_start=False, or a new estimator "
                "for partial_fit)."
            )
        return [np.array(w, dtype=np.float64) for w in self.weights_]

    def _statistics(self, X, Y, sample_weight):
        """Return ``(S, C, s, X_offset, y_offset)``, S possibly an operator.

        The scatter of a precomputed fit is kept for ``partial_fit``.
        """
        n_samples, n_features = X.shape
        precompute = self.precompute
        if precompute == "auto":
            # A product with X costs 2 * nnz operations per row of the
            # multiplied matrix, and one with S costs n_features^2.
            nnz = X.nnz if sp.issparse(X) else n_samples * n_features
            precompute = n_samples > n_features and 2 * nnz >= n_features**2
        if precompute:
            self._scatter = self._checked_scatter(X, Y, sample_weight)
            return self._scatter.problem()
        self._scatter = None
        assert_all_finite(X, estimator_name=type(self).__name__, input_name="X")
        gram = GramOperator(X, sample_weight)
        cross, target_ss, X_offset, y_offset = target_statistics(
            gram, Y, self.fit_intercept
        )
        gram.X_offset = X_offset
        return gram, cross, target_ss, X_offset, y_offset

    def _checked_scatter(self, X, Y, sample_weight):
        """Return the scatter of ``X`` and ``Y``, or raise for NaN or inf in X.

        Finite data give a finite scatter unless the products overflow, which
        ``Scatter.problem`` reports. So X is read again only when the scatter
        is not finite, to raise scikit-learn's usual error for NaN or
        infinity in X.
        """
        # NaN, infinity or overflow in the products raises below, so numpy's
        # warnings about them would only repeat the error.
        with np.errstate(over="ignore", invalid="ignore"):
            scatter = compute_scatter(X, Y, sample_weight, self.fit_intercept)
        if not np.all(np.isfinite(scatter.scatter)):
            assert_all_finite(X, estimator_name=type(self).__name__, input_name="X")
        return scatter

    def _progress_printer(self, n_outputs):
        """Return the solver callback that prints progress, or None."""
        if not self.verbose:
            return None

        def report(sweep, block, loss):
            if block is None:
                print(f"Sweep {sweep + 1}: loss = {loss / n_outputs:.12g}")
            elif self.verbose >= 2:
                print(
                    f"Sweep {sweep + 1}, block {block + 1}: "
                    f"loss = {loss / n_outputs:.12g}"
                )

        return report

    def _report_result(self, result, n_outputs, warn_max_iter=True):
        if result.diverged:
            warnings.warn(result.message, ConvergenceWarning, stacklevel=3)
        elif result.stalled:
            # A stall is only reported where the eigenvalue certificate bounds
            # the distance, so last_change is finite here.
            if self.alpha > 0:
                optimum, fix = "optimum", "raise alpha, "
            else:
                optimum, fix = "least-squares solution", "set alpha > 0, "
            warnings.warn(
                f"DeepLinearRegressor stopped after {result.n_iter} sweeps "
                "because its loss no longer decreased in floating-point "
                f"arithmetic, but the distance of coef_ to its {optimum} is "
                f"still {result.last_change:.2e} relative to its norm, more than "
                f"tol={self.tol:g}. This happens when features are nearly "
                "collinear or badly scaled. Scale the features (for example "
                f"with StandardScaler in a Pipeline), drop redundant ones, {fix}"
                "or raise tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        elif warn_max_iter and not result.converged:
            if np.isfinite(result.last_change):
                state = (
                    "the estimated distance of coef_ to its limit is "
                    f"{result.last_change:.2e} relative to its norm, more than "
                    f"tol={self.tol:g}"
                )
            else:
                state = (
                    "its changes have not settled into a steady contraction "
                    f"that would bring coef_ within tol={self.tol:g}"
                )
            target_hint = ""
            if self.alpha > 0:
                target_hint = (
                    " With weight decay, a target on a large scale also slows "
                    "the balancing of the layers: scale it too (for example "
                    "with TransformedTargetRegressor)."
                )
            warnings.warn(
                f"DeepLinearRegressor did not converge within max_iter="
                f"{self.max_iter} sweeps: {state}. Scale the features (for "
                "example with StandardScaler in a Pipeline), increase max_iter, "
                f"or raise tol.{target_hint}",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _warn_if_badly_scaled(self, gram):
        """Warn when feature variances span more than the solver resolves."""
        variances = np.diag(gram) if isinstance(gram, np.ndarray) else gram.diagonal()
        variances = variances[variances > 0]
        if variances.size and variances.max() > MAX_VARIANCE_RATIO * variances.min():
            warnings.warn(
                "The feature variances range from "
                f"{variances.min():.2e} to {variances.max():.2e}: a ratio above "
                f"{MAX_VARIANCE_RATIO:.0e}, beyond which the solver does not "
                "resolve the small-scale features (it treats eigenvalues of "
                "X.T @ X below 1e-10 of the largest as zero), so the fit can be "
                "far from least squares. Scale the features (for example with "
                "StandardScaler in a Pipeline).",
                ConvergenceWarning,
                stacklevel=3,
            )

    def _set_fitted_attributes(self, result, dtype, X_offset, y_offset, y_ndim):
        n_outputs = result.weights[-1].shape[0]
        coef = end_to_end(result.weights)
        intercept = y_offset - coef @ X_offset

        self.weights_ = [w.astype(dtype) for w in result.weights]
        self.n_iter_ = result.n_iter
        self.loss_curve_ = [loss / n_outputs for loss in result.loss_curve]
        self.step_sizes_ = np.asarray(result.step_sizes).reshape(-1, self.depth)
        self.coef_ = coef[0].astype(dtype) if y_ndim == 1 else coef.astype(dtype)
        self.rank_ = numerical_rank(self.coef_)
        if not self.fit_intercept:
            self.intercept_ = 0.0
        elif y_ndim == 1:
            self.intercept_ = float(intercept[0])
        else:
            self.intercept_ = intercept.astype(dtype)

    def predict(self, X):
        """Predict with the end-to-end linear map.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        if _dask.is_dask_collection(X):
            return _dask.predict_dask(self, X)
        check_is_fitted(self)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc", "coo"],
            dtype=[np.float64, np.float32],
            reset=False,
        )
        return safe_sparse_dot(X, self.coef_.T, dense_output=True) + self.intercept_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.multi_output = True
        return tags
