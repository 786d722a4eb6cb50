"""Reduced-rank regression, the optimum of a network with a narrow hidden layer.

A product ``P = W_L @ ... @ W_1`` whose narrowest hidden layer has ``r`` units
has rank at most ``r``. Without weight decay, the best such map for the loss

    loss(P) = 1/2 tr(P S P.T) - tr(P C.T) + s

is reduced-rank regression: project the least-squares map
``P_ols = C S^+`` onto the top ``r`` principal directions of its fitted
values,

    P_r = V_r V_r.T P_ols,

where the columns of ``V_r`` are the leading ``r`` eigenvectors of the
fitted values' second moment ``M = P_ols S P_ols.T = C S^+ C.T`` (in output
space). Its loss is ``s - 1/2 (lambda_1 + ... + lambda_r)`` with ``lambda_i``
the eigenvalues of ``M`` in decreasing order (Eckart-Young in the metric of
``S``). Every other critical point of the rank-constrained loss uses some
non-leading eigenvectors and has a higher loss, and a layer-wise fit can
stall there.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from sklearn.exceptions import ConvergenceWarning

# A converged fit whose loss exceeds the reduced-rank optimum by more than this
# fraction of the explained loss ``s - loss_rrr`` is reported as stalled. The
# nearest saddle lies ``(lambda_r - lambda_{r+1}) / 2`` above the optimum.
# Converged fits on the synthetic and Linnerud problems of the tests end
# within 3e-14 of it (every width, depths 2 to 4, orthogonal and Glorot
# starts, seeds 0 to 9).
SADDLE_GAP_RTOL = 1e-6


def _whitened_cross(gram, cross):
    """Return ``(H, T)`` with ``H @ H.T = C S^+ C.T`` and ``P_ols = H @ T``.

    ``S = U diag(lam) U.T`` is split by its eigenvalues, dropping those below
    ``lam.max() * n_features * eps`` (the rank cutoff of
    :func:`numpy.linalg.matrix_rank`), so a singular ``S`` gives the
    minimum-norm least-squares map. ``H = C U_+ diag(lam_+)^(-1/2)`` and
    ``T = diag(lam_+)^(-1/2) U_+.T``.
    """
    eigenvalues, eigenvectors = linalg.eigh(gram)
    cutoff = eigenvalues.max(initial=0.0) * gram.shape[0] * np.finfo(float).eps
    keep = eigenvalues > cutoff
    inverse_root = 1.0 / np.sqrt(eigenvalues[keep])
    transform = inverse_root[:, np.newaxis] * eigenvectors[:, keep].T
    return cross @ transform.T, transform


def _whitened_cross_from_operator(operator, cross):
    """Return ``(H, T)`` as :func:`_whitened_cross`, with ``S`` as an operator.

    ``operator`` is a :class:`~sklearn_deeplinear._statistics.GramOperator`,
    ``S = Z.T @ Z`` with ``Z = W^(1/2) (X - X_offset) / sqrt(m)``. With more
    features than samples the factorisation comes from the
    ``n_samples x n_samples`` matrix ``Z @ Z.T``, never from ``S``.
    """
    n_samples, n_features = operator.X.shape
    if n_samples >= n_features:
        return _whitened_cross(operator @ np.eye(n_features), cross)

    # Z = Q diag(sigma) U.T (thin SVD) with Q the eigenvectors of Z @ Z.T, so
    # U.T = diag(sigma)^-1 Q.T Z and T = diag(sigma)^-1 U.T = diag(sigma)^-2 Q.T Z.
    scale = np.sqrt(operator.weights / operator.weight_sum)
    offset = operator.X_offset
    if sp.issparse(operator.X):
        row_scale = sp.dia_array(
            (scale[np.newaxis, :], [0]), shape=(n_samples, n_samples)
        )
        scaled_rows = row_scale @ sp.csr_array(operator.X)
        kernel = (scaled_rows @ scaled_rows.T).toarray()
    else:
        scaled_rows = scale[:, np.newaxis] * operator.X
        kernel = scaled_rows @ scaled_rows.T
    # Centring: (D X - d o.T)(D X - d o.T).T with D = diag(d), d = scale.
    row_offsets = np.asarray(scaled_rows @ offset).ravel()
    kernel -= np.outer(row_offsets, scale) + np.outer(scale, row_offsets)
    kernel += (offset @ offset) * np.outer(scale, scale)

    eigenvalues, eigenvectors = linalg.eigh(kernel)
    cutoff = eigenvalues.max(initial=0.0) * n_features * np.finfo(float).eps
    keep = eigenvalues > cutoff
    left = eigenvectors[:, keep] / eigenvalues[keep]
    transform = np.asarray(scaled_rows.T @ left).T
    transform -= np.outer(left.T @ scale, offset)
    return cross @ transform.T, transform


def _whitened(gram, cross):
    if isinstance(gram, np.ndarray):
        return _whitened_cross(gram, cross)
    return _whitened_cross_from_operator(gram, cross)


def reduced_rank_coef(gram, cross, rank):
    """Return the rank-constrained least-squares map from the statistics.

    Parameters
    ----------
    gram : ndarray of shape (n_features, n_features) or GramOperator
        ``S = X.T @ W @ X / m`` (centred when an intercept is fitted).
    cross : ndarray of shape (n_outputs, n_features)
        ``C = Y.T @ W @ X / m``.
    rank : int
        Maximum rank of the map.

    Returns
    -------
    coef : ndarray of shape (n_outputs, n_features)
        The minimiser ``P_r = V_r V_r.T C S^+`` of
        ``1/2 tr(P S P.T) - tr(P C.T)`` over maps of rank at most ``rank``.
    """
    whitened, transform = _whitened(gram, cross)
    directions, _, _ = linalg.svd(whitened, full_matrices=False)
    leading = directions[:, :rank]
    return leading @ (leading.T @ whitened) @ transform


def reduced_rank_loss(gram, cross, target_ss, rank):
    """Return the lowest loss that a map of rank at most ``rank`` reaches.

    Parameters
    ----------
    gram : ndarray of shape (n_features, n_features) or GramOperator
        ``S``.
    cross : ndarray of shape (n_outputs, n_features)
        ``C``.
    target_ss : float
        ``s``, the loss of the zero map.
    rank : int
        Maximum rank of the map.

    Returns
    -------
    loss : float
        ``s - 1/2 (lambda_1 + ... + lambda_rank)``, with ``lambda_i`` the
        eigenvalues of ``C S^+ C.T`` in decreasing order.
    """
    whitened, _ = _whitened(gram, cross)
    singular_values = linalg.svdvals(whitened)
    return float(target_ss - 0.5 * np.sum(singular_values[:rank] ** 2))


def reduced_rank_regression(X, Y, rank, *, sample_weight=None, fit_intercept=True):
    """Fit reduced-rank regression by least squares on the data.

    The least-squares fitted values ``F = X_c P_ols.T`` (weighted and centred)
    are projected onto their ``rank`` leading right singular vectors ``V_r``,
    which gives ``coef = V_r V_r.T P_ols``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training data (dense).
    Y : ndarray of shape (n_samples, n_outputs)
        Targets.
    rank : int
        Maximum rank of ``coef``.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative weight of each sample; ``None`` weighs all samples 1.
    fit_intercept : bool, default=True
        Whether to centre ``X`` and ``Y`` on their weighted means.

    Returns
    -------
    coef : ndarray of shape (n_outputs, n_features)
        Rank-constrained least-squares map.
    intercept : ndarray of shape (n_outputs,)
        Intercept; zeros when ``fit_intercept=False``.

    See Also
    --------
    DeepLinearRegressor : Reaches the same map when its narrowest hidden
        layer has ``rank`` units and ``alpha=0``.

    Notes
    -----
    The map minimises ``sum_i w_i ||y_i - P x_i - b||^2`` over ``P`` of rank
    at most ``rank``: in the metric of the fitted values the problem is a
    low-rank approximation, solved by the truncated SVD (Eckart-Young).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deeplinear._reduced_rank import reduced_rank_regression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 4))
    >>> Y = X @ rng.standard_normal((4, 3)) + 0.1 * rng.standard_normal((100, 3))
    >>> coef, intercept = reduced_rank_regression(X, Y, rank=1)
    >>> coef.shape, int(np.linalg.matrix_rank(coef))
    ((3, 4), 1)
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if sample_weight is None:
        sample_weight = np.ones(X.shape[0])
    sample_weight = np.asarray(sample_weight, dtype=np.float64)
    if fit_intercept:
        X_offset = sample_weight @ X / sample_weight.sum()
        y_offset = sample_weight @ Y / sample_weight.sum()
    else:
        X_offset = np.zeros(X.shape[1])
        y_offset = np.zeros(Y.shape[1])
    root = np.sqrt(sample_weight)[:, np.newaxis]
    scaled_X = root * (X - X_offset)
    scaled_Y = root * (Y - y_offset)

    # The rank cutoff of numpy.linalg.lstsq: scipy's default keeps singular
    # values at round-off level, so a repeated feature would blow up the map.
    cutoff = np.finfo(np.float64).eps * max(scaled_X.shape)
    ols_coef = linalg.lstsq(scaled_X, scaled_Y, cond=cutoff)[0].T
    fitted = scaled_X @ ols_coef.T
    _, _, right = linalg.svd(fitted, full_matrices=False)
    leading = right[:rank].T
    coef = leading @ (leading.T @ ols_coef)
    return coef, y_offset - coef @ X_offset


