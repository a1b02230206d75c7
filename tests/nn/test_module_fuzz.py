"""Differential fuzz of ``nn.Module``'s machinery against ``torch.nn.Module``: random module trees (Linear,
Conv2d, LayerNorm, BatchNorm1d with its buffers, Embedding, ReLU, Sequential, ModuleList, ModuleDict and custom
modules whose attributes are assigned, re-assigned, set to None and deleted in random order), with tied
parameters (one parameter under two names), shared sub-modules and ``bias=False``. Each tree is built twice,
once in naivegrad (either engine) and once in torch, with the same names, and the weights copied across; then
the two must agree on ``state_dict()`` (keys, their order, the values), ``named_parameters`` / ``parameters``
(order, and a tied parameter once), ``named_buffers``, ``named_modules`` / ``named_children`` / ``modules``,
``train()`` / ``eval()`` on any sub-module, ``requires_grad_(False)``, ``zero_grad()`` and ``apply``.
``load_state_dict`` is fed damaged state dicts (missing and unexpected keys, wrong shapes and dtypes, values
that are no arrays), strict and not: it must fail exactly when torch does, return torch's ``missing_keys``
and ``unexpected_keys`` in torch's order when it loads, and leave every parameter and buffer as it was when it
fails. State dicts cross the engines bit for bit, and ``.npz`` / ``.safetensors`` files round trip, into
torch (``safetensors.torch.load_file``) and back.

Deterministic under the default hypothesis profile (derandomize=True); ``pytest --deep`` searches further.
The regression tests at the end pin the discrepancies this fuzz found (fixed in naivegrad/nn):

- a module attribute first set to something else (``self.proj = None``) and later to a module was listed at
  the place of that first assignment; torch registers the module when it arrives, so ``state_dict()``,
  ``named_modules()`` and ``named_parameters()`` came in another order;
- ``del module.<buffer>`` removed the attribute but left the buffer in ``state_dict()``;
- a module shared under two names listed its buffers twice in ``named_buffers()`` (torch: once);
- ``load_state_dict(strict=False)`` returned the model instead of torch's ``(missing_keys,
  unexpected_keys)``, so nothing told the caller what was left out; and the missing keys came as all the
  parameters, then all the buffers, not in state-dict order;
- a state-dict key named ``file`` or ``allow_pickle`` (a custom module's top-level parameter) went to
  ``np.savez`` as its own argument: the .npz save raised, or silently dropped that entry;
- ``.safetensors`` files stored 0-d entries (BatchNorm1d's ``num_batches_tracked``) as shape (1,), so the
  model refused its own file; an empty ``.npz`` (a parameter-free model) was "not an .npz archive";
- ``train()`` set every flag itself instead of calling each child's ``train()`` (as torch), so a module
  overriding ``train`` was ignored inside a bigger model;
- a buffer registered under a parameter's name (or the reverse) gave two entries under one state-dict key,
  the first silently lost; a module or a list assigned to a buffer's name became the buffer (torch raises
  in both cases, and so does naivegrad now);
- ``named_parameters(prefix="top")`` (and ``named_buffers``) glued the prefix on: ``"topweight"``, where torch
  gives ``"top.weight"``;
- ``Module`` had no ``named_modules``, ``named_children``, ``apply`` or ``requires_grad_``.

Deliberate differences, documented in ``Module``'s docstrings and not fuzzed as failures:

- ``load_state_dict`` checks everything before writing anything and raises ``KeyError`` (missing or
  unexpected keys), ``ValueError`` (a shape) or ``TypeError`` (no real numbers: strings, None, ragged lists,
  complex arrays); torch raises ``RuntimeError`` after loading what it could, and casts complex to real
  with a warning;
- a tied parameter given two different values in one state dict raises (torch keeps the last);
- a key that names a sub-module itself (``"enc"`` for the module ``enc``) is reported as unexpected; torch
  ignores it silently;
- a plain Python list or tuple of modules held as an attribute is registered (torch only registers a
  ``ModuleList``); not drawn here;
- a state dict without version metadata (a plain dict, ``safetensors.torch.load_file``'s) is taken by torch
  for a checkpoint older than BatchNorm's ``num_batches_tracked``, which it then fills in when missing, and
  any 1-d value loads into a 0-d entry; naivegrad has no checkpoint versions: both are errors (the fuzz gives
  torch its own metadata);
- replacing a parameter needs the old one's shape (torch swaps in anything); a model's files saved as
  .safetensors load with their keys sorted (safetensors keeps no order; loading matches by name).
"""

