"""Smoke runs of the four lab experiments with tiny configs: they finish, write their figures and
report sections, and the numbers they report satisfy the maths they illustrate."""
import json

import numpy as np
import pytest

from tamrin.runs import Run
from tamrin.train import TrainConfig


def _tiny_train(**kw):
    base = dict(epochs=1, batch_size=32, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=0.0, schedule="none",
                max_steps_per_epoch=4, progress=False)
    base.update(kw)
    return TrainConfig(**base)


def _texts(sections):
    return " ".join(b.text for s in sections for b in s.blocks if b.kind == "text")


def test_optim_lab_smoke(tmp_path):
    from tamrin.experiments import optim_lab as m

    cfg = m.Config(limit=300, range_steps=40, lr_steps=30, saddle_steps=150, batch_epochs=1, batch_sizes=[1, 4, 16, 64, 128],
                   scaling_lrs=[0.1, 1.0], scaling_n=200, scaling_max_steps=300, quad_steps=100, adam_runs=50, adam_steps=20,
                   softmax_steps=30, solve_probe=100, eigenvalues=[1.0, 4.0], lr_multiples=[0.5, 1.1])
    cfg.validate()
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    seen = []
    orig = m.small_mnist
    m.small_mnist = lambda *a, **k: (seen.append(torch.get_num_threads()), orig(*a, **k))[1]  # threads inside run()
    try:
        secs = m.run(cfg, Run(tmp_path, "optim-lab", quiet=True))
    finally:
        m.small_mnist = orig
        after = torch.get_num_threads()
        torch.set_num_threads(before)
    assert seen == [1] and after == 2  # one thread inside the lab, restored afterwards
    assert len(secs) == 8
    for name in ("optim_lr", "optim_saddles", "optim_batch_modes", "optim_quadratic", "optim_adam_bias"):
        assert (tmp_path / "figures" / f"{name}.png").exists()
    out = json.loads((tmp_path / "optim_lab.json").read_text())
    q = out["quadratic"]
    assert q["threshold_predicted"] == pytest.approx(0.25)
    assert q["threshold_measured"] == pytest.approx(0.25, rel=0.02)
    assert q["threshold_half_measured"] == pytest.approx(0.5, rel=0.02)
    assert q["newton_error"] < 1e-10
    assert out["softmax_logistic"]["trained_diff"] < 1e-10
    assert out["adam"]["mhat1_mean"] > 3 * out["adam"]["m1_mean"]  # bias correction undoes the ×(1 − β1) at t = 1
    assert out["learning_rate"]["diverged"]["too high"] is not None  # the too-high rate is caught
    assert "escapes" in _texts(secs)


def test_regularization_lab_smoke(tmp_path):
    from tamrin.experiments import regularization_lab as m

    cfg = m.Config(limit=300, mc_samples=4000, gauss_samples=40000, hidden=[16, 16], train=_tiny_train(epochs=2),
                   noise_batches=5, single_epochs=1, probe_batch=32, sigmoid_depth=3, sigmoid_width=8, cnn_depth=3,
                   init_depth=2, cnn_channels=4, cnn_train=_tiny_train(lr=0.02, grad_clip=5.0))
    cfg.validate()
    secs = m.run(cfg, Run(tmp_path, "regularization-lab", quiet=True))
    out = json.loads((tmp_path / "regularization_lab.json").read_text())
    assert out["dropout_linear"]["max_z"] < 5 and out["dropout_linear"]["ridge_match"] < 1e-8
    assert out["gaussian_dropout"]["z_reparam"] < 5 and out["gaussian_dropout"]["z_wrong"] > 5
    assert out["conv_bias"]["max_output_change"] < 1e-4 and out["conv_bias"]["bias_grad_norm"] < 1e-3
    assert out["batchnorm"]["noise"]["train_rel_std"] > 0 and out["batchnorm"]["noise"]["eval_rel_std"] < 1e-6
    assert out["init"]["val_acc"]["zero"] < 0.35  # zero init cannot break symmetry
    # BN with re-estimated statistics is invariant to scaling the input
    assert out["scaling"]["bn_inputs_10_restat"] <= 0.01
    assert (tmp_path / "checkpoints" / "cnn_plain.pt").exists()
    assert any(s.title.startswith("Deep plain CNN") for s in secs)


def test_centre_loss_smoke(tmp_path):
    from tamrin.experiments import centre_loss as m

    cfg = m.Config(limit=300, test_limit=200, dims=[2, 4],
                   train=_tiny_train(optimizer="adam", lr=3e-3, max_steps_per_epoch=5))
    cfg.validate()
    secs = m.run(cfg, Run(tmp_path, "centre-loss", quiet=True))
    out = json.loads((tmp_path / "centre_loss.json").read_text())
    assert set(out) == {f"{h}_{d}d" for h in ("softmax", "centre", "pedcc") for d in (2, 4)}
    assert all(0 <= v["acc"] <= 1 and v["ratio"]["ratio"] > 0 for v in out.values())
    assert (tmp_path / "figures" / "centre_scatter_2d.png").exists()
    assert (tmp_path / "checkpoints" / "centre_2d.pt").exists()
    assert "intra/inter" in _texts(secs)
    # a rerun in the same folder (--resume) trains nothing and reproduces the numbers, centres included
    m.run(cfg, Run(tmp_path, "centre-loss", quiet=True))
    again = json.loads((tmp_path / "centre_loss.json").read_text())
    assert {k: (v["acc"], v["ratio"]) for k, v in again.items()} == {k: (v["acc"], v["ratio"]) for k, v in out.items()}


def test_centre_buffer_moves_and_is_checkpointed():
    import torch

    from tamrin.labs.feature_nets import FeatureNet, make_loss

    torch.manual_seed(0)
    net = FeatureNet(2, "centre")
    loss_fn = make_loss(net, 0.1, 0.5)
    x, y = torch.randn(8, 1, 14, 14), torch.arange(8) % 3
    net.train()
    loss_fn(net(x), y).backward()
    assert net.centres[:3].abs().sum() > 0 and net.centres[3:].abs().sum() == 0  # only the classes seen moved
    assert "centres" in net.state_dict()
    net.eval()
    before = net.centres.clone()
    loss_fn(net(x), y)
    assert torch.equal(before, net.centres)  # evaluation never moves the centres


def test_committee_smoke(tmp_path):
    from tamrin.experiments import committee as m

    cfg = m.Config(train_limit=300, test_limit=200, widths=[10, 20],
                   train=_tiny_train(optimizer="adam", lr=3e-3, max_steps_per_epoch=5))
    cfg.validate()
    m.run(cfg, Run(tmp_path, "committee", quiet=True))
    out = json.loads((tmp_path / "committee.json").read_text())
    assert np.allclose(out["measured_widths"], [10, 20], atol=0.5)
    for k in ("raw", "width"):
        assert 0 <= out[k]["committee_err"] <= 1 and len(out[k]["member_err"]) == 2
    assert (tmp_path / "figures" / "committee_error_correlation.png").exists()


def test_bad_configs_are_user_errors():
    from tamrin.errors import UserError
    from tamrin.experiments import centre_loss, committee, optim_lab, regularization_lab

    for bad in (optim_lab.Config(pair=(3, 3)), optim_lab.Config(eigenvalues=[1.0, -1.0]), regularization_lab.Config(keep_probs=[0.0]),
                centre_loss.Config(dims=[1]), committee.Config(widths=[12])):
        with pytest.raises(UserError):
            bad.validate()
