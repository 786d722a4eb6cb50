"""
=============================================
Deeper networks converge in fewer sweeps
=============================================

Y. Shin, arXiv:1910.05874, shows that layer-wise training of a deep linear
network with the optimal step and the orthogonal-like start converges faster
with depth: each added layer cuts the number of sweeps needed to reach a
given accuracy. A sweep updates every layer once, so a deeper network also
does more work per sweep. The question is whether depth still pays when the
work is counted in layer updates.

This example fits networks of depth 1 to 32 to an ill-conditioned
least-squares problem. Depth 1 is linear regression trained by gradient
descent with exact line search. For each depth it counts the sweeps, and the
layer updates, until the training loss is within 1e-8 of the least-squares
loss, relative to it.
"""

# %%
# The problem and the fits
# ------------------------
#
# 2000 samples, 20 features with condition number 100, 3 outputs; seed 1 is
# the reference problem. Each network has width 20 and starts from the
# orthogonal-like weights, and runs the plain layer-wise algorithm
# (``acceleration="none"``) with ``tol=0``, so that it stops only when the
# loss stalls at round-off.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression

from sklearn_deeplinear import DeepLinearRegressor
from sklearn_deeplinear.datasets import make_conditioned_regression

X, y = make_conditioned_regression(random_state=1)
ols = LinearRegression(fit_intercept=False).fit(X, y)
least_squares_loss = 0.5 * np.mean((y - ols.predict(X)) ** 2)

TARGET_GAP = 1e-8
# The loss is evaluated from sufficient statistics whose terms cancel, so it
# is accurate to about 1e-12 relative to the least-squares loss here. Smaller
# gaps are noise and are not drawn.
ROUNDOFF_GAP = 1e-12
DEPTHS = [1, 2, 4, 8, 16, 32]

relative_gaps = {}
for depth in DEPTHS:
    model = DeepLinearRegressor(
        depth=depth,
        width=20,
        acceleration="none",
        fit_intercept=False,
        tol=0,
        max_iter=1000,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    loss = np.asarray(model.loss_curve_)
    relative_gaps[depth] = (loss - least_squares_loss) / least_squares_loss

# %%
# Sweeps and layer updates to the target
# --------------------------------------
#
# A layer update is one block step; a sweep of a depth-``L`` network makes
# ``L`` of them. Each costs a few products of matrices no larger than
# ``width x width``, about the same at every depth here, so layer updates
# measure the floating-point work up to a constant.
sweeps = {}
for depth, gap in relative_gaps.items():
    sweeps[depth] = int(np.flatnonzero(gap <= TARGET_GAP)[0]) + 1

print(f"{'depth':>5}  {'sweeps':>6}  {'layer updates':>13}  {'vs depth 1':>10}")
for depth in DEPTHS:
    updates = sweeps[depth] * depth
    ratio = updates / sweeps[1]
    print(f"{depth:>5}  {sweeps[depth]:>6}  {updates:>13}  {ratio:>10.2f}")

# %%
# Depth 2 needs about a third of the sweeps of depth 1, and depth 16 needs 20
# against 463. In layer updates, depths 2 to 16 still beat depth 1; at depth
# 32 the sweeps hardly fall any more, and the work overtakes that of depth 1.

# %%
# Plot
# ----
#
# Left: the relative gap after each sweep. Right: sweeps and layer updates to
# a gap of 1e-8, with the depth-1 count as a dashed line.
fig, (ax_curves, ax_counts) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for depth, gap in relative_gaps.items():
    visible_gap = np.where(gap > ROUNDOFF_GAP, gap, np.nan)
    ax_curves.plot(np.arange(1, gap.size + 1), visible_gap, label=f"depth {depth}")
ax_curves.axhline(TARGET_GAP, color="gray", linestyle=":")
ax_curves.set(
    xscale="log",
    yscale="log",
    xlabel="sweep",
    ylabel="training loss / least-squares loss - 1",
    title="Convergence by depth (width 20)",
)
ax_curves.legend()

counts = [sweeps[depth] for depth in DEPTHS]
ax_counts.plot(DEPTHS, counts, "o-", label="sweeps")
ax_counts.plot(DEPTHS, np.multiply(counts, DEPTHS), "s-", label="layer updates")
ax_counts.axhline(sweeps[1], color="gray", linestyle="--", label="depth 1")
ax_counts.set(
    xscale="log",
    yscale="log",
    xlabel="depth",
    ylabel="count to a relative gap of 1e-8",
    title="Work to the target",
)
ax_counts.set_xticks(DEPTHS, labels=[str(depth) for depth in DEPTHS])
ax_counts.legend()
fig.savefig("depth_acceleration.png", dpi=100)
plt.show()
