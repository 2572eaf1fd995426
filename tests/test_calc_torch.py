"""The calculator against PyTorch: random stacks (hypothesis) built as real modules and counted with hooks,
receptive fields measured with autograd, and validity (a spec the calculator refuses, PyTorch refuses too)."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from tamrin.calc.analyze import analyze
from tamrin.calc.build import build
from tamrin.calc.layers import apply
from tamrin.calc.spec import parse_token
from tamrin.calc.trace import analyze_module
from tamrin.calc.verify import verify_module
from tamrin.errors import UserError

torch.set_num_threads(1)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tokens(draw, d):
    """One random layer token for a d-dimensional input (it may be invalid for the current shape)."""
    kind = draw(st.sampled_from(["conv", "conv", "dw", "pw", "convt", "maxpool", "avgpool", "bn", "relu", "act"]))
    k = draw(st.integers(1, 3))
    s = draw(st.integers(1, 2))
    if kind == "conv":
        pad = "psame" if s == 1 and draw(st.booleans()) else f"p{draw(st.integers(0, 2))}"
        dil = draw(st.integers(1, 2))
        g = draw(st.sampled_from([1, 1, 2]))
        nb = "nb" if draw(st.booleans()) else ""
        return f"conv{k}s{s}{pad}d{dil}g{g}{nb}:{draw(st.sampled_from([2, 3, 4, 6]))}"
    if kind == "dw":
        mult = draw(st.sampled_from(["", "", ":2x"]))  # depth multiplier 2: out = 2 x in channels, resolved below
        return f"dw{k}s{s}p{draw(st.integers(0, 1))}" + mult
    if kind == "pw":
        return f"pw:{draw(st.integers(1, 5))}"
    if kind == "convt":
        op = draw(st.integers(0, s - 1))
        return f"convt{k}s{s}p{draw(st.integers(0, k - 1))}op{op}:{draw(st.integers(1, 4))}"
    if kind in ("maxpool", "avgpool"):
        c = "c" if draw(st.booleans()) else ""
        return f"{kind}{k}s{s}p{draw(st.integers(0, k // 2))}{c}"
    if kind == "act":
        return draw(st.sampled_from(["relu6", "sigmoid", "tanh", "gelu", "leakyrelu:0.2", "prelu", "dropout:0.3"]))
    return kind


@st.composite
def stacks(draw):
    """A valid random stack: candidate layers the calculator refuses are left out; sometimes a cat/res block."""
    d = draw(st.integers(1, 3))
    c = draw(st.integers(1, 4))
    sizes = [draw(st.integers(5, {1: 24, 2: 12, 3: 7}[d])) for _ in range(d)]
    shape = (c, *sizes)
    toks = [f"in:{'x'.join(map(str, shape))}"]
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.integers(0, 5)) == 0:  # a block
            a, b = draw(st.integers(1, 4)), draw(st.integers(1, 4))
            if draw(st.booleans()):
                cand = ["cat(", f"pw:{a}", "|", f"conv3psame:{b}", "relu", "|", "maxpool3s1p1", ")"]
                out = (a + b + shape[0],) + shape[1:]
            else:
                cand = ["res(", f"conv3psame:{shape[0]}", "bn", "relu", ")"]
                out = shape
            toks += cand
            shape = out
            continue
        tok = draw(tokens(d))
        if tok.endswith(":2x"):
            tok = tok[:-3] + f":{2 * shape[0]}"
        try:
            shape = tuple(apply(parse_token(tok, "test"), shape).out_shape)
        except UserError:
            continue
        toks.append(tok)
    tail = draw(st.sampled_from(["", "gap dense:3", "flatten dense:2 relu", "gmp bn"]))
    return " ".join(toks + tail.split())


COMPUTE = {"conv": "conv", "dw": "conv", "pw": "conv", "convt": "convt", "dense": "dense", "bn": "bn",
           "maxpool": "maxpool", "avgpool": "avgpool"}


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note about even kernels, harmless here
@SETTINGS
@given(stacks())
def test_random_stacks_match_torch_hooks(spec):
    a = analyze(spec)
    module = build(spec)
    m = analyze_module(module, a.input_shape, batch=2)
    assert a.totals() == m.totals(), spec
    assert a.params == sum(p.numel() for p in module.parameters())
    with torch.no_grad():
        out = module.eval()(torch.randn((2,) + tuple(a.input_shape)))
    assert tuple(out.shape[1:]) == a.output_shape, spec
    assert verify_module(module, a.input_shape) == []
    ours = [(COMPUTE[r.kind], r.in_shape, r.out_shape, r.macs) for r in a.rows if r.kind in COMPUTE]
    theirs = [(r.kind, r.in_shape, r.out_shape, r.macs) for r in m.rows if r.kind in COMPUTE.values()]
    assert ours == theirs, spec


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 9), st.data())
def test_calculator_refuses_exactly_what_torch_refuses(d, c, n, data):
    """A single random layer on a random small shape: the calculator raises UserError iff PyTorch fails."""
    tok = data.draw(tokens(d))
    if tok.endswith(":2x"):  # a depthwise output count that may or may not be a multiple of the input channels
        tok = tok[:-3] + f":{data.draw(st.sampled_from([2 * c, c + 1]))}"
    shape = (c,) + (n,) * d
    layer = parse_token(tok, "test")
    try:
        expected = tuple(apply(layer, shape).out_shape)
    except UserError:
        expected = None
    try:
        mod = build(f"in:{'x'.join(map(str, shape))} {tok}")
        with torch.no_grad():
            got = tuple(mod.eval()(torch.randn((1,) + shape)).shape[1:])
    except (RuntimeError, ValueError, UserError):
        got = None
    assert got == expected, (tok, shape)


@st.composite
def conv_pool_chains(draw):
    toks = []
    for _ in range(draw(st.integers(1, 4))):
        k, s, dl = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
        toks.append(draw(st.sampled_from([f"conv{k}s{s}d{dl}:1", f"avgpool{k}s{s}"])))
    return " ".join(toks)


@settings(max_examples=30, deadline=None)
@given(conv_pool_chains())
def test_receptive_field_matches_autograd(chain):
    """Back-propagate from one output through all-ones weights: the span of non-zero input gradients is the field,
    and its centre is the calculator's 'start' (+ jump x output index)."""
    size = 96
    spec = f"in:1x{size} {chain}"
    try:
        a = analyze(spec)
    except UserError:
        return  # the chain does not fit the input
    net = build(spec).double()
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(1.0)
    x = torch.ones(1, 1, size, dtype=torch.float64, requires_grad=True)
    y = net(x)
    i = y.shape[-1] // 2
    y[0, 0, i].backward()
    nz = (x.grad[0, 0] != 0).nonzero().flatten()
    r, j, start = a.rows[-1].rf[0]
    lo, hi = int(nz.min()), int(nz.max())
    centre = start + j * i
    # the field may be clipped by the input's border only if it reaches it
    assert lo == max(0, centre - (r - 1) / 2) and hi == min(size - 1, centre + (r - 1) / 2), (chain, r, j, start)


