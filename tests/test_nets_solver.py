"""FullyConnectedNet / ConvNet gradients vs finite differences and PyTorch; Solver training and save/load."""
import numpy as np
import pytest
import torch

from tamrin.errors import UserError
from tamrin.scratch.gradcheck import eval_numerical_gradient, rel_error
from tamrin.scratch.nets import ConvNet, FullyConnectedNet
from tamrin.scratch.solver import Solver

torch.set_num_threads(1)


def _check_grads(model, X, y, tol=1e-6):
    # Non-zero biases: with zero biases a fully dropped row puts a pre-activation exactly on ReLU's kink,
    # where the finite difference is not a derivative.
    rng = np.random.default_rng(7)
    for k in model.params:
        if k.startswith("b"):
            model.params[k] = rng.normal(0, 0.1, model.params[k].shape)
    loss, grads = model.loss(X, y)
    assert np.isfinite(loss)
    for name in sorted(model.params):
        num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], h=1e-5)
        if np.abs(num).max() < 1e-8:
            # e.g. the bias before batch norm: the mean subtraction cancels it, the true gradient is 0
            assert np.abs(grads[name]).max() < 1e-8, name
            continue
        err = rel_error(num, grads[name])
        assert err < tol, f"{name}: relative error {err:.2e}"


@pytest.mark.parametrize("norm,dropout,reg", [(None, 0.0, 0.0), (None, 0.0, 0.7), ("batchnorm", 0.0, 0.1),
                                              ("layernorm", 0.0, 0.1), ("batchnorm", 0.3, 0.0), (None, 0.5, 0.1)])
def test_fc_gradients_match_finite_differences(norm, dropout, reg):
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((6, 5)), rng.integers(0, 4, 6)
    model = FullyConnectedNet([7, 6], input_dim=5, num_classes=4, dropout=dropout, normalization=norm, reg=reg,
                              weight_scale=0.5, dtype=np.float64, seed=2)
    model.dropout_seed = 123  # same masks in every forward pass, so finite differences see one function
    _check_grads(model, X, y)


