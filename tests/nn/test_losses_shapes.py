"""Loss shapes: a target either pairs element by element with the prediction or is refused, never broadcast.

The rule (naivegrad.nn.losses): a target of the prediction's shape, or (N,) for an (N, 1) prediction, gives
the same value whether it is a list, a numpy array or a Tensor, on both engines; any other shape raises a
ValueError naming both shapes.
"""

import numpy as np
import pytest

from naivegrad import Value, nn
from naivegrad.tensor import Tensor

ELEMENTWISE = ["mse_loss", "hinge_loss", "binary_cross_entropy"]

P_COL = np.array([[0.3], [0.8], [0.6]])  # an (N, 1) prediction: a one-output model's scores (in (0, 1) for BCE)
Y_VEC = np.array([1.0, -1.0, 1.0])       # labels in {-1, 1} (hinge); BCE takes them mapped to {0, 1}


def target_for(loss, y):
    return (y + 1) / 2 if loss == "binary_cross_entropy" else y


def reference(loss, p, y):
    """The loss in numpy, for p and y of one shape."""
    if loss == "mse_loss":
        return np.mean((p - y) ** 2)
    if loss == "hinge_loss":
        return np.mean(np.maximum(0.0, 1.0 - y * p))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def forms(arr):
    """The same target as a list, a numpy array, a float32 and a float64 Tensor."""
    return {"list": arr.tolist(), "array": arr, "tensor32": Tensor(arr.astype(np.float32), requires_grad=False),
            "tensor64": Tensor(arr, requires_grad=False)}


def scalar_preds(p):
    """The scalar engine's ways of holding an (N, 1) prediction: micrograd's flat list, and rows of one."""
    return {"flat": [Value(v) for v in p.ravel().tolist()], "rows": [[Value(v) for v in r] for r in p.tolist()]}


def value_of(loss):
    return float(loss.data) if isinstance(loss, Value) else loss.item()


@pytest.mark.parametrize("loss", ELEMENTWISE)
def test_vector_target_for_one_output_model_matches_numpy_in_every_form_on_both_engines(loss):
    fn = getattr(nn, loss)
    y = target_for(loss, Y_VEC)
    expected = reference(loss, P_COL, y.reshape(-1, 1))
    for name, t in forms(y).items():
        got = value_of(fn(Tensor(P_COL, requires_grad=False), t))
        assert got == pytest.approx(expected, rel=1e-12), name
        for kind, pred in scalar_preds(P_COL).items():
            assert value_of(fn(pred, t)) == pytest.approx(expected, rel=1e-12), (name, kind)
    for t in forms(y.reshape(-1, 1)).values():  # the prediction's own shape (N, 1)
        assert value_of(fn(Tensor(P_COL, requires_grad=False), t)) == pytest.approx(expected, rel=1e-12)
        for pred in scalar_preds(P_COL).values():
            assert value_of(fn(pred, t)) == pytest.approx(expected, rel=1e-12)


def test_the_issue_example_is_zero_not_a_broadcast_half():
    assert nn.mse_loss(Tensor([[1.0], [2.0]]), Tensor([1.0, 2.0])).item() == 0.0
    assert nn.mse_loss(Tensor([[1.0], [2.0]]), np.array([1.0, 2.0])).item() == 0.0


@pytest.mark.parametrize("loss", ELEMENTWISE)
def test_matrix_prediction_takes_a_target_of_its_own_shape(loss):
    fn = getattr(nn, loss)
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 0.9, size=(2, 3))
    y = target_for(loss, rng.choice([-1.0, 1.0], size=(2, 3)))
    expected = reference(loss, p, y)
    rows = [[Value(v) for v in r] for r in p.tolist()]
    for t in forms(y).values():
        assert value_of(fn(Tensor(p, requires_grad=False), t)) == pytest.approx(expected, rel=1e-12)
        assert value_of(fn(rows, t)) == pytest.approx(expected, rel=1e-12)


def bad_pairs():
    """(prediction shape, target shape) pairs that must be refused on the tensor engine."""
    return [((2, 3), (3, 2)), ((2, 3), (6,)), ((3, 1), (1, 3)), ((3,), (3, 1)), ((3,), (1, 3)), ((3, 1), (3, 3)),
            ((3, 1), (2,)), ((2, 3), (3,)), ((2, 3), (2,)), ((), (2,))]


@pytest.mark.parametrize("loss", ELEMENTWISE)
@pytest.mark.parametrize("pshape, tshape", bad_pairs())
def test_other_target_shapes_raise_naming_both_shapes_tensor(loss, pshape, tshape):
    fn = getattr(nn, loss)
    p = Tensor(np.full(pshape, 0.5), requires_grad=False)
    y = np.ones(tshape)
    for t in (y, y.tolist(), Tensor(y, requires_grad=False)):
        with pytest.raises(ValueError, match=rf"{loss}.*{_re(tshape)}.*{_re(pshape)}"):
            fn(p, t)


