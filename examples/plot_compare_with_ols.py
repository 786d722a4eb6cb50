"""
===================================
Compare with ordinary least squares
===================================

A deep linear network predicts with one linear map, ``P = W_L @ ... @ W_1``.
When no hidden layer is narrower than ``min(n_features, n_outputs)``, the
product can be any linear map, so the network minimises the least-squares
loss, and its global minimum is the fit of
:class:`~sklearn.linear_model.LinearRegression`. Depth, width and the
starting weights then change only the path of the training, not the model it
ends at. A narrower hidden layer restricts ``P`` to the rank of that layer,
and the optimum becomes reduced-rank regression.

This example tunes depth, width and initialisation of
:class:`~sklearn_deeplinear.DeepLinearRegressor` by cross-validation on two
small data sets bundled with scikit-learn, compares the cross-validated
:math:`R^2` with that of ordinary least squares, and plots the training
loss against the least-squares loss.
"""

# %%
# Data sets and cross-validation
# ------------------------------
#
# The diabetes data have 442 samples, 10 features and one output. The
# Linnerud data have 20 samples, 3 features and 3 outputs. Both pipelines
# standardise the features first. Every score below comes from the same
# five shuffled folds.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_linnerud
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_deeplinear import DeepLinearRegressor

datasets = {
    "diabetes": load_diabetes(return_X_y=True),
    "linnerud": load_linnerud(return_X_y=True),
}
cv = KFold(n_splits=5, shuffle=True, random_state=0)

# %%
# The search grid
# ---------------
#
# Depth runs from 1 to 4. At depth 1 there is no hidden layer, so the width
# plays no role there. Deeper networks try the default width,
# ``max(n_features, n_outputs)``, and the narrowest width that still allows
# every linear map, ``min(n_features, n_outputs)``, when the two differ (on
# the Linnerud data both are 3). With several outputs the grid also tries
# the widths below that, which give reduced-rank models. Each network starts
# either from the orthogonal-like weights (the zero map) or from
# Glorot-normal weights.


def make_grid(n_features, n_outputs):
    """Return the parameter grid for one data set, as a list of dicts."""
    full_rank = min(n_features, n_outputs)
    widths = [None, *range(full_rank, 0, -1)]
    if full_rank == max(n_features, n_outputs):
        # The default width equals the narrowest full-rank width.
        widths.remove(full_rank)
    inits = ["orthogonal", "glorot_normal"]
    return [
        {"model__depth": [1], "model__init": inits},
        {"model__depth": [2, 3, 4], "model__width": widths, "model__init": inits},
    ]


def max_rank(params, n_features, n_outputs):
    """Return the largest rank that the network with ``params`` can represent."""
    width = params.get("model__width")
    full_rank = min(n_features, n_outputs)
    return full_rank if width is None else min(width, full_rank)


# %%
# Choosing among equal scores
# ---------------------------
#
# All candidates of the same rank converge to the same map, so their
# cross-validated scores differ only by the solver's stopping tolerance,
# below 1e-6 on these data. ``GridSearchCV`` would pick among them by round-off.
# The rule below treats scores within ``SCORE_TIE`` of the best as equal and
# picks the shallowest of those candidates. Among equally shallow ones it
# keeps the first in grid order, which has the default width and the
# orthogonal-like start.
SCORE_TIE = 1e-5


def select_shallowest(cv_results, candidates=None):
    """Return the index of the shallowest candidate tied with the best score."""
    scores = np.asarray(cv_results["mean_test_score"])
    if candidates is None:
        candidates = np.arange(len(scores))
    candidates = np.asarray(candidates)
    best_score = scores[candidates].max()
    tied = candidates[scores[candidates] >= best_score - SCORE_TIE]
    depths = [cv_results["params"][index]["model__depth"] for index in tied]
    return int(tied[np.argmin(depths)])


def format_params(params):
    """Return the model parameters as ``name=value`` pairs."""
    return ", ".join(f"{name.split('__')[1]}={value}" for name, value in params.items())


