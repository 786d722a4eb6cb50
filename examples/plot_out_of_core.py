"""
==================================
Out-of-core fitting by partial_fit
==================================

:class:`~sklearn_deeplinear.DeepLinearRegressor` needs the data only through
sums over the rows: the weight sum, the weighted means and the centred
scatter matrix of the features and targets. Each call of
:meth:`~sklearn_deeplinear.DeepLinearRegressor.partial_fit` adds one batch to
these running sums and continues the training from the current weights. The
batches can therefore come one at a time from disk or from a stream, and
never need to be in memory together. The sums merge exactly, so after the
last batch the model is the one that a single
:meth:`~sklearn_deeplinear.DeepLinearRegressor.fit` gives on all batches
concatenated.

This example streams 40 batches of an ill-conditioned regression problem,
tracks the held-out :math:`R^2` and the distance to the single ``fit`` after
each batch, and shows that the two models end equal.
"""

# %%
# A stream of batches
# -------------------
#
# The generator below simulates a reader of files or a database cursor:
# it yields one batch at a time. The features have a condition number of 100
# and are shifted away from zero, so the fit has to centre them to find the
# intercept. A separate test set measures the model after each batch.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import r2_score

from sklearn_deeplinear import DeepLinearRegressor
from sklearn_deeplinear.datasets import make_conditioned_regression

N_BATCHES = 40
BATCH_SIZE = 100
N_TRAIN = N_BATCHES * BATCH_SIZE
OFFSET = 5.0

X, y = make_conditioned_regression(n_samples=N_TRAIN + 5000, noise=1.0, random_state=0)
X = X + OFFSET
X_train, y_train = X[:N_TRAIN], y[:N_TRAIN]
X_test, y_test = X[N_TRAIN:], y[N_TRAIN:]


def iter_batches(X, y, batch_size):
    """Yield ``(X_batch, y_batch)`` pairs of ``batch_size`` consecutive rows."""
    for start in range(0, len(X), batch_size):
        yield X[start : start + batch_size], y[start : start + batch_size]


# %%
# The reference: one fit on all batches
# -------------------------------------
#
# This is the model that needs all 4000 training rows in memory at once.
full = DeepLinearRegressor(depth=3, random_state=0).fit(X_train, y_train)
full_r2 = r2_score(y_test, full.predict(X_test))
print(f"held-out R^2 of one fit on all batches: {full_r2:.6f}")

# %%
# Streamed fit
# ------------
#
# Every call runs up to ``max_iter`` sweeps over the layers, starting from
# the weights that the previous call left, and ``n_iter_`` counts the sweeps
# of the last call. After each batch the loop records the held-out
# :math:`R^2` and the relative distance between the streamed ``coef_`` and
# that of the single fit.
streamed = DeepLinearRegressor(depth=3, random_state=0)
test_r2 = []
distance = []
sweeps = []
for X_batch, y_batch in iter_batches(X_train, y_train, BATCH_SIZE):
    streamed.partial_fit(X_batch, y_batch)
    test_r2.append(r2_score(y_test, streamed.predict(X_test)))
    difference = np.linalg.norm(streamed.coef_ - full.coef_)
    distance.append(difference / np.linalg.norm(full.coef_))
    sweeps.append(streamed.n_iter_)

print(f"held-out R^2 after batch 1: {test_r2[0]:.6f}")
print(f"held-out R^2 after batch {N_BATCHES}: {test_r2[-1]:.6f}")
print(f"sweeps per call: first {sweeps[0]}, last {sweeps[-1]}, total {sum(sweeps)}")
print(f"relative distance of coef_ to the single fit: {distance[-1]:.1e}")

# %%
# Until the last batch, the streamed model has seen only part of the data,
# so it differs from the single fit by the sampling noise of the rows it has
# not seen yet. After the last batch it has the same sums, and the two
# models agree to about 1e-10, the relative accuracy of ``coef_`` at which
# both fits stop (``tol``).
batches = np.arange(1, N_BATCHES + 1)
fig, (ax_score, ax_distance) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
ax_score.plot(batches, test_r2, marker="o", label="partial_fit")
ax_score.axhline(full_r2, color="black", linestyle="--", label="one fit on all")
ax_score.set_xlabel("batches seen")
ax_score.set_ylabel("held-out $R^2$")
ax_score.legend()

ax_distance.semilogy(batches, distance, marker="o")
ax_distance.set_xlabel("batches seen")
ax_distance.set_ylabel("relative distance of coef_ to one fit on all")
plt.show()

# %%
# Data in a dask array
# --------------------
#
# When the data are a :mod:`dask.array` instead of a stream, ``fit`` accepts
# them directly (with the optional dependencies from
# ``pip install sklearn-deeplinear[dask]``). Each block is reduced to the
# same sums where it is stored, on a local thread pool or on the workers of a
# ``distributed`` cluster, and only the merged sums reach the client.
# ``predict`` on a dask array returns a lazy dask array.
