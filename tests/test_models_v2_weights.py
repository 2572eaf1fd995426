"""MobileNetV2 (ImageNet configuration) has exactly torchvision's state_dict: keys, order and shapes.

The expected list is written out independently from torchvision's mobilenetv2.py: features.0 is
Conv2dNormActivation(3, 32, stride 2) = [conv, bn, relu6]; blocks 1..17 are InvertedResidual with
`.conv` = [expand Conv2dNormActivation (only when t != 1), depthwise Conv2dNormActivation, Conv2d, BN];
features.18 = Conv2dNormActivation(320, 1280, 1); classifier = [Dropout, Linear(1280, 1000)].
"""
import io

import torch

from tamrin.models import create

# (input channels, hidden channels, output channels) of torchvision's 17 inverted residual blocks, alpha=1.
BLOCKS = [(32, 32, 16), (16, 96, 24), (24, 144, 24), (24, 144, 32), (32, 192, 32), (32, 192, 32),
          (32, 192, 64), (64, 384, 64), (64, 384, 64), (64, 384, 64), (64, 384, 96), (96, 576, 96),
          (96, 576, 96), (96, 576, 160), (160, 960, 160), (160, 960, 160), (160, 960, 320)]


def bn(prefix, c):
    return [(f"{prefix}.weight", (c,)), (f"{prefix}.bias", (c,)), (f"{prefix}.running_mean", (c,)),
            (f"{prefix}.running_var", (c,)), (f"{prefix}.num_batches_tracked", ())]


def torchvision_keys():
    keys = [("features.0.0.weight", (32, 3, 3, 3))] + bn("features.0.1", 32)
    for i, (cin, hid, cout) in enumerate(BLOCKS, start=1):
        p, j = f"features.{i}.conv", 0
        if hid != cin:  # expansion conv exists only for t != 1 (only block 1 has t = 1)
            keys += [(f"{p}.0.0.weight", (hid, cin, 1, 1))] + bn(f"{p}.0.1", hid)
            j = 1
        keys += [(f"{p}.{j}.0.weight", (hid, 1, 3, 3))] + bn(f"{p}.{j}.1", hid)
        keys += [(f"{p}.{j + 1}.weight", (cout, hid, 1, 1))] + bn(f"{p}.{j + 2}", cout)
    keys += [("features.18.0.weight", (1280, 320, 1, 1))] + bn("features.18.1", 1280)
    keys += [("classifier.1.weight", (1000, 1280)), ("classifier.1.bias", (1000,))]
    return keys


def test_state_dict_equals_torchvision_mobilenet_v2():
    expected = torchvision_keys()
    assert len(expected) == 314
    # spot checks written out literally
    d = dict(expected)
    assert d["features.1.conv.0.0.weight"] == (32, 1, 3, 3)
    assert d["features.1.conv.1.weight"] == (16, 32, 1, 1)
    assert d["features.2.conv.0.0.weight"] == (96, 16, 1, 1)
    assert d["features.17.conv.2.weight"] == (320, 960, 1, 1)
    model = create("mobilenet_v2", num_classes=1000, input_size=224)
    got = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    assert got == expected


def test_torchvision_style_weight_file_loads_strict():
    # A file with torchvision's keys/shapes (random values standing in for the published weights).
    g = torch.Generator().manual_seed(0)
    sd = {k: (torch.randn(s, generator=g) if s else torch.tensor(7)) for k, s in torchvision_keys()}
    buf = io.BytesIO()
    torch.save(sd, buf)
    buf.seek(0)
    model = create("mobilenet_v2", num_classes=1000, input_size=224)
    result = model.load_state_dict(torch.load(buf, weights_only=True), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    torch.testing.assert_close(model.features[18][0].weight, sd["features.18.0.weight"])
