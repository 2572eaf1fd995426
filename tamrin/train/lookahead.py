"""Lookahead with an exponential moving average of the weights (airbench's variant).

Every `every` steps the slow copy moves towards the fast weights, slow <- slow + (1 - a)(fast - slow), and
the fast weights are reset to it. The pull-back `a` grows over the run as a * progress^3: early on the
model trains freely, near the end the weights are an average of the last steps, which damps the noise of
a high learning rate (part of airbench's recipe; not ablated here). At the end
the model is set to the slow copy. Buffers (BatchNorm statistics) are averaged too, so the averaged
weights come with matching statistics.
"""
from __future__ import annotations

import torch
from torch import nn


class Lookahead:
    def __init__(self, model: nn.Module, every: int = 5, decay: float = 0.95 ** 5):
        self.model, self.every, self.decay = model, every, decay
        self.slow = {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def step(self, step: int, progress: float) -> None:
        """Call after optimizer step number `step` (1-based); progress in [0, 1] is the share of the run done."""
        if step % self.every:
            return
        self.pull(self.decay * min(1.0, max(0.0, progress)) ** 3)

    @torch.no_grad()
    def pull(self, a: float) -> None:
        for k, v in self.model.state_dict().items():
            if k in self.slow:
                self.slow[k].lerp_(v, 1 - a)
                v.copy_(self.slow[k])

    def finish(self) -> None:
        """The model's weights become the slow copy (the airbench run ends on it)."""
        self.pull(1.0)

    def state_dict(self) -> dict:
        return {k: v.cpu() for k, v in self.slow.items()}

    def load_state_dict(self, st: dict) -> None:
        for k, v in st.items():
            self.slow[k].copy_(v)
