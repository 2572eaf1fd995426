"""solA question 6: centre loss L_c = ½ Σ_i ‖x_i − c_(y_i)‖² — what it does (q6a), its gradients and centre updates
(q6b); the PEDCC loss (q6c)."""
from __future__ import annotations

import numpy as np

from tamrin.answers import Answer, answer, close, holds, verdict_claims
from tamrin.answers.solA._util import subclaims
from tamrin.labs.threads import one_thread


def _clusters(seed: int, n: int = 600, k: int = 3, d: int = 10):
    import torch

    g = torch.Generator().manual_seed(seed)
    means = torch.randn(k, d, generator=g) * 1.5
    y = torch.arange(n) % k
    return means[y] + torch.randn(n, d, generator=g), y


def _train_features(x, y, mode: str, seed: int, steps: int = 200, lam: float = 0.5, alpha: float = 0.5):
    """A 2-D feature MLP trained with softmax ('softmax'), softmax + λ·centre loss ('centre') or centre loss alone
    ('centre_only'); the centres move by Wen et al.'s rule (tamrin.labs.centre.update_centres)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    from tamrin.labs.centre import centre_loss, update_centres

    torch.manual_seed(seed)
    body, head = nn.Sequential(nn.Linear(x.shape[1], 32), nn.ReLU(), nn.Linear(32, 2)), nn.Linear(2, int(y.max()) + 1)
    centres = torch.zeros(int(y.max()) + 1, 2)
    with torch.no_grad():
        f0 = body(x)
    opt = torch.optim.Adam(list(body.parameters()) + list(head.parameters()), lr=1e-2)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=g)
        f = body(x[idx])
        loss = 0.0 if mode == "centre_only" else F.cross_entropy(head(f), y[idx])
        if mode != "softmax":
            loss = loss + lam * centre_loss(f, y[idx], centres)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if mode != "softmax":
            update_centres(centres, f.detach(), y[idx], alpha)
    with torch.no_grad():
        f = body(x)
        acc = float((head(f).argmax(1) == y).float().mean())
    return f.numpy(), f0.numpy(), acc


@answer("solA.q6a")
@one_thread()
def q6a(ctx) -> Answer:
    from tamrin.labs.centre import class_distance_ratio

    x, y = _clusters(ctx.seed)
    res = {m: _train_features(x, y, m, ctx.seed) for m in ("softmax", "centre", "centre_only")}
    ratio = {m: class_distance_ratio(f, y.numpy()) for m, (f, _, _) in res.items()}
    spread0 = float(np.linalg.norm(res["centre_only"][1] - res["centre_only"][1].mean(0), axis=1).mean())
    spread = float(np.linalg.norm(res["centre_only"][0] - res["centre_only"][0].mean(0), axis=1).mean())
    compact = ratio["centre"]["ratio"] < ratio["softmax"]["ratio"]
    collapses = spread < 0.2 * spread0
    parts, table = subclaims([
        ("it pulls the features of a class towards that class's centre", compact,
         f"intra/inter-class distance ratio of the learned 2-D features: {ratio['centre']['ratio']:.3f} with softmax + λ·centre "
         f"loss vs {ratio['softmax']['ratio']:.3f} with softmax alone"),
        ("so it is used together with softmax", collapses,
         f"centre loss alone shrinks the feature spread from {spread0:.3f} to {spread:.3g}: it is minimised by mapping "
         f"everything to one point"),
        ("updating the centres per mini-batch makes learning unstable", None, "not measured here")])
    return Answer(
        f"Centre loss penalises each feature's distance to its class centre, so same-class features contract while "
        f"softmax keeps the classes apart: on 3 Gaussian classes with a 2-D feature layer, the intra/inter-class distance "
        f"ratio is {ratio['centre']['ratio']:.3f} with softmax + λ·centre loss vs {ratio['softmax']['ratio']:.3f} with "
        f"softmax alone (accuracy {res['centre'][2]:.3f} vs {res['softmax'][2]:.3f}). On its own it "
        f"{'collapses' if collapses else 'does not collapse'} the features (spread {spread0:.3f} → {spread:.3g}), which is "
        f"why it is always paired with softmax: L = L_softmax + λL_c.",
        values={"ratio_softmax": ratio["softmax"]["ratio"], "ratio_centre": ratio["centre"]["ratio"],
                "accuracy_softmax": res["softmax"][2], "accuracy_centre": res["centre"][2],
                "spread_before": spread0, "spread_centre_only": spread},
        how="small torch MLPs trained in the call; tamrin.labs.centre (centre_loss, update_centres, class_distance_ratio).",
        checks=[holds("intra/inter ratios recomputed with numpy agree with the lab",
                      abs(_ratio_np(res["centre"][0], y.numpy()) - ratio["centre"]["ratio"]) < 1e-9),
                holds("softmax + centre loss still classifies (accuracy > 0.5)", res["centre"][2] > 0.5)],
        claim="Centre loss pulls deep features of the same class towards their centre, but makes learning unstable because "
              "the centres are updated every iteration from mini-batches; it is used together with softmax: "
              "L = L_softmax + λL_centre.",
        verdict=verdict_claims(parts), tables=[table])


def _ratio_np(f, y) -> float:
    f = np.asarray(f, dtype=np.float64)
    classes = np.unique(y)
    means = {c: f[y == c].mean(0) for c in classes}
    intra = np.mean([np.linalg.norm(f[i] - means[y[i]]) for i in range(len(y))])
    inter = np.mean([np.linalg.norm(means[a] - means[b]) for i, a in enumerate(classes) for b in classes[i + 1:]])
    return float(intra / inter)


@answer("solA.q6b")
def q6b(ctx) -> Answer:
    import torch

    from tamrin.labs.centre import update_centres

    m, h, d, k = 10, 5, 3, 3
    rng = ctx.rng
    z = torch.tensor(rng.normal(size=(m, h)), requires_grad=True)
    W = torch.tensor(rng.normal(size=(d, h)), requires_grad=True)
    b = torch.tensor(rng.normal(size=d), requires_grad=True)
    C = torch.tensor(rng.normal(size=(k, d)), requires_grad=True)
    y = torch.tensor(rng.integers(0, k, size=m))
    y[:k] = torch.arange(k)  # every class present
    x = z @ W.T + b
    x.retain_grad()
    (0.5 * ((x - C[y]) ** 2).sum()).backward()
    xn, zn, Wn, Cn, yn = x.detach().numpy(), z.detach().numpy(), W.detach().numpy(), C.detach().numpy(), y.numpy()
    r = xn - Cn[yn]  # x_i − C_(y_i)
    claim_dx, claim_dW, claim_db, claim_dz = r, r.T @ zn, r.sum(0), r @ Wn  # summed over i; (x − c)W as a row
    counts = np.bincount(yn, minlength=k)[:, None]
    sums = np.stack([(Cn[j] - xn[yn == j]).sum(0) for j in range(k)])
    eps = 1e-8
    claim_dC = sums / (eps + counts)  # the solution's ΔC_j, which it writes as ∂L_c/∂C_j
    lab_delta = update_centres(torch.tensor(Cn).clone(), torch.tensor(xn), y, 1.0).numpy()
    ok = lambda a_, t: bool(np.allclose(a_, t, rtol=1e-9, atol=1e-12))  # noqa: E731
    parts, table = subclaims([
        ("∂L_c/∂x_i = x_i − C_(y_i)", ok(claim_dx, x.grad.numpy()), "torch autograd"),
        ("W ← W − (x_i − C_(y_i))z_iᵀ (the gradient, summed over i)", ok(claim_dW, W.grad.numpy()), "torch autograd"),
        ("b ← b − (x_i − C_(y_i))", ok(claim_db, b.grad.numpy()), "torch autograd"),
        ("z_i ← z_i − (x_i − C_(y_i))W (the gradient passed back to z)", ok(claim_dz, z.grad.numpy()), "torch autograd"),
        ("∂L_c/∂C_j = Σ_i δ(y_i = j)(C_j − x_i) / (ε + Σ_i δ(y_i = j))", ok(claim_dC, C.grad.numpy()),
         f"autograd gives the numerator alone; class counts {counts.ravel().tolist()}"),
        ("its ΔC_j, with C_j ← C_j − ΔC_j, is the paper's centre update", ok(sums / (1 + counts), lab_delta),
         "equals tamrin.labs.centre.update_centres's Δc_j when ε = 1 (the paper's 1 +) and the rate α = 1")])
    return Answer(
        "∂L_c/∂x_i = x_i − c_(y_i); through x_i = Wz_i + b: ∂L_c/∂W = Σ_i (x_i − c_(y_i))z_iᵀ, ∂L_c/∂b = Σ_i (x_i − c_(y_i)) and "
        "∂L_c/∂z_i = Wᵀ(x_i − c_(y_i)) (passed back to the layers below; z_i is not a parameter to update). "
        "∂L_c/∂c_j = Σ_i δ(y_i = j)(c_j − x_i), unnormalised. The centre update of Wen et al. is a separate rule, not a "
        "gradient step: Δc_j = Σ_i δ(y_i = j)(c_j − x_i) / (1 + Σ_i δ(y_i = j)), c_j ← c_j − αΔc_j with a rate α. "
        f"The solution's gradients through the layer are {'right' if all(parts[:4]) else 'not all right'}; it equates "
        f"∂L_c/∂C_j with the normalised Δc_j ({'right' if parts[4] else 'wrong whenever a class appears more than once in the batch'}) "
        "and leaves out the rate α (with α = 1 and ε ≈ 0 each centre jumps to its class's batch mean).",
        values={"autograd_dC": C.grad.numpy(), "claimed_dC": claim_dC, "paper_delta_c": lab_delta},
        how="torch autograd of L_c through x = Wz + b; tamrin.labs.centre.update_centres (the paper's rule).",
        checks=[close("autograd ∂L_c/∂C_j = Σ_i δ(y_i = j)(C_j − x_i)", C.grad.numpy(), sums, rtol=1e-10),
                close("autograd ∂L_c/∂z = (x − c)W (rows)", z.grad.numpy(), claim_dz, rtol=1e-10),
                close("update_centres' Δc_j = Σ δ(c_j − x_i)/(1 + n_j)", lab_delta, sums / (1 + counts), rtol=1e-10)],
        claim="∂L_c/∂C_j = ΔC_j = Σ_i δ(y_i = j)(C_j − x_i) / (ε + Σ_i δ(y_i = j)), C_j ← C_j − ΔC_j; ∂L_c/∂x_i = x_i − C_(y_i); "
              "∂x_i/∂z_i = W, ∂x_i/∂b = 1, ∂x_i/∂W = z_iᵀ; z_i ← z_i − (x_i − C_(y_i))W, W ← W − (x_i − C_(y_i))z_iᵀ, "
              "b ← b − (x_i − C_(y_i)).",
        verdict=verdict_claims(parts), tables=[table],
        assumptions=["x_i = Wz_i + b with W of shape (d, h); the solution's updates read with learning rate 1 and summed "
                     "over the batch."])


@answer("solA.q6c")
def q6c(ctx) -> Answer:
    from tamrin.labs import pedcc

    k, d = 10, 16
    c = pedcc.centroids(k, d, seed=ctx.seed)
    dist = pedcc.pairwise_distances(c)
    bound = np.sqrt(2 * k / (k - 1))  # the largest possible smallest distance between k unit vectors (a simplex)
    rnd = ctx.rng.normal(size=(200, k, d))
    rnd /= np.linalg.norm(rnd, axis=2, keepdims=True)
    rand_min = float(np.mean([pedcc.pairwise_distances(r).min() for r in rnd]))
    gram = c @ c.T
    off = gram[~np.eye(k, dtype=bool)]
    even = bool(np.ptp(dist) < 1e-9)
    parts, table = subclaims([
        ("the class centres are predefined, fixed and evenly distributed", even,
         f"all {len(dist)} pairwise distances equal to within {np.ptp(dist):.1g}"),
        ("they maximise the distance between classes", bool(abs(dist.min() - bound) < 1e-9),
         f"smallest distance {dist.min():.6f} = the bound √(2k/(k − 1)) = {bound:.6f}; random unit vectors: {rand_min:.3f} on average"),
        ("the loss combines cross-entropy with an MSE between features and their centres", None, "a description of the paper"),
        ("it beats centre loss and converges stably", None, "not measured here (see the centre-loss experiment)")])
    return Answer(
        f"PEDCC fixes the k class centres in advance as unit vectors as far apart as possible — for k ≤ d + 1 a regular "
        f"simplex: every inner product −1/(k − 1) (measured {off.mean():.6f} ± {off.std():.1g} for k = {k}, d = {d}), every "
        f"pairwise distance √(2k/(k − 1)) = {bound:.4f}, the largest smallest distance possible; random unit vectors "
        f"manage {rand_min:.3f}. The classifier's weights are these fixed centroids and the features are also pulled onto "
        f"their class's centroid (an MSE term), so the classes are maximally separated by construction and nothing about "
        f"the centres has to be learned. The solution's description {'matches' if parts[0] and parts[1] else 'does not match'} "
        "the geometry; its performance claims are not measured here.",
        values={"k": k, "d": d, "min_distance": float(dist.min()), "bound": bound, "mean_inner_product": float(off.mean()),
                "random_min_distance": rand_min},
        how="tamrin.labs.pedcc.centroids and pairwise_distances.",
        checks=[close("inner products = −1/(k − 1)", off, np.full(off.shape, -1 / (k - 1)), atol=1e-9),
                close("unit norms", np.linalg.norm(c, axis=1), np.ones(k), atol=1e-12),
                holds("the simplex beats random unit vectors", dist.min() > rand_min)],
        claim="PEDCC-Loss uses predefined, evenly distributed class centres with fixed weights to maximise the distance "
              "between classes, combining cross-entropy with an MSE between sample features and their class centres; it "
              "outperforms centre loss and converges stably.",
        verdict=verdict_claims(parts), tables=[table])
