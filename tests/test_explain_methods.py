"""Properties of the explanation methods on small untrained networks (fast: no training here)."""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from tamrin.errors import UserError
from tamrin.explain import (METHODS, cam, grid_figure, candidate_layers, default_layer, explain, gradcam, gradcam_pp, guided_backprop,
                            hooks_left, normalize, resolve_layer, upsample)
from tamrin.explain.stats import box_mask, central_mask, mass_in_region, threshold_iou
from tamrin.explain.synthetic import TinyGapCNN

torch.set_num_threads(1)


@pytest.fixture
def net():
    torch.manual_seed(0)
    m = TinyGapCNN(in_channels=1, num_classes=3, width=4)
    # random but non-trivial BatchNorm statistics, so eval mode differs from train mode
    for bn in m.modules():
        if isinstance(bn, nn.BatchNorm2d):
            bn.running_mean.uniform_(-0.2, 0.2)
            bn.running_var.uniform_(0.5, 2.0)
    return m


@pytest.fixture
def x():
    return torch.rand(5, 1, 16, 16, generator=torch.Generator().manual_seed(1))


def no_hooks(model):
    return all(not m._forward_hooks and not m._backward_hooks and not m._forward_pre_hooks for m in model.modules())


# ---- CAM and Grad-CAM --------------------------------------------------------------------------
def test_gradcam_equals_cam_up_to_positive_scale(net, x):
    """On GAP + linear, dy^c/dA^k_ij = w_k^c / (h*w), so Grad-CAM = ReLU(CAM) / (h*w) exactly."""
    for target in (None, 0, 2):
        c, g = cam(net, x, target=target), gradcam(net, x, target=target)
        h, w = g.low_res.shape[-2:]
        if target is None:  # the predicted class has positive evidence somewhere
            assert g.low_res.abs().max() > 0
        torch.testing.assert_close(g.low_res * (h * w), c.low_res, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(normalize(g.maps), normalize(c.maps), atol=1e-5)
        assert torch.equal(c.targets, g.targets)


def test_cam_raw_map_reproduces_the_score(net, x):
    """Without the ReLU, the mean of M_c over positions plus the bias is the class score itself."""
    c = cam(net, x, relu=False, target=1)
    torch.testing.assert_close(c.low_res.mean(dim=(1, 2)) + net.fc.bias[1].detach(), c.logits[:, 1], rtol=1e-4, atol=1e-5)


def test_cam_refuses_other_heads_and_suggests_gradcam(x):
    two_linear = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 3))
    flatten = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 14 * 14, 3))
    for model in (two_linear, flatten):
        with pytest.raises(UserError, match="gradcam"):
            cam(model, x)
        assert no_hooks(model)
        gradcam(model, x)  # Grad-CAM works on both heads


def test_gradcam_pp_closed_form_on_gap_net(net, x):
    """On GAP + linear the gradient is constant over positions, g_k = w_k^c / (h*w), so the Grad-CAM++
    weights reduce to  h*w * g_k^2 / (2 g_k^2 + S_k g_k^3) * ReLU(g_k)  with S_k = sum_ij A^k_ij."""
    from tamrin.explain.gradcam import activations_and_grads

    e = gradcam_pp(net, x, target=2)
    _, acts, grads, _, _ = activations_and_grads(net, x, target=2)
    h, w = acts.shape[-2:]
    g = net.fc.weight[2].detach() / (h * w)  # (K,)
    torch.testing.assert_close(grads, g.view(1, -1, 1, 1).expand_as(grads))
    s = acts.sum(dim=(2, 3))  # (N, K)
    denom = 2 * g**2 + s * g**3
    weights = h * w * torch.where(denom != 0, g**2 / denom, torch.zeros_like(denom)) * torch.relu(g)
    ref = torch.relu(torch.einsum("nk,nkhw->nhw", weights, acts))
    torch.testing.assert_close(e.low_res, ref, rtol=1e-4, atol=1e-7)
    assert e.maps.shape == (5, 16, 16) and ref.abs().max() > 0


def test_softmax_head_is_bypassed(net, x):
    """Grad-CAM of a model ending in Softmax (module or functional) equals that of its logits."""

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, z):
            return F.softmax(self.net(z), dim=1)

    ref = gradcam(net, x, target=1)
    for wrapped in (nn.Sequential(net, nn.Softmax(dim=1)), Functional()):
        e = gradcam(wrapped, x, layer="0.features.9" if isinstance(wrapped, nn.Sequential) else "net.features.9", target=1)
        torch.testing.assert_close(e.maps, ref.maps)
        torch.testing.assert_close(e.logits, ref.logits)