# %%
# Search and compare
# ------------------
#
# For each data set the grid search selects one pipeline. Each table row
# cross-validates one pipeline with
# :func:`~sklearn.model_selection.cross_validate` on the same folds. The
# first row is least squares, and the next ones are the best deep linear
# pipeline at each rank that the grid offers. The row marked "(selected)" is
# the one the search chose among all ranks. The fit time is the mean over
# the five folds.
rows = []
refitted = {}
for dataset, (X, y) in datasets.items():
    n_features = X.shape[1]
    n_outputs = 1 if y.ndim == 1 else y.shape[1]

    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            ("model", DeepLinearRegressor(max_iter=2000, random_state=0)),
        ]
    )
    search = GridSearchCV(
        pipeline, make_grid(n_features, n_outputs), cv=cv, refit=select_shallowest
    )
    search.fit(X, y)

    ols = Pipeline([("scale", StandardScaler()), ("model", LinearRegression())])
    scores = cross_validate(ols, X, y, cv=cv)
    rows.append((dataset, "LinearRegression", min(n_features, n_outputs), "-", scores))

    ranks = [max_rank(p, n_features, n_outputs) for p in search.cv_results_["params"]]
    refitted[dataset] = []
    for rank in sorted(set(ranks), reverse=True):
        candidates = [index for index, r in enumerate(ranks) if r == rank]
        index = select_shallowest(search.cv_results_, candidates)
        params = search.cv_results_["params"][index]
        if index == search.best_index_:
            model = "DeepLinearRegressor (selected)"
            best = search.best_estimator_
        else:
            model = "DeepLinearRegressor"
            best = clone(pipeline).set_params(**params).fit(X, y)
        scores = cross_validate(best, X, y, cv=cv)
        rows.append((dataset, model, rank, format_params(params), scores))
        refitted[dataset].append((rank, model, best))

print(
    f"{'dataset':<8}  {'model':<30}  {'rank':>4}  {'parameters':<38}  "
    f"{'CV R^2':>7}  {'std':>6}  {'fit time (ms)':>13}"
)
for dataset, model, rank, params, scores in rows:
    r2 = scores["test_score"]
    fit_ms = 1000 * scores["fit_time"].mean()
    print(
        f"{dataset:<8}  {model:<30}  {rank:>4}  {params:<38}  "
        f"{r2.mean():>7.4f}  {r2.std():>6.4f}  {fit_ms:>13.1f}"
    )

# %%
# On the diabetes data every candidate has full rank, and the selected
# pipeline scores what least squares scores, to the printed digits. Tuning
# depth, width and initialisation cannot improve on it, because the network
# ends at the same least-squares fit. It costs more time than the closed-form
# solve of ``LinearRegression``.
#
# The Linnerud data have 20 samples, so each test fold contains 4 of them, and
# every model predicts the held-out outputs poorly (negative :math:`R^2`).
# The full-rank deep pipeline again matches least squares. The search prefers
# a network with one hidden unit: its map has rank 1, and its optimum is
# reduced-rank regression, which on these folds scores better than least
# squares. The gain is well inside the spread over the folds, so it is weak
# evidence of better predictions on new data.

# %%
# Training loss against the least-squares loss
# --------------------------------------------
#
# ``loss_curve_`` records half the mean squared error over samples and
# outputs after each sweep over the layers. ``LinearRegression`` fitted on
# the same data gives the least-squares loss, the lowest loss any linear map
# can reach. The two differ by less than 1 % after a few sweeps, so the plot
# shows the excess of the training loss over the least-squares loss, relative
# to it, on a log scale. The sweeps are on a log scale too, so that fits of a
# few sweeps show next to fits of hundreds. A full-rank network drives the
# excess down to round-off. A rank-limited one levels off at the gap between
# the reduced-rank optimum and least squares.
fig, axes = plt.subplots(1, len(datasets), figsize=(10, 4), layout="constrained")
for ax, (dataset, (X, y)) in zip(axes, datasets.items(), strict=True):
    ols = Pipeline([("scale", StandardScaler()), ("model", LinearRegression())])
    residuals = y - ols.fit(X, y).predict(X)
    least_squares_loss = 0.5 * np.mean(residuals**2)
    n_outputs = 1 if y.ndim == 1 else y.shape[1]

    for rank, model, best in refitted[dataset]:
        excess = np.asarray(best[-1].loss_curve_) / least_squares_loss - 1.0
        # Round-off can put a converged loss at or just below the least-squares
        # loss. The log scale cannot show those points, so they are left out.
        excess[excess <= 0.0] = np.nan
        notes = ["full"] if rank == min(X.shape[1], n_outputs) else []
        notes += ["selected"] if "selected" in model else []
        label = f"rank {rank}" + (f" ({', '.join(notes)})" if notes else "")
        # Fits of a few sweeps get markers, or their lines would vanish at
        # the left edge.
        marker = "o" if excess.size < 30 else None
        ax.plot(np.arange(1, excess.size + 1), excess, marker=marker, label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sweep")
    ax.set_ylabel("training loss / least-squares loss - 1")
    ax.set_title(f"{dataset} (least-squares loss {least_squares_loss:.6g})")
    ax.legend()
fig.savefig("compare_with_ols.png", dpi=100)
print("\nLoss curves written to compare_with_ols.png in the current directory.")
plt.show()
