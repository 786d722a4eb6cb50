"""Starting weights for a deep linear network.

Every initialiser takes the layer sizes ``(n_0, n_1, ..., n_L)``, with
``n_0 = n_features`` and ``n_L = n_outputs``, and a
:class:`numpy.random.RandomState`, and returns one float64 array of shape
``(n_{j+1}, n_j)`` per layer.
"""

import numpy as np
from scipy import linalg


def semi_orthogonal(n_rows, n_cols, random_state):
    """Draw a Haar-random matrix with orthonormal columns or rows.

    The columns are orthonormal when ``n_rows >= n_cols``, the rows otherwise.
    """
    tall = n_rows >= n_cols
    shape = (n_rows, n_cols) if tall else (n_cols, n_rows)
    gaussian = random_state.standard_normal(shape)
    q, r = linalg.qr(gaussian, mode="economic")
    # Fixing the signs of diag(R) makes Q Haar-distributed, not just orthonormal.
    signs = np.sign(np.diag(r))
    signs[signs == 0] = 1.0
    q *= signs
    return q if tall else q.T


def orthogonal_like(layer_sizes, random_state):
    """Semi-orthogonal hidden layers and a zero last layer, so that ``P = 0``."""
    pairs = list(zip(layer_sizes[1:], layer_sizes[:-1]))
    weights = [semi_orthogonal(n_out, n_in, random_state) for n_out, n_in in pairs[:-1]]
    n_out, n_in = pairs[-1]
    weights.append(np.zeros((n_out, n_in)))
    return weights


def glorot_normal(layer_sizes, random_state):
    """Gaussian weights with variance ``2 / (fan_in + fan_out)``."""
    return [
        random_state.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_out, n_in))
        for n_out, n_in in zip(layer_sizes[1:], layer_sizes[:-1])
    ]


def he_normal(layer_sizes, random_state):
    """Gaussian weights with variance ``2 / fan_in``."""
    return [
        random_state.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
        for n_out, n_in in zip(layer_sizes[1:], layer_sizes[:-1])
    ]


INITIALIZERS = {
    "orthogonal": orthogonal_like,
    "glorot_normal": glorot_normal,
    "he_normal": he_normal,
}