def test_analyze_module_handles_functional_ops_and_shared_modules():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.shared = nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn = nn.BatchNorm2d(8)
            self.token = nn.Parameter(torch.zeros(5))
            self.head = nn.Linear(8, 4)

        def forward(self, x):
            x = torch.relu(self.conv(x))
            x = x + self.shared(self.shared(x))  # called twice: params once, MACs twice
            x = self.bn(x)
            return self.head(x.mean((2, 3)))

    net = Net()
    assert verify_module(net, (3, 10, 10)) == []
    a = analyze_module(net, (3, 10, 10))
    assert a.params == sum(p.numel() for p in net.parameters())
    assert a.macs == 3 * 9 * 8 * 100 + 2 * (8 * 9 * 8 * 100) + 8 * 4
    assert a.total("bn_buffers") == 8 + 8 + 1
    rows = [r for r in a.rows if r.name == "shared"]
    assert len(rows) == 2 and rows[0].rf[0][0] == 5 and rows[1].rf[0][0] == 7  # the field follows through relu
    assert net.training  # mode restored


def test_every_registered_model_matches_the_calculator():
    import tamrin.models as models

    for name in models.list_models():
        model = models.create(name, num_classes=10, input_size=32)
        a = analyze_module(model, (3, 32, 32))
        assert a.params == sum(p.numel() for p in model.parameters()), name
        assert a.output_shape == (10,), name
        assert a.macs > 0, name
        assert verify_module(model, (3, 32, 32)) == [], name