import copy
import os
import tempfile
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naivegrad import nn
from naivegrad.nn.module import StateDictKeyError

torch = pytest.importorskip("torch")

DTYPES = {"float64": torch.float64, "float32": torch.float32}
# Attribute names of the custom modules: "file" and "allow_pickle" are np.savez's own argument names.
NAMES = ["enc", "dec", "head", "proj", "scale", "gate", "norm", "file", "allow_pickle", "mix"]
KEYS = ["alpha", "beta", "gamma", "delta"]


def few(n):
    """A fraction of the profile's examples (at least n): --deep scales them too."""
    return settings(max_examples=max(n, settings.default.max_examples // 3))


# ---------------------------------------------------------------------------------------------- the trees
leaves = st.one_of(
    st.tuples(st.just("linear"), st.integers(1, 3), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("conv"), st.integers(1, 2), st.integers(1, 2), st.integers(1, 2), st.booleans()),
    st.tuples(st.just("ln"), st.integers(1, 3), st.booleans(), st.booleans()),
    st.tuples(st.just("bn"), st.integers(1, 3), st.booleans(), st.booleans()),
    st.tuples(st.just("emb"), st.integers(2, 4), st.integers(1, 3)),
    st.just(("relu",)),
)

# How one attribute of a custom module is assigned over time: M a module, P a parameter, B a buffer, R a module
# built earlier (shared), N None, X a plain number, D del.
HISTORIES = [("M",), ("P",), ("B",), ("R",), ("N", "M"), ("X", "M"), ("M", "M"), ("M", "N", "M"), ("M", "N"),
             ("M", "D", "M"), ("P", "N"), ("P", "N", "P"), ("N", "P"), ("B", "N"), ("B", "B"), ("B", "N", "B"),
             ("B", "D"), ("P", "D"), ("M", "D")]


@st.composite
def boxes(draw, children, min_size=1):
    names = draw(st.lists(st.sampled_from(NAMES), min_size=min_size, max_size=5, unique=True))
    histories = [draw(st.sampled_from(HISTORIES)) for _ in names]
    steps = []
    for name, hist in zip(names, histories):
        for kind in hist:
            arg = None
            if kind == "M":
                arg = draw(children)
            elif kind in "PB":
                arg = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
            elif kind == "R":
                arg = draw(st.integers(0, 99))
            steps.append((name, kind, arg))
    # Interleave the attributes at random, keeping each attribute's own history in order.
    by_name = {}
    for step in steps:
        by_name.setdefault(step[0], []).append(step)
    order = draw(st.permutations([name for name, _, _ in steps]))
    return ("box", [by_name[name].pop(0) for name in order])


def _extend(children):
    return st.one_of(
        st.tuples(st.just("seq"), st.lists(children, min_size=1, max_size=3)),
        st.tuples(st.just("list"), st.lists(children, max_size=3)),
        st.tuples(st.just("dict"), st.lists(st.tuples(st.sampled_from(KEYS), children), max_size=3,
                                            unique_by=lambda kv: kv[0])),
        boxes(children),
    )


specs = st.recursive(leaves, _extend, max_leaves=8)
trees = boxes(specs, min_size=2)  # a model: a custom module at the top, as in practice
ties = st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99)), max_size=3)


class Box(nn.Module):
    """A custom naivegrad module: its attributes are set by the builder."""


class TBox(torch.nn.Module):
    """Its torch twin."""


