"""VGG16 (torchvision's exact state_dict, weight fetching with SHA-256) and the compact VGG of Hewitt & Gunes."""
import hashlib
import http.server
import threading
from functools import partial

import pytest
import torch

from tamrin.errors import UserError
from tamrin.models import count_params, create
from tamrin.models.vgg import GaussianDropout, pooled_size
from tamrin.models.weights import fetch_weights, hash_prefix_from_name, load_backbone, load_weights

torch.set_num_threads(1)


def torchvision_vgg16_keys():
    """torchvision vgg16: Conv2d(3x3, bias) at features.{0,2,5,...,28}, Linear at classifier.{0,3,6} -- written out."""
    convs = [(0, 3, 64), (2, 64, 64), (5, 64, 128), (7, 128, 128), (10, 128, 256), (12, 256, 256), (14, 256, 256),
             (17, 256, 512), (19, 512, 512), (21, 512, 512), (24, 512, 512), (26, 512, 512), (28, 512, 512)]
    keys = []
    for i, cin, cout in convs:
        keys += [(f"features.{i}.weight", (cout, cin, 3, 3)), (f"features.{i}.bias", (cout,))]
    for i, fin, fout in [(0, 25088, 4096), (3, 4096, 4096), (6, 4096, 1000)]:
        keys += [(f"classifier.{i}.weight", (fout, fin)), (f"classifier.{i}.bias", (fout,))]
    return keys


def test_vgg16_state_dict_equals_torchvision_and_loads_strict():
    expected = torchvision_vgg16_keys()
    with torch.device("meta"):  # 138M parameters: shapes are all we need, so allocate nothing
        model = create("vgg16", num_classes=1000, input_size=224)
        assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == expected
        assert count_params(model) == 138_357_544  # torchvision's documented count
        sd = {k: torch.empty(s) for k, s in expected}
    res = model.load_state_dict(sd, strict=True, assign=True)
    assert not res.missing_keys and not res.unexpected_keys
    sd["classifier.6.weight"] = torch.empty(7, 4096, device="meta")
    with pytest.raises(RuntimeError, match="size mismatch"):
        model.load_state_dict(sd, strict=True, assign=True)