def test_fc_matches_torch_mlp():
    """Same weights in a torch nn.Sequential: same loss and the same gradients (float64)."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 10)), rng.integers(0, 3, 8)
    model = FullyConnectedNet([6, 5], input_dim=10, num_classes=3, reg=0.05, init="he", dtype=np.float64, seed=3)
    loss, grads = model.loss(X, y)
    lin = [torch.nn.Linear(a, b).double() for a, b in ((10, 6), (6, 5), (5, 3))]
    for i, l in enumerate(lin, 1):
        l.weight.data = torch.from_numpy(model.params[f"W{i}"].T.copy())
        l.bias.data = torch.from_numpy(model.params[f"b{i}"].copy())
    net = torch.nn.Sequential(lin[0], torch.nn.ReLU(), lin[1], torch.nn.ReLU(), lin[2])
    tl = torch.nn.functional.cross_entropy(net(torch.from_numpy(X)), torch.from_numpy(y))
    tl = tl + 0.5 * 0.05 * sum((l.weight ** 2).sum() for l in lin)
    tl.backward()
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    for i, l in enumerate(lin, 1):
        np.testing.assert_allclose(grads[f"W{i}"], l.weight.grad.numpy().T, atol=1e-12)
        np.testing.assert_allclose(grads[f"b{i}"], l.bias.grad.numpy(), atol=1e-12)


def test_fc_batchnorm_uses_running_stats_at_test_time():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 4)) * 3 + 5, rng.integers(0, 2, 20)
    model = FullyConnectedNet([5], input_dim=4, num_classes=2, normalization="batchnorm", dtype=np.float64)
    model.loss(X, y)
    rm = model.bn_params[0]["running_mean"]
    assert np.any(rm != 0)  # train mode updated the running mean
    s1 = model.loss(X[:1])  # test mode: one example works (no batch statistics needed)
    s2 = model.loss(X[:3])[:1]
    np.testing.assert_allclose(s1, s2)  # prediction does not depend on the rest of the batch


def test_fc_init_and_dtype():
    m = FullyConnectedNet([50], input_dim=200, num_classes=10, init="he", seed=0)
    assert m.params["W1"].dtype == np.float32
    assert m.params["W1"].std() == pytest.approx(np.sqrt(2 / 200), rel=0.05)
    x = FullyConnectedNet([50], input_dim=200, num_classes=10, init="xavier", seed=0)
    assert x.params["W1"].std() == pytest.approx(np.sqrt(1 / 200), rel=0.05)
    z = FullyConnectedNet([50], input_dim=200, num_classes=10, init="zero")
    assert not np.any(z.params["W1"])
    assert m.loss(np.zeros((3, 200), np.float32)).dtype == np.float32
    for bad in (dict(init="glorot"), dict(normalization="groupnorm"), dict(dropout=1.0)):
        with pytest.raises(UserError):
            FullyConnectedNet([5], input_dim=3, **bad)


def test_convnet_gradients():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((2, 1, 6, 6)), rng.integers(0, 3, 2)
    model = ConvNet(input_dim=(1, 6, 6), num_filters=2, hidden_dim=5, num_classes=3, reg=0.1, dtype=np.float64)
    _check_grads(model, X, y)


def _tiny_data(seed=0, n=60, d=12, c=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, c, n)
    return {"X_train": X[:30], "y_train": y[:30], "X_val": X[30:], "y_val": y[30:]}


@pytest.mark.parametrize("rule", ["sgd_momentum", "adam"])
def test_solver_overfits_tiny_set(rule):
    data = _tiny_data()
    model = FullyConnectedNet([40], input_dim=12, num_classes=3, init="he", seed=0)
    s = Solver(model, data, rule, {"learning_rate": 5e-2 if rule == "sgd_momentum" else 1e-2}, batch_size=10,
               num_epochs=40, verbose=False, seed=0)
    s.train()
    assert s.train_acc_history[-1] == 1.0
    assert s.loss_history[-1] < 0.1 * s.loss_history[0]
    assert s.best_val_acc == max(s.val_acc_history)
    # the model holds the best-validation parameters after training
    assert s.check_accuracy(data["X_val"], data["y_val"]) == pytest.approx(s.best_val_acc)


def test_solver_save_load_round_trip_and_resume(tmp_path):
    data = _tiny_data(1)

    def make():
        return FullyConnectedNet([20], input_dim=12, num_classes=3, normalization="batchnorm", init="he", seed=0)

    # reference: 6 epochs in one go
    ref = Solver(make(), data, "adam", {"learning_rate": 1e-2}, lr_decay=0.9, batch_size=10, num_epochs=6,
                 verbose=False, seed=5)
    ref.train()
    # interrupted after 3 epochs, saved, loaded into a fresh solver, continued to 6
    a = Solver(make(), data, "adam", {"learning_rate": 1e-2}, lr_decay=0.9, batch_size=10, num_epochs=3,
               verbose=False, seed=5)
    a.train()
    path = tmp_path / "solver.npz"
    a.save(path)
    b = Solver(make(), data, "adam", {"learning_rate": 123.0}, batch_size=10, num_epochs=6, lr_decay=0.9,
               verbose=False, seed=99).load(path)
    assert b.epoch == 3 and b.loss_history == a.loss_history
    assert b.optim_configs["W1"]["learning_rate"] == pytest.approx(1e-2 * 0.9 ** 3)
    np.testing.assert_array_equal(b.optim_configs["W1"]["m"], a.optim_configs["W1"]["m"])
    for k in a.best_params:
        np.testing.assert_array_equal(b.best_params[k], a.best_params[k])
    assert not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temporary file
    b.train()  # continues from epoch 3: same result as the uninterrupted run
    assert b.loss_history == pytest.approx(ref.loss_history, rel=1e-5)
    assert b.best_epoch == ref.best_epoch
    for k in ref.model.params:  # both hold their best-validation parameters now
        np.testing.assert_allclose(b.model.params[k], ref.model.params[k], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(b.train_params[k], ref.train_params[k], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b.model.bn_params[0]["running_mean"], ref.model.bn_params[0]["running_mean"],
                               rtol=1e-4, atol=1e-6)
    with pytest.raises(UserError):
        Solver(make(), data, "adamw")


def test_fc_mnist_3009_images_reaches_93_percent_on_10k_test():
    """The headline claim, with a smaller recipe than the experiment's so it stays fast (~15 s)."""
    from tamrin.data import shared_data_dir

    shared = shared_data_dir()
    if shared is None or not (shared / "mnist").is_dir():
        pytest.skip("../shared/data/mnist not present")
    from threadpoolctl import threadpool_limits

    from tamrin.experiments.fc_from_scratch import Config, load_data, shift_augment, train

    with threadpool_limits(1):
        d = load_data(Config(data_dir=str(shared)))
        assert len(d.y_train) + len(d.y_val) == 3009 and len(d.y_test) == 10_000
        model, solver = train(d.solver_data(), None, "test", [256], "adam", 2e-3, epochs=15, batch_size=64, seed=0,
                              lr_decay=0.9, augment=shift_augment(2, d.side, d.mean, d.std), init="he",
                              normalization="batchnorm", reg=1e-3)
        acc = float(np.mean(np.argmax(model.loss(d.X_test), 1) == d.y_test))
    print(f"MNIST test accuracy {acc:.4f} (best epoch {solver.best_epoch}, val {solver.best_val_acc:.4f})")
    assert acc >= 0.93
