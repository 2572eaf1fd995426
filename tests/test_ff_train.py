"""FF training on a toy problem: prediction by accumulated goodness works, seeds and resume are exact."""
import tempfile

import pytest
import torch

from tamrin.ff.net import FFNet
from tamrin.ff.supervised import FFTrain, train_supervised
from tamrin.runs import Run

torch.set_num_threads(1)


def toy(n: int, seed: int, d: int = 40):
    """Ten noisy prototypes in d dims, behind 10 empty 'label pixels' (like MNIST's black border)."""
    g = torch.Generator().manual_seed(123)
    protos = (torch.rand(10, d, generator=g) > 0.6).float()
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    x = (protos[y] + 0.3 * torch.randn(n, d, generator=g)).clamp(0, 1)
    return torch.cat([torch.zeros(n, 10), x], 1), y


def train(run_dir, epochs=6, schedule="simultaneous", negatives="random", seed=0, fail_at=None):
    x, y = toy(600, 0)
    torch.manual_seed(seed)
    net = FFNet(50, [64, 64, 64])
    cfg = FFTrain(epochs=epochs, batch_size=50, lr=0.01, schedule=schedule, negatives=negatives)

    def ev(m):
        if fail_at is not None and len(Run(run_dir, quiet=True).metrics) + 1 >= fail_at:
            raise KeyboardInterrupt  # simulates a kill after a checkpoint was written
        return {}

    hist = train_supervised(net, x, y, cfg, Run(run_dir, quiet=True), "ff", torch.Generator().manual_seed(seed), ev)
    return net, hist


def test_goodness_prediction_is_right_on_a_trained_toy_problem(tmp_path):
    net, hist = train(tmp_path)
    x, y = toy(500, 1)
    acc = (net.predict(x) == y).float().mean().item()
    assert acc > 0.9, acc
    last = hist[-1]
    for i in range(3):  # every layer learned to separate: positive goodness above negative
        assert last[f"gpos_l{i}"] > last[f"gneg_l{i}"]
    assert hist[-1]["loss"] < hist[0]["loss"]


def test_greedy_schedule_and_hard_negatives_train(tmp_path):
    net, hist = train(tmp_path, epochs=2, schedule="greedy", negatives="hard")
    assert len(hist) == 6 and [sorted(k for k in r if k.startswith("loss_l")) for r in hist][::2] == [["loss_l0"], ["loss_l1"], ["loss_l2"]]
    x, y = toy(300, 1)
    assert (net.predict(x) == y).float().mean().item() > 0.5


def test_fixed_seed_gives_identical_results(tmp_path):
    a, ha = train(tmp_path / "a", epochs=2)
    b, hb = train(tmp_path / "b", epochs=2)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert [r["loss"] for r in ha] == [r["loss"] for r in hb]


def test_killed_run_resumes_to_the_same_weights(tmp_path):
    ref, href = train(tmp_path / "ref", epochs=3)
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "cut", epochs=3, fail_at=2)  # dies during epoch 2's evaluation, after epoch 1's checkpoint
    resumed, hres = train(tmp_path / "cut", epochs=3)
    for pa, pb in zip(ref.parameters(), resumed.parameters()):
        assert torch.equal(pa, pb)
    assert [r["loss"] for r in hres] == [r["loss"] for r in href]
    assert [r["epoch"] for r in Run(tmp_path / "cut", quiet=True).metrics] == [1, 2, 3]


def test_denormals_flushed_only_while_training():
    """issue #18: FF's saturated sigmoids fill Adam's state with subnormals (100x slower on x86): flushed inside
    fit_epochs, IEEE behaviour restored afterwards."""
    import torch

    from tamrin.ff.trainer import flush_denormals

    tiny = torch.tensor([1e-39], dtype=torch.float32)  # a subnormal float32
    with flush_denormals() as supported:
        if supported:
            assert (tiny * 1.0).item() == 0.0
    assert (tiny * 1.0).item() != 0.0