def numerical_rank(coef):
    """Return the numerical rank of a coefficient matrix.

    Singular values above ``sigma_max * max(coef.shape) * eps`` count, with
    ``sigma_max`` the largest and ``eps`` the machine epsilon of
    ``coef.dtype``: the default tolerance of :func:`numpy.linalg.matrix_rank`.
    A 1-D ``coef`` is one row.
    """
    coef = np.atleast_2d(coef)
    singular_values = linalg.svdvals(coef)
    tolerance = (
        singular_values.max(initial=0.0) * max(coef.shape) * np.finfo(coef.dtype).eps
    )
    return int(np.sum(singular_values > tolerance))


def warn_if_saddle_point(result, gram, cross, target_ss, alpha):
    """Warn when a converged narrow network stopped above the reduced-rank optimum.

    The check runs only when the narrowest hidden layer is narrower than
    ``min(n_features, n_outputs)``, ``alpha == 0`` and the solver converged:
    a fit stopped by ``max_iter`` already warns.

    Parameters
    ----------
    result : SolverResult
        Outcome of :func:`~sklearn_deeplinear._solver.fit_bcgd`.
    gram : ndarray of shape (n_features, n_features) or GramOperator
        ``S``.
    cross : ndarray of shape (n_outputs, n_features)
        ``C``.
    target_ss : float
        ``s``, the loss of the zero map.
    alpha : float
        Weight decay of the fit.
    """
    weights = result.weights
    n_features, n_outputs = weights[0].shape[1], weights[-1].shape[0]
    width = min((weight.shape[0] for weight in weights[:-1]), default=n_outputs)
    # NOTE: with weight decay the rank-constrained optimum has no closed form
    # for a general S, so a penalised fit is not checked.
    if width >= min(n_features, n_outputs) or alpha != 0 or not result.converged:
        return

    optimum = reduced_rank_loss(gram, cross, target_ss, width)
    loss = result.loss_curve[-1]
    if loss - optimum > SADDLE_GAP_RTOL * (target_ss - optimum):
        # Report both on the scale of loss_curve_: divided by n_outputs.
        warnings.warn(
            "DeepLinearRegressor stopped at or near a saddle point, a critical "
            f"point that is not the best map of rank at most {width}, the "
            f"narrowest hidden width: its loss is {loss / n_outputs:.8g}, while "
            "reduced-rank regression reaches "
            f"{optimum / n_outputs:.8g}. Refit with another random_state or "
            "init (with warm_start=False), or with a smaller tol and a larger "
            "max_iter so that the fit can leave the saddle.",
            ConvergenceWarning,
            stacklevel=3,
        )