class Builder:
    """Builds a spec in naivegrad (``lib="ng"``, on ``backend`` in ``dtype``) or in torch, the same way."""

    def __init__(self, lib, backend="tensor", dtype="float64", seed=0):
        self.lib, self.backend, self.dtype = lib, backend, dtype
        self.rng = np.random.default_rng(seed)
        self.built = []  # every leaf module so far, for the shared ("R") attributes

    def array(self, shape):
        return np.asarray(self.rng.standard_normal(shape), dtype=self.dtype)

    def kw(self):
        if self.lib == "torch":
            return {"dtype": DTYPES[self.dtype]}
        return {"backend": self.backend, "dtype": None if self.backend == "scalar" else self.dtype}

    def leaf(self, spec):
        tn, kw, seed = torch.nn, self.kw(), int(self.rng.integers(1 << 30))
        ng = self.lib == "ng"
        kind = spec[0]
        if kind == "linear":
            _, i, o, bias = spec
            m = nn.Linear(i, o, bias=bias, seed=seed, **kw) if ng else tn.Linear(i, o, bias=bias, **kw)
        elif kind == "conv":
            _, i, o, k, bias = spec
            m = nn.Conv2d(i, o, k, bias=bias, seed=seed, **kw) if ng else tn.Conv2d(i, o, k, bias=bias, **kw)
        elif kind == "ln":
            _, n, affine, bias = spec
            m = (nn.LayerNorm if ng else tn.LayerNorm)(n, elementwise_affine=affine, bias=bias, **kw)
        elif kind == "bn":
            _, c, affine, track = spec
            m = (nn.BatchNorm1d if ng else tn.BatchNorm1d)(c, affine=affine, track_running_stats=track, **kw)
        elif kind == "emb":
            _, n, d = spec
            m = nn.Embedding(n, d, seed=seed, **kw) if ng else tn.Embedding(n, d, **kw)
        else:
            m = nn.ReLU(backend=self.backend) if ng else tn.ReLU()
        self.built.append(m)
        return m

    def build(self, spec):
        ng, kind = self.lib == "ng", spec[0]
        b = {"backend": self.backend} if ng else {}
        if kind == "seq":
            return (nn.Sequential if ng else torch.nn.Sequential)(*[self.build(s) for s in spec[1]], **b)
        if kind == "list":
            return (nn.ModuleList if ng else torch.nn.ModuleList)([self.build(s) for s in spec[1]], **b)
        if kind == "dict":
            return (nn.ModuleDict if ng else torch.nn.ModuleDict)({k: self.build(s) for k, s in spec[1]}, **b)
        if kind == "box":
            return self.box(spec[1])
        return self.leaf(spec)

    def box(self, steps):
        ng = self.lib == "ng"
        m = Box(self.backend, None if self.backend == "scalar" else self.dtype) if ng else TBox()
        for name, kind, arg in steps:
            if kind in "MR":
                value = self.build(arg) if kind == "M" else self.shared(arg)
            elif kind == "P":
                a = self.array(arg)
                value = nn.Parameter(a) if ng else torch.nn.Parameter(torch.tensor(a))
            elif kind == "B":
                a = self.array(arg)
                if name in getattr(m, "_buffers"):  # already a buffer: assignment replaces it
                    setattr(m, name, a if ng else torch.tensor(a))
                else:
                    m.register_buffer(name, a if ng else torch.tensor(a))
                continue
            elif kind == "D":
                delattr(m, name)
                continue
            else:
                value = None if kind == "N" else 3
            setattr(m, name, value)
        self.built.append(m)
        return m

    def shared(self, i):
        if not self.built:
            return self.leaf(("linear", 2, 2, True))
        return self.built[i % len(self.built)]


def submodule(root, path):
    """The module at ``path`` (a named_modules name) of a naivegrad or torch tree."""
    if not path:
        return root
    if isinstance(root, torch.nn.Module):
        return root.get_submodule(path)
    m = root
    for part in path.split("."):
        m = dict(m.named_children())[part]
    return m


def tie(root, pairs):
    """Make parameter j the very parameter i (same shape) of the unique parameter list, for each (i, j)."""
    for i, j in pairs:
        named = list(root.named_parameters())
        if len(named) < 2:
            return
        (src_name, src), (dst_name, dst) = named[i % len(named)], named[j % len(named)]
        if src is dst or tuple(src.shape) != tuple(dst.shape):
            continue
        owner, _, attr = dst_name.rpartition(".")
        setattr(submodule(root, owner), attr, src)


def twins(spec, pairs, backend="tensor", dtype="float64", seed=0):
    """(naivegrad tree, torch tree) of ``spec`` with the ties ``pairs``, holding the same weights."""
    ours = Builder("ng", backend, dtype, seed).build(spec)
    theirs = Builder("torch", backend, dtype, seed).build(spec)
    tie(ours, pairs)
    tie(theirs, pairs)
    theirs.load_state_dict({k: torch.as_tensor(v) for k, v in ours.state_dict().items()})
    return ours, theirs


