"""Losses that take either engine's output and return a ``Value`` or a 0-d ``Tensor`` (mean over the batch).

Scalar-engine predictions come as micrograd returns them: a Value, a list of Values (one per sample, or one
sample's outputs), or a list of lists; targets are numbers, lists, numpy arrays or Tensors.

Shapes are checked, never broadcast: ``mse_loss``, ``hinge_loss`` and ``binary_cross_entropy`` take a target
of the prediction's shape, or of shape (N,) for an (N, 1) prediction (a one-output model's scores against a
vector of labels), and give the same value whichever form the target comes in. On the scalar engine a flat
list of N Values is also a one-output model's (N, 1) scores (micrograd unwraps one-element rows), and a lone
Value is a (1,) prediction. Any other target shape raises ``ValueError`` naming both shapes: numpy would
broadcast an (N,) target against (N, 1) scores into an (N, N) loss, a silently wrong number.
``cross_entropy`` and ``nll_loss`` take (N, C) logits (or one sample's (C,)) and N integer class indices, or
logits of any rank with the classes on the LAST axis, (B, T, C) with class indices (B, T) (a language model's
logits per position; naivegrad's convention, where PyTorch's would be (B, C, T)): the mean is over all
positions. On the scalar engine those come as nested lists (or an object array) of Values.
"""

import numpy as np

from ..engines import is_tensor, is_value
from ..scalar import Value
from ..scalar import sum as vsum
from ..tensor import Tensor
from ..tensor.tensor import nll_loss as _tensor_nll_loss  # one op: its backward is a scatter
from ..tensor.tensor import where as _where
from .backend import cast

__all__ = ["mse_loss", "hinge_loss", "binary_cross_entropy", "cross_entropy", "nll_loss"]


def _scalar_pred(pred, what):
    """(flat list of Values, shape) of scalar-engine predictions: a Value, or (nested) lists of Values."""
    if is_value(pred):
        return [pred], ()
    if isinstance(pred, np.ndarray) and pred.dtype == object:
        pred = pred.tolist()
    if not isinstance(pred, (list, tuple)):
        raise TypeError(f"{what}: expected a Tensor, a Value or lists of Values, got {type(pred).__name__}")
    if all(is_value(p) for p in pred):
        return list(pred), (len(pred),)
    flats, shapes = [], []
    for p in pred:
        if is_value(p):
            raise ValueError(f"{what}: predictions mix Values and lists of Values: {_short(pred)}")
        f, sh = _scalar_pred(p, what)
        flats.append(f)
        shapes.append(sh)
    if any(sh != shapes[0] for sh in shapes):
        raise ValueError(f"{what}: ragged predictions (rows of shapes {sorted(set(shapes))})")
    return [v for f in flats for v in f], (len(pred),) + shapes[0]


def _short(x, n=80):
    r = repr(x)
    return r if len(r) <= n else r[: n - 3] + "..."


def _target_fits(pshape, tshape, scalar):
    """Does a target of ``tshape`` pair element by element with a prediction of ``pshape``?

    The same shape always does; so does (N,) for an (N, 1) prediction (a one-output model's scores against a
    vector of labels). On the scalar engine a micrograd-unwrapped output also stands for what it came from:
    a flat list of N Values for (N, 1) (a batch through a one-output model) and a lone Value for (1,).
    """
    if tshape == pshape:
        return True
    if len(pshape) == 2 and pshape[1] == 1 and tshape == pshape[:1]:
        return True
    if scalar:
        if len(pshape) == 1 and tshape == pshape + (1,):
            return True
        if pshape == () and tshape == (1,):
            return True
    return False


def _shape_error(what, pshape, tshape, scalar):
    hint = f" (or {pshape[:1]} for a {pshape} prediction)" if len(pshape) == 2 and pshape[1] == 1 else ""
    if scalar and len(pshape) == 1:
        hint = f" (or {pshape + (1,)}: a flat list of Values is also a one-output model's (N, 1) scores)"
    return ValueError(f"{what}: target of shape {tshape} does not match the prediction's shape {pshape}; "
                      f"give a target of shape {pshape}{hint}")


def _target_array(target, what):
    """The target as a numpy array of real numbers (Tensors and Values give their values)."""
    if is_tensor(target):
        return target.data
    t = np.asarray(target)
    if t.dtype == object:
        try:
            t = np.asarray(target, dtype=np.float64)  # e.g. Values: their data, as constants
        except (TypeError, ValueError):
            raise TypeError(f"{what}: the target must hold real numbers, got {_short(target)}") from None
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{what}: the target must hold real numbers, got dtype {t.dtype}")
    return t


def _scalar_targets(pred, target, what):
    """(Values, target floats) paired element by element, after the shape check."""
    vs, pshape = _scalar_pred(pred, what)
    if not vs:
        raise ValueError(f"{what}: no predictions (empty batch)")
    t = _target_array(target, what)
    if not _target_fits(pshape, t.shape, True):
        raise _shape_error(what, pshape, t.shape, True)
    return vs, t.astype(np.float64, copy=False).ravel().tolist()