# ---- layers, batches, model state, hooks --------------------------------------------------------
def test_layers_default_and_resolution(net, x):
    cands = candidate_layers(net)
    assert "features.0" in cands and "fc" not in cands and "pool" not in cands
    # the last conv is features.7, read after its BatchNorm and ReLU
    assert default_layer(net) == "features.9"
    assert resolve_layer(net, net.features[9]) == ("features.9", net.features[9])
    a = gradcam(net, x, layer=net.features[0])
    b = gradcam(net, x, layer="features.0")
    torch.testing.assert_close(a.maps, b.maps)
    assert a.low_res.shape[-1] == 16 and gradcam(net, x).low_res.shape[-1] == 8
    with pytest.raises(UserError, match="candidate layers"):
        gradcam(net, x, layer="features.99")
    with pytest.raises(UserError, match="not part of"):
        gradcam(net, x, layer=nn.Conv2d(1, 1, 1))


@pytest.mark.parametrize("method", METHODS)
def test_batch_equals_one_at_a_time_and_state_restored(net, x, method):
    net.train()
    batch = explain(net, x, method)
    assert net.training and all(m.training for m in net.modules())
    for i in range(len(x)):
        one = explain(net, x[i:i + 1], method)
        torch.testing.assert_close(one.maps[0], batch.maps[i], rtol=1e-4, atol=1e-6)
        assert one.targets[0] == batch.targets[i]
    assert batch.maps.shape == (5, 16, 16)
    assert no_hooks(net) and hooks_left(net) == 0


def test_given_classes_per_image(net, x):
    per_image = gradcam(net, x, target=[0, 1, 2, 0, 1])
    assert per_image.targets.tolist() == [0, 1, 2, 0, 1]
    torch.testing.assert_close(per_image.maps[2], gradcam(net, x[2:3], target=2).maps[0])
    with pytest.raises(UserError, match="out of range"):
        gradcam(net, x, target=7)
    with pytest.raises(UserError, match="5 images"):
        gradcam(net, x, target=[0, 1])


@pytest.mark.parametrize("method", METHODS)
def test_no_hooks_remain_after_an_exception(net, x, method):
    class Boom(nn.Module):
        def forward(self, z):
            raise RuntimeError("boom")

    net.fc = nn.Sequential(net.fc, Boom())
    net.train()
    with pytest.raises(RuntimeError, match="boom"):
        explain(net, x, method)
    assert no_hooks(net)
    assert net.training  # the training flag is restored too
    assert torch.nn.functional.relu(torch.tensor([-1.0])).item() == 0.0  # no guided mode left active


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "guided", "guided-gradcam"])
def test_clear_error_under_no_grad(net, x, method):
    for ctx in (torch.no_grad, torch.inference_mode):
        with ctx(), pytest.raises(UserError, match="no_grad"):
            explain(net, x, method)
    assert no_hooks(net)
    with torch.no_grad():  # CAM needs no gradient and works there
        assert cam(net, x).maps.shape == (5, 16, 16)


