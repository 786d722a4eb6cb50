"""Block coordinate gradient descent for a deep linear network.

Plain numerical code: arrays in, weights and history out. The data enter only
through the sufficient statistics

    S = X.T @ X / m,   C = Y.T @ X / m,   s = ||Y||^2 / (2 m)

so that the loss of the end-to-end map ``P = W[-1] @ ... @ W[0]`` is

    loss(P) = 1/2 tr(P S P.T) - tr(P C.T) + s + l2 / 2 * sum_j ||W[j]||_F^2.

``S`` is either a dense array or any object that supports ``M @ S`` for a
2-D array ``M`` (for example a :class:`scipy.sparse.linalg.LinearOperator`);
the solver never needs more than that product.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg

UPDATE_ORDERS = ("forward", "backward", "random")

# Sweeps without a new minimum of either the loss or the distance to the
# limit after which the fit counts as stalled at the round-off floor. Deep
# networks plateau for long stretches on the way, with the loss already at
# its floor. On standardised diabetes folds, a window of 10 stopped 2 of 18
# fits of depths 2-4 at 5e-8 from least squares, and a window of 40 stopped
# 2 of 6 fits of depth 3 and width 1 at 1.4e-9. With 100, all of them
# reached tol=1e-10, at most 93 sweeps later.
N_ITER_NO_CHANGE = 100

# When S has at most this many rows, the stopping rule measures the error of P
# directly from an eigendecomposition of S. Otherwise it extrapolates the
# changes of P. Eigenvalues below SPECTRUM_CUTOFF times the largest count as zero.
MAX_CERTIFIED_FEATURES = 500
SPECTRUM_CUTOFF = 1e-10

# Number of past sweeps that Anderson extrapolation combines.
ANDERSON_MEMORY = 5

# A depth-1 fit on an implicit Gram operator updates P @ S by the same linear
# combinations as P. Every this many sweeps it recomputes the product from P,
# so that round-off in the updates does not accumulate. Each update adds a
# relative error of a few ulps, far below tol after 50 sweeps, and each
# recomputation costs as much as a sweep.
PRODUCT_REFRESH_INTERVAL = 50

# Anderson extrapolation keeps ANDERSON_MEMORY + 1 copies of all the weights,
# and a few temporary ones; networks with more weights than this run without it.
ANDERSON_MAX_WEIGHTS = 10_000_000

# Power iterations per block and sweep for the "lipschitz" rule, warm-started
# from the previous sweep's vector. Power iterations underestimate the largest
# eigenvalue, so the estimate is raised by a margin. The step still lowers the
# loss while the raw estimate exceeds the true value over 2 * LIPSCHITZ_MARGIN.
POWER_ITERATIONS = 3
POWER_ITERATIONS_COLD = 30
LIPSCHITZ_MARGIN = 1.1


@dataclass
class SolverResult:
    """Outcome of :func:`fit_bcgd`; ``weights`` are updated in place too."""

    weights: list
    loss_curve: list
    step_sizes: list
    n_iter: int
    converged: bool
    diverged: bool = False
    message: str = ""
    n_extrapolations: int = 0
    last_change: float = 0.0
    # Whether the fit stopped because neither the loss nor the distance to
    # the limit improved any more, while that distance was still above tol.
    stalled: bool = False


def end_to_end(weights):
    """Return the product ``weights[-1] @ ... @ weights[0]`` as a new array.

    The product starts from the thinner end of the chain, so its cost is
    ``O(depth * min(n_features, n_outputs) * width^2)``.
    """
    if weights[-1].shape[0] <= weights[0].shape[1]:
        product = weights[-1].copy()
        for weight in reversed(weights[:-1]):
            product = product @ weight
        return product
    product = weights[0].copy()
    for weight in weights[1:]:
        product = weight @ product
    return product


def objective(weights, gram, cross, target_ss, l2=0.0, product=None, gram_product=None):
    """Return the penalised loss of ``weights`` on the statistics."""
    if product is None:
        product = end_to_end(weights)
    if gram_product is None:
        gram_product = product @ gram
    value = 0.5 * np.sum(product * gram_product) - np.sum(product * cross)
    value += target_ss
    if l2:
        value += 0.5 * l2 * sum(np.sum(weight * weight) for weight in weights)
    return float(value)


class _ProductCache:
    """Lazy prefix and suffix products of the layers around one block.

    For block ``i`` the prefix is ``R = W[i-1] @ ... @ W[0]`` with
    ``F = R @ S`` and ``K = R @ S @ R.T``; the suffix is
    ``A = W[-1] @ ... @ W[i+1]``. Updating block ``i`` invalidates the
    prefixes above it and the suffixes below it, and keeps the others. A
    forward sweep therefore extends the prefix by one factor per block and
    reuses the suffixes formed from the old weights. A backward sweep does
    the reverse. The prefix of block 0 is the identity, marked by ``None``.
    """

    def __init__(self, weights, gram):
        self.weights = weights
        self.gram = gram
        depth = len(weights)
        self.prefix = [None] * (depth + 1)
        self.suffix = [None] * depth
        self.reset()

    def reset(self):
        depth = len(self.weights)
        n_outputs = self.weights[-1].shape[0]
        self.prefix[0] = None
        self.suffix[depth - 1] = np.eye(n_outputs, dtype=self.weights[-1].dtype)
        self.prefix_valid = 0
        self.suffix_valid = depth - 1

    def mark_updated(self, block):
        self.prefix_valid = min(self.prefix_valid, block)
        self.suffix_valid = max(self.suffix_valid, block)

    def get_prefix(self, block):
        """Return ``(R, F, K)`` for ``block``, or ``None`` for block 0."""
        for i in range(self.prefix_valid, block):
            weight = self.weights[i]
            if i == 0:
                product = weight.copy()
                gram_product = weight @ self.gram
            else:
                product, gram_product, _ = self.prefix[i]
                product = weight @ product
                gram_product = weight @ gram_product
            self.prefix[i + 1] = (product, gram_product, gram_product @ product.T)
        self.prefix_valid = max(self.prefix_valid, block)
        return self.prefix[block]

    def get_suffix(self, block):
        for i in range(self.suffix_valid, block, -1):
            self.suffix[i - 1] = self.suffix[i] @ self.weights[i]
        self.suffix_valid = min(self.suffix_valid, block)
        return self.suffix[block]


class _ThinProducts:
    """The end-to-end map ``P`` and ``P @ S``, kept up to date block by block.

    This is the form for networks whose hidden layers are wide against the
    number of outputs. Instead of forming the prefix ``R`` (a hidden-width by
    n_features matrix), it applies ``R`` and ``R.T`` to matrices with
    ``n_outputs`` rows, one layer at a time. A block step then costs
    ``O(depth * n_outputs * width^2 + n_outputs * n_features^2)`` instead of
    ``O(width^2 * n_features)`` for forming the prefix products.
    """

    def __init__(self, weights, gram):
        self.weights = weights
        self.gram = gram
        self.refresh()

    def refresh(self, product=None, gram_product=None):
        """Recompute ``P`` and ``P @ S``, or take copies of given values."""
        if product is None:
            product = end_to_end(self.weights)
            gram_product = product @ self.gram
        self.product = product.copy()
        self.gram_product = gram_product.copy()

    def back(self, rows, block):
        """Return ``rows @ R.T`` for the prefix ``R`` of ``block``."""
        for weight in self.weights[:block]:
            rows = rows @ weight.T
        return rows

    def forward(self, rows, block):
        """Return ``rows @ R`` for the prefix ``R`` of ``block``."""
        for weight in reversed(self.weights[:block]):
            rows = rows @ weight
        return rows

    def update(self, step, direction, image):
        self.product -= step * direction
        self.gram_product -= step * image


def prefers_thin_products(layer_sizes):
    """Return whether :class:`_ThinProducts` is the cheaper form here."""
    depth = len(layer_sizes) - 1
    n_features, n_outputs = layer_sizes[0], layer_sizes[-1]
    width = max(layer_sizes[1:-1], default=n_features)
    thin = depth * depth * n_outputs * width**2 + depth * n_outputs * n_features**2
    cached = depth * width**2 * n_features + depth * width**3
    return thin < cached


class _SpectralNormEstimator:
    """Warm-started power iterations for the block Lipschitz constants."""

    def __init__(self, random_state):
        self.random_state = random_state
        self.vectors = {}

    def max_eigenvalue(self, key, apply, size, dtype):
        vector = self.vectors.get(key)
        n_steps = POWER_ITERATIONS
        if vector is None:
            vector = self.random_state.standard_normal(size).astype(dtype)
            n_steps = POWER_ITERATIONS_COLD
        estimate = 0.0
        for _ in range(n_steps):
            norm = np.linalg.norm(vector)
            if norm == 0.0:
                return 0.0
            vector = vector / norm
            image = apply(vector)
            estimate = float(vector @ image)
            vector = image
        norm = np.linalg.norm(vector)
        if norm > 0:
            self.vectors[key] = vector / norm
        return estimate


def _block_step(cache, thin, block, cross, l2, learning_rate, norm_estimator):
    """Take one gradient step on ``weights[block]``.

    ``thin`` is a :class:`_ThinProducts` or None for the cached prefix
    products of ``cache``. Returns ``(step, decrease)``: the step size taken
    (0 for a skipped block) and the exact decrease of the loss it produced,
    from the parabola ``loss(W - eta G) = loss(W) - eta ||G||^2 + eta^2 / 2
    curvature``.
    """
    weight = cache.weights[block]
    suffix = cache.get_suffix(block)
    prefix = None if thin is not None else cache.get_prefix(block)
    gram = cache.gram

    # Gradient of the loss in the end-to-end map, E = P S - C, and in the block.
    if thin is not None:
        back_projected = thin.back(thin.gram_product - cross, block)
    elif prefix is None:
        back_projected = (suffix @ weight) @ gram - cross
    else:
        product, gram_product, _ = prefix
        residual = (suffix @ weight) @ gram_product - cross
        back_projected = residual @ product.T
    gradient = suffix.T @ back_projected
    if not np.any(gradient):
        # A zero block gradient (for example below a zero last layer): the
        # optimal step is 0 / 0, so the block is skipped. Weight decay alone
        # is not applied either, since it would only shrink the block towards
        # the critical point at the origin.
        return 0.0, 0.0
    if l2:
        gradient += l2 * weight

    # The step is computed along the gradient scaled to a largest entry of
    # one, so that its square norm and curvature hold no fourth powers of the
    # data scale, which would overflow or underflow for entries near 1e+-77.
    scale = float(np.max(np.abs(gradient)))
    if not 0.0 < scale < math.inf:
        return 0.0, 0.0
    gradient /= scale
    gradient_sq = float(np.sum(gradient * gradient))

    # Curvature of the loss along the gradient: tr(D S D.T) with D = A G R.
    direction = suffix @ gradient
    if thin is not None:
        direction = thin.forward(direction, block)
        image = direction @ gram
        curvature = float(np.sum(direction * image))
    elif prefix is None:
        curvature = float(np.sum(direction * (direction @ gram)))
    else:
        curvature = float(np.sum(direction * (direction @ prefix[2])))
    curvature += l2 * gradient_sq

    # Along the scaled gradient the loss is the parabola
    # loss - t * slope + t^2 / 2 * curvature with slope = scale * ||G/scale||^2.
    # ``step`` is the learning rate on the true gradient, and ``scaled_step``
    # = step * scale multiplies the scaled one.
    slope = scale * gradient_sq
    if learning_rate == "optimal":
        if not curvature > 0.0 or not math.isfinite(curvature):
            return 0.0, 0.0
        scaled_step = slope / curvature
        step = gradient_sq / curvature
    else:
        if learning_rate == "lipschitz":
            lipschitz = _block_lipschitz(
                cache, thin, block, suffix, prefix, norm_estimator
            )
            lipschitz = LIPSCHITZ_MARGIN * lipschitz + l2
            if not lipschitz > 0.0:
                return 0.0, 0.0
            step = 1.0 / lipschitz
        else:
            step = float(learning_rate)
        scaled_step = step * scale

    decrease = scaled_step * (slope - 0.5 * scaled_step * curvature)
    if not math.isfinite(decrease):
        return step, -math.inf
    if decrease < 0.0 and learning_rate not in ("optimal", "lipschitz"):
        # A fixed step past twice the optimal one raises the loss: leave the
        # block unchanged and let the caller stop.
        return step, decrease
    weight -= scaled_step * gradient
    cache.mark_updated(block)
    if thin is not None:
        thin.update(scaled_step, direction, image)
    return step, decrease


def _block_lipschitz(cache, thin, block, suffix, prefix, norm_estimator):
    """Estimate ``||A||_2^2 * lambda_max(R S R.T)`` for one block.

    Both factors come from warm-started power iterations, so a block costs
    a few matrix-vector products instead of an eigendecomposition.
    """
    suffix_norm_sq = norm_estimator.max_eigenvalue(
        ("suffix", block),
        lambda vector: suffix @ (vector @ suffix),
        suffix.shape[0],
        suffix.dtype,
    )
    gram = cache.gram
    size = cache.weights[block].shape[1]
    if thin is not None:

        def apply(vector):
            image = thin.forward(vector[np.newaxis, :], block) @ gram
            return thin.back(image, block)[0]

    elif prefix is None:

        def apply(vector):
            return vector @ gram

    else:
        inner = prefix[2]

        def apply(vector):
            return inner @ vector

    inner_norm = norm_estimator.max_eigenvalue(
        block, apply, size, cache.weights[block].dtype
    )
    return suffix_norm_sq * inner_norm


def _anderson_extrapolate(history):
    """Return the Anderson extrapolation of the flattened iterates, or None."""
    iterates = np.stack(history)
    differences = np.diff(iterates, axis=0)
    gram = differences @ differences.T
    regularised = gram + 1e-12 * np.trace(gram) * np.eye(len(gram))
    try:
        # numpy's solve raises on a singular system instead of warning.
        weights = np.linalg.solve(regularised, np.ones(len(gram)))
    except np.linalg.LinAlgError:
        return None
    total = weights.sum()
    if not np.isfinite(total) or total == 0.0:
        return None
    weights /= total
    return weights @ iterates[1:]


def fit_bcgd(
    weights,
    gram,
    cross,
    target_ss,
    *,
    l2=0.0,
    learning_rate="optimal",
    update_order="forward",
    acceleration=None,
    max_iter=1000,
    tol=1e-10,
    random_state=None,
    thin=None,
    callback=None,
):
    """Fit ``weights`` in place by block coordinate gradient descent.

    Parameters
    ----------
    weights : list of ndarray
        ``weights[j]`` has shape ``(n_{j+1}, n_j)``; ``n_0`` is the number of
        features and ``n_L`` the number of outputs. Updated in place.
    gram : ndarray of shape (n_features, n_features) or linear operator
        ``S``; anything that supports ``M @ gram`` for 2-D ``M``.
    cross : ndarray of shape (n_outputs, n_features)
        ``C``.
    target_ss : float
        ``s``, the loss of the zero map.
    l2 : float
        Weight decay on every layer.
    learning_rate : {"optimal", "lipschitz"} or float
        Step-size rule.
    update_order : {"forward", "backward", "random"}
        Order of the blocks within a sweep.
    acceleration : {None, "anderson"}
        Safeguarded Anderson extrapolation across sweeps: an extrapolated
        point replaces the iterate only when it has a lower loss. With one
        layer and the optimal step, each sweep minimises the loss exactly
        over the span of the gradient and the last search directions
        (:func:`_fit_single_layer`).
    max_iter : int
        Maximum number of sweeps.
    tol : float
        The fit stops when the distance of ``P`` to its limit is at most
        ``tol * ||P||_F``. The distance is bounded by
        :class:`_LeastSquaresCertificate` where one applies, and otherwise
        estimated as ``change * rho / (1 - rho)`` from the last change of
        ``P`` and the contraction rate ``rho``. The fit also stops at the
        round-off floor.
    random_state : numpy.random.Generator or RandomState
        Source of the random orders and power-iteration starts.
    thin : bool or None
        Whether to apply the prefix products to thin matrices
        (:class:`_ThinProducts`) instead of caching them; None chooses the
        cheaper form from the layer sizes.
    callback : callable, optional
        Called as ``callback(sweep, block, loss)`` after every block step, and
        with ``block=None`` after every sweep (``sweep`` counts from 0).

    Returns
    -------
    result : SolverResult
    """
    depth = len(weights)
    if depth == 1 and acceleration == "anderson" and learning_rate == "optimal":
        return _fit_single_layer(
            weights,
            gram,
            cross,
            target_ss,
            l2=l2,
            max_iter=max_iter,
            tol=tol,
            callback=callback,
        )
    if random_state is None:
        random_state = np.random.default_rng(0)
    cache = _ProductCache(weights, gram)
    layer_sizes = [w.shape[1] for w in weights] + [weights[-1].shape[0]]
    if thin is None:
        thin = prefers_thin_products(layer_sizes)
    thin = _ThinProducts(weights, gram) if thin else None
    certificate = least_squares_certificate(gram, layer_sizes, l2)
    n_weights = sum(w.size for w in weights)
    norm_estimator = _SpectralNormEstimator(random_state)
    fixed_step = learning_rate not in ("optimal", "lipschitz")

    product = end_to_end(weights)
    loss = objective(weights, gram, cross, target_ss, l2, product=product)
    loss_curve = []
    step_sizes = []
    history = []
    n_extrapolations = 0
    changes = []
    previous_tracked = np.concatenate([w.ravel() for w in weights])
    log_rates = []
    extrapolated = False
    stopping = _StoppingRule(certificate, cross, tol, loss, weights)
    converged = False
    diverged = False
    message = ""

    for sweep in range(max_iter):
        if update_order == "forward":
            order = range(depth)
        elif update_order == "backward":
            order = range(depth - 1, -1, -1)
        else:
            order = random_state.permutation(depth)

        steps = np.zeros(depth)
        sweep_decrease = 0.0
        running_loss = loss
        for block in order:
            step, decrease = _block_step(
                cache, thin, block, cross, l2, learning_rate, norm_estimator
            )
            if fixed_step and not decrease >= 0.0:
                diverged = True
                message = (
                    f"The fixed learning_rate={learning_rate!r} would increase "
                    f"the loss at sweep {sweep + 1}, block {block + 1}; the fit "
                    "stopped at the last weights that lowered it. Use "
                    "learning_rate='optimal' or a smaller step."
                )
                break
            steps[block] = step
            sweep_decrease += decrease
            running_loss -= decrease
            if callback is not None:
                callback(sweep, block, running_loss)
        if diverged:
            # The sweep counts, with the blocks it updated before it stopped.
            step_sizes.append(steps)
            loss_curve.append(objective(weights, gram, cross, target_ss, l2))
            break

        previous_product = product
        product = end_to_end(weights)
        gram_product = product @ gram
        loss = objective(weights, gram, cross, target_ss, l2, product, gram_product)
        if thin is not None:
            # Reset once a sweep, so that round-off in the running updates
            # does not accumulate.
            thin.refresh(product, gram_product)
        # The change made by the sweep itself, before any extrapolation: its
        # ratio between two plain sweeps in a row is the contraction rate.
        if l2:
            # Weight decay keeps balancing the layers after P has settled, so
            # the changes of all the weights are followed instead of P's.
            tracked = np.concatenate([w.ravel() for w in weights])
            changes.append(float(np.linalg.norm(tracked - previous_tracked)))
            previous_tracked = tracked
        else:
            changes.append(float(np.linalg.norm(product - previous_product)))
        if not extrapolated and len(changes) > 1 and changes[-2] > 0.0:
            log_rates.append(
                math.log(changes[-1] / changes[-2]) if changes[-1] else -math.inf
            )
        extrapolated = False

        if acceleration == "anderson" and n_weights <= ANDERSON_MAX_WEIGHTS:
            history.append(np.concatenate([w.ravel() for w in weights]))
            if len(history) == ANDERSON_MEMORY + 1:
                point = _anderson_extrapolate(history)
                history.clear()
                if point is not None and np.all(np.isfinite(point)):
                    candidate = _unflatten(point, weights)
                    candidate_product = end_to_end(candidate)
                    candidate_gram_product = candidate_product @ gram
                    candidate_loss = objective(
                        candidate,
                        gram,
                        cross,
                        target_ss,
                        l2,
                        candidate_product,
                        candidate_gram_product,
                    )
                    if candidate_loss < loss:
                        for weight, new in zip(weights, candidate):
                            weight[...] = new
                        cache.reset()
                        product = candidate_product
                        gram_product = candidate_gram_product
                        if thin is not None:
                            thin.refresh(product, gram_product)
                        loss = candidate_loss
                        n_extrapolations += 1
                        extrapolated = True
                        previous_tracked = point

        loss_curve.append(loss)
        step_sizes.append(steps)
        if callback is not None:
            callback(sweep, None, loss)
        norm = float(np.linalg.norm(product if not l2 else previous_tracked))
        if stopping.is_done(
            sweep, loss, norm, gram_product, changes, log_rates, sweep_decrease
        ):
            converged = True
            break

    return SolverResult(
        weights,
        loss_curve,
        step_sizes,
        len(loss_curve),
        converged,
        diverged=diverged,
        message=message,
        n_extrapolations=n_extrapolations,
        last_change=stopping.last_change,
        stalled=stopping.stalled,
    )


def _fit_single_layer(weights, gram, cross, target_ss, *, l2, max_iter, tol, callback):
    """Fit a one-layer network by limited-memory conjugate directions.

    With one layer the loss ``1/2 <P, P S'> - <P, C> + s`` is quadratic in
    ``P = W[0]``, with ``S' = S + l2 I``. Each sweep takes the gradient, makes
    it conjugate (in the inner product of ``S'``) to the previous search
    direction, as the conjugate gradient method does, multiplies the new
    direction by ``S'`` (the sweep's one product), and moves ``P`` to the
    exact minimiser of the loss over ``P`` plus the span of the new and the
    last ``ANDERSON_MEMORY`` directions. The move lowers the loss by the
    model's exact decrease, so the loss never rises. In exact arithmetic this
    is the conjugate gradient method; the span takes up the conjugacy to
    older directions that round-off erodes.

    ``P @ S'`` follows by the same combinations of the directions' images.
    Every stored image is a product of its own, so the round-off of those
    updates adds up from sweep to sweep but is never multiplied. For an
    implicit ``S`` it is cleared every ``PRODUCT_REFRESH_INTERVAL`` sweeps by
    a product with ``P``, and for a dense ``S`` every sweep.
    """
    weight = weights[0]
    dense = isinstance(gram, np.ndarray)
    certificate = None
    if dense and weight.shape[1] <= MAX_CERTIFIED_FEATURES:
        shifted = gram + l2 * np.eye(len(gram)) if l2 else gram
        certificate = _LeastSquaresCertificate(shifted)

    def apply_gram(matrix):
        image = matrix @ gram
        if l2:
            image += l2 * matrix
        return image

    def loss_of(product, gram_product):
        # np.vdot flattens both operands and sums in one call, which matters
        # for the small problems where a sweep costs tens of microseconds.
        value = 0.5 * np.vdot(product, gram_product) - np.vdot(product, cross)
        return float(value + target_ss)

    product = weight.copy()
    if np.any(product):
        gram_product = apply_gram(product)
    else:
        # The orthogonal-like start is the zero map: skip a product with S.
        gram_product = np.zeros_like(product)
    loss = loss_of(product, gram_product)
    shape = product.shape
    memory = _DirectionMemory(product.size, ANDERSON_MEMORY + 1)
    loss_curve, step_sizes, changes, log_rates = [], [], [], []
    n_extrapolations = 0
    stopping = _StoppingRule(certificate, cross, tol, loss, worst_rate=True)
    converged = False
    # The largest Rayleigh quotient <d, d S'> / <d, d> seen, a lower bound on
    # the largest eigenvalue of S'. A direction whose quotient is below
    # SPECTRUM_CUTOFF times it lies where S' has no curvature that round-off
    # resolves, and a step along it would be of the size of 1 / round-off.
    largest_quotient = 0.0

    def curvature_along(direction, image):
        nonlocal largest_quotient
        curvature = float(direction @ image)
        norm_sq = float(direction @ direction)
        if not norm_sq > 0.0:
            return 0.0
        quotient = curvature / norm_sq
        largest_quotient = max(largest_quotient, quotient)
        if not quotient > SPECTRUM_CUTOFF * largest_quotient:
            return 0.0
        return curvature

    for sweep in range(max_iter):
        gradient = (gram_product - cross).ravel()
        # As in _block_step, the direction is the gradient scaled to a
        # largest entry of one, against overflow for data near 1e+-77.
        scale = float(np.max(np.abs(gradient))) if gradient.size else 0.0
        curvature = 0.0
        if 0.0 < scale < math.inf:
            steepest = gradient / scale
            direction = memory.conjugate(steepest)
            if direction is not None:
                direction_image = apply_gram(direction.reshape(shape)).ravel()
                curvature = curvature_along(direction, direction_image)
            if memory.count and not 0.0 < curvature < math.inf:
                # Round-off has spoilt the stored directions, or left only a
                # part of the gradient without curvature: restart from it.
                memory.clear()
                direction = steepest
                direction_image = apply_gram(direction.reshape(shape)).ravel()
                curvature = curvature_along(direction, direction_image)
        if not 0.0 < curvature < math.inf:
            # A zero gradient, or one along which S has no curvature: no step
            # lowers the loss, so the sweep leaves P as it is and ends the fit.
            loss_curve.append(loss)
            step_sizes.append(np.zeros(1))
            if callback is not None:
                callback(sweep, None, loss)
            converged = True
            break

        memory.add(direction, direction_image)
        coefficients, sweep_decrease = memory.minimise(gradient)
        if coefficients is None:
            # The exact step along the new direction alone.
            memory.keep_newest()
            slope = float(direction @ gradient)
            coefficients = np.array([-slope / curvature])
            sweep_decrease = 0.5 * slope * slope / curvature
        # The multiple of the gradient in the move, as for a plain step.
        step_sizes.append(np.array([-coefficients[memory.newest] / scale]))
        n_extrapolations += memory.count > 1

        move, image_move = memory.combine(coefficients)
        product = product + move.reshape(shape)
        gram_product = gram_product + image_move.reshape(shape)
        # A dense S is cheap to apply, and the certificate below needs P @ S
        # free of accumulated round-off, so it is recomputed every sweep.
        if dense or (sweep + 1) % PRODUCT_REFRESH_INTERVAL == 0:
            gram_product = apply_gram(product)
        loss = loss_of(product, gram_product)
        loss_curve.append(loss)
        if callback is not None:
            callback(sweep, 0, loss)

        changes.append(math.sqrt(move @ move))
        if len(changes) > 1 and changes[-2] > 0.0:
            log_rates.append(
                math.log(changes[-1] / changes[-2]) if changes[-1] else -math.inf
            )
        if callback is not None:
            callback(sweep, None, loss)
        norm = math.sqrt(np.vdot(product, product))
        if stopping.is_done(
            sweep, loss, norm, gram_product, changes, log_rates, sweep_decrease
        ):
            converged = True
            break

    weight[...] = product
    return SolverResult(
        weights,
        loss_curve,
        step_sizes,
        len(loss_curve),
        converged,
        n_extrapolations=n_extrapolations,
        last_change=stopping.last_change,
        stalled=stopping.stalled,
    )


def _solve_small_quadratic(hessian, rhs):
    """Return ``(H^+ b, b.H^+ b)`` over the directions that ``H`` resolves, or None.

    ``H`` is scaled to a unit diagonal first, so that the cutoff on its
    eigenvalues measures how close the directions are to parallel, not their
    lengths. Directions that it does not resolve are dropped.
    """
    diagonal = hessian.diagonal()
    if not (diagonal > 0.0).all():
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        # Directions of order sqrt(tiny) have squares that underflow.
        scale = 1.0 / np.sqrt(diagonal)
        scaled = hessian * np.outer(scale, scale)
    if not np.isfinite(scaled).all():
        return None
    values, vectors = np.linalg.eigh(scaled)
    if not values[-1] > 0.0:
        return None
    keep = values > SPECTRUM_CUTOFF * values[-1]
    values = values[keep]
    vectors = vectors[:, keep]
    projected = (scale * rhs) @ vectors
    ratios = projected / values
    return scale * (vectors @ ratios), float(projected @ ratios)


class _DirectionMemory:
    """The last search directions, flattened, and their products with ``S'``.

    Rows of ``directions`` and ``images`` are slots reused in turn, so no
    sweep copies them. ``hessian[i, j] = <d_i, d_j S'>`` gains one row and
    column per new direction, and ``newest`` is the slot of the latest one.
    """

    def __init__(self, size, n_slots):
        self.directions = np.empty((n_slots, size))
        self.images = np.empty((n_slots, size))
        self.hessian = np.empty((n_slots, n_slots))
        self.count = 0
        self.newest = -1

    def clear(self):
        self.count = 0
        self.newest = -1

    def conjugate(self, steepest):
        """Return ``steepest`` made conjugate to the newest direction, or None.

        That is the conjugate gradient direction: after an exact step over a
        span that contains the older directions, the gradient is conjugate
        to them already, up to round-off that :meth:`minimise` takes up.
        None means that the result is not a descent direction (round-off).
        """
        if not self.count:
            return steepest
        newest = self.newest
        ratio = (self.images[newest] @ steepest) / self.hessian[newest, newest]
        direction = steepest - ratio * self.directions[newest]
        if not direction @ steepest > 0.0:
            return None
        return direction

    def add(self, direction, image):
        slot = (self.newest + 1) % len(self.directions)
        self.directions[slot] = direction
        self.images[slot] = image
        self.newest = slot
        self.count = min(self.count + 1, len(self.directions))
        # Until the slots wrap round, the used ones are the first count.
        column = self.directions[: self.count] @ image
        self.hessian[: self.count, slot] = column
        self.hessian[slot, : self.count] = column

    def keep_newest(self):
        """Drop every direction but the newest, which moves to slot 0."""
        self.directions[0] = self.directions[self.newest]
        self.images[0] = self.images[self.newest]
        self.hessian[0, 0] = self.hessian[self.newest, self.newest]
        self.count = 1
        self.newest = 0

    def minimise(self, gradient):
        """Return the coefficients of the loss's minimiser over ``P + span(d_i)``.

        With slopes ``g_i = <d_i, G>`` the loss at ``P + sum_i c_i d_i`` is
        ``loss + g.c + 1/2 c.H c``, minimised by ``c = -H^+ g`` with decrease
        ``1/2 g.H^+ g``. That decrease is exact for this loss, and accurate
        where the difference of two loss values would be lost to round-off
        near the minimum. Returns ``(None, 0.0)`` when ``H`` resolves no
        direction or the decrease is not positive.
        """
        used = self.count
        solution = _solve_small_quadratic(
            self.hessian[:used, :used], self.directions[:used] @ gradient
        )
        if solution is None or not solution[1] > 0.0:
            return None, 0.0
        return -solution[0], 0.5 * solution[1]

    def combine(self, coefficients):
        """Return ``sum_i c_i d_i`` and ``sum_i c_i d_i S'``."""
        used = self.count
        return coefficients @ self.directions[:used], coefficients @ self.images[:used]


