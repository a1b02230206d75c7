"""naivegrad.func against torch.func (float64): jvp, jacrev and hessian, per op and on random programs."""

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from naivegrad.func import hessian, jacfwd, jacrev, jvp

from func_cases import CASES, _torch_backend, case_points, points, programs, run_program

torch = pytest.importorskip("torch")
tfunc = pytest.importorskip("torch.func")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.*")

CASE_IDS = [c.name for c in CASES]
TB = _torch_backend()
unit = st.floats(-1.0, 1.0, allow_nan=False)
few = settings(max_examples=max(10, settings.default.max_examples // 3))


def t64(xs):
    return torch.tensor(xs, dtype=torch.float64)


def _torch_vec(case):
    fn = case.torch_fn or case.fn
    return lambda x: fn(*x.unbind())


def _pow_at_zero_exponent(case, xs):
    # PyTorch's pow backward masks d/da with where(b == 0, 0, ...), so its Hessian at b == 0 exactly is
    # not symmetric (d2/db da = 0, d2/da db = 1/a). naivegrad keeps the symmetric, continuous 1/a.
    return case.op == "**" and len(xs) == 2 and xs[1] == 0.0


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@few
@given(data=st.data())
def test_jvp_matches_torch(case, data):
    xs = data.draw(case_points(case))
    v = data.draw(st.tuples(*[unit for _ in xs]))
    out, t = jvp(case.fn, tuple(xs), v)
    fn = case.torch_fn or case.fn
    tout, tt = tfunc.jvp(fn, tuple(t64(x) for x in xs), tuple(t64(x) for x in v))
    assert np.isclose(out.data, tout.item(), rtol=1e-14, atol=1e-15)
    assert np.isclose(t, tt.item(), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@few
@given(data=st.data())
def test_hessian_matches_torch(case, data):
    xs = list(data.draw(case_points(case)))
    assume(not _pow_at_zero_exponent(case, xs))
    h = hessian(lambda v: case.fn(*v))(xs)
    th = tfunc.hessian(_torch_vec(case))(t64(xs)).numpy()
    assert np.allclose(h, th, rtol=1e-12, atol=1e-12), (case.name, xs, h, th)


def _torch_program(prog):
    return lambda x: torch.stack(run_program(prog, list(x.unbind()), TB))


@given(programs(), st.data())
def test_jacobians_match_torch_jacrev(prog, data):
    xs = data.draw(points(prog[0]))
    f = lambda v: run_program(prog, v)  # noqa: E731
    want = tfunc.jacrev(_torch_program(prog))(t64(xs)).numpy()
    assert np.allclose(jacrev(f)(xs), want, rtol=1e-12, atol=1e-13)
    assert np.allclose(jacfwd(f)(xs), want, rtol=1e-12, atol=1e-13)


@given(programs(), st.data())
def test_jvp_matches_torch_on_programs(prog, data):
    n = prog[0]
    xs = data.draw(points(n))
    v = data.draw(st.lists(unit, min_size=n, max_size=n))
    _, t = jvp(lambda u: run_program(prog, u), xs, v)
    _, tt = tfunc.jvp(_torch_program(prog), (t64(xs),), (t64(v),))
    assert np.allclose(t, tt.numpy(), rtol=1e-12, atol=1e-13)


@few
@given(programs(max_outputs=1), st.data())
def test_hessian_matches_torch_on_programs(prog, data):
    xs = data.draw(points(prog[0]))
    # A pow step's exponent is tanh(slot), exactly 0 at an input 0: PyTorch's masked pow Hessian differs there
    # (see _pow_at_zero_exponent); naivegrad's agrees with finite differences (test_func_transforms).
    assume(all(x != 0.0 for x in xs))
    h = hessian(lambda v: run_program(prog, v)[0])(xs)
    th = tfunc.hessian(lambda x: _torch_program(prog)(x)[0])(t64(xs)).numpy()
    assert np.allclose(h, th, rtol=1e-11, atol=1e-12)


@given(st.floats(-4, 4, allow_nan=False))
def test_third_derivative_of_x3_sin_matches_torch(a):
    from naivegrad.func import grad

    f = lambda x: x ** 3 * x.sin()  # noqa: E731
    want = tfunc.grad(tfunc.grad(tfunc.grad(f)))(torch.tensor(a, dtype=torch.float64)).item()
    assert np.isclose(grad(grad(grad(f)))(a).data, want, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------- tensor engine
@few
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2 ** 31))
def test_tensor_engine_jacrev_and_grad_match_torch(n, m, seed):
    from naivegrad.func import grad
    from naivegrad.tensor import Tensor

    rng = np.random.default_rng(seed)
    W, x = rng.standard_normal((m, n)), rng.standard_normal(n)
    Wn, Wt = Tensor(W, requires_grad=False), torch.tensor(W)

    def f(t, W):
        return (W @ t).tanh() * t.sum() + (t * t).sum().sigmoid()

    want = tfunc.jacrev(lambda t: f(t, Wt))(torch.tensor(x)).numpy()
    assert np.allclose(jacrev(lambda t: f(t, Wn))(x), want, rtol=1e-12, atol=1e-13)
    gw = tfunc.grad(lambda t: f(t, Wt).sum())(torch.tensor(x)).numpy()
    assert np.allclose(grad(lambda t: f(t, Wn).sum())(x).data, gw, rtol=1e-12, atol=1e-13)


def test_tensor_engine_jvp_with_forward_rules_matches_torch():
    from test_func_tensor import Cube, MatVec

    rng = np.random.default_rng(3)
    A, x, v = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.standard_normal(3)
    out, t = jvp(lambda s: Cube.apply(MatVec.apply(s, A=A)), (x,), (v,))
    tout, tt = tfunc.jvp(lambda s: (torch.tensor(A) @ s) ** 3, (torch.tensor(x),), (torch.tensor(v),))
    assert np.allclose(out.data, tout.numpy(), rtol=1e-14) and np.allclose(t, tt.numpy(), rtol=1e-12)