def torch_dict(module, arrays):
    """``arrays`` as tensors, for ``module.load_state_dict``: with the version metadata of ``module``'s own
    state dicts, else torch takes it for a checkpoint older than BatchNorm's ``num_batches_tracked`` and fills
    that in when it is missing (naivegrad has no checkpoint versions and reports it missing)."""
    out = OrderedDict((k, v if torch.is_tensor(v) else torch.as_tensor(v)) for k, v in arrays.items())
    out._metadata = module.state_dict()._metadata
    return out


def torch_state(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def assert_same_state(ours, theirs, what=""):
    """Same keys in the same order and the same values (dtypes of naivegrad's engine)."""
    assert list(ours) == list(theirs), what
    for k in ours:
        a, b = np.asarray(ours[k]), np.asarray(theirs[k])
        assert a.shape == b.shape, (what, k, a.shape, b.shape)
        np.testing.assert_array_equal(a, b.astype(a.dtype), err_msg=f"{what} {k}")


def names(pairs):
    return [n for n, _ in pairs]


# ---------------------------------------------------------------------------------------------- structure
@given(spec=trees, pairs=ties, backend=st.sampled_from(["tensor", "scalar"]), data=st.data())
def test_structure_matches_torch(spec, pairs, backend, data):
    ours, theirs = twins(spec, pairs, backend)
    assert_same_state(ours.state_dict(), torch_state(theirs))
    assert names(ours.named_parameters()) == names(theirs.named_parameters())
    assert (names(ours.named_parameters(remove_duplicate=False))
            == names(theirs.named_parameters(remove_duplicate=False)))
    unique = [p for _, p in ours.named_parameters()]
    if backend == "tensor":
        assert [id(p) for p in ours.parameters()] == [id(p) for p in unique]
    else:
        assert len(ours.parameters()) == sum(p.size for p in unique) == sum(p.numel() for p in theirs.parameters())
    assert names(ours.named_buffers()) == names(theirs.named_buffers())
    for (n, a), (_, b) in zip(ours.named_buffers(), theirs.named_buffers()):
        np.testing.assert_array_equal(a, b.numpy(), err_msg=n)
    assert names(ours.named_modules()) == names(theirs.named_modules())
    assert (names(ours.named_modules(remove_duplicate=False))
            == names(theirs.named_modules(remove_duplicate=False)))
    assert names(ours.named_children()) == names(theirs.named_children())
    assert [id(m) for m in ours.children()] == [id(m) for _, m in ours.named_children()]
    assert len(list(ours.children())) == len(list(theirs.children()))
    for method in ("named_parameters", "named_buffers", "named_modules"):
        assert names(getattr(ours, method)(prefix="top")) == names(getattr(theirs, method)(prefix="top")), method
    ours_types = [type(m).__name__ for m in ours.modules()]
    assert [n.replace("TBox", "Box") for n in (type(m).__name__ for m in theirs.modules())] == ours_types

    paths = names(theirs.named_modules())
    # train()/eval() on random sub-modules, in turn
    for path, mode in data.draw(st.lists(st.tuples(st.sampled_from(paths), st.booleans()), max_size=4)):
        out = submodule(ours, path).train(mode)
        assert out is submodule(ours, path)
        submodule(theirs, path).train(mode)
        assert [m.training for m in ours.modules()] == [m.training for m in theirs.modules()]
    # apply visits children first, each module once
    seen, tseen = [], []
    ids = {id(m): n for n, m in ours.named_modules()}
    tids = {id(m): n for n, m in theirs.named_modules()}
    assert ours.apply(lambda m: seen.append(ids[id(m)])) is ours
    theirs.apply(lambda m: tseen.append(tids[id(m)]))
    assert seen == tseen

    if backend == "tensor":
        for p in ours.parameters():
            p.grad = np.ones_like(p.data)
        for p in theirs.parameters():
            p.grad = torch.ones_like(p)
        path = data.draw(st.sampled_from(paths))
        submodule(ours, path).zero_grad()
        submodule(theirs, path).zero_grad()
        assert ([p.grad is None for p in ours.parameters()] == [p.grad is None for p in theirs.parameters()])
        path = data.draw(st.sampled_from(paths))
        assert submodule(ours, path).requires_grad_(False) is submodule(ours, path)
        submodule(theirs, path).requires_grad_(False)
        assert [p.requires_grad for p in ours.parameters()] == [p.requires_grad for p in theirs.parameters()]


# ---------------------------------------------------------------------------------------------- loading
EXTRA = st.tuples(st.just("extra"), st.integers(0, 99), st.sampled_from(["bogus", "zz.yy"]))
DAMAGE = st.lists(st.one_of(
    st.tuples(st.just("drop"), st.integers(0, 99)),
    EXTRA, EXTRA,
    st.tuples(st.just("shape"), st.integers(0, 99)),
    st.tuples(st.just("dtype"), st.integers(0, 99), st.sampled_from(["int64", "bool", "float16", "float32"])),
    st.tuples(st.just("junk"), st.integers(0, 99), st.sampled_from(["none", "str", "ragged", "complex"])),
), max_size=4)
JUNK = {"none": None, "str": "abc", "ragged": [[1.0, 2.0], [3.0]]}


def damage(state, mutations, module_paths):
    """A copy of ``state`` (values shifted by one) with the ``mutations``; and the keys given values that are
    no array of real numbers (torch cannot take them, naivegrad must name them)."""
    out = {k: v + 1 for k, v in state.items()}
    junk = set()
    for mutation in mutations:
        keys = list(out)
        if mutation[0] == "extra":
            prefix = module_paths[mutation[1] % len(module_paths)]
            out[(prefix + "." if prefix else "") + mutation[2]] = np.zeros(2)
            continue
        if not keys:
            continue
        k = keys[mutation[1] % len(keys)]
        if mutation[0] == "drop":
            del out[k]
            continue
        if k in junk:
            continue
        v = np.asarray(out[k])
        if mutation[0] == "shape":
            # one more along the last axis; a 0-d entry becomes (1, 1) (torch takes any 1-d value for a 0-d
            # one, for checkpoints of torch 0.3: a difference left out here)
            out[k] = np.zeros(v.shape[:-1] + (v.shape[-1] + 1,) if v.ndim else (1, 1), v.dtype)
        elif mutation[0] == "dtype":
            out[k] = v.astype(mutation[2])
        elif mutation[2] == "complex":
            out[k] = v + 1j
            junk.add(k)
        else:
            out[k] = JUNK[mutation[2]]
            junk.add(k)
    return out, junk & set(out)


@given(spec=trees, pairs=ties, backend=st.sampled_from(["tensor", "scalar"]), mutations=DAMAGE,
       strict=st.booleans())
def test_load_state_dict_matches_torch_and_is_all_or_nothing(spec, pairs, backend, mutations, strict):
    ours, theirs = twins(spec, pairs, backend)
    before = ours.state_dict()
    params = [p for _, p in ours.named_parameters(remove_duplicate=False)]
    incoming, junk = damage(before, mutations, names(theirs.named_modules()))
    try:
        result = ours.load_state_dict(incoming, strict=strict)
        error = None
    except (KeyError, ValueError, TypeError) as exc:
        error = exc
    if error is not None:
        # all or nothing: every parameter object and every value as it was
        assert all(a is b for a, b in zip((p for _, p in ours.named_parameters(remove_duplicate=False)), params))
        after = ours.state_dict()
        assert list(after) == list(before)
        for k in before:
            np.testing.assert_array_equal(after[k], before[k], err_msg=k)
        assert any(repr(k) in str(error) for k in list(incoming) + list(before)), error
        if isinstance(error, ValueError) and "shape" in str(error):
            k = next(k for k in before if repr(k) in str(error))
            assert str(np.shape(incoming[k])) in str(error) and str(before[k].shape) in str(error), error
    if isinstance(error, ValueError) and "shared (tied)" in str(error):
        return  # two different values for one tied parameter: torch keeps the last (a documented difference)
    if junk & set(before):
        assert error is not None  # a TypeError naming the key, unless another error came first
        if len(junk) == len(mutations) == 1 and set(incoming) <= set(before):
            assert isinstance(error, TypeError) and repr(next(iter(junk))) in str(error), error
        return
    # junk under unexpected keys: torch reports such a key without reading it, so any tensor stands in
    tincoming = {k: torch.zeros(1) if k in junk else v for k, v in incoming.items()}
    twin = copy.deepcopy(theirs)
    try:
        tresult = twin.load_state_dict(torch_dict(twin, tincoming), strict=strict)
    except RuntimeError as exc:
        assert error is not None, f"torch raised, naivegrad did not: {exc}"
        return
    assert error is None, f"naivegrad raised, torch did not: {error!r}"
    assert result.missing_keys == tresult.missing_keys
    assert result.unexpected_keys == tresult.unexpected_keys
    assert_same_state(ours.state_dict(), torch_state(twin))


@given(spec=trees, pairs=ties, backend=st.sampled_from(["tensor", "scalar"]),
       mutations=st.lists(st.one_of(EXTRA, st.tuples(st.just("drop"), st.integers(0, 99))), min_size=2,
                          max_size=5))
def test_missing_and_unexpected_keys_come_in_torchs_order(spec, pairs, backend, mutations):
    """Only missing and unexpected keys, so that every case loads (strict=False) and the lists are compared."""
    ours, theirs = twins(spec, pairs, backend)
    incoming, _ = damage(ours.state_dict(), mutations, names(theirs.named_modules()))
    result = ours.load_state_dict(incoming, strict=False)
    twin = copy.deepcopy(theirs)
    tresult = twin.load_state_dict(torch_dict(twin, incoming), strict=False)
    assert result == (tresult.missing_keys, tresult.unexpected_keys)
    assert_same_state(ours.state_dict(), torch_state(twin))
    wrong = result.missing_keys + result.unexpected_keys
    if wrong:
        with pytest.raises(StateDictKeyError, match=repr(wrong[0]).replace(".", r"\.")):
            copy.deepcopy(ours).load_state_dict(incoming)


@few(20)
@given(spec=trees, pairs=ties, dtype=st.sampled_from(["float64", "float32"]), seed=st.integers(0, 3))
def test_state_dicts_cross_the_engines_exactly(spec, pairs, dtype, seed):
    tensor_model, _ = twins(spec, pairs, "tensor", dtype, seed)
    scalar_model, _ = twins(spec, pairs, "scalar", seed=seed + 1)
    state = tensor_model.state_dict()
    scalar_model.load_state_dict(state)
    assert_same_state(scalar_model.state_dict(), state)
    back, _ = twins(spec, pairs, "tensor", dtype, seed + 2)
    back.load_state_dict(scalar_model.state_dict())
    assert_same_state(back.state_dict(), state)
    for (k, a), b in zip(back.state_dict().items(), state.values()):
        assert a.dtype == b.dtype, k


# ---------------------------------------------------------------------------------------------- files
@few(20)
@given(spec=trees, pairs=ties, backend=st.sampled_from(["tensor", "scalar"]),
       suffix=st.sampled_from([".npz", ".safetensors"]))
def test_files_round_trip_and_open_in_torch(spec, pairs, backend, suffix):
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file, save_file

    ours, theirs = twins(spec, pairs, backend, seed=0)
    other, tother = twins(spec, pairs, backend, seed=5)
    state = ours.state_dict()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model" + suffix)
        nn.save(ours, path)
        read = nn.load(path)
        assert sorted(read) == sorted(state) and (suffix != ".npz" or list(read) == list(state))
        for k in state:
            np.testing.assert_array_equal(read[k], state[k], err_msg=k)
            assert read[k].dtype == state[k].dtype and read[k].shape == state[k].shape, k
        assert other.load(path) is other
        assert_same_state(other.state_dict(), state)
        if suffix == ".safetensors":
            tother.load_state_dict(torch_dict(tother, load_file(path)), strict=True)
            assert_same_state(state, torch_state(tother))
            # and from torch: the twin's own file (tied tensors cloned: safetensors refuses shared memory)
            tfresh = copy.deepcopy(tother)
            for p in tfresh.parameters():
                p.data.mul_(-1)
            save_file({k: v.detach().clone().contiguous() for k, v in tfresh.state_dict().items()}, path)
            other.load(path)
            assert_same_state(other.state_dict(), torch_state(tfresh))


# ---------------------------------------------------------------------------------------------- regressions
def test_a_module_assigned_over_a_placeholder_is_registered_when_it_arrives():
    """``self.proj = None`` first and a module later: torch registers the module then, after the ones
    assigned in between; naivegrad listed it at the placeholder's place, so the state dict's order differed.
    A child set to None keeps its place for the next module, in both."""
    ours, theirs = Box("tensor", np.float64), TBox()
    for m, linear in ((ours, lambda: nn.Linear(1, 1, dtype=np.float64)),
                      (theirs, lambda: torch.nn.Linear(1, 1, dtype=torch.float64))):
        m.proj = None
        m.enc = linear()
        m.proj = linear()
        m.dec = linear()
        m.enc = None
        m.enc = linear()
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "enc.weight", "enc.bias", "proj.weight", "proj.bias", "dec.weight", "dec.bias"]
    assert names(ours.named_modules()) == names(theirs.named_modules()) == ["", "enc", "proj", "dec"]


