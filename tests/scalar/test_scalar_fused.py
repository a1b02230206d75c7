"""The fused n-ary nodes ``naivegrad.scalar.sum`` and ``dot``: values, gradients, mixed Values and numbers.

Terms are drawn from a small pool of leaves and plain numbers, so the same leaf often appears several times
(as a weight and an input of the same dot, or twice in a sum): every occurrence must add its derivative.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import naivegrad.scalar as scalar
from naivegrad.scalar import Value
from scalar_oracles import EPS, SPECIALS, central_difference, finite

moderate = finite(-1e6, 1e6)
# Special points except the overflow edges: sums of at most a few terms of these cannot overflow, so whether the
# result is nan, +inf, -inf or finite does not depend on the order of summation.
bounded_specials = [x for x in SPECIALS if math.isnan(x) or math.isinf(x) or abs(x) <= 1e300]


def expected_sum(terms):
    """The IEEE class of sum(terms) (independent of order here), and for finite sums fsum and an error bound."""
    terms = [float(t) for t in terms]
    if any(math.isnan(t) for t in terms) or (math.inf in terms and -math.inf in terms):
        return math.nan, 0.0
    if math.inf in terms or -math.inf in terms:
        return (math.inf if math.inf in terms else -math.inf), 0.0
    # Recursive summation of n terms errs by at most (n - 1) eps sum|t| (Higham); products add one rounding each.
    return math.fsum(terms), (len(terms) + 1) * EPS * math.fsum(abs(t) for t in terms) + 5e-324


def assert_sum_like(got, terms, what):
    want, bound = expected_sum(terms)
    assert type(got) is float, f"{what}: {type(got).__name__}"
    if math.isnan(want):
        assert math.isnan(got), f"{what}: {got!r}, want nan from {terms}"
    elif math.isinf(want):
        assert got == want, f"{what}: {got!r}, want {want!r} from {terms}"
    else:
        assert abs(got - want) <= bound, f"{what}: {got!r}, want {want!r} +- {bound!r} from {terms}"


def term(pool_size, numbers):
    """('leaf', i) or ('num', x): a leaf from the pool or a plain number (float or int)."""
    return st.one_of(
        st.tuples(st.just("leaf"), st.integers(0, pool_size - 1)),
        st.tuples(st.just("num"), st.one_of(numbers, st.integers(-1000, 1000))),
    )


def realise(t, leaves):
    return leaves[t[1]] if t[0] == "leaf" else t[1]


def data_of(x):
    return x.data if type(x) is Value else float(x)


def grads_of(pool_size, contributions):
    """Per leaf index, the list of local derivatives its occurrences contribute."""
    out = {i: [] for i in range(pool_size)}
    for i, d in contributions:
        out[i].append(d)
    return out


def check_sum(pool, items, start):
    leaves = [Value(x) for x in pool]
    values = [realise(t, leaves) for t in items]
    start_v = realise(start, leaves) if start is not None else None
    out = scalar.sum(values) if start is None else scalar.sum(values, start_v)
    assert type(out) is Value
    terms = [data_of(v) for v in values] + ([data_of(start_v)] if start is not None else [])
    assert_sum_like(out.data, terms, "sum value")
    out.backward()
    contributions = [(t[1], 1.0) for t in items + ([start] if start is not None else []) if t[0] == "leaf"]
    for i, cs in grads_of(len(pool), contributions).items():
        assert leaves[i].grad == float(len(cs)), f"leaf {i} used {len(cs)} times, grad {leaves[i].grad!r}"
    # One node, whose operands are exactly the Value terms.
    assert len(out._prev) == len(contributions)


def check_dot(pool, pairs, bias):
    leaves = [Value(x) for x in pool]
    ws = [realise(w, leaves) for w, _ in pairs]
    xs = [realise(x, leaves) for _, x in pairs]
    b = realise(bias, leaves) if bias is not None else None
    out = scalar.dot(ws, xs, b)
    assert type(out) is Value
    with np.errstate(all="ignore"):
        products = [float(np.float64(data_of(w)) * np.float64(data_of(x))) for w, x in zip(ws, xs)]
    terms = products + ([data_of(b)] if b is not None else [])
    assert_sum_like(out.data, terms, "dot value")
    out.backward()
    contributions = []
    for (w, x), wv, xv in zip(pairs, ws, xs):
        if w[0] == "leaf":
            contributions.append((w[1], data_of(xv)))
        if x[0] == "leaf":
            contributions.append((x[1], data_of(wv)))
    if bias is not None and bias[0] == "leaf":
        contributions.append((bias[1], 1.0))
    for i, cs in grads_of(len(pool), contributions).items():
        assert_sum_like(leaves[i].grad, cs or [0.0], f"grad of leaf {i}")
    assert len(out._prev) == len(contributions)


pools = st.lists(moderate, min_size=1, max_size=4)


@given(data=st.data())
def test_sum_mixed_values_and_numbers(data):
    pool = data.draw(pools, label="pool")
    items = data.draw(st.lists(term(len(pool), moderate), max_size=8), label="items")
    start = data.draw(st.one_of(st.none(), term(len(pool), moderate)), label="start")
    check_sum(pool, items, start)


@given(data=st.data())
def test_sum_at_special_points(data):
    specials = st.sampled_from(bounded_specials)
    pool = data.draw(st.lists(specials, min_size=1, max_size=3), label="pool")
    items = data.draw(st.lists(term(len(pool), specials), max_size=5), label="items")
    start = data.draw(st.one_of(st.none(), term(len(pool), specials)), label="start")
    check_sum(pool, items, start)


@given(data=st.data())
def test_dot_mixed_values_and_numbers_and_bias(data):
    pool = data.draw(pools, label="pool")
    pairs = data.draw(st.lists(st.tuples(term(len(pool), moderate), term(len(pool), moderate)), max_size=8))
    bias = data.draw(st.one_of(st.none(), term(len(pool), moderate)), label="bias")
    check_dot(pool, pairs, bias)


@given(data=st.data())
def test_dot_at_special_points(data):
    specials = st.sampled_from(bounded_specials)
    pool = data.draw(st.lists(specials, min_size=1, max_size=3), label="pool")
    pairs = data.draw(st.lists(st.tuples(term(len(pool), specials), term(len(pool), specials)), max_size=4))
    bias = data.draw(st.one_of(st.none(), term(len(pool), specials)), label="bias")
    check_dot(pool, pairs, bias)


@given(data=st.data())
def test_dot_and_sum_finite_difference(data):
    pool = data.draw(st.lists(finite(-100, 100), min_size=1, max_size=3), label="pool")
    pairs = data.draw(st.lists(st.tuples(term(len(pool), finite(-100, 100)), term(len(pool), finite(-100, 100))),
                               min_size=1, max_size=5))
    k = data.draw(st.integers(0, len(pool) - 1), label="leaf")

    def build(t, value=Value):
        # value=abs rebuilds the same expression over magnitudes: what the rounding errors scale with.
        leaves = [value(t if i == k else x) for i, x in enumerate(pool)]
        ws = [realise(w, leaves) for w, _ in pairs]
        xs = [realise(x, leaves) for _, x in pairs]
        if value is abs:
            ws, xs = [abs(w) for w in ws], [abs(x) for x in xs]
            return 0.5 * (sum(w * x for w, x in zip(ws, xs)) + leaves[0]) + sum(leaves + ws) + 1.0, leaves
        # A dot and a sum over the same leaves: two fused nodes in one graph, sharing operands.
        return scalar.dot(ws, xs, leaves[0]) * 0.5 + scalar.sum(leaves + ws, 1.0), leaves

    # The output is quadratic in one leaf (it may be both w_i and x_i), so the third derivative is 0, and the
    # finite difference errs only by rounding: each evaluation by about (terms + 3) eps times the magnitudes
    # summed (cancellation can make that far more than an ulp of the result), twice, over the step.
    estimate, tol = central_difference(lambda t: build(t)[0].data, pool[k], lambda lo, hi: 0.0)
    out, leaves = build(pool[k])
    out.backward()
    h = EPS ** (1 / 3) * max(1.0, abs(pool[k]))
    magnitude = build(abs(pool[k]) + h, value=abs)[0]
    summing = 2 * (2 * len(pairs) + len(pool) + 4) * EPS * magnitude / (2 * h)
    got = leaves[k].grad
    assert abs(got - estimate) <= tol + summing, f"backward {got!r}, finite difference {estimate!r}"


def test_defaults_and_empty_inputs():
    assert scalar.sum([]).data == 0.0 and scalar.sum([], 2).data == 2.0
    assert scalar.dot([], []).data == 0.0 and scalar.dot([], [], 1.5).data == 1.5
    a, b = Value(2.0), Value(-3.0)
    out = scalar.dot(iter([a, 2]), (x for x in [b, a]), bias=a)  # any iterables
    out.backward()
    assert (out.data, a.grad, b.grad) == (2 * -3 + 2 * 2 + 2, -3 + 2 + 1, 2)


def test_fused_nodes_are_one_node():
    xs = [Value(float(i)) for i in range(10)]
    assert set(scalar.sum(xs)._prev) == set(xs)
    out = scalar.dot(xs, xs[::-1])
    assert len(out._prev) == 20 and all(p in xs for p in out._prev)


def test_dot_length_mismatch_names_both_lengths():
    with pytest.raises(ValueError, match=r"3.*2|2.*3"):
        scalar.dot([1.0, 2.0, 3.0], [Value(1.0), Value(2.0)])


@pytest.mark.parametrize("bad", ["3", b"3", None, 1 + 2j, np.complex64(1 + 2j), [1.0], object()])
def test_fused_reject_non_real_terms_naming_the_type(bad):
    name = type(bad).__name__
    with pytest.raises(TypeError, match=name):
        scalar.sum([Value(1.0), bad])
    with pytest.raises(TypeError, match=name):
        scalar.sum([Value(1.0)], start=bad)
    with pytest.raises(TypeError, match=name):
        scalar.dot([Value(1.0), bad], [2.0, 3.0])
    with pytest.raises(TypeError, match=name):
        scalar.dot([Value(1.0)], [bad])
    if bad is not None:  # None is dot's "no bias"
        with pytest.raises(TypeError, match=name):
            scalar.dot([Value(1.0)], [2.0], bias=bad)


def test_fused_accept_numpy_scalars():
    a = Value(2.0)
    out = scalar.dot([a, np.float32(3.0)], [np.int64(4), a], bias=np.float64(0.5)) + scalar.sum([a, np.int32(1)])
    out.backward()
    assert out.data == 2 * 4 + 3 * 2 + 0.5 + 2 + 1 and a.grad == 4 + 3 + 1
    assert type(out.data) is float
