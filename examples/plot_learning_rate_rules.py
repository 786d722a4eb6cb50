"""
=====================================================
Optimal, inverse-Lipschitz and fixed learning rates
=====================================================

Each block step of layer-wise training moves one weight matrix ``W_j`` along
its negative gradient ``G_j``. With the other layers fixed, the loss is a
parabola in the step size ``eta``, and
:class:`~sklearn_deeplinear.DeepLinearRegressor` offers three rules to choose
``eta``:

- ``"optimal"``: the minimiser of that parabola,
  ``||G_j||^2 / tr(D S D^T)`` with ``D = A G_j R``, which needs no tuning;
- ``"lipschitz"``: the inverse of the block's Lipschitz constant
  ``||A||_2^2 lambda_max(R S R^T)``, a conservative step that cannot raise
  the loss when the constant is exact (here it is estimated, with a margin);
- a fixed float, the same for every block and sweep.

Y. Shin, arXiv:1910.05874, shows that with the optimal rate, deeper networks
need fewer sweeps, and that this is what makes depth pay. This example
compares the three rules at depth 4, then the first two over depths 1 to 32.
"""

# %%
# The problem
# -----------
#
# The reference problem: 2000 samples, 20 features with condition number
# 100, 3 outputs. All fits have width 20, start from the orthogonal-like
# weights and run the plain layer-wise algorithm (``acceleration="none"``)
# with ``tol=0``.
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


def fit(depth, learning_rate, max_iter):
    """Fit and return the relative gap after each sweep and the warnings."""
    model = DeepLinearRegressor(
        depth=depth,
        width=20,
        learning_rate=learning_rate,
        acceleration="none",
        fit_intercept=False,
        tol=0,
        max_iter=max_iter,
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model.fit(X, y)
    gap = (np.asarray(model.loss_curve_) - least_squares_loss) / least_squares_loss
    return gap, [str(warning.message) for warning in caught]


def sweeps_to_target(gap):
    reached = np.flatnonzero(gap <= TARGET_GAP)
    return int(reached[0]) + 1 if reached.size else None


# %%
# Three rules at depth 4
# ----------------------
#
# The fixed steps 0.05, 0.1, 0.2 and 0.3 span the useful range here: 0.2
# converges, 0.3 would raise the loss after a few sweeps. The fit then stops
# at the last weights that lowered the loss and warns.
rules = ["optimal", "lipschitz", 0.05, 0.1, 0.2, 0.3]
gaps = {}
stopped = set()
for rule in rules:
    gaps[rule], messages = fit(4, rule, max_iter=1000)
    count = sweeps_to_target(gaps[rule])
    reached = f"{count} sweeps" if count else "not reached"
    note = ""
    if any("would increase" in message for message in messages):
        stopped.add(rule)
        note = f" (stopped after sweep {len(gaps[rule])})"
    print(f"learning_rate={rule!r:<12} relative gap 1e-8: {reached}{note}")

# %%
# The optimal rate needs 78 sweeps. The inverse-Lipschitz rule needs six
# times as many: the Lipschitz constant bounds the curvature over every
# direction, while the optimal rate uses the curvature along the gradient.
# A well-chosen fixed step beats the Lipschitz rule, but the best one sits
# just below a step that fails, and only trying reveals where that is.

# %%
# Depth with the optimal and the Lipschitz rule
# ---------------------------------------------
#
# Counted in layer updates (sweeps times depth), which measure the work up to
# a constant.
DEPTHS = [1, 2, 4, 8, 16, 32]
updates = {"optimal": [], "lipschitz": []}
for rule in updates:
    for depth in DEPTHS:
        gap, _ = fit(depth, rule, max_iter=1200)
        updates[rule].append(sweeps_to_target(gap) * depth)
    print(f"{rule:>9}: layer updates for depths {DEPTHS}: {updates[rule]}")

# %%
# Both rules need fewer sweeps as the network gets deeper, but only the
# optimal rate needs fewer layer updates too: with the Lipschitz rule, depth
# 32 does about five times the work of depth 1. (The Lipschitz constants are
# estimated by power iteration and enlarged by 10 % for safety, which makes
# the steps a little shorter than the exact inverse constants.)

# %%
# Plot
# ----
fig, (ax_rules, ax_depth) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for rule, gap in gaps.items():
    visible_gap = np.where(gap > ROUNDOFF_GAP, gap, np.nan)
    label = rule if isinstance(rule, str) else f"fixed {rule}"
    if rule in stopped:
        label += " (stopped)"
    (line,) = ax_rules.plot(np.arange(1, gap.size + 1), visible_gap, label=label)
    if rule in stopped:
        ax_rules.plot(gap.size, gap[-1], "x", color=line.get_color(), markersize=10)
ax_rules.axhline(TARGET_GAP, color="gray", linestyle=":")
ax_rules.set(
    xscale="log",
    yscale="log",
    xlabel="sweep",
    ylabel="training loss / least-squares loss - 1",
    title="Step-size rules at depth 4",
)
ax_rules.legend(loc="lower left")

for rule, counts in updates.items():
    ax_depth.plot(DEPTHS, counts, "o-", label=rule)
ax_depth.set(
    xscale="log",
    yscale="log",
    xlabel="depth",
    ylabel="layer updates to a relative gap of 1e-8",
    title="Work to the target by depth",
)
ax_depth.set_xticks(DEPTHS, labels=[str(depth) for depth in DEPTHS])
ax_depth.legend()
fig.savefig("learning_rate_rules.png", dpi=100)
plt.show()