def test_a_deleted_buffer_leaves_the_state_dict():
    """``del m.<buffer>`` removed the attribute but not the buffer: it stayed in state_dict()."""
    m = Box("tensor", np.float64)
    m.register_buffer("mix", np.zeros(2))
    m.register_buffer("gate", np.ones(1))
    del m.mix
    assert list(m.state_dict()) == ["gate"] and names(m.named_buffers()) == ["gate"]
    m.register_buffer("mix", np.zeros(3))  # and the name is free again
    assert list(m.state_dict()) == ["gate", "mix"]


def test_a_shared_modules_buffers_are_listed_once():
    """A module under two names: torch's named_buffers() gives each buffer once (the state dict under both
    names); naivegrad listed them twice."""
    bn = nn.BatchNorm1d(2)
    m = Box()
    m.enc = bn
    m.dec = bn
    assert names(m.named_buffers()) == ["enc.running_mean", "enc.running_var", "enc.num_batches_tracked"]
    assert len(list(m.named_buffers(remove_duplicate=False))) == 6 and len(m.state_dict()) == 10
    assert names(m.named_children()) == ["enc"] and list(m.children()) == [bn]


def test_load_state_dict_returns_missing_and_unexpected_keys_as_torch():
    """strict=False returned the model, so nothing said what was left out; now torch's (missing_keys,
    unexpected_keys), each in torch's order: missing keys in state-dict order (a BatchNorm's buffers before
    the next module's parameters, not all parameters first), unexpected ones by the module they fall under."""
    ours = Box()
    ours.norm = nn.BatchNorm1d(2, dtype=np.float64)
    ours.head = nn.Linear(2, 1, dtype=np.float64)
    theirs = TBox()
    theirs.norm = torch.nn.BatchNorm1d(2, dtype=torch.float64)
    theirs.head = torch.nn.Linear(2, 1, dtype=torch.float64)
    state = {"head.bogus": np.zeros(1), "bogus": np.zeros(1), "norm.weight": np.full(2, 3.0)}
    result = ours.load_state_dict(state, strict=False)
    want = theirs.load_state_dict(torch_dict(theirs, state), strict=False)
    assert result.missing_keys == want.missing_keys == [
        "norm.bias", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked", "head.weight",
        "head.bias"]
    assert result.unexpected_keys == want.unexpected_keys == ["bogus", "head.bogus"]
    np.testing.assert_array_equal(ours.state_dict()["norm.weight"], [3.0, 3.0])
    assert ours.load_state_dict(ours.state_dict()) == ([], [])
    assert ours.load(_saved(ours)) is ours  # Module.load still returns the model