def _tensor_target(target, pred, what):
    """The target as a Tensor of ``pred``'s shape and dtype, after the shape check (a Tensor target keeps its
    graph: it is reshaped and cast by differentiable ops when needed)."""
    pshape = pred.data.shape
    if is_tensor(target):
        tshape = target.data.shape
        if not _target_fits(pshape, tshape, False):
            raise _shape_error(what, pshape, tshape, False)
        t = cast(target, pred.data.dtype)
        return t if tshape == pshape else t.reshape(pshape)
    t = target if type(target) is np.ndarray and target.dtype.kind in "biuf" else _target_array(target, what)
    if t.shape != pshape:
        if not _target_fits(pshape, t.shape, False):
            raise _shape_error(what, pshape, t.shape, False)
        t = t.reshape(pshape)
    return Tensor(t.astype(pred.data.dtype, copy=False), requires_grad=False)


def _rows(pred, n_labels, what):
    """(rows, logits shape) of scalar logits: a list of equally long rows (lists of Values).

    A flat list of Values is one sample's logits, shape (C,), unless there is one label per Value: then it is
    a batch of single-output rows, (N, 1) (micrograd unwraps one-element outputs, so both arrive as flat
    lists). A lone Value is one sample's single logit.
    """
    if is_value(pred):
        return [[pred]], (1,)
    if isinstance(pred, np.ndarray) and pred.dtype == object:
        pred = pred.tolist()
    if _deeper_than_rows(pred):  # (B, T, C) and beyond: rows of the last axis, in order
        vs, shape = _scalar_pred(pred, what)
        c = shape[-1]
        return [vs[i:i + c] for i in range(0, len(vs), c)], shape
    if isinstance(pred, (list, tuple)) and pred and all(is_value(p) for p in pred):
        if n_labels == len(pred) != 1:
            return [[p] for p in pred], (len(pred), 1)
        return [list(pred)], (len(pred),)
    if not isinstance(pred, (list, tuple)) or not pred:
        raise TypeError(f"{what}: expected a Tensor, a Value or lists of Values, got {_short(pred)}")
    rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in pred]
    for r in rows:
        for v in r:
            if not is_value(v):
                raise TypeError(f"{what}: expected rows of Values, got {type(v).__name__}")
    if any(len(r) != len(rows[0]) for r in rows):
        raise ValueError(f"{what}: ragged logits (rows of lengths {sorted({len(r) for r in rows})})")
    return rows, (len(rows), len(rows[0]))


def _deeper_than_rows(pred):
    """Are these nested lists of rank 3 or more (their first row holds lists)?"""
    return (isinstance(pred, (list, tuple)) and len(pred) and isinstance(pred[0], (list, tuple))
            and len(pred[0]) and isinstance(pred[0][0], (list, tuple, np.ndarray)))


def mse_loss(pred, target):
    """mean((pred - target) ** 2)."""
    if is_tensor(pred):
        return ((pred - _tensor_target(target, pred, "mse_loss")) ** 2).mean()
    vs, ts = _scalar_targets(pred, target, "mse_loss")
    return vsum([(v - t) ** 2 for v, t in zip(vs, ts)]) * (1.0 / len(vs))


def hinge_loss(scores, labels):
    """mean(relu(1 - y * score)) for labels y in {-1, 1}: micrograd's max-margin loss."""
    if is_tensor(scores):
        y = _tensor_target(labels, scores, "hinge_loss")
        _check_pm1(y.data)
        return (1.0 - y * scores).relu().mean()
    vs, ys = _scalar_targets(scores, labels, "hinge_loss")
    _check_pm1(np.asarray(ys))
    return vsum([(1.0 - y * v).relu() for v, y in zip(vs, ys)]) * (1.0 / len(vs))


def _check_pm1(y):
    bad = y[(y != 1) & (y != -1)]
    if bad.size:
        raise ValueError(f"hinge_loss labels must be -1 or 1, got {bad.ravel()[0]!r}")


def binary_cross_entropy(probs, targets):
    """-mean(y log p + (1 - y) log(1 - p)) for probabilities p (e.g. after sigmoid) and targets in [0, 1].

    As in PyTorch, each log is clamped at -100 so that p = 0 or 1 gives a finite loss, and a probability
    outside [0, 1] (or nan) raises ``ValueError``. A clamped log is a constant: it passes no gradient, on both
    engines (never nan). PyTorch's backward is (p - y) / max(p (1 - p), 1e-12) instead, so where
    p (1 - p) < 1e-12 its gradient differs from the derivative computed here.
    """
    if is_tensor(probs):
        y = _tensor_target(targets, probs, "binary_cross_entropy")
        _check_probabilities(probs.data)
        logp = _clamped_log(probs)
        log1mp = _clamped_log(1.0 - probs)
        return -(y * logp + (1.0 - y) * log1mp).mean()
    vs, ys = _scalar_targets(probs, targets, "binary_cross_entropy")
    _check_probabilities(np.array([v.data for v in vs]))
    terms = []
    for p, y in zip(vs, ys):
        lp, l1p = p.log(), (1.0 - p).log()
        # Clamp as PyTorch does: below -100 the log is replaced by the constant -100 (no gradient).
        lp = lp if lp.data > -100.0 else Value(-100.0)
        l1p = l1p if l1p.data > -100.0 else Value(-100.0)
        terms.append(y * lp + (1.0 - y) * l1p)
    return -vsum(terms) * (1.0 / len(vs))