class _StoppingRule:
    """Stopping test after each sweep, from the distance of ``P`` to its limit.

    The distance comes from the certificate where one applies, and otherwise
    from :func:`_remaining_change`. At the round-off floor neither the loss
    nor the distance reaches a new minimum any more. The fit therefore also
    stops after ``N_ITER_NO_CHANGE`` sweeps without either, or after a sweep
    whose exact decrease is 0.
    """

    def __init__(self, certificate, cross, tol, loss, weights=None, worst_rate=False):
        self.certificate = certificate
        self.worst_rate = worst_rate
        self.cross = cross
        self.tol = tol
        self.weights = weights
        self.best_loss, self.best_sweep = loss, -1
        self.best_remaining, self.best_remaining_sweep = math.inf, -1
        self.last_change = 0.0
        self.stalled = False

    def is_done(self, sweep, loss, norm, gram_product, changes, log_rates, decrease):
        if self.certificate is not None:
            remaining = self.certificate.distance(gram_product, self.cross)
        else:
            remaining = _remaining_change(changes[-1], log_rates, worst=self.worst_rate)
        # ``last_change`` is the relative distance that a warning reports.
        self.last_change = remaining / norm if norm > 0.0 else 0.0
        if loss < self.best_loss:
            self.best_loss, self.best_sweep = loss, sweep
        if remaining < self.best_remaining:
            self.best_remaining, self.best_remaining_sweep = remaining, sweep
        last_best = max(self.best_sweep, self.best_remaining_sweep)
        stalled = sweep - last_best >= N_ITER_NO_CHANGE
        reached = remaining <= self.tol * norm
        # On nearly collinear features the loss settles at its round-off
        # floor long before coef_ does, so a stall short of tol is reported
        # where the certificate measures the distance. The estimate from the
        # changes is no evidence at the floor, where the changes are
        # round-off. With tol=0 the fit is meant to run to the floor.
        self.stalled = (
            stalled
            and not reached
            and self.tol > 0.0
            and self.certificate is not None
            and remaining > self._product_roundoff()
        )
        return reached or stalled or not decrease > 0.0

    def _product_roundoff(self):
        """Return a bound on the round-off of forming ``P`` from the layers.

        A product of ``depth`` matrices of inner sizes up to ``width`` is
        exact to ``depth * width * eps`` times the product of their norms.
        Layers of norm 1 whose product is the zero map (a zero target) leave
        ``P`` at that level, where a relative distance means nothing.
        """
        if self.weights is None:
            return 0.0
        width = max(max(weight.shape) for weight in self.weights)
        norms = math.prod(float(np.linalg.norm(weight)) for weight in self.weights)
        return len(self.weights) * width * np.finfo(np.float64).eps * norms


