"""Losses that take either engine's output and return a ``Value`` or a 0-d ``Tensor`` (mean over the batch).

Scalar-engine predictions come as micrograd returns them: a Value, a list of Values (one per sample, or one
sample's outputs), or a list of lists; targets are numbers, lists or numpy arrays.
"""

import numpy as np

from ..engines import is_tensor, is_value
from ..scalar import Value
from ..scalar import sum as vsum
from ..tensor import Tensor
from ..tensor.tensor import nll_loss as _tensor_nll_loss  # one op: its backward is a scatter

__all__ = ["mse_loss", "hinge_loss", "binary_cross_entropy", "cross_entropy", "nll_loss"]


def _flat_values(pred):
    """Scalar predictions as one flat list of Values (a batch of single outputs, or one sample's outputs)."""
    if is_value(pred):
        return [pred]
    out = []
    for p in pred:
        if is_value(p):
            out.append(p)
        elif isinstance(p, (list, tuple)):
            out.extend(_flat_values(p))
        else:
            raise TypeError(f"expected Values or lists of Values, got {type(p).__name__}")
    return out


def _rows(pred, n_labels):
    """Scalar logits as a list of rows (lists of Values).

    A flat list of Values is one sample's logits, unless there is one label per Value: then it is a batch of
    single-output rows (micrograd unwraps one-element outputs, so both arrive as flat lists).
    """
    if is_value(pred):
        return [[pred]]
    if isinstance(pred, (list, tuple)) and pred and all(is_value(p) for p in pred):
        return [[p] for p in pred] if n_labels == len(pred) != 1 else [list(pred)]
    rows = [list(r) if isinstance(r, (list, tuple)) else [r] for r in pred]
    for r in rows:
        for v in r:
            if not is_value(v):
                raise TypeError(f"expected rows of Values, got {type(v).__name__}")
    return rows


def _targets(target, n, what):
    t = np.asarray(target, dtype=np.float64).ravel()
    if t.size != n:
        raise ValueError(f"{what}: {n} predictions but target has {t.size} elements (shape {np.shape(target)})")
    return t.tolist()


def _as_tensor_target(target, like):
    if is_tensor(target):
        return target
    t = np.asarray(target, dtype=like.dtype)
    if t.size != like.data.size:
        raise ValueError(f"prediction has shape {like.shape} but target has shape {t.shape}")
    return Tensor(t.reshape(like.shape), requires_grad=False)


def mse_loss(pred, target):
    """mean((pred - target) ** 2)."""
    if is_tensor(pred):
        return ((pred - _as_tensor_target(target, pred)) ** 2).mean()
    vs = _flat_values(pred)
    ts = _targets(target, len(vs), "mse_loss")
    return vsum([(v - t) ** 2 for v, t in zip(vs, ts)]) * (1.0 / len(vs))


def hinge_loss(scores, labels):
    """mean(relu(1 - y * score)) for labels y in {-1, 1}: micrograd's max-margin loss."""
    if is_tensor(scores):
        y = _as_tensor_target(labels, scores)
        _check_pm1(y.data)
        return (1.0 - y * scores).relu().mean()
    vs = _flat_values(scores)
    ys = _targets(labels, len(vs), "hinge_loss")
    _check_pm1(np.asarray(ys))
    return vsum([(1.0 - y * v).relu() for v, y in zip(vs, ys)]) * (1.0 / len(vs))


def _check_pm1(y):
    bad = y[(y != 1) & (y != -1)]
    if bad.size:
        raise ValueError(f"hinge_loss labels must be -1 or 1, got {bad.ravel()[0]!r}")


def binary_cross_entropy(probs, targets):
    """-mean(y log p + (1 - y) log(1 - p)) for probabilities p (e.g. after sigmoid) and targets in [0, 1].

    As in PyTorch, each log is clamped at -100 so that p = 0 or 1 gives a finite loss.
    """
    if is_tensor(probs):
        y = _as_tensor_target(targets, probs)
        logp = probs.log().maximum(-100.0)
        log1mp = (1.0 - probs).log().maximum(-100.0)
        return -(y * logp + (1.0 - y) * log1mp).mean()
    vs = _flat_values(probs)
    ys = _targets(targets, len(vs), "binary_cross_entropy")
    terms = []
    for p, y in zip(vs, ys):
        lp, l1p = p.log(), (1.0 - p).log()
        # Clamp as PyTorch does: below -100 the log is replaced by the constant -100 (no gradient).
        lp = lp if lp.data > -100.0 else Value(-100.0)
        l1p = l1p if l1p.data > -100.0 else Value(-100.0)
        terms.append(y * lp + (1.0 - y) * l1p)
    return -vsum(terms) * (1.0 / len(vs))


def _labels(labels, n):
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"expected {n} integer class labels, got shape {y.shape}")
    if y.size and y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        else:
            raise TypeError(f"class labels must be integers, got dtype {y.dtype}")
    return y.astype(np.int64)


def _check_classes(y, k):
    if y.size and (y.min() < 0 or y.max() >= k):
        bad = y[(y < 0) | (y >= k)][0]
        raise ValueError(f"class label {bad} out of range for {k} classes")


def nll_loss(log_probs, labels):
    """-mean(log_probs[i, labels[i]]): the negative log-likelihood of the true classes."""
    if is_tensor(log_probs):
        lp = log_probs if log_probs.ndim == 2 else log_probs.reshape(1, -1)
        y = _labels(np.atleast_1d(labels), lp.shape[0])
        _check_classes(y, lp.shape[1])
        return _tensor_nll_loss(lp, y)
    rows = _rows(log_probs, np.size(labels))
    y = _labels(np.atleast_1d(labels), len(rows))
    _check_classes(y, len(rows[0]))
    return -vsum([r[c] for r, c in zip(rows, y.tolist())]) * (1.0 / len(rows))


def _log_softmax_values(row):
    # Shift by the largest logit (a constant: the gradient of log-softmax does not depend on it) for stability.
    m = max(v.data for v in row)
    shifted = [v - m for v in row]
    lse = vsum([s.exp() for s in shifted]).log()
    return [s - lse for s in shifted]


def cross_entropy(logits, labels):
    """mean over samples of -log softmax(logits)[label], computed stably through log-softmax."""
    if is_tensor(logits):
        lg = logits if logits.ndim == 2 else logits.reshape(1, -1)
        return nll_loss(lg.log_softmax(axis=1), labels)
    rows = _rows(logits, np.size(labels))
    return nll_loss([_log_softmax_values(r) for r in rows], labels)
