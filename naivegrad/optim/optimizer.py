"""``Optimizer``: the base class of every optimizer, for Value and Tensor parameters alike.

An optimizer writes its update rule once, as in-place numpy arithmetic on a parameter array ``p``, its
gradient ``g`` and its state arrays (``_update``). This class feeds that rule from either engine:

- a group of scalar ``Value`` parameters is gathered into one float64 vector, updated by a few vectorised
  numpy operations and written back, so a few hundred Values cost about what one array does;
- each ``Tensor`` parameter is updated in place, in its own dtype; one whose ``grad`` is None (no backward has
  reached it yet) is skipped, as in PyTorch.

Both engines therefore run the very same arithmetic, element by element.
"""

import math
from collections.abc import Iterable, Mapping
from numbers import Real

import numpy as np

from ..engines import SCALAR, TENSOR, engine_of
from ..grad_mode import enable_grad

__all__ = ["Optimizer"]

_NAMES = {SCALAR: "Value", TENSOR: "Tensor"}  # a parameter's kind, as the messages and repr name it


def _type_name(x):
    """``float``, ``Value``, but ``torch.Tensor`` and ``numpy.ndarray``: other libraries' types by full name."""
    t = type(x)
    if t.__module__ in ("builtins", None) or t.__module__.startswith("naivegrad."):
        return t.__name__
    return f"{t.__module__}.{t.__qualname__}"


def _engine(p):
    """The engine whose update path steps ``p`` (``naivegrad.engines.engine_of``), or None.

    On purpose, the tensor path also takes stand-ins shaped like a Tensor: a numpy array in ``.data`` and a
    ``.grad`` attribute (it reads and writes nothing else), as the optimizer tests' ``StandIn`` is.
    """
    engine = engine_of(p)
    if engine is None and isinstance(getattr(p, "data", None), np.ndarray) and hasattr(p, "grad"):
        return TENSOR
    return engine


def _kind(p, where):
    """SCALAR or TENSOR for a parameter that can be optimized, else a TypeError naming ``where`` and its type."""
    engine = _engine(p)
    if engine == TENSOR and not np.issubdtype(p.data.dtype, np.floating):
        raise TypeError(f"{where} has dtype {p.data.dtype}: only floating-point Tensors can be optimized")
    if engine is None:
        raise TypeError(f"{where} is a {_type_name(p)}, not a naivegrad Value or Tensor")
    return engine


def _as_list(params, what):
    """``params`` as a list, refusing the inputs that are almost certainly a mistake."""
    if _engine(params) is not None:
        raise TypeError(f"{what} must be an iterable of Values or Tensors, got a single {_type_name(params)}: "
                        "wrap it in a list")
    if callable(getattr(params, "parameters", None)):
        raise TypeError(f"{what} must be an iterable of Values or Tensors, got a {_type_name(params)}: "
                        "pass model.parameters()")
    if isinstance(params, (set, frozenset)):
        # A set's order changes between runs, and state_dict() identifies parameters by position.
        raise TypeError(f"{what} must be an ordered iterable (a list), got a {_type_name(params)}")
    if isinstance(params, (str, bytes)) or not isinstance(params, Iterable):
        raise TypeError(f"{what} must be an iterable of Values or Tensors, got {_type_name(params)}: {params!r}")
    return list(params)