class _LeastSquaresCertificate:
    """Bound on the distance of ``P`` to the least-squares solution.

    With ``S = U diag(lambda) U.T`` and the end-to-end gradient
    ``E = P S - C = (P - P*) S``, the error of ``P`` along the eigenvectors
    with ``lambda_i > SPECTRUM_CUTOFF * lambda_max`` is ``E U_i / lambda_i``.
    Smaller eigenvalues belong to directions that the normal equations do not
    resolve in floating point (collinear features). An error along them
    changes the loss by at most ``lambda_i / 2 * ||error||^2``.
    """

    def __init__(self, gram):
        values, vectors = linalg.eigh(gram)
        keep = values > SPECTRUM_CUTOFF * max(values[-1], 0.0)
        self.values = values[keep]
        self.vectors = vectors[:, keep]

    def distance(self, gram_product, cross):
        """Return ``||P - P*||_F`` over the resolved eigenvectors."""
        projected = (gram_product - cross) @ self.vectors
        return float(np.linalg.norm(projected / self.values))


def least_squares_certificate(gram, layer_sizes, l2):
    """Return a :class:`_LeastSquaresCertificate` where one applies, or None.

    It applies when the optimum is the least-squares solution (no weight
    decay, and no hidden layer narrower than ``min(n_features, n_outputs)``),
    and the Gram matrix is dense and small enough to diagonalise.
    """
    n_features, n_outputs = layer_sizes[0], layer_sizes[-1]
    narrowest = min(layer_sizes[1:-1], default=n_features)
    if (
        l2 > 0.0
        or narrowest < min(n_features, n_outputs)
        or not isinstance(gram, np.ndarray)
        or n_features > MAX_CERTIFIED_FEATURES
    ):
        return None
    return _LeastSquaresCertificate(gram)