def test_inplace_relu_after_target_layer(x):
    """A conv followed by an in-place ReLU: the classic full-backward-hook failure does not occur."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))
    e = gradcam(model, x, layer="0")
    ref = gradcam(model, x, layer="1")  # in-place: the recorded output becomes the post-ReLU map
    torch.testing.assert_close(e.maps, ref.maps)
    assert no_hooks(model)


# ---- guided backpropagation ---------------------------------------------------------------------
class HandNet(nn.Module):
    """flatten -> Linear(4, 3) -> ReLU (in one of several spellings) -> Linear(3, 2)."""

    def __init__(self, relu: str):
        super().__init__()
        self.relu = relu
        self.l1 = nn.Linear(4, 3, bias=False)
        self.l2 = nn.Linear(3, 2, bias=False)
        with torch.no_grad():
            self.l1.weight.copy_(torch.tensor([[1.0, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 0]]))
            self.l2.weight.copy_(torch.tensor([[2.0, 3, -1], [1, 1, 1]]))
        self.act = nn.ReLU(inplace=relu == "module-inplace")

    def forward(self, x):
        h = self.l1(x.flatten(1))
        r = {"module": lambda: self.act(h), "module-inplace": lambda: self.act(h), "F.relu": lambda: F.relu(h),
             "F.relu-inplace": lambda: F.relu(h, inplace=True), "torch.relu": lambda: torch.relu(h),
             "Tensor.relu": lambda: h.relu(), "Tensor.relu_": lambda: h.relu_(),
             "F.relu-keyword": lambda: F.relu(input=h, inplace=False)}[self.relu]()
        return self.l2(r)


RELUS = ["module", "module-inplace", "F.relu", "F.relu-inplace", "torch.relu", "Tensor.relu", "Tensor.relu_", "F.relu-keyword"]


@pytest.mark.parametrize("relu", RELUS)
def test_guided_backprop_hand_checked(relu):
    """x = (1, 2, -1, 0.5): hidden h = (1, -2, 1); class 0 sends dy/dr = (2, 3, -1).
    Unit 1: input -2 < 0 -> blocked (plain backprop blocks it too).
    Unit 3: input 1 > 0 but incoming gradient -1 < 0 -> blocked by the guided rule only.
    So the guided gradient at h is (2, 0, 0) and at x is W1^T (2, 0, 0) = (2, 0, 0, 0),
    while the plain gradient is W1^T (2, 0, -1) = (2, 0, 1, 0)."""
    model = HandNet(relu)
    x = torch.tensor([1.0, 2.0, -1.0, 0.5]).view(1, 1, 2, 2)
    g = guided_backprop(model, x, target=0).gradients.flatten()
    assert g.tolist() == [2.0, 0.0, 0.0, 0.0]
    xx = x.clone().requires_grad_(True)
    model(xx)[0, 0].backward()
    assert xx.grad.flatten().tolist() == [2.0, 0.0, 1.0, 0.0]  # outside the context ReLU is plain again


@pytest.mark.parametrize("relu", ["module", "F.relu"])
def test_guided_rule_at_every_relu_of_a_deeper_net(relu):
    """Random 3-layer MLP; reference: the rule applied by hand, layer by layer, from the top."""
    torch.manual_seed(3)
    l1, l2, l3 = nn.Linear(6, 8), nn.Linear(8, 8), nn.Linear(8, 3)
    act = nn.ReLU()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2, self.l3, self.act = l1, l2, l3, act

        def forward(self, x):
            f = self.act if relu == "module" else F.relu
            return self.l3(f(self.l2(f(self.l1(x.flatten(1))))))

    x = torch.randn(4, 1, 2, 3)
    got = guided_backprop(Net(), x, target=2).gradients.flatten(1)
    with torch.no_grad():
        z1 = l1(x.flatten(1))
        z2 = l2(z1.relu())
        g = l3.weight[2].expand(4, -1)
        g = g * (z2 > 0) * (g > 0)
        g = g @ l2.weight
        g = g * (z1 > 0) * (g > 0)
        ref = g @ l1.weight
    torch.testing.assert_close(got, ref)
    # the "incoming gradient > 0" half of the rule really fired: plain backprop differs
    xx = x.clone().requires_grad_(True)
    Net()(xx)[:, 2].sum().backward()
    assert not torch.allclose(xx.grad.flatten(1), ref)


# ---- upsampling, normalisation, statistics --------------------------------------------------------
def test_upsample_and_normalize():
    m = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[5.0, 5.0], [5.0, 5.0]]])
    up = upsample(m, (4, 4))
    assert up.shape == (2, 4, 4) and up[0, 0, 0] == 0 and up[0, -1, -1] == 3  # corners keep their values
    torch.testing.assert_close(up[0].mean(), m[0].mean())
    per = normalize(m)
    assert per[0].min() == 0 and per[0].max() == 1 and (per[1] == 0).all()
    shared = normalize(m, shared=True)
    np.testing.assert_allclose(shared[1], 1.0)
    np.testing.assert_allclose(shared[0], m[0].numpy() / 5)


def test_region_statistics():
    maps = np.zeros((2, 4, 4))
    maps[0, :2, :2] = 1.0
    maps[0, 3, 3] = 1.0
    mask = box_mask(4, 4, [(0, 0, 2, 2)])[0]
    np.testing.assert_allclose(mass_in_region(maps, mask), [0.8, np.nan])
    np.testing.assert_allclose(threshold_iou(maps, mask), [0.8, 0.0])
    assert central_mask(8, 8, 0.5).sum() == 16 and central_mask(8, 8, 0.5)[2:6, 2:6].all()


def test_grid_figure_layout_and_shared_scale(net, x):
    e, g = gradcam(net, x), guided_backprop(net, x)
    fig = grid_figure(x, [("Grad-CAM", e.maps), ("guided", g.gradients)], [f"img {i}" for i in range(5)], shared=True, title="t")
    image_axes = [ax for ax in fig.axes if ax.images]
    assert len(image_axes) == 3 * 5  # inputs + two method rows
    colorbars = [ax for ax in fig.axes if not ax.images]
    assert len(colorbars) == 1  # heat-map rows get a colour bar, gradient rows do not
    lo, hi = colorbars[0].get_ylim()
    assert lo == pytest.approx(float(e.maps.min())) and hi == pytest.approx(float(e.maps.max()))  # raw values when shared
    import matplotlib.pyplot as plt

    plt.close(fig)


class Block(nn.Module):
    """A residual block: its output (after the skip connection and a functional ReLU) is the map to explain."""

    def __init__(self, c):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, padding=1), nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(x + self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class ResNetLike(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU())
        self.layer = nn.Sequential(Block(4), Block(4))
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.layer(self.stem(x)), 1).flatten(1))


def test_default_layer_of_a_residual_net_is_the_last_block(x):
    torch.manual_seed(0)
    model = ResNetLike()
    assert default_layer(model) == "layer.1"
    cands = candidate_layers(model)
    assert cands[0] == "stem.0" and cands[-1] == "layer.1.bn2" and {"layer.0", "layer.1", "layer.1.conv2"} <= set(cands)
    assert "fc" not in cands and "layer" not in cands
    c, g = cam(model, x, target=0), gradcam(model, x, target=0)  # functional ReLU + GAP: CAM applies to the block output
    torch.testing.assert_close(g.low_res * 256, c.low_res, rtol=1e-4, atol=1e-6)
    with pytest.raises(UserError, match="gradcam"):
        cam(model, x, layer="layer.1.conv2")  # not the GAP input: the check catches it
