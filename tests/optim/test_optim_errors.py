"""Bad hyper-parameters and bad parameters raise clear errors that name the offending value or type."""

import math

import numpy as np
import pytest

from naivegrad import optim
from naivegrad.scalar import Value

from optim_helpers import StandIn

BAD_HYPER = [
    ("SGD", dict(lr=-0.1), ValueError, "lr: -0.1"),
    ("SGD", dict(lr=math.nan), ValueError, "lr: nan"),
    ("SGD", dict(lr=math.inf), ValueError, "lr: inf"),
    ("SGD", dict(lr="0.1"), TypeError, "lr must be a real number, got str"),
    ("SGD", dict(lr=True), TypeError, "lr must be a real number, got bool"),
    ("SGD", dict(momentum=-0.9), ValueError, "momentum: -0.9"),
    ("SGD", dict(weight_decay=-1e-4), ValueError, "weight_decay: -0.0001"),
    ("SGD", dict(nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), ValueError, "dampening=0.1"),
    ("SGD", dict(nesterov=1), TypeError, "nesterov must be True or False"),
    ("Adam", dict(lr=-1), ValueError, "lr: -1"),
    ("Adam", dict(betas=(0.9, 1.0)), ValueError, r"betas\[1\]: 1.0"),
    ("Adam", dict(betas=(-0.1, 0.9)), ValueError, r"betas\[0\]: -0.1"),
    ("Adam", dict(betas=0.9), ValueError, "betas must be a pair"),
    ("Adam", dict(eps=-1e-8), ValueError, "eps: -1e-08"),
    ("AdamW", dict(weight_decay=-0.01), ValueError, "weight_decay: -0.01"),
    ("RMSProp", dict(alpha=1.5), ValueError, "alpha: 1.5"),
    ("RMSProp", dict(decay=-0.5), ValueError, "alpha: -0.5"),
    ("RMSProp", dict(alpha=0.9, decay=0.9), TypeError, "both alpha=0.9 and its alias decay=0.9"),
    ("RMSProp", dict(momentum=-1), ValueError, "momentum: -1"),
    ("RMSProp", dict(centered="yes"), TypeError, "centered must be True or False"),
]


@pytest.mark.parametrize("name,kwargs,error,message", BAD_HYPER,
                         ids=[f"{n}-{'-'.join(k)}-{i}" for i, (n, k, _, _) in enumerate(BAD_HYPER)])
def test_bad_hyper_parameter(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        getattr(optim, name)([Value(1.0)], **kwargs)


def test_bad_hyper_parameter_in_a_group_is_refused_too():
    with pytest.raises(ValueError, match="lr: -1"):
        optim.SGD([{"params": [Value(1.0)], "lr": -1}], lr=0.1)
    with pytest.raises(KeyError, match="unknown option 'decay'.*lr, alpha"):
        optim.RMSProp([{"params": [Value(1.0)], "decay": 0.9}])


class Model:
    def parameters(self):
        return [Value(1.0)]


BAD_PARAMS = [
    ([], ValueError, "empty parameter list"),
    (iter([]), ValueError, "empty parameter list"),
    (Value(1.0), TypeError, "single Value: wrap it in a list"),
    (StandIn([1.0]), TypeError, "single .*StandIn: wrap it in a list"),
    (Model(), TypeError, "pass model.parameters()"),
    ({Value(1.0)}, TypeError, "ordered iterable .*set"),
    (3.0, TypeError, "got float"),
    ("abc", TypeError, "got str"),
    ([1.0], TypeError, "parameter 0 of group 0 is a float, not a naivegrad Value or Tensor"),
    ([Value(1.0), np.zeros(3)], TypeError, "parameter 1 of group 0 is a numpy.ndarray"),
    ([StandIn([1, 2], np.int64)], TypeError, "dtype int64: only floating-point"),
    ([Value(1.0), StandIn([1.0])], TypeError, "mixes Values and Tensors .*own parameter group"),
    ([{"params": [Value(1.0)]}, Value(2.0)], TypeError, "not a mix"),
    ([{"lr": 0.1}], KeyError, "no 'params' entry"),
    ([{"params": []}], ValueError, "group 0 has an empty parameter list"),
]


@pytest.mark.parametrize("params,error,message", BAD_PARAMS, ids=[str(i) for i in range(len(BAD_PARAMS))])
def test_bad_params(params, error, message):
    with pytest.raises(error, match=message):
        optim.SGD(params, lr=0.1)


def test_duplicate_parameters_are_refused():
    v = Value(1.0)
    with pytest.raises(ValueError, match="parameter 1 of group 0 is also parameter 0 of group 0"):
        optim.Adam([v, v])
    t = StandIn([1.0])
    opt = optim.Adam([t])
    with pytest.raises(ValueError, match="parameter 0 of group 1 is also parameter 0 of group 0"):
        opt.add_param_group({"params": [t]})
    assert len(opt.param_groups) == 1  # the refused group was not half-added


def test_torch_tensor_is_named_by_its_module():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="torch.Tensor, not a naivegrad Value or Tensor"):
        optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)


def test_grad_of_the_wrong_shape_names_both_shapes():
    t = StandIn(np.zeros((2, 3)))
    t.grad = np.zeros(3)
    opt = optim.SGD([t], lr=0.1)
    with pytest.raises(ValueError, match=r"parameter 0 of group 0: grad has shape \(3,\) but data has shape \(2, 3\)"):
        opt.step()
    np.testing.assert_array_equal(t.data, np.zeros((2, 3)))


def test_grad_that_is_not_an_array_is_refused():
    t = StandIn(np.zeros(2))
    t.grad = [1.0, 2.0]
    with pytest.raises(TypeError, match="grad is a list"):
        optim.SGD([t], lr=0.1).step()


def test_tensor_stand_ins_are_stepped_on_purpose():
    # naivegrad.engines knows Values and Tensors; the optimizer's tensor path also takes anything with a numpy
    # array in .data and a .grad (these tests' StandIn), and reads or writes nothing else.
    t = StandIn([1.0, 2.0])
    t.grad = np.array([1.0, -1.0])
    opt = optim.SGD([t], lr=0.5)
    opt.step()
    assert t.data.tolist() == [0.5, 2.5] and "1 Tensor)" in repr(opt)
    opt.zero_grad()
    assert t.grad is None
