"""Deep linear networks trained layer by layer, as a scikit-learn regressor."""

from ._estimator import DeepLinearRegressor

__all__ = ["DeepLinearRegressor"]
__version__ = "0.1.0"