def _check_probabilities(p):
    bad = p[~((p >= 0.0) & (p <= 1.0))]  # also nan
    if bad.size:
        raise ValueError(f"binary_cross_entropy: probabilities must be in [0, 1] (as PyTorch), got {bad.ravel()[0]!r}")


def _clamped_log(t):
    """log(t), and the constant -100 where that is below -100 (p = 0 included), as the scalar engine's: the
    clamped entries get exactly zero gradient (their log is never differentiated, so no 0 * inf = nan)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = np.log(t.data) > -100.0
    if keep.all():
        return t.log()
    return _where(keep, _where(keep, t, 1.0).log(), -100.0)


def _labels(labels, n, lshape, what):
    """Class indices for logits of shape ``lshape`` (n rows): shape (n,), or () / (1,) for one sample's (C,)."""
    y = labels.data if is_tensor(labels) else np.asarray(labels)
    if len(lshape) >= 3:  # classes on the last axis: one index per position
        if y.shape != tuple(lshape[:-1]):
            raise ValueError(f"{what}: logits of shape {tuple(lshape)} (classes on the last axis) need class "
                             f"indices of shape {tuple(lshape[:-1])}, got labels of shape {y.shape}")
    elif not (y.shape == (n,) or (len(lshape) == 1 and y.shape == ())):
        hint = ""
        if y.ndim == 2 and y.shape[0] == n:
            hint = (" (one-hot or probability targets are not supported: pass class indices, e.g. "
                    "labels.argmax(axis=1))" if y.shape[1] > 1 else f" (flatten it: labels.reshape({n}))")
        raise ValueError(f"{what}: logits of shape {lshape} need {n} class indices of shape ({n},), got labels "
                         f"of shape {y.shape}{hint}")
    y = y.reshape(-1)
    if y.size and y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise TypeError(f"{what}: class labels must be integers, got dtype {y.dtype}")
    return y.astype(np.int64)


def _check_classes(y, k):
    if y.size and (y.min() < 0 or y.max() >= k):
        bad = y[(y < 0) | (y >= k)][0]
        raise ValueError(f"class label {bad} out of range for {k} classes")


def _tensor_logits(x, what):
    if x.ndim == 0:
        raise ValueError(f"{what}: logits must have shape (N, C), or (C,) for one sample, or (B, T, C) with the "
                         f"classes last, got {x.shape}")
    return x if x.ndim == 2 else x.reshape(-1, x.shape[-1]) if x.ndim > 2 else x.reshape(1, -1)


def nll_loss(log_probs, labels):
    """-mean(log_probs[i, labels[i]]): the negative log-likelihood of the true classes.

    ``log_probs`` is (N, C) with N class indices in ``labels``, or one sample's (C,) with one index.
    """
    return _nll(log_probs, labels, "nll_loss")


def _nll(log_probs, labels, what):
    if is_tensor(log_probs):
        lp = _tensor_logits(log_probs, what)
        y = _labels(labels, lp.shape[0], log_probs.shape, what)
        _check_classes(y, lp.shape[1])
        return _tensor_nll_loss(lp, y)
    rows, shape = _rows(log_probs, np.size(labels), what)
    y = _labels(labels, len(rows), shape, what)
    _check_classes(y, len(rows[0]))
    return -vsum([r[c] for r, c in zip(rows, y.tolist())]) * (1.0 / len(rows))


def _log_softmax_values(row):
    # Shift by the largest logit (a constant: the gradient of log-softmax does not depend on it) for stability.
    m = max(v.data for v in row)
    shifted = [v - m for v in row]
    lse = vsum([s.exp() for s in shifted]).log()
    return [s - lse for s in shifted]


def cross_entropy(logits, labels):
    """mean over samples of -log softmax(logits)[label], computed stably through log-softmax.

    ``logits`` is (N, C) with N class indices in ``labels``, or one sample's (C,) with one index, or (B, T, C)
    (classes last) with indices (B, T): a language model's loss, the mean over every position.
    """
    if is_tensor(logits):
        lg = _tensor_logits(logits, "cross_entropy")
        y = _labels(labels, lg.shape[0], logits.shape, "cross_entropy")
        _check_classes(y, lg.shape[1])
        return _tensor_nll_loss(lg.log_softmax(axis=1), y)
    rows, shape = _rows(logits, np.size(labels), "cross_entropy")
    y = _labels(labels, len(rows), shape, "cross_entropy")
    _check_classes(y, len(rows[0]))
    return _nll([_log_softmax_values(r) for r in rows], y, "cross_entropy")
