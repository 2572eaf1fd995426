"""The scalar autodiff engine agrees with torch autograd; the graph drawing produces a figure."""
import math
import random

import pytest
import torch

from tamrin.scratch.autodiff import Value, topological_order

torch.set_num_threads(1)

# each op: (Value version, torch version, domain guard applied to the input first)
_UNARY = {
    "exp": (lambda v: (v * 0.3).exp(), lambda t: (t * 0.3).exp()),
    "log": (lambda v: (v * v + 1.0).log(), lambda t: (t * t + 1.0).log()),
    "tanh": (lambda v: v.tanh(), lambda t: t.tanh()),
    "sigmoid": (lambda v: v.sigmoid(), lambda t: t.sigmoid()),
    "relu": (lambda v: v.relu(), lambda t: t.relu()),
    "pow": (lambda v: v ** 2, lambda t: t ** 2),
    "neg": (lambda v: -v, lambda t: -t),
}
_BINARY = {
    "+": (lambda a, b: a + b, lambda a, b: a + b),
    "-": (lambda a, b: a - b, lambda a, b: a - b),
    "*": (lambda a, b: a * b, lambda a, b: a * b),
    "/": (lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),  # denominator kept >= 1
}


def _random_expression(rng: random.Random, n_inputs: int, n_ops: int):
    """Build the same random expression with Value and torch; inputs are reused so gradients accumulate."""
    xs = [rng.uniform(-2, 2) for _ in range(n_inputs)]
    vals = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    tens = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    pool_v, pool_t = list(vals), list(tens)
    for _ in range(n_ops):
        if rng.random() < 0.5:
            name = rng.choice(sorted(_UNARY))
            fv, ft = _UNARY[name]
            i = rng.randrange(len(pool_v))
            pool_v.append(fv(pool_v[i]))
            pool_t.append(ft(pool_t[i]))
        else:
            name = rng.choice(sorted(_BINARY))
            fv, ft = _BINARY[name]
            i, j = rng.randrange(len(pool_v)), rng.randrange(len(pool_v))
            pool_v.append(fv(pool_v[i], pool_v[j]))
            pool_t.append(ft(pool_t[i], pool_t[j]))
    # sum of the last few nodes so that several branches reach the output
    out_v = pool_v[-1] + pool_v[-2] * 0.5 + pool_v[-3]
    out_t = pool_t[-1] + pool_t[-2] * 0.5 + pool_t[-3]
    return vals, tens, out_v, out_t


@pytest.mark.parametrize("seed", range(40))
def test_random_expressions_match_torch(seed):
    rng = random.Random(seed)
    vals, tens, out_v, out_t = _random_expression(rng, n_inputs=rng.randint(1, 4), n_ops=rng.randint(3, 15))
    out_v.backward()
    out_t.backward()
    assert out_v.data == pytest.approx(out_t.item(), rel=1e-12, abs=1e-12)
    for v, t in zip(vals, tens):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert v.grad == pytest.approx(expected, rel=1e-10, abs=1e-10)


def test_reflected_ops_and_reuse():
    a = Value(3.0)
    out = 1 - a / 2 + 2 * a + 1 / a  # d/da = -1/2 + 2 - 1/a^2
    out.backward()
    assert out.data == pytest.approx(1 - 1.5 + 6 + 1 / 3)
    assert a.grad == pytest.approx(-0.5 + 2 - 1 / 9)


def test_backward_twice_is_idempotent():
    a = Value(0.7)
    b = a * a + a.tanh()
    b.backward()
    g1 = a.grad
    b.backward()
    assert a.grad == pytest.approx(g1)
    assert g1 == pytest.approx(2 * 0.7 + 1 - math.tanh(0.7) ** 2)


def test_topological_order_puts_inputs_first():
    x = Value(1.0)
    y = (x * 2).exp() + x
    order = topological_order(y)
    pos = {id(v): i for i, v in enumerate(order)}
    for v in order:
        for p in v._prev:
            assert pos[id(p)] < pos[id(v)]
    assert order[-1] is y and len(order) == len({id(v) for v in order})


def test_errors():
    with pytest.raises(ValueError):
        Value(-1.0).log()
    with pytest.raises(TypeError):
        Value(2.0) ** Value(2.0)


def test_graph_drawing_produces_a_figure(tmp_path):
    from matplotlib.figure import Figure

    from tamrin.scratch.autodiff_graph import draw_graph, graph_layout

    w, x, b = Value(0.5, label="w"), Value(2.0, label="x"), Value(-1.0, label="b")
    z = w * x + b
    z.label = "z"
    y = z.sigmoid()
    y.label = "y"
    y.backward()
    pos = graph_layout(y)
    # every op node sits strictly right of all its inputs
    for v in topological_order(y):
        for p in v._prev:
            assert pos[id(p)][0] < pos[id(v)][0]
    fig = draw_graph(y, title="sigmoid neuron")
    assert isinstance(fig, Figure)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "w" in texts and "z" in texts and any("grad" in t for t in texts)
    fig.savefig(tmp_path / "g.png")
    assert (tmp_path / "g.png").stat().st_size > 1000