def test_registered_mobilenets_equal_the_calculator_specs():
    """The model helper's torch MobileNets and the calculator's own specs give the same counts at 224/1000."""
    import tamrin.models as models

    from tamrin.calc.zoo import mobilenet_v1, mobilenet_v2

    for name, spec in (("mobilenet_v1", mobilenet_v1()), ("mobilenet_v2", mobilenet_v2())):
        assert name in models.list_models()
        m = analyze_module(models.create(name, num_classes=1000, input_size=224), (3, 224, 224))
        a = analyze(spec)
        assert (m.params, m.macs) == (a.params, a.macs), name


def test_analyze_module_on_unusual_modules():
    """Norms other than batch norm, upsampling, an LSTM (tuple output), an unused layer, a custom leaf with a
    parameter, float64: every parameter is counted once and nothing crashes."""
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.gain = nn.Parameter(torch.ones(1))

        def forward(self, x):
            return x * self.gain

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3, padding=1)
            self.gn = nn.GroupNorm(2, 4)
            self.up = nn.Upsample(scale_factor=2)
            self.shuffle = nn.PixelShuffle(2)
            self.scale = Scale()
            self.ln = nn.LayerNorm(16)
            self.lstm = nn.LSTM(16, 8, batch_first=True)
            self.unused = nn.Linear(3, 3)
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            x = self.shuffle(self.up(self.gn(self.conv(x))))  # (N, 1, 16, 16)
            x = self.ln(self.scale(x)).squeeze(1)  # (N, 16, 16): a sequence of 16 steps
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    net = Net().double()
    a = analyze_module(net, (2, 4, 4))
    assert a.params == sum(p.numel() for p in net.parameters())
    assert a.macs == 2 * 9 * 4 * 16 + 8 * 2
    kinds = {r.name: r.kind for r in a.rows}
    assert kinds["gn"] == "bn" and kinds["up"] == "other" and kinds["(other parameters)"] == "other"


def test_verify_module_catches_a_layer_that_breaks_the_formula():
    class Cropped(nn.Conv2d):  # claims to be a conv, but drops a row and a column of its output
        def forward(self, x):
            return super().forward(x)[..., 1:, 1:]

    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), Cropped(4, 4, 3, padding=1), nn.ReLU())
    problems = verify_module(net, (3, 8, 8))
    assert len(problems) == 1 and problems[0].startswith("1 (Cropped)")


def test_3d_average_pooling_refuses_an_input_smaller_than_its_kernel_as_torch_does():
    """Found by Hypothesis: avg_pool3d (unlike avg_pool1d/2d and max pooling) checks the unpadded input against the
    kernel, so a 1x1x1 map with avgpool2s1p1 fails in PyTorch; the calculator must refuse it too, with the reason."""
    spec = "in:1x5x5x5 dw1s2p0 dw2s2p0 avgpool2s1p1"
    with pytest.raises(UserError, match="3-D average pooling needs every input side"):
        analyze(spec)
    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        torch.nn.functional.avg_pool3d(torch.ones(1, 1, 1, 1, 1), 2, 1, 1)
    assert analyze("in:1x1x1 avgpool2s1p1").output_shape == (1, 2, 2)  # 2-D: padding makes room, as in PyTorch
    assert analyze("in:1x1x1x1 maxpool2s1p1").output_shape == (1, 2, 2, 2)
