"""Tests of the synthetic problems in sklearn_deeplinear.datasets."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from sklearn_deeplinear.datasets import make_conditioned_regression


def reference_recipe(seed):
    """Build the reference problem step by step from its written recipe."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.standard_normal((20, 20)))
    latent = rng.standard_normal((2000, 20))
    eigenvalues = np.logspace(0, -2, 20)
    X = latent @ rotation @ np.diag(np.sqrt(eigenvalues)) @ rotation.T
    coef = rng.standard_normal((20, 3))
    errors = rng.standard_normal((2000, 3))
    return X, X @ coef + 0.1 * errors, coef


def sample_condition_bound(n_samples, n_features, t=4.0):
    """Return the largest factor by which sampling can move the condition number.

    For a standard Gaussian ``Z`` of shape ``(n, p)``, the singular values of
    ``Z / sqrt(n)`` lie in ``[1 - a, 1 + a]`` with ``a = sqrt(p / n) + t / sqrt(n)``,
    except with probability at most ``2 exp(-t^2 / 2)``, which is 6.7e-4 for
    ``t = 4``. This is Gordon's theorem with Gaussian concentration (Davidson
    and Szarek, theorem II.13). The sample covariance is ``M (Z.T Z / n) M``
    with ``M M`` the population covariance, so its condition number is within
    a factor ``((1 + a) / (1 - a))^2`` of the population value.
    """
    a = np.sqrt(n_features / n_samples) + t / np.sqrt(n_samples)
    return ((1 + a) / (1 - a)) ** 2


def condition(matrix):
    eigenvalues = np.linalg.eigvalsh(matrix)
    return eigenvalues[-1] / eigenvalues[0]


def test_seed_one_builds_reference_problem():
    X, y, coef = make_conditioned_regression(random_state=1, return_coef=True)
    X_expected, y_expected, coef_expected = reference_recipe(1)

    assert_array_equal(X, X_expected)
    assert_array_equal(y, y_expected)
    assert_array_equal(coef, coef_expected)


def test_generator_and_int_seed_agree():
    X_seed, y_seed = make_conditioned_regression(random_state=1)
    X_rng, y_rng = make_conditioned_regression(random_state=np.random.default_rng(1))

    assert_array_equal(X_seed, X_rng)
    assert_array_equal(y_seed, y_rng)


def test_same_seed_is_deterministic():
    X_first, y_first = make_conditioned_regression(random_state=7)
    X_second, y_second = make_conditioned_regression(random_state=7)
    X_other, _ = make_conditioned_regression(random_state=8)

    assert_array_equal(X_first, X_second)
    assert_array_equal(y_first, y_second)
    assert not np.allclose(X_first, X_other)


@pytest.mark.parametrize("n_outputs", [1, 2, 5])
def test_shapes(n_outputs):
    X, y, coef = make_conditioned_regression(
        n_samples=30,
        n_features=4,
        n_outputs=n_outputs,
        random_state=0,
        return_coef=True,
    )

    assert X.shape == (30, 4)
    if n_outputs == 1:
        assert y.shape == (30,)
        assert coef.shape == (4,)
    else:
        assert y.shape == (30, n_outputs)
        assert coef.shape == (4, n_outputs)


@pytest.mark.parametrize("condition_number", [1.0, 10.0, 100.0, 1e6])
@pytest.mark.parametrize("n_features", [1, 5, 20])
def test_population_condition_number(condition_number, n_features):
    X, _ = make_conditioned_regression(
        n_samples=50,
        n_features=n_features,
        condition_number=condition_number,
        random_state=3,
    )
    # Replay the draws: the rotation comes first, the latent Gaussian second.
    rng = np.random.default_rng(3)
    rotation, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    latent = rng.standard_normal((50, n_features))
    eigenvalues = np.logspace(0, -np.log10(condition_number), n_features)
    square_root = rotation @ np.diag(np.sqrt(eigenvalues)) @ rotation.T
    covariance = square_root @ square_root

    assert_allclose(X, latent @ square_root, rtol=1e-12, atol=1e-14)
    expected = condition_number if n_features > 1 else 1.0
    # eigvalsh has a relative error of about 1e-16 * condition on the smallest
    # eigenvalue, so 1e-8 leaves room even at condition 1e6.
    assert condition(covariance) == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("seed", range(10))
def test_sample_condition_number_close(seed):
    X, _ = make_conditioned_regression(random_state=seed)
    bound = sample_condition_bound(2000, 20)

    sample = condition(X.T @ X / len(X))

    assert 100.0 / bound <= sample <= 100.0 * bound


def test_sample_condition_number_tightens_with_samples():
    n_samples = 200_000
    X, _ = make_conditioned_regression(n_samples=n_samples, random_state=0)
    bound = sample_condition_bound(n_samples, 20)

    sample = condition(X.T @ X / n_samples)

    assert bound < 1.08
    assert 100.0 / bound <= sample <= 100.0 * bound


def test_noise_free_targets_are_linear():
    X, y, coef = make_conditioned_regression(
        n_samples=40,
        n_features=6,
        n_outputs=2,
        noise=0.0,
        random_state=0,
        return_coef=True,
    )

    assert_allclose(y, X @ coef, rtol=1e-12)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"condition_number": 0.5}, "condition_number"),
        ({"noise": -1.0}, "noise"),
        ({"n_samples": 0}, "n_samples"),
        ({"random_state": np.random.RandomState(0)}, "random_state"),
    ],
)
def test_invalid_parameters_raise(params, match):
    with pytest.raises(ValueError, match=match):
        make_conditioned_regression(**params)