def check_real(name, value, low=0.0, high=math.inf, *, high_open=False):
    """Raise unless ``value`` is a finite real number in [low, high] (or [low, high) with ``high_open``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {_type_name(value)}: {value!r}")
    v = float(value)
    too_high = v >= high if high_open else v > high
    if not math.isfinite(v) or v < low or too_high:
        if high == math.inf:
            rule = f">= {low:g}"
        else:
            rule = f"in [{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"invalid {name}: {value!r} (must be finite and {rule})")


def check_bool(name, value):
    """Raise unless ``value`` is a bool (numpy's included): a flag given as 0.9 is a typo, not a wish."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_type_name(value)}: {value!r}")


def lerp_(start, end, weight):
    """``start += weight * (end - start)`` in place, with torch.lerp's two formulas (each exact at its end)."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        np.subtract(end, (end - start) * (1 - weight), out=start)


class Optimizer:
    """Base class: holds parameter groups and per-parameter state, and steps both engines' parameters.

    ``params`` is an iterable of Values or Tensors (a generator is fine: it is read once), or of dicts, each
    a parameter group ``{"params": [...], "lr": ...}`` whose entries override ``defaults``. A group holds one
    kind of parameter; Values and Tensors may sit in different groups of one optimizer.
    Subclasses define ``_check_group(group)`` (validate, in place) and ``_update(p, g, state, group)``.

    >>> opt = naivegrad.optim.SGD(model.parameters(), lr=0.1)
    >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    #: Names of the state arrays an optimizer may keep per parameter, in state_dict order.
    _state_names = ()
    #: Those that every parameter which has taken a step must have.
    _required_state = ()

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self._check_group(self.defaults)
        self.param_groups = []
        self._kinds = []   # per group: SCALAR or TENSOR
        self._states = []  # per group: one dict of packed arrays (Values), or one dict per Tensor
        if isinstance(params, Mapping):
            params = [params]
        items = _as_list(params, "params")
        if not items:
            raise ValueError("optimizer got an empty parameter list")
        if all(isinstance(x, Mapping) for x in items):
            groups = items
        elif any(isinstance(x, Mapping) for x in items):
            raise TypeError("params must be all parameters or all parameter-group dicts, not a mix")
        else:
            groups = [{"params": items}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a group ``{"params": [...], **hyper_parameters}``; missing hyper-parameters take the defaults."""
        if not isinstance(param_group, Mapping):
            raise TypeError(f"a parameter group must be a dict, got {_type_name(param_group)}")
        index = len(self.param_groups)
        if "params" not in param_group:
            raise KeyError(f"parameter group {index} has no 'params' entry")
        unknown = [k for k in param_group if k != "params" and k not in self.defaults]
        if unknown:
            raise KeyError(f"parameter group {index} has unknown option {unknown[0]!r}; "
                           f"{type(self).__name__} takes {', '.join(self.defaults)}")
        params = _as_list(param_group["params"], f"parameter group {index}'s params")
        if not params:
            raise ValueError(f"parameter group {index} has an empty parameter list")
        kinds = [_kind(p, f"parameter {i} of group {index}") for i, p in enumerate(params)]
        if any(k != kinds[0] for k in kinds):
            j = next(i for i, k in enumerate(kinds) if k != kinds[0])
            raise TypeError(f"parameter group {index} mixes Values and Tensors (parameter 0 is a "
                            f"{_NAMES[kinds[0]]}, parameter {j} a {_NAMES[kinds[j]]}): put each kind in its own "
                            "parameter group")
        seen = {id(p): (g, i) for g, grp in enumerate(self.param_groups) for i, p in enumerate(grp["params"])}
        for i, p in enumerate(params):
            if id(p) in seen:
                g, j = seen[id(p)]
                raise ValueError(f"parameter {i} of group {index} is also parameter {j} of group {g}: "
                                 "each parameter may appear only once")
            seen[id(p)] = (index, i)
        group = {"params": params}
        for k, v in self.defaults.items():
            group[k] = param_group.get(k, v)
        self._check_group(group)
        self.param_groups.append(group)
        self._kinds.append(kinds[0])
        self._states.append({"step": 0} if kinds[0] == SCALAR else [{"step": 0} for _ in params])

    def _check_group(self, group):
        """Validate (and normalise, in place) a group's hyper-parameters."""

    def _update(self, p, g, state, group):
        """Update the array ``p`` in place from gradient ``g`` (never modified), and ``state``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ stepping
    def step(self, closure=None):
        """Update every parameter from its gradient; returns ``closure()`` (evaluated first) if one is given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for gi, (group, kind, state) in enumerate(zip(self.param_groups, self._kinds, self._states)):
            if kind == SCALAR:
                self._step_values(group["params"], state, group)
            else:
                self._step_tensors(gi, group["params"], state, group)
        return loss

    def _step_values(self, params, state, group):
        """One step of a group of Values: gather data and grads into float64 vectors, update, write back."""
        n = len(params)
        p = np.fromiter((v.data for v in params), np.float64, n)
        g = np.fromiter((v.grad for v in params), np.float64, n)
        state["step"] += 1
        self._update(p, g, state, group)
        for v, x in zip(params, p.tolist()):
            v.data = x

    def _step_tensors(self, gi, params, states, group):
        """One step of a group of Tensors, each updated in place; those without a gradient are skipped."""
        for i, (t, st) in enumerate(zip(params, states)):
            g = t.grad
            if g is None:
                continue
            if not isinstance(g, np.ndarray):
                g = getattr(g, "data", g)  # a grad that is itself a Tensor
                if not isinstance(g, np.ndarray):
                    raise TypeError(f"parameter {i} of group {gi}: grad is a {_type_name(t.grad)}, "
                                    "not a numpy array")
            p = t.data
            if g.shape != p.shape:
                raise ValueError(f"parameter {i} of group {gi}: grad has shape {g.shape} but data has "
                                 f"shape {p.shape}")
            st["step"] += 1
            self._update(p, g, st, group)

    def zero_grad(self, set_to_none=True):
        """Reset gradients: a Value's grad to 0.0; a Tensor's to None (PyTorch's default), or zeros if
        ``set_to_none=False``."""
        for group, kind in zip(self.param_groups, self._kinds):
            if kind == SCALAR:
                for v in group["params"]:
                    v.grad = 0.0
            else:
                for t in group["params"]:
                    if set_to_none:
                        t.grad = None
                    elif t.grad is not None:
                        # A fresh array: the engine may share a grad array with other nodes, so no in-place fill.
                        t.grad = np.zeros_like(t.data)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self):
        """The optimizer's hyper-parameters and state, as a flat dict of numbers and numpy arrays.

        Ready for ``np.savez(path, **opt.state_dict())``. Keys, for group ``g``:
        ``param_groups.g.<name>`` each hyper-parameter; ``param_groups.g.sizes`` each parameter's element
        count (a Value counts 1); ``state.g.step`` each parameter's number of steps taken (int64);
        ``state.g.<name>`` (e.g. ``exp_avg``) the group's parameters' state flattened and concatenated in
        order, as float64 (zeros for a parameter that has not taken a step yet); and, only if some parameter
        has taken steps without an optional state the others have (SGD's momentum turned on mid-run), its
        index in ``state.g.<name>.absent`` (int64), so that it resumes without it. The arrays are copies.
        """
        sd = {}
        for gi, (group, kind, state) in enumerate(zip(self.param_groups, self._kinds, self._states)):
            params = group["params"]
            for k in self.defaults:
                sd[f"param_groups.{gi}.{k}"] = group[k]
            if kind == SCALAR:
                n = len(params)
                sd[f"param_groups.{gi}.sizes"] = np.ones(n, np.int64)
                sd[f"state.{gi}.step"] = np.full(n, state["step"], np.int64)
                for name in self._state_names:
                    if name in state:
                        sd[f"state.{gi}.{name}"] = np.array(state[name], np.float64)
                continue
            sizes = np.array([t.data.size for t in params], np.int64)
            sd[f"param_groups.{gi}.sizes"] = sizes
            sd[f"state.{gi}.step"] = np.array([st["step"] for st in state], np.int64)
            ends = np.cumsum(sizes)
            for name in self._state_names:
                if any(name in st for st in state):
                    packed = np.zeros(int(ends[-1]), np.float64)
                    for st, end, size in zip(state, ends, sizes):
                        if name in st:
                            packed[end - size:end] = st[name].ravel()
                    sd[f"state.{gi}.{name}"] = packed
                    # A parameter that has stepped without this state (SGD's momentum turned on mid-run, its
                    # grad None since) must not come back with zeros: SGD starts a missing buffer at the
                    # gradient itself. Listed by index, and only when there is one, so other dicts are unchanged.
                    absent = [i for i, st in enumerate(state) if st["step"] and name not in st]
                    if absent:
                        sd[f"state.{gi}.{name}.absent"] = np.array(absent, np.int64)
        return sd

    def load_state_dict(self, state_dict):
        """Restore hyper-parameters and state saved by ``state_dict()`` (or read back from an .npz file).

        Everything is checked first: a missing or unexpected key raises KeyError, a group whose parameter
        count or sizes differ raises ValueError, each naming the key; on any error the optimizer is unchanged.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict needs a mapping (a dict or an np.load'ed .npz), "
                            f"got {_type_name(state_dict)}")
        sd = dict(state_dict)
        saved_groups = {k.split(".")[1] for k in sd if k.startswith("param_groups.") and k.count(".") >= 2}
        if saved_groups != {str(i) for i in range(len(self.param_groups))}:
            raise ValueError(f"the state dict has {len(saved_groups)} parameter group(s), "
                             f"this optimizer has {len(self.param_groups)}")
        used = set()

        def take(key):
            if key not in sd:
                raise KeyError(f"the optimizer state dict has no {key!r}")
            used.add(key)
            return sd[key]

        new_hypers, new_states = [], []
        for gi, (group, kind) in enumerate(zip(self.param_groups, self._kinds)):
            params = group["params"]
            hyper = {k: _plain(f"param_groups.{gi}.{k}", take(f"param_groups.{gi}.{k}"), v)
                     for k, v in self.defaults.items()}
            candidate = dict(group, **hyper)
            try:
                self._check_group(candidate)
            except (TypeError, ValueError) as e:
                raise type(e)(f"param_groups.{gi}: {e}") from None
            new_hypers.append({k: candidate[k] for k in self.defaults})

            sizes_key = f"param_groups.{gi}.sizes"
            sizes = _int_vector(sizes_key, take(sizes_key))
            own = [1] * len(params) if kind == SCALAR else [t.data.size for t in params]
            if sizes.tolist() != own:
                raise ValueError(f"{sizes_key}: saved for {len(sizes)} parameter(s) of sizes "
                                 f"{_short(sizes.tolist())}, but group {gi} has {len(own)} of sizes {_short(own)}")
            step_key = f"state.{gi}.step"
            steps = _int_vector(step_key, take(step_key))
            if len(steps) != len(own) or (steps < 0).any():
                raise ValueError(f"{step_key}: expected {len(own)} step counts >= 0, got {_short(steps.tolist())}")
            total = sum(own)
            arrays, absent = {}, {}
            for name in self._state_names:
                key = f"state.{gi}.{name}"
                if key in sd:
                    arr = np.asarray(take(key))
                    if not np.issubdtype(arr.dtype, np.floating):
                        raise TypeError(f"{key}: expected floating-point values, got dtype {arr.dtype}")
                    if arr.shape != (total,):
                        raise ValueError(f"{key}: expected shape ({total},), got {arr.shape}")
                    arrays[name] = arr
                    absent_key = f"{key}.absent"
                    if absent_key in sd:
                        idx = _int_vector(absent_key, take(absent_key))
                        if ((idx < 0) | (idx >= len(own))).any() or name in self._required_state:
                            raise ValueError(f"{absent_key}: expected indices of parameters in [0, {len(own)}) "
                                             f"without an optional state, got {_short(idx.tolist())}")
                        absent[name] = set(idx.tolist())
                elif name in self._required_state and steps.any():
                    raise KeyError(f"the optimizer state dict has no {key!r}, needed after step 0")

            if kind == SCALAR:
                if (steps != steps[0]).any():
                    raise ValueError(f"{step_key}: the Values of one group step together, "
                                     f"but the saved step counts differ: {_short(steps.tolist())}")
                st = {"step": int(steps[0])}
                if st["step"]:
                    st.update((name, arr.astype(np.float64)) for name, arr in arrays.items())
                new_states.append(st)
                continue
            per_param, start = [], 0
            for i, (t, size, step) in enumerate(zip(params, own, steps.tolist())):
                st = {"step": step}
                if step:
                    for name, arr in arrays.items():
                        if i in absent.get(name, ()):
                            continue
                        st[name] = arr[start:start + size].astype(t.data.dtype).reshape(t.data.shape)
                per_param.append(st)
                start += size
            new_states.append(per_param)

        unexpected = sorted(set(sd) - used)
        if unexpected:
            raise KeyError(f"unexpected key {unexpected[0]!r} in the state dict for this {type(self).__name__}"
                           + (f" (and {len(unexpected) - 1} more)" if len(unexpected) > 1 else ""))
        for group, hyper in zip(self.param_groups, new_hypers):
            group.update(hyper)
        self._states = new_states

    # ------------------------------------------------------------------ display
    def __repr__(self):
        parts = []
        for group, kind in zip(self.param_groups, self._kinds):
            n = len(group["params"])
            hyper = ", ".join(f"{k}={group[k]!r}" for k in self.defaults)
            parts.append(f"{hyper}; {n} {_NAMES[kind]}{'s' if n != 1 else ''}")
        return f"{type(self).__name__}({' | '.join(parts)})"


def _short(xs, limit=8):
    return repr(xs) if len(xs) <= limit else repr(xs[:limit])[:-1] + ", ...]"


def _int_vector(key, value):
    arr = np.asarray(value)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise ValueError(f"{key}: expected a 1-D integer array, got dtype {arr.dtype} and shape {arr.shape}")
    return arr.astype(np.int64)


def _plain(key, value, default):
    """A saved hyper-parameter (maybe a 0-d or 1-d array read back from .npz) as the Python type of ``default``."""
    arr = np.asarray(value)
    if isinstance(default, tuple):
        if arr.shape != (len(default),) or not np.issubdtype(arr.dtype, np.number):
            raise ValueError(f"{key}: expected {len(default)} numbers, got {value!r}")
        return tuple(arr.tolist())
    if arr.shape != () or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ValueError(f"{key}: expected a single number, got {value!r}")
    return arr.item()
