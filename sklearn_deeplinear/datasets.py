"""Synthetic regression problems with a chosen condition number."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_conditioned_regression"]


@validate_params(
    {
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "n_features": [Interval(Integral, 1, None, closed="left")],
        "n_outputs": [Interval(Integral, 1, None, closed="left")],
        "condition_number": [Interval(Real, 1, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="left")],
        "random_state": [
            Interval(Integral, 0, None, closed="left"),
            np.random.Generator,
            None,
        ],
        "return_coef": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_conditioned_regression(
    n_samples=2000,
    n_features=20,
    n_outputs=3,
    condition_number=100.0,
    noise=0.1,
    random_state=None,
    return_coef=False,
):
    r"""Generate a linear regression problem with ill-conditioned Gaussian inputs.

    The rows of ``X`` are drawn from a centred Gaussian whose covariance has
    eigenvalues spaced evenly on a log scale from 1 down to
    ``1 / condition_number``, along randomly rotated directions. The targets
    are a random linear map of ``X`` plus Gaussian noise. Gradient methods
    need a number of iterations that grows with the condition number, so this
    problem separates fast and slow training schemes.

    Parameters
    ----------
    n_samples : int, default=2000
        Number of samples.

    n_features : int, default=20
        Number of features.

    n_outputs : int, default=3
        Number of regression targets.

    condition_number : float, default=100.0
        Ratio of the largest to the smallest eigenvalue of the population
        covariance of ``X``; at least 1. With ``n_features=1`` the covariance
        is 1 whatever this value is.

    noise : float, default=0.1
        Standard deviation of the Gaussian noise added to the targets.

    random_state : int, numpy.random.Generator or None, default=None
        Source of the random draws, passed to :func:`numpy.random.default_rng`:
        an int seeds a new generator, a generator is used as it is (and
        advanced), and None draws fresh entropy from the operating system.
        Seed 1 with the other parameters at their defaults builds the
        reference problem of the examples and tests. Unlike the generators
        in :mod:`sklearn.datasets`, this one does not accept a
        :class:`numpy.random.RandomState`.

    return_coef : bool, default=False
        Whether to also return the true coefficients.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Input samples.

    y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Targets, one-dimensional when ``n_outputs == 1`` as in
        :func:`sklearn.datasets.make_regression`.

    coef : ndarray of shape (n_features,) or (n_features, n_outputs)
        True coefficients ``B`` with ``y = X @ B + noise * E``; only returned
        when ``return_coef=True``. Its transpose has the shape of a fitted
        regressor's ``coef_``.

    See Also
    --------
    sklearn.datasets.make_regression : Random linear problem with a chosen
        effective rank of the inputs.

    Notes
    -----
    The draws, in this order, from ``rng = numpy.random.default_rng(random_state)``
    are: a standard normal ``(n_features, n_features)`` matrix, whose QR
    factorisation gives the rotation ``Q``; ``Z`` of shape
    ``(n_samples, n_features)``; ``B`` of shape ``(n_features, n_outputs)``;
    ``E`` of shape ``(n_samples, n_outputs)``, all standard normal. With
    eigenvalues ``ev = logspace(0, -log10(condition_number), n_features)``,

    .. math::

        X = Z Q \operatorname{diag}(\sqrt{ev}) Q^\top, \qquad Y = X B + \sigma E,

    so the population covariance of a row of ``X`` is
    ``Q diag(ev) Q^T``. The sample covariance ``X.T @ X / n_samples`` has a
    condition number close to ``condition_number`` when ``n_samples`` is
    much larger than ``n_features``.

    References
    ----------
    .. [1] Y. Shin, "Effects of Depth, Width, and Initialization: A Convergence
       Analysis of Layer-wise Training for Deep Linear Neural Networks",
       Analysis and Applications 20(1), 2022. arXiv:1910.05874.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_deeplinear.datasets import make_conditioned_regression
    >>> X, y = make_conditioned_regression(random_state=1)
    >>> X.shape, y.shape
    ((2000, 20), (2000, 3))
    >>> eigenvalues = np.linalg.eigvalsh(X.T @ X / len(X))
    >>> round(float(eigenvalues[-1] / eigenvalues[0]))
    105
    """
    rng = np.random.default_rng(random_state)
    gaussian = rng.standard_normal((n_features, n_features))
    rotation, _ = np.linalg.qr(gaussian)
    latent = rng.standard_normal((n_samples, n_features))
    eigenvalues = np.logspace(0.0, -np.log10(condition_number), n_features)
    # Evaluated left to right, as the formula in the Notes reads, so that seed 1
    # gives the reference problem bit for bit.
    X = latent @ rotation @ np.diag(np.sqrt(eigenvalues)) @ rotation.T

    coef = rng.standard_normal((n_features, n_outputs))
    errors = rng.standard_normal((n_samples, n_outputs))
    y = X @ coef + noise * errors

    if n_outputs == 1:
        y = y[:, 0]
        coef = coef[:, 0]
    if return_coef:
        return X, y, coef
    return X, y