def test_pretrained_backbone_file_into_new_head(tmp_path):
    g = torch.Generator().manual_seed(0)
    sd = {k: torch.randn(s, generator=g) * 0.01 for k, s in torchvision_vgg16_keys() if k.startswith("features.")}
    raw = tmp_path / "x.pth"
    torch.save(sd, raw)
    digest = hashlib.sha256(raw.read_bytes()).hexdigest()
    named = tmp_path / f"vgg16feat-{digest[:8]}.pth"  # torchvision's naming: the SHA-256 prefix in the name
    raw.rename(named)
    assert hash_prefix_from_name(str(named)) == digest[:8]
    model = create("vgg16", num_classes=7, input_size=32, head="gap")
    assert load_backbone(model, torch.load(fetch_weights(named), weights_only=True)) == 26
    torch.testing.assert_close(model.features[28].weight, sd["features.28.weight"])
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 7)
    bad = tmp_path / "vgg16feat-00000000.pth"
    bad.write_bytes(named.read_bytes())
    with pytest.raises(UserError, match="SHA-256"):
        fetch_weights(bad)
    with pytest.raises(UserError, match="does not fit"):
        load_backbone(create("vgg16", num_classes=7, width_mult=0.25, head="gap"), sd)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def test_download_checks_sha256_against_local_http_server(tmp_path):
    srv_dir, cache = tmp_path / "srv", tmp_path / "cache"
    srv_dir.mkdir()
    small = create("hg_vgg_gap", num_classes=3, width_mult=0.25, input_size=16)
    torch.save(small.state_dict(), srv_dir / "tmp.pth")
    digest = hashlib.sha256((srv_dir / "tmp.pth").read_bytes()).hexdigest()
    (srv_dir / "tmp.pth").rename(srv_dir / f"tiny-{digest[:8]}.pth")
    (srv_dir / "tiny-deadbeef.pth").write_bytes((srv_dir / f"tiny-{digest[:8]}.pth").read_bytes())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(srv_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        path = fetch_weights(f"{base}/tiny-{digest[:8]}.pth", cache=cache)
        assert path.parent == cache and hashlib.sha256(path.read_bytes()).hexdigest() == digest
        fetch_weights(f"{base}/tiny-{digest[:8]}.pth", sha256=digest, cache=cache)  # full digest, cached copy
        with pytest.raises(UserError, match="SHA-256"):
            fetch_weights(f"{base}/tiny-deadbeef.pth", cache=cache)
        assert sorted(p.name for p in cache.iterdir()) == [path.name]  # the bad download left nothing behind
        with pytest.raises(UserError, match="cannot download"):
            fetch_weights(f"{base}/missing-0123abcd.pth", cache=cache)
    finally:
        server.shutdown()
    other = create("hg_vgg_gap", num_classes=3, width_mult=0.25, input_size=16)
    load_weights(other, path)  # strict
    torch.testing.assert_close(other.classifier[1].weight, small.classifier[1].weight)


def test_compact_vgg_parameter_count_by_hand():
    convs = [(3, 16), (16, 16), (16, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128), (128, 128), (128, 128)]
    conv = sum(9 * cin * cout for cin, cout in convs)  # no conv bias
    bn = sum(2 * cout for _, cout in convs)  # BN scale + shift (running stats are buffers, not parameters)
    dense = (2048 * 1024 + 1024) + (1024 * 1024 + 1024) + (1024 * 8 + 8)
    assert conv + bn + dense == 3_745_400
    model = create("hg_vgg", num_classes=8, input_size=128)
    assert count_params(model) == conv + bn + dense
    assert model.classifier[0].in_features == 2048  # flatten 4x4x128
    assert count_params(create("hg_vgg", num_classes=2, input_size=128, regression=True)) == conv + bn + dense - 6 * 1025
    gap = create("hg_vgg_gap", num_classes=8, input_size=128)
    assert count_params(gap) == conv + bn + 128 * 8 + 8
    assert [pooled_size(s) for s in (128, 48, 16)] == [4, 2, 1]


def test_compact_vgg_any_channels_size_and_cam_ready():
    from tamrin.explain import cam, gradcam

    for name in ("hg_vgg", "hg_vgg_gap"):
        m = create(name, num_classes=5, width_mult=0.25, input_size=48, in_chans=1).eval()
        assert m(torch.rand(2, 1, 48, 48)).shape == (2, 5)
        assert m(torch.rand(2, 1, 20, 28)).shape == (2, 5)
    e_cam = cam(m, torch.rand(3, 1, 48, 48))  # GAP + one linear layer: CAM's identity holds
    e_grad = gradcam(m, torch.rand(3, 1, 48, 48))
    assert e_cam.maps.shape == e_grad.maps.shape == (3, 48, 48)
    with pytest.raises(UserError, match="gradcam"):
        cam(create("hg_vgg", num_classes=5, width_mult=0.25, input_size=48, in_chans=1), torch.rand(1, 1, 48, 48))


def test_gaussian_dropout():
    d = GaussianDropout(0.2)
    x = torch.ones(200_000)
    assert torch.equal(d.eval()(x), x)
    y = d.train()(x)
    assert abs(float(y.mean()) - 1) < 0.01 and abs(float(y.var()) - 0.25) < 0.01  # var = rate / (1 - rate)
    assert (y != 0).all()


def test_vgg16_bn_keys_follow_torchvision_vgg16_bn():
    """batch_norm=True: conv, BN, ReLU per layer, so the convs sit at torchvision vgg16_bn's indices."""
    with torch.device("meta"):
        model = create("vgg16", num_classes=1000, input_size=224, batch_norm=True)
    convs = [i for i, m in enumerate(model.features) if isinstance(m, torch.nn.Conv2d)]
    assert convs == [0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40]  # torchvision vgg16_bn
    assert count_params(model) == 138_365_992  # torchvision's documented vgg16_bn count


@pytest.mark.parametrize("head", ["gap", "torchvision"])
def test_fold_batchnorm_gives_the_plain_vgg16_with_equal_outputs(head):
    from tamrin.models.vgg import fold_batchnorm

    torch.manual_seed(0)
    bn = create("vgg16", num_classes=5, width_mult=0.125, input_size=32, head=head, head_hidden=16, batch_norm=True)
    bn.train()
    with torch.no_grad():  # move the running statistics and affine parameters away from identity
        for _ in range(3):
            bn(torch.randn(8, 3, 32, 32) * 2 + 0.5)
        for m in bn.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    bn.eval()
    plain = fold_batchnorm(bn)
    ref = create("vgg16", num_classes=5, width_mult=0.125, input_size=32, head=head, head_hidden=16)
    assert [(k, v.shape) for k, v in plain.state_dict().items()] == [(k, v.shape) for k, v in ref.state_dict().items()]
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(plain(x), bn(x), rtol=1e-4, atol=1e-5)
    with pytest.raises(UserError, match="batch_norm=True"):
        fold_batchnorm(ref)
