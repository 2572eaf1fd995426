"""Structure of the CNNs: parameter and multiply-add counts against the papers, stage output shapes.

Multiply-adds are counted by forward hooks on Conv2d/Linear (tamrin.models.complexity), the papers'
convention. Paper numbers: MobileNets (Howard et al. 2017) Tables 4, 6, 7; MobileNetV2 / torchvision.
"""
import pytest
import torch

from tamrin.models import count_macs, count_params, create

torch.set_num_threads(1)


def close(value, expected, rel=0.01):
    return abs(value - expected) <= rel * expected


@pytest.mark.parametrize("alpha, params_m, macs_m", [(1.0, 4.21, 569), (0.75, 2.57, 325), (0.5, 1.32, 149), (0.25, 0.47, 41)])
def test_mobilenet_v1_width_multiplier(alpha, params_m, macs_m):
    m = create("mobilenet_v1", num_classes=1000, width_mult=alpha, input_size=224)
    p, macs = count_params(m), count_macs(m, 224)
    assert close(p, params_m * 1e6), p
    assert close(macs, macs_m * 1e6), macs


@pytest.mark.parametrize("size, macs_m", [(224, 569), (192, 418), (160, 291), (128, 186)])
def test_mobilenet_v1_resolution_multiplier(size, macs_m):
    m = create("mobilenet_v1", num_classes=1000, input_size=224)
    assert close(count_macs(m, size), macs_m * 1e6)


def test_conv_mobilenet_matches_paper_table4():
    # Table 4: Conv MobileNet 29.3M parameters, 4866M multiply-adds.
    m = create("conv_mobilenet", num_classes=1000, input_size=224)
    assert close(count_params(m), 29.3e6)
    assert close(count_macs(m, 224), 4866e6)


def test_mobilenet_v2_counts():
    m = create("mobilenet_v2", num_classes=1000, input_size=224)
    assert count_params(m) == 3_504_872
    assert abs(count_macs(m, 224) - 300.8e6) < 0.05e6


def test_mobilenet_v2_last_conv_not_shrunk_and_divisible_by_8():
    for alpha in (0.35, 0.5, 0.75, 1.0, 1.4):
        m = create("mobilenet_v2", num_classes=10, width_mult=alpha)
        convs = [x for x in m.modules() if isinstance(x, torch.nn.Conv2d)]
        assert all(c.out_channels % 8 == 0 for c in convs)
        assert m.num_features == (1280 if alpha <= 1 else 1792)
    m = create("mobilenet_v2", num_classes=10, width_mult=0.5)
    assert m.features[0][0].out_channels == 16 and m.features[17].conv[2].out_channels == 160


def test_mobilenet_v2_residual_rule():
    m = create("mobilenet_v2", num_classes=10)
    flags = [b.use_res_connect for b in m.features[1:18]]
    # residual only inside repeats (stride 1, same width): Table 2 n = 1, 2, 3, 4, 3, 3, 1
    assert flags == [False, False, True, False, True, True, False, True, True, True, False, True, True, False, True, True, False]
    blk = m.features[2].conv  # linear bottleneck: projection conv + BN, no activation at the end
    assert isinstance(blk[-1], torch.nn.BatchNorm2d) and isinstance(blk[-2], torch.nn.Conv2d)
    assert isinstance(blk[0][2], torch.nn.ReLU6)


def stage_shapes(model, size):
    """(C, H, W) after every child of model.features for one input of size x size."""
    shapes = []
    hooks = [f.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[1:]))) for f in model.features]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    return shapes


V1_CH = [32, 64, 128, 128, 256, 256] + [512] * 6 + [1024, 1024]


def test_mobilenet_v1_stage_shapes():
    imagenet = [112, 112, 56, 56, 28, 28] + [14] * 6 + [7, 7]
    cifar = [32, 32, 16, 16, 8, 8] + [4] * 6 + [2, 2]
    for size, spatial in [(224, imagenet), (32, cifar)]:
        m = create("mobilenet_v1", num_classes=10, input_size=size)
        assert stage_shapes(m, size) == [(c, s, s) for c, s in zip(V1_CH, spatial)]
    assert create("mobilenet_v1", input_size=32).default_input_size == 32
    assert create("mobilenet_v1", input_size=224).default_input_size == 224


def test_mobilenet_v2_stage_shapes():
    ch = [32, 16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320, 1280]
    imagenet = [112, 112, 56, 56, 28, 28, 28, 14, 14, 14, 14, 14, 14, 14, 7, 7, 7, 7, 7]
    cifar = [32, 32, 16, 16, 8, 8, 8, 4, 4, 4, 4, 4, 4, 4, 2, 2, 2, 2, 2]
    for size, spatial in [(224, imagenet), (32, cifar)]:
        m = create("mobilenet_v2", num_classes=10, input_size=size)
        assert stage_shapes(m, size) == [(c, s, s) for c, s in zip(ch, spatial)]


def test_other_models_stage_shapes_cifar():
    m = create("conv_mobilenet", input_size=32)
    assert stage_shapes(m, 32)[-1] == (1024, 2, 2) and len(m.features) == 14
    m = create("cnn_baseline", input_size=32)
    convs = [x for x in m.modules() if isinstance(x, torch.nn.Conv2d)]
    assert len(convs) == 14 and stage_shapes(m, 32)[-1] == (344, 2, 2)
    m = create("inception", input_size=32)
    assert stage_shapes(m, 32) == [(64, 32, 32), (64, 16, 16), (128, 16, 16), (240, 16, 16), (240, 8, 8),
                                   (256, 8, 8), (256, 8, 8), (256, 4, 4), (416, 4, 4), (512, 4, 4)]
    m = create("inception", input_size=224)
    assert stage_shapes(m, 224)[-1] == (512, 7, 7)


def test_inception_module_is_real():
    from tamrin.models.inception import InceptionModule

    mod = InceptionModule(16, 4, 6, 8, 2, 3, 5)
    x = torch.randn(2, 16, 8, 8)
    y = mod(x)
    assert y.shape == (2, 4 + 8 + 3 + 5, 8, 8)
    # Each branch's slice of the output is exactly that branch's output (concatenation on channels).
    mod.eval()
    y = mod(x)
    torch.testing.assert_close(y[:, :4], mod.b1(x))
    torch.testing.assert_close(y[:, 4:12], mod.b2(x))
    torch.testing.assert_close(y[:, 12:15], mod.b3(x))
    torch.testing.assert_close(y[:, 15:], mod.b4(x))
    kernels = [c.kernel_size for c in mod.b3.modules() if isinstance(c, torch.nn.Conv2d)]
    assert kernels == [(1, 1), (3, 3), (3, 3)]
    assert isinstance(mod.b4[0], torch.nn.MaxPool2d) and mod.b4[1][0].kernel_size == (1, 1)


def test_conv_mobilenet_is_v1_with_full_convs():
    v1, conv = create("mobilenet_v1"), create("conv_mobilenet")
    dw = [c for c in v1.modules() if isinstance(c, torch.nn.Conv2d) and c.groups > 1]
    assert len(dw) == 13 and all(c.groups == c.in_channels for c in dw)
    assert not any(c.groups > 1 for c in conv.modules() if isinstance(c, torch.nn.Conv2d))
    assert [c.kernel_size for c in conv.modules() if isinstance(c, torch.nn.Conv2d)] == [(3, 3)] * 14
