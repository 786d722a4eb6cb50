"""Deep linear networks trained layer by layer, as a scikit-learn regressor."""

from . import datasets
from ._estimator import DeepLinearRegressor
from ._plotting import LossCurveDisplay

__all__ = ["DeepLinearRegressor", "LossCurveDisplay", "datasets"]
__version__ = "0.1.0"
