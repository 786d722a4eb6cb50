"""Run the comparison with least squares example and check its printed table.

Every cross-validated R^2 in the table is checked against a value computed
here: ``LinearRegression`` for full-rank models, and the closed form of
reduced-rank regression for networks with a narrow hidden layer.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.datasets import load_diabetes, load_linnerud
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytestmark = pytest.mark.examples

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "plot_compare_with_ols.py"
DATASETS = {"diabetes": load_diabetes, "linnerud": load_linnerud}
# The example cross-validates on these folds.
CV = KFold(n_splits=5, shuffle=True, random_state=0)

# The table prints R^2 with 4 decimals, so a printed value is within 5e-5 of
# the value it rounds.
PRINT_TOL = 1e-4
# A deep pipeline reaches its optimum up to the solver's stopping tolerance
# (tol=1e-8 on the end-to-end map), which moves the mean R^2 by less than 1e-6
# on these data. A tolerance of 1e-3 leaves room for that and for rounding,
# and still separates the three ranks on the Linnerud data, whose scores are
# at least 0.19 apart.
MODEL_TOL = 1e-3


class ReducedRankRegression(RegressorMixin, BaseEstimator):
    """Closed-form least squares with the coefficient matrix limited to ``rank``.

    The optimum projects the least-squares coefficients onto the top ``rank``
    right singular vectors of the centred least-squares fitted values.
    """

    def __init__(self, rank=1):
        self.rank = rank

    def fit(self, X, Y):
        X_offset, Y_offset = X.mean(axis=0), Y.mean(axis=0)
        X_centred = X - X_offset
        coef, *_ = np.linalg.lstsq(X_centred, Y - Y_offset, rcond=None)
        _, _, right_vectors = np.linalg.svd(X_centred @ coef, full_matrices=False)
        top = right_vectors[: self.rank].T
        self.coef_ = (coef @ top @ top.T).T
        self.intercept_ = Y_offset - self.coef_ @ X_offset
        return self

    def predict(self, X):
        return X @ self.coef_.T + self.intercept_


def reference_r2(dataset, rank):
    """Return the cross-validated R^2 scores of the best rank-``rank`` linear map."""
    X, y = DATASETS[dataset](return_X_y=True)
    n_outputs = 1 if y.ndim == 1 else y.shape[1]
    if rank == min(X.shape[1], n_outputs):
        model = LinearRegression()
    else:
        model = ReducedRankRegression(rank=rank)
    return cross_val_score(make_pipeline(StandardScaler(), model), X, y, cv=CV)


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("example")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    completed = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    return completed, workdir


@pytest.fixture(scope="module")
def table_rows(example_run):
    """Return the table as dicts, one per row, keyed like the header."""
    completed, _ = example_run
    rows = []
    for line in completed.stdout.splitlines():
        fields = re.split(r"\s{2,}", line.strip())
        if fields[0] not in DATASETS:
            continue
        dataset, model, rank, params, r2, std, fit_ms = fields
        rows.append(
            {
                "dataset": dataset,
                "model": model,
                "rank": int(rank),
                "params": params,
                "r2": float(r2),
                "std": float(std),
                "fit_ms": float(fit_ms),
            }
        )
    return rows


def select_rows(rows, dataset, model_prefix):
    return [
        row
        for row in rows
        if row["dataset"] == dataset and row["model"].startswith(model_prefix)
    ]


def test_example_exits_cleanly(example_run):
    completed, workdir = example_run
    assert completed.returncode == 0, completed.stderr
    assert (workdir / "compare_with_ols.png").stat().st_size > 0
    assert "ConvergenceWarning" not in completed.stderr, completed.stderr


def test_table_lists_expected_rows(table_rows):
    # Diabetes has one output, so every candidate has rank 1. Linnerud has 3
    # features and 3 outputs: one best pipeline per rank 3, 2 and 1.
    expected = {"diabetes": [1], "linnerud": [3, 2, 1]}
    for dataset, ranks in expected.items():
        least_squares = select_rows(table_rows, dataset, "LinearRegression")
        deep = select_rows(table_rows, dataset, "DeepLinearRegressor")
        selected = select_rows(table_rows, dataset, "DeepLinearRegressor (selected)")
        assert len(least_squares) == 1, dataset
        assert [row["rank"] for row in deep] == ranks, dataset
        assert len(selected) == 1, dataset


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_least_squares_row_matches_reference(table_rows, dataset):
    (row,) = select_rows(table_rows, dataset, "LinearRegression")
    scores = reference_r2(dataset, row["rank"])
    assert row["r2"] == pytest.approx(scores.mean(), abs=PRINT_TOL)
    assert row["std"] == pytest.approx(scores.std(), abs=PRINT_TOL)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_full_rank_deep_matches_least_squares(table_rows, dataset):
    (least_squares,) = select_rows(table_rows, dataset, "LinearRegression")
    deep = select_rows(table_rows, dataset, "DeepLinearRegressor")
    full_rank = [row for row in deep if row["rank"] == least_squares["rank"]]
    assert len(full_rank) == 1, deep
    assert full_rank[0]["r2"] == pytest.approx(least_squares["r2"], abs=MODEL_TOL)
    assert full_rank[0]["std"] == pytest.approx(least_squares["std"], abs=MODEL_TOL)


def test_reduced_rank_deep_matches_closed_form(table_rows):
    reduced = [
        row
        for row in select_rows(table_rows, "linnerud", "DeepLinearRegressor")
        if row["rank"] < 3
    ]
    assert [row["rank"] for row in reduced] == [2, 1]
    for row in reduced:
        scores = reference_r2("linnerud", row["rank"])
        assert row["r2"] == pytest.approx(scores.mean(), abs=MODEL_TOL), row
        assert row["std"] == pytest.approx(scores.std(), abs=MODEL_TOL), row


def test_diabetes_selection_matches_least_squares(table_rows):
    (selected,) = select_rows(table_rows, "diabetes", "DeepLinearRegressor (selected)")
    (least_squares,) = select_rows(table_rows, "diabetes", "LinearRegression")
    assert selected["r2"] == pytest.approx(least_squares["r2"], abs=MODEL_TOL)


def test_linnerud_selection_is_best_rank(table_rows):
    # On these folds rank-1 reduced-rank regression scores higher than least
    # squares and than rank 2, so the search must select a width-1 network,
    # and that network must score as the rank-1 closed form does.
    best_rank = max((3, 2, 1), key=lambda rank: reference_r2("linnerud", rank).mean())
    assert best_rank == 1
    (selected,) = select_rows(table_rows, "linnerud", "DeepLinearRegressor (selected)")
    assert selected["rank"] == best_rank
    assert "width=1" in selected["params"]
    expected = reference_r2("linnerud", best_rank).mean()
    assert selected["r2"] == pytest.approx(expected, abs=MODEL_TOL)
