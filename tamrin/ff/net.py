"""A stack of Forward-Forward layers: local losses for training, goodness-based prediction.

Training signal: every layer has its own loss on its own goodness (layers.ff_loss). Because each
layer detaches its input, the sum of the per-layer losses can be minimised with a single backward
pass and a single optimizer step - each parameter only ever receives its own layer's gradient.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from tamrin.ff.labels import NUM_CLASSES, embed_all_labels, embed_neutral
from tamrin.ff.layers import FFLayer, ff_loss, goodness, normalise


class FFNet(nn.Module):
    def __init__(self, d_in: int, hidden: Sequence[int], norm: str = "rms", goodness_kind: str = "sum", theta: float = 1.0):
        super().__init__()
        dims = [d_in, *hidden]
        self.layers = nn.ModuleList(FFLayer(a, b, norm) for a, b in zip(dims[:-1], dims[1:]))
        self.norm = norm
        self.goodness_kind = goodness_kind
        self.theta = float(theta)
        # Hinton's initialisation: N(0, 1/fan_in) weights give unit-variance pre-activations for a
        # unit-mean-square input, so the initial goodness (mean square 0.5) starts near θ = 1.
        for layer in self.layers:
            nn.init.normal_(layer.linear.weight, std=layer.linear.in_features ** -0.5)
            nn.init.zeros_(layer.linear.bias)

    def threshold(self, layer: int) -> float:
        """θ of one layer. `theta` is per unit (a mean square); sum-goodness uses θ * width."""
        if self.goodness_kind == "sum":
            return self.theta * self.layers[layer].linear.out_features
        return self.theta

    def activities(self, x: torch.Tensor, upto: int | None = None) -> list[torch.Tensor]:
        """ReLU activities of every layer (or of the first `upto` layers)."""
        out = []
        for layer in self.layers[: upto if upto is not None else len(self.layers)]:
            x = layer(x)
            out.append(x)
        return out

    def goodness_per_layer(self, x: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, L) goodness of every layer."""
        return torch.stack([goodness(h, self.goodness_kind) for h in self.activities(x)], dim=1)

    def local_losses(self, x_pos: torch.Tensor, x_neg: torch.Tensor, active: Sequence[int] | None = None):
        """Per-layer FF losses on one batch. Positives and negatives go through as ONE batch.

        Returns (losses, g_pos_mean, g_neg_mean): lists with one entry per layer in `active`
        (default: all). Layers after the last active one are not even computed.
        """
        active = list(range(len(self.layers))) if active is None else list(active)
        n = x_pos.shape[0]
        acts = self.activities(torch.cat([x_pos, x_neg]), upto=max(active) + 1)
        losses, gp, gn = [], [], []
        for i in active:
            g = goodness(acts[i], self.goodness_kind)
            losses.append(ff_loss(g[:n], g[n:], self.threshold(i)))
            gp.append(g[:n].mean())
            gn.append(g[n:].mean())
        return losses, gp, gn

    @torch.no_grad()
    def label_scores(self, x: torch.Tensor, layers: Sequence[int] | None = None, chunk: int = 1000) -> torch.Tensor:
        """(B, D) unlabeled images -> (B, 10) goodness accumulated over `layers` for every label.

        All 10 labelled copies of a chunk of images go through the net as one (chunk*10, D) batch.
        `layers` defaults to all but the first hidden layer (the paper's choice: the first layer's
        goodness mostly reflects the image, not whether the label fits it); a one-layer net uses it.
        """
        layers = self.default_score_layers() if layers is None else list(layers)
        out = []
        for s in range(0, x.shape[0], chunk):
            xb = x[s : s + chunk]
            g = self.goodness_per_layer(embed_all_labels(xb))[:, layers].sum(dim=1)
            out.append(g.view(xb.shape[0], NUM_CLASSES))
        return torch.cat(out)

    def default_score_layers(self) -> list[int]:
        n = len(self.layers)
        return list(range(1, n)) if n > 1 else [0]

    def predict(self, x: torch.Tensor, layers: Sequence[int] | None = None) -> torch.Tensor:
        return self.label_scores(x, layers).argmax(dim=1)

    @torch.no_grad()
    def features(self, x: torch.Tensor, layers: Sequence[int], neutral_label: bool = False, chunk: int = 2000) -> torch.Tensor:
        """Normalised activities of `layers`, concatenated: the input of a linear read-out.

        Normalised, because that is exactly what the next layer sees; the length (goodness) is
        the FF 'answer' of a layer and is dropped, like the paper does.
        """
        out = []
        for s in range(0, x.shape[0], chunk):
            xb = x[s : s + chunk]
            if neutral_label:
                xb = embed_neutral(xb)
            acts = self.activities(xb, upto=max(layers) + 1)
            out.append(torch.cat([normalise(acts[i], self.norm) for i in layers], dim=1))
        return torch.cat(out)