def _saved(model, suffix=".npz"):
    path = os.path.join(tempfile.mkdtemp(), "m" + suffix)
    nn.save(model, path)
    return path


@pytest.mark.parametrize("name", ["file", "allow_pickle"])
def test_npz_entries_may_have_savez_argument_names(name):
    """np.savez(f, **state) took an entry named ``file`` or ``allow_pickle`` for its own argument: the save
    raised, or (``allow_pickle`` of one element) dropped the entry without a word."""
    m = Box("tensor", np.float64)
    setattr(m, name, nn.Parameter(np.array([2.5])))
    m.head = nn.Linear(1, 1, dtype=np.float64)
    read = nn.load(_saved(m))
    assert list(read) == [name, "head.weight", "head.bias"]
    np.testing.assert_array_equal(read[name], [2.5])


def test_safetensors_keep_zero_d_entries():
    """``np.ascontiguousarray`` makes a 0-d array (1,): a BatchNorm1d's ``num_batches_tracked`` came back
    with shape (1,), which the model refused (torch takes it, for torch 0.3's checkpoints)."""
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file

    bn = nn.BatchNorm1d(3, dtype=np.float64)
    bn.num_batches_tracked[...] = 7
    path = _saved(bn, ".safetensors")
    assert nn.load(path)["num_batches_tracked"].shape == ()
    assert load_file(path)["num_batches_tracked"].shape == ()
    again = nn.BatchNorm1d(3, dtype=np.float64)
    again.load(path)
    assert int(again.num_batches_tracked) == 7