@pytest.mark.parametrize("loss", ELEMENTWISE)
def test_other_target_shapes_raise_naming_both_shapes_scalar(loss):
    fn = getattr(nn, loss)
    wide = [[Value(0.5)] * 3 for _ in range(2)]                  # (2, 3)
    col = [[Value(0.5)] for _ in range(3)]                        # (3, 1)
    flat = [Value(0.5)] * 3                                       # (3,), or a one-output model's (3, 1)
    for pred, pshape, tshape in [(wide, (2, 3), (3, 2)), (wide, (2, 3), (6,)), (col, (3, 1), (1, 3)),
                                 (flat, (3,), (1, 3)), (flat, (3,), (3, 3)), (col, (3, 1), (3, 3)),
                                 (Value(0.5), (), (2,))]:
        y = np.ones(tshape)
        for t in (y, y.tolist(), Tensor(y, requires_grad=False)):
            with pytest.raises(ValueError, match=rf"{loss}.*{_re(tshape)}.*{_re(pshape)}"):
                fn(pred, t)


def _re(shape):
    return "\\(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + "\\)"


@pytest.mark.parametrize("backend", ["scalar", "tensor"])
def test_one_output_model_trains_on_the_right_loss_on_both_engines(backend):
    """A (N, 1) model output against (N,) labels: the loss and its gradients are those of matched pairs."""
    model = nn.MLP(2, [4, 1], backend=backend, seed=0, dtype=np.float64 if backend == "tensor" else None)
    x = np.array([[0.5, -1.0], [1.0, 2.0], [-0.3, 0.2]])
    y = np.array([0.0, 1.0, -1.0])
    out = model(x)
    scores = out.numpy().ravel() if backend == "tensor" else np.array([v.data for v in out])
    loss = nn.mse_loss(out, y)
    assert value_of(loss) == pytest.approx(np.mean((scores - y) ** 2), rel=1e-12)


def test_tensor_target_keeps_its_graph_and_dtype_rule():
    p = Tensor(np.array([[0.5], [2.0]], np.float32))
    t = Tensor(np.array([1.0, 3.0]))          # float64, requires grad: a learned target
    loss = nn.mse_loss(p, t)
    assert loss.dtype == np.float32           # the prediction's dtype, as for a list target
    assert loss.item() == nn.mse_loss(p, [1.0, 3.0]).item()
    loss.backward()
    assert t.grad.dtype == np.float64 and t.grad.shape == (2,)
    np.testing.assert_allclose(t.grad, [0.5, 1.0], rtol=1e-6)  # d/dt mean((p - t)^2) = -(p - t)
    np.testing.assert_allclose(p.grad.ravel(), [-0.5, -1.0], rtol=1e-6)


@pytest.mark.parametrize("loss", ELEMENTWISE)
def test_non_real_targets_are_refused(loss):
    fn = getattr(nn, loss)
    with pytest.raises(TypeError, match="complex"):
        fn(Tensor([[0.5], [0.5]]), np.array([1 + 1j, 1 + 0j]))
    with pytest.raises(TypeError, match="complex"):
        fn([Value(0.5), Value(0.5)], np.array([1 + 1j, 1 + 0j]))


def test_empty_scalar_batch_is_an_error_not_a_division_by_zero():
    with pytest.raises(ValueError, match="empty"):
        nn.mse_loss([], [])


# ------------------------------------------------------------------ class-index losses
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_class_index_losses_agree_on_both_engines_and_in_every_label_form(loss):
    fn = getattr(nn, loss)
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 3))
    if loss == "nll_loss":
        logits = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    y = np.array([0, 2, 1, 2])
    expected = value_of(fn(Tensor(logits), y))
    rows = [[Value(v) for v in r] for r in logits.tolist()]
    for labels in (y, y.tolist(), Tensor(y, requires_grad=False), y.astype(np.float64)):
        assert value_of(fn(Tensor(logits), labels)) == pytest.approx(expected, rel=1e-12)
        assert value_of(fn(rows, labels)) == pytest.approx(expected, rel=1e-6)
    one = logits[1]  # one sample's (C,) logits with one label, as torch's unbatched form
    assert value_of(fn(Tensor(one), 2)) == pytest.approx(value_of(fn(Tensor(one[None]), [2])), rel=1e-12)
    assert value_of(fn([Value(v) for v in one.tolist()], 2)) == pytest.approx(value_of(fn(Tensor(one), 2)), rel=1e-6)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
def test_class_index_losses_refuse_other_label_shapes_naming_them(loss):
    fn = getattr(nn, loss)
    logits = np.zeros((4, 3))
    rows = [[Value(0.0)] * 3 for _ in range(4)]
    for labels, extra in [(np.zeros((4, 1), int), "reshape"), (np.eye(3)[[0, 1, 2, 0]], "one-hot"),
                          (np.zeros(3, int), ""), (np.zeros((2, 2), int), "")]:
        for pred in (Tensor(logits), rows):
            with pytest.raises(ValueError, match=rf"{loss}.*\(4, 3\).*{_re(labels.shape)}.*{extra}"):
                fn(pred, labels)
    with pytest.raises(ValueError, match=rf"{loss}.*\(2, 3, 4\)"):
        fn(Tensor(np.zeros((2, 3, 4))), np.zeros(2, int))  # was silently reshaped to one (1, 24) sample
    with pytest.raises(ValueError, match="ragged"):
        fn([[Value(0.0)] * 3, [Value(0.0)] * 2], [0, 1])
    with pytest.raises(TypeError, match="integers"):
        fn(Tensor(logits), [0.5, 1, 2, 0])
