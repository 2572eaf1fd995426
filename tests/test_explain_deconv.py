"""The three ReLU backward rules (plain gradient, deconvnet, guided) on hand-computed networks, every
ReLU spelling, the explain()/CLI entry points, and no state left behind (fast: no training)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tamrin.errors import UserError
from tamrin.explain import METHODS, ReLURule, deconvnet, explain, gradient_saliency, guided_backprop, hooks_left, relu_saliency
from tamrin.explain.cli import METHOD_CHOICES, build_parser
from tamrin.explain.synthetic import TinyGapCNN

torch.set_num_threads(1)

RELUS = ["module", "module-inplace", "F.relu", "F.relu-inplace", "torch.relu", "Tensor.relu", "Tensor.relu_",
         "F.relu-keyword", "torch.relu_"]


class OneReLU(nn.Module):
    """flatten -> Linear(4, 4) with W1 = diag(1, -1, 0.5, 2) -> one ReLU (spelled `relu`) -> Linear(4, 2)."""

    def __init__(self, relu: str):
        super().__init__()
        self.relu = relu
        self.l1 = nn.Linear(4, 4, bias=False)
        self.l2 = nn.Linear(4, 2, bias=False)
        with torch.no_grad():
            self.l1.weight.copy_(torch.diag(torch.tensor([1.0, -1.0, 0.5, 2.0])))
            self.l2.weight.copy_(torch.tensor([[2.0, 3.0, -1.0, -4.0], [1.0, 1.0, 1.0, 1.0]]))
        self.act = nn.ReLU(inplace=relu == "module-inplace")

    def forward(self, x):
        h = self.l1(x.flatten(1))
        r = {"module": lambda: self.act(h), "module-inplace": lambda: self.act(h), "F.relu": lambda: F.relu(h),
             "F.relu-inplace": lambda: F.relu(h, inplace=True), "torch.relu": lambda: torch.relu(h),
             "Tensor.relu": lambda: h.relu(), "Tensor.relu_": lambda: h.relu_(), "torch.relu_": lambda: torch.relu_(h),
             "F.relu-keyword": lambda: F.relu(input=h, inplace=False)}[self.relu]()
        return self.l2(r)


X = torch.tensor([1.0, 2.0, 6.0, -0.5]).view(1, 1, 2, 2)
# h = W1 x = (1, -2, 3, -1); class 0 sends g = dy0/dr = (2, 3, -1, -4) to the ReLU:
#   unit 1: h > 0, g > 0 -> every rule passes 2
#   unit 2: h < 0, g > 0 -> only deconvnet passes 3 (it ignores the forward mask)
#   unit 3: h > 0, g < 0 -> only the plain gradient passes -1
#   unit 4: h < 0, g < 0 -> no rule passes it
# then dx = W1^T dh = diag(1, -1, 0.5, 2) dh.
EXPECTED = {"gradient": [2.0, 0.0, -0.5, 0.0], "deconvnet": [2.0, -3.0, 0.0, 0.0], "guided": [2.0, 0.0, 0.0, 0.0]}


@pytest.mark.parametrize("relu", RELUS)
@pytest.mark.parametrize("rule", sorted(EXPECTED))
def test_three_rules_hand_computed(relu, rule):
    model = OneReLU(relu)
    e = relu_saliency(model, X, target=0, rule=rule)
    assert e.gradients.flatten().tolist() == EXPECTED[rule]
    assert e.maps.flatten().tolist() == [abs(v) for v in EXPECTED[rule]]  # one channel: |gradient|
    assert e.method == rule and e.targets.tolist() == [0]
    assert hooks_left(model) == 0
    xx = X.clone().requires_grad_(True)
    model(xx)[0, 0].backward()
    assert xx.grad.flatten().tolist() == EXPECTED["gradient"]  # outside the context ReLU is plain again


def test_named_entry_points_match_the_rule():
    model = OneReLU("module")
    assert deconvnet(model, X, 0).gradients.flatten().tolist() == EXPECTED["deconvnet"]
    assert gradient_saliency(model, X, 0).gradients.flatten().tolist() == EXPECTED["gradient"]
    assert guided_backprop(model, X, 0).gradients.flatten().tolist() == EXPECTED["guided"]
    for m in ("deconvnet", "gradient", "guided"):
        assert m in METHODS and m in METHOD_CHOICES
        assert explain(model, X, m, target=0).gradients.flatten().tolist() == EXPECTED[m]
    assert build_parser().parse_args(["run", "--method", "deconvnet"]).method == "deconvnet"


@pytest.mark.parametrize("relu", ["module", "F.relu"])
def test_deconvnet_at_every_relu_of_a_deeper_net(relu):
    """Random 3-layer MLP; reference: the deconvnet rule applied by hand from the top."""
    torch.manual_seed(3)
    l1, l2, l3 = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8, 3)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2, self.l3, self.act = l1, l2, l3, nn.ReLU()

        def forward(self, x):
            f = self.act if relu == "module" else F.relu
            return self.l3(f(self.l2(f(self.l1(x.flatten(1))))))

    x = torch.randn(4, 1, 2, 3)
    got = deconvnet(Net(), x, target=2).gradients.flatten(1)
    with torch.no_grad():
        g = l3.weight[2].expand(4, -1)
        g = (g * (g > 0)) @ l2.weight
        ref = (g * (g > 0)) @ l1.weight
    torch.testing.assert_close(got, ref)
    # deconvnet never looks at the forward pass: the result is the same for every input
    torch.testing.assert_close(got, got[:1].expand_as(got))


def test_gradient_rule_is_autograd_on_a_cnn():
    """Convolutions, BatchNorm, max-pooling, in-place ReLUs: the "gradient" rule reproduces plain autograd."""
    torch.manual_seed(0)
    net = TinyGapCNN(in_channels=1, num_classes=3, width=4).eval()
    x = torch.rand(3, 1, 16, 16, generator=torch.Generator().manual_seed(1))
    got = gradient_saliency(net, x, target=[0, 1, 2])
    xx = x.clone().requires_grad_(True)
    net(xx).gather(1, torch.tensor([[0], [1], [2]])).sum().backward()
    torch.testing.assert_close(got.gradients, xx.grad)
    for rule in ("deconvnet", "guided"):  # and the other two rules really change something here
        assert not torch.allclose(relu_saliency(net, x, [0, 1, 2], rule).gradients, xx.grad)


def test_mode_counts_relus_and_ends_on_errors():
    model = OneReLU("F.relu")
    mode = ReLURule("deconvnet")
    with pytest.raises(RuntimeError, match="boom"):
        with mode:
            model(X)
            raise RuntimeError("boom")
    assert mode.calls == 1
    assert F.relu(torch.tensor([-1.0])).item() == 0.0
    with pytest.raises(UserError, match="unknown ReLU backward rule"):
        ReLURule("zeiler")
    with pytest.raises(UserError, match="unknown method"):
        explain(model, X, "deconv")
    with pytest.raises(UserError, match="no_grad"), torch.no_grad():
        deconvnet(model, X)
    assert hooks_left(model) == 0