def test_a_parameter_free_model_round_trips_through_npz():
    """An empty .npz (a model without parameters or buffers) starts with the zip's end record, not a file
    header: load() called it "not an .npz archive"."""
    m = nn.Sequential(nn.ReLU())
    assert nn.load(_saved(m)) == {}
    assert m.load(_saved(m)) is m


def test_train_calls_each_childs_own_train():
    """torch's train() calls every child's train(), so a module that overrides it (to keep a frozen part in
    eval) is obeyed inside a bigger model; naivegrad set every flag directly."""

    class Frozen(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.BatchNorm1d(2)

        def train(self, mode=True):
            super().train(mode)
            self.norm.eval()
            return self

    m = nn.Sequential(nn.Linear(2, 2), Frozen())
    m.train()
    assert [x.training for x in m.modules()] == [True, True, True, False]


def test_registering_a_name_twice_raises():
    """A buffer registered under a parameter's name (or the reverse) gave one state-dict key for two entries,
    the second silently overwriting the first; torch raises KeyError, and so does naivegrad now."""
    with pytest.raises(KeyError, match="'weight'.*parameter"):
        nn.Linear(2, 2).register_buffer("weight", np.zeros((2, 2)))
    with pytest.raises(KeyError, match="'running_mean'.*buffer"):
        nn.BatchNorm1d(2).register_parameter("running_mean", np.zeros(2))
    m = Box()
    m.enc = nn.Linear(1, 1)
    with pytest.raises(KeyError, match="'enc'.*sub-module"):
        m.register_buffer("enc", np.zeros(1))


def test_requires_grad_on_the_scalar_engine_says_why_it_cannot():
    """The scalar engine's Values have no requires_grad flag: a clear NotImplementedError, not an
    AttributeError from deep inside."""
    with pytest.raises(NotImplementedError, match="scalar backend"):
        nn.Linear(2, 2, backend="scalar").requires_grad_(False)
    assert nn.ReLU(backend="scalar").requires_grad_(False) is not None  # nothing to freeze


def test_a_prefix_is_joined_with_a_dot():
    """``named_parameters(prefix="top")`` gave ``"topweight"``; torch: ``"top.weight"``."""
    m = nn.BatchNorm1d(2)
    assert names(m.named_parameters(prefix="top")) == ["top.weight", "top.bias"]
    assert names(m.named_buffers(prefix="top"))[0] == "top.running_mean"
    assert names(m.named_modules(prefix="top")) == ["top"]


def test_a_buffer_takes_only_arrays():
    """A module or a list assigned to a buffer's name became the buffer: the state dict then held an object
    array, and load_state_dict failed half-way through its writes (torch raises TypeError, as now here)."""
    bn = nn.BatchNorm1d(2)
    for value in (nn.Linear(1, 1), [0.0, 0.0], "abc"):
        with pytest.raises(TypeError, match="buffer BatchNorm1d.running_mean"):
            bn.running_mean = value
    bn.running_mean = np.full(2, 3.0, np.float32)
    bn.running_var = None
    assert names(bn.named_buffers()) == ["running_mean", "num_batches_tracked"]
    del bn.running_mean
    bn.running_mean = nn.Linear(1, 1)  # a deleted buffer's name is free
    assert names(bn.named_children()) == ["running_mean"]


def test_children_are_modules_each_once_as_in_torch():
    """children() yielded (name, module) pairs, a module held under two names twice: ``for layer in
    model.children(): layer(x)`` failed on a tuple. Now the modules, each once, as torch's children()."""
    lin = nn.Linear(2, 2)
    m, tm = Box(), torch.nn.Module()
    m.a, m.b, m.c = lin, nn.ReLU(), lin
    tlin = torch.nn.Linear(2, 2)
    tm.a, tm.b, tm.c = tlin, torch.nn.ReLU(), tlin
    assert [type(c).__name__ for c in m.children()] == [type(c).__name__ for c in tm.children()] == ["Linear", "ReLU"]
    assert list(m.children())[0] is lin

