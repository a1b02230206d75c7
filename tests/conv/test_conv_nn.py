"""The image layers on both backends: same weights, outputs and gradients; PyTorch's names, shapes and init;
state dicts that load into the equivalent torch model."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from naivegrad import nn, optim

FEW = max(8, settings.default.max_examples // 6)


def small_convnet(backend, seed, groups=1, padding=1, pool="max", bias=True, dtype=None):
    """conv -> relu -> pool -> grouped conv -> tanh -> pool -> flatten -> relu -> linear, on 2 x 7 x 6 images."""
    rng = np.random.default_rng(seed)
    Pool = nn.MaxPool2d if pool == "max" else nn.AvgPool2d
    h, w = (7, 6) if padding == "same" else (7 + 2 * padding - 2, 6 + 2 * padding - 2)
    h, w = h - 1, w - 1                # 2x2 pool, stride 1
    h, w = h - 1, w                    # (2, 1) kernel
    h, w = h // 2 + 1, w // 2 + 1      # 2x2 pool, stride 2, padding 1
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=padding, bias=bias, backend=backend, seed=rng, dtype=dtype),
        nn.ReLU(),
        Pool(2, stride=1),
        nn.Conv2d(4, 4, (2, 1), groups=groups, backend=backend, seed=rng, dtype=dtype),
        nn.Tanh(),
        Pool((2, 2), padding=1),
        nn.Flatten(),
        nn.ReLU(),
        nn.Linear(4 * h * w, 3, backend=backend, seed=rng, dtype=dtype),
    )


@settings(max_examples=FEW)
@given(st.integers(0, 2**31 - 1), st.sampled_from([1, 2, 4]), st.sampled_from([0, 1, "same"]),
       st.sampled_from(["max", "avg"]), st.booleans(), st.integers(1, 3))
def test_both_backends_give_the_same_outputs_and_gradients(seed, groups, padding, pool, bias, batch):
    s = small_convnet("scalar", seed, groups, padding, pool, bias)
    t = small_convnet("tensor", seed, groups, padding, pool, bias, dtype=np.float64)
    for k, v in s.state_dict().items():
        np.testing.assert_array_equal(v, t.state_dict()[k])
    x = np.random.default_rng(seed).standard_normal((batch, 2, 7, 6))
    labels = np.arange(batch) % 3
    s_out, t_out = s(x), t(x)
    np.testing.assert_allclose(np.array([[v.data for v in row] for row in s_out]), t_out.data, rtol=1e-12,
                               atol=1e-12)
    nn.cross_entropy(s_out, labels).backward()
    nn.cross_entropy(t_out, labels).backward()
    for (name, gs), (_, gt) in zip(s.grad_dict().items(), t.grad_dict().items()):
        np.testing.assert_allclose(gs, gt, rtol=1e-10, atol=1e-12, err_msg=name)


def test_adam_steps_agree_on_both_backends():
    s = small_convnet("scalar", 3)
    t = small_convnet("tensor", 3, dtype=np.float64)
    opt_s, opt_t = optim.Adam(s.parameters(), lr=1e-2), optim.Adam(t.parameters(), lr=1e-2)
    x = np.random.default_rng(0).standard_normal((2, 2, 7, 6))
    for _ in range(3):
        for model, opt in ((s, opt_s), (t, opt_t)):
            opt.zero_grad()
            nn.cross_entropy(model(x), [0, 2]).backward()
            opt.step()
    for (name, a), (_, b) in zip(s.state_dict().items(), t.state_dict().items()):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=name)


def test_the_issue_convnet_agrees_on_both_backends():
    # conv-relu-pool twice, flatten, linear: the MNIST ConvNet's layer order, on 2 small images.
    def convnet(backend):
        rng = np.random.default_rng(0)
        dtype = np.float64 if backend == "tensor" else None
        return nn.Sequential(nn.Conv2d(1, 3, 3, backend=backend, seed=rng, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(3, 4, 3, backend=backend, seed=rng, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(4, 10, backend=backend, seed=rng, dtype=dtype))

    s, t = convnet("scalar"), convnet("tensor")
    x = np.random.default_rng(1).standard_normal((2, 1, 10, 10))
    s_out, t_out = s(x), t(x)
    np.testing.assert_allclose(np.array([[v.data for v in r] for r in s_out]), t_out.data, rtol=1e-12, atol=1e-12)
    nn.cross_entropy(s_out, [3, 7]).backward()
    nn.cross_entropy(t_out, [3, 7]).backward()
    for (name, gs), (_, gt) in zip(s.grad_dict().items(), t.grad_dict().items()):
        np.testing.assert_allclose(gs, gt, rtol=1e-10, atol=1e-12, err_msg=name)


def test_scalar_backend_returns_images_as_nested_lists_and_rows_after_flatten():
    x = np.random.default_rng(1).standard_normal((2, 1, 5, 5))
    conv = nn.Conv2d(1, 3, 3, backend="scalar", seed=0)
    out = conv(x)
    assert isinstance(out, list) and np.array(out, dtype=object).shape == (2, 3, 3, 3)
    ref = conv.to("tensor", dtype=np.float64)(x).data
    np.testing.assert_allclose(np.vectorize(lambda v: v.data)(np.array(out, dtype=object)), ref, rtol=1e-12)
    flat = nn.Sequential(nn.Conv2d(1, 3, 3, backend="scalar", seed=0), nn.Flatten())(x)
    assert len(flat) == 2 and all(isinstance(r, list) and len(r) == 27 for r in flat)
    # Flatten's dims count the batch axis, as torch's: (N, C, H, W) -> (N, C, H * W) with start_dim=2.
    part = nn.Flatten(2, backend="scalar")(x)
    assert np.array(part, dtype=object).shape == (2, 1, 25)
    assert nn.Flatten(2)(x).shape == (2, 1, 25)


@pytest.mark.parametrize("cin, cout, kernel, groups", [(1, 8, 3, 1), (8, 16, 3, 1), (6, 4, (5, 2), 2), (4, 4, 1, 4)])
def test_parameters_are_named_shaped_and_initialised_as_pytorch(cin, cout, kernel, groups):
    conv = nn.Conv2d(cin, cout, kernel, groups=groups, seed=0)
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    state = conv.state_dict()
    assert list(state) == ["weight", "bias"]
    assert state["weight"].shape == (cout, cin // groups, kh, kw) and state["bias"].shape == (cout,)
    assert conv.weight.dtype == np.float32
    bound = 1 / np.sqrt(cin // groups * kh * kw)
    for name, v in state.items():
        assert np.all(np.abs(v) <= bound), name
        np.testing.assert_array_equal(v, v.astype(np.float32))  # drawn, then rounded to float32
    both = np.concatenate([v.ravel() for v in state.values()])
    if both.size >= 50:  # uniform over the whole interval, not a narrower one
        assert np.abs(both).max() > 0.8 * bound and abs(both.mean()) < 0.3 * bound
    same = nn.Conv2d(cin, cout, kernel, groups=groups, seed=0, backend="scalar").state_dict()
    for k in state:
        np.testing.assert_array_equal(state[k], same[k])
    assert "bias" not in nn.Conv2d(cin, cout, kernel, groups=groups, bias=False).state_dict()


def test_state_dict_loads_into_the_equivalent_torch_model():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    ours = nn.Sequential(nn.Conv2d(1, 8, 3, seed=0), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1, seed=1), nn.ReLU(), nn.AvgPool2d(2),
                         nn.Conv2d(16, 16, 3, groups=4, stride=2, seed=2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(16 * 2 * 2, 10, seed=3))
    theirs = tnn.Sequential(tnn.Conv2d(1, 8, 3), tnn.ReLU(), tnn.MaxPool2d(2),
                            tnn.Conv2d(8, 16, 3, padding=1), tnn.ReLU(), tnn.AvgPool2d(2),
                            tnn.Conv2d(16, 16, 3, groups=4, stride=2), tnn.ReLU(), tnn.Flatten(),
                            tnn.Linear(16 * 2 * 2, 10))
    mine = ours.state_dict()
    names = list(theirs.state_dict())
    assert [tuple(v.shape) for v in theirs.state_dict().values()] == [v.shape for v in mine.values()]
    # By position: the i-th of our arrays goes to the i-th of theirs (the names happen to agree too).
    theirs.load_state_dict({n: torch.from_numpy(v) for n, v in zip(names, mine.values())})
    assert names == list(mine)
    x = np.random.default_rng(0).random((5, 1, 28, 28)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(x).data, expected, rtol=1e-4, atol=1e-5)


def test_checkpoint_round_trip_and_engine_switch(tmp_path):
    model = small_convnet("tensor", 5)
    path = tmp_path / "convnet.npz"
    model.save(path)
    other = small_convnet("tensor", 6)
    other.load(path)
    x = np.random.default_rng(2).standard_normal((2, 2, 7, 6)).astype(np.float32)
    np.testing.assert_array_equal(other(x).data, model(x).data)
    scalar_out = other.to("scalar")(x)
    np.testing.assert_allclose(np.array([[v.data for v in r] for r in scalar_out]), model(x).data, rtol=1e-5,
                               atol=1e-6)


def test_repr_reads_like_pytorch():
    assert repr(nn.Conv2d(1, 8, 3)) == "Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(nn.Conv2d(4, 8, (3, 1), padding="same", dilation=2, groups=2, bias=False)) == (
        "Conv2d(4, 8, kernel_size=(3, 1), stride=(1, 1), padding='same', dilation=(2, 2), groups=2, bias=False)")
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert repr(nn.AvgPool2d(3, 1, 1, count_include_pad=False)) == (
        "AvgPool2d(kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), count_include_pad=False)")
