"""Plot of the training loss curve, in the style of scikit-learn's displays."""

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

KINDS = ("loss", "gap")


def _import_pyplot(caller_name):
    """Import matplotlib.pyplot, or raise an ImportError with install instructions."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            f"{caller_name} requires matplotlib, which is not installed. Install "
            "it with `pip install sklearn-deeplinear[examples]` or "
            "`pip install matplotlib`."
        ) from error
    return plt


def least_squares_loss(X, y, *, sample_weight=None, fit_intercept=True):
    """Return the least-squares loss on the scale of ``loss_curve_``.

    That scale is half the weighted mean of the squared residuals over samples
    and outputs.
    """
    model = LinearRegression(fit_intercept=fit_intercept)
    model.fit(X, y, sample_weight=sample_weight)
    residual_loss = mean_squared_error(y, model.predict(X), sample_weight=sample_weight)
    return 0.5 * float(residual_loss)


class LossCurveDisplay:
    """Training loss per iteration, or its gap to the least-squares loss.

    Use :meth:`from_estimator` to build the display from a fitted estimator
    that has a ``loss_curve_`` attribute, such as
    :class:`~sklearn_deeplinear.DeepLinearRegressor` or
    :class:`~sklearn.neural_network.MLPRegressor`. All parameters are stored
    as attributes.

    Parameters
    ----------
    loss_curve : array-like of shape (n_iter,)
        Training loss after each iteration (one sweep over the layers for
        :class:`~sklearn_deeplinear.DeepLinearRegressor`).

    least_squares_loss : float, default=None
        Loss of the least-squares fit on the same data and on the same scale
        as ``loss_curve``. Needed only for ``kind="gap"``.

    estimator_name : str, default=None
        Name of the estimator, used as the default line label.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The plotted curve.

    ax_ : matplotlib Axes
        Axes with the curve.

    figure_ : matplotlib Figure
        Figure that contains the axes.

    See Also
    --------
    LossCurveDisplay.from_estimator : Plot the loss curve of a fitted estimator.
    sklearn.metrics.PredictionErrorDisplay : Plot the prediction errors of a
        regressor.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn_deeplinear import LossCurveDisplay
    >>> display = LossCurveDisplay(loss_curve=[1.0, 0.3, 0.1], least_squares_loss=0.05)
    >>> display.plot(kind="gap").ax_.get_yscale()
    'log'
    >>> display.line_.get_ydata()
    array([0.95, 0.25, 0.05])
    >>> plt.close("all")
    """

    def __init__(self, *, loss_curve, least_squares_loss=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.least_squares_loss = least_squares_loss
        self.estimator_name = estimator_name

    def plot(self, ax=None, *, kind="loss", label=None, **kwargs):
        """Plot the curve on a log scale.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to plot on. If None, a new figure and axes are created.

        kind : {"loss", "gap"}, default="loss"
            ``"loss"`` plots the training loss; ``"gap"`` plots the training
            loss minus ``least_squares_loss``. Sweeps whose gap is zero or
            negative (the least-squares loss reached to round-off) are left
            out, since a log scale cannot show them.

        label : str, default=None
            Legend entry of the line. If None, ``estimator_name`` is used, and
            no legend is drawn when that is None too.

        **kwargs : dict
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        display : LossCurveDisplay
            The display, with ``line_``, ``ax_`` and ``figure_`` set.
        """
        plt = _import_pyplot(f"{type(self).__name__}.plot")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
        values = np.asarray(self.loss_curve, dtype=np.float64)
        if kind == "gap":
            if self.least_squares_loss is None:
                raise ValueError(
                    'kind="gap" needs least_squares_loss. Build the display with '
                    "LossCurveDisplay.from_estimator(estimator, X=X, y=y, "
                    'kind="gap") or pass least_squares_loss.'
                )
            values = values - self.least_squares_loss
            values[values <= 0.0] = np.nan
            ylabel = "Training loss - least-squares loss"
        else:
            ylabel = "Training loss"

        if ax is None:
            _, ax = plt.subplots()
        if label is None:
            label = self.estimator_name
        iterations = np.arange(1, len(values) + 1)
        (self.line_,) = ax.plot(iterations, values, label=label, **kwargs)
        ax.set_yscale("log")
        ax.set(xlabel="Sweep", ylabel=ylabel)
        if label is not None:
            ax.legend()

        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        X=None,
        y=None,
        sample_weight=None,
        kind="loss",
        ax=None,
        name=None,
        label=None,
        **kwargs,
    ):
        """Plot the loss curve of a fitted estimator.

        Parameters
        ----------
        estimator : estimator instance
            Fitted estimator with a ``loss_curve_`` attribute, or a fitted
            :class:`~sklearn.pipeline.Pipeline` whose last step has one.

        X : {array-like, sparse matrix} of shape (n_samples, n_features), \
                default=None
            Training data of the fit. Required for ``kind="gap"``. For a
            pipeline, the data before its transformers.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs), \
                default=None
            Training targets of the fit. Required for ``kind="gap"``.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights of the fit, used for the least-squares loss.

        kind : {"loss", "gap"}, default="loss"
            ``"loss"`` plots ``loss_curve_``. ``"gap"`` plots ``loss_curve_``
            minus the loss of :class:`~sklearn.linear_model.LinearRegression`
            fitted to ``X`` and ``y`` with the estimator's ``fit_intercept``
            (True when it has none) and ``sample_weight``.

        ax : matplotlib Axes, default=None
            Axes to plot on. If None, a new figure and axes are created.

        name : str, default=None
            Name of the estimator, stored as ``estimator_name`` and used as the
            legend entry when ``label`` is None. If None, the class name.

        label : str, default=None
            Legend entry of the line. If None, ``name``.

        **kwargs : dict
            Keyword arguments passed to :meth:`matplotlib.axes.Axes.plot`.

        Returns
        -------
        display : LossCurveDisplay
            The display, with ``line_``, ``ax_`` and ``figure_`` set.

        Notes
        -----
        The least-squares loss is half the weighted mean of the squared
        residuals over samples and outputs, the scale of ``loss_curve_`` in
        both :class:`~sklearn_deeplinear.DeepLinearRegressor` and
        :class:`~sklearn.neural_network.MLPRegressor`. When the estimator
        fits a penalty (``alpha > 0``), its loss curve includes that penalty
        and levels off above the least-squares loss.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> from sklearn_deeplinear import DeepLinearRegressor, LossCurveDisplay
        >>> from sklearn_deeplinear.datasets import make_conditioned_regression
        >>> X, y = make_conditioned_regression(n_samples=200, random_state=0)
        >>> model = DeepLinearRegressor(depth=4, random_state=0).fit(X, y)
        >>> display = LossCurveDisplay.from_estimator(model, X=X, y=y, kind="gap")
        >>> display.ax_.get_yscale()
        'log'
        >>> plt.close("all")
        """
        _import_pyplot(f"{cls.__name__}.from_estimator")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {kind!r}.")
        check_is_fitted(estimator)
        model = estimator[-1] if isinstance(estimator, Pipeline) else estimator
        if not hasattr(model, "loss_curve_"):
            raise ValueError(
                f"{type(model).__name__} has no loss_curve_ attribute to plot. "
                "Pass an estimator that records one, such as DeepLinearRegressor "
                "or MLPRegressor with solver='sgd' or 'adam'."
            )

        least_squares = None
        if kind == "gap":
            if X is None or y is None:
                raise ValueError(
                    'kind="gap" needs the training data: pass X and y (and '
                    "sample_weight, if the fit used it) so that the "
                    "least-squares loss can be computed."
                )
            if isinstance(estimator, Pipeline):
                X = estimator[:-1].transform(X)
            least_squares = least_squares_loss(
                X,
                y,
                sample_weight=sample_weight,
                fit_intercept=getattr(model, "fit_intercept", True),
            )

        display = cls(
            loss_curve=model.loss_curve_,
            least_squares_loss=least_squares,
            estimator_name=type(model).__name__ if name is None else name,
        )
        return display.plot(ax=ax, kind=kind, label=label, **kwargs)