def _remaining_change(last_change, log_rates, window=10, worst=False):
    """Estimate how far the end-to-end map still moves after the last sweep.

    Under linear convergence with rate ``rho`` the remaining moves add up to
    ``change * rho / (1 - rho)``. The changes of a deep network oscillate
    from sweep to sweep, so ``rho`` is the geometric mean of the contraction
    over the last ``window`` pairs of plain sweeps (an extrapolated point
    breaks a pair). With ``worst``, ``rho`` is the largest contraction in the
    window instead: conjugate gradients contract unevenly, and on 20 features
    with scales from 1e-2 to 1e2 the geometric mean stopped a one-layer fit
    8e-7 from least squares at tol=1e-10. Without a contraction in sight the
    estimate is infinite, unless the last change is exactly zero.
    """
    if last_change == 0.0:
        return 0.0
    if len(log_rates) < window:
        # The first sweeps remove the fast components of the error, so a
        # rate measured on them would promise convergence too early.
        return math.inf
    recent = log_rates[-window:]
    rate = math.exp(max(recent) if worst else sum(recent) / len(recent))
    if not rate < 1.0:
        return math.inf
    return last_change * rate / (1.0 - rate)


def _unflatten(vector, like):
    arrays = []
    start = 0
    for weight in like:
        stop = start + weight.size
        arrays.append(vector[start:stop].reshape(weight.shape))
        start = stop
    return arrays
