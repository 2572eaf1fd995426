"""Helper for tests/test_train.py: trains a small net into a run folder (resumes if a checkpoint exists)."""
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, sys.argv[3])
from tamrin.runs import Run  # noqa: E402
from tamrin.train import TrainConfig, fit  # noqa: E402

torch.set_num_threads(1)
run_dir, slow = sys.argv[1], float(sys.argv[2])
g = torch.Generator().manual_seed(0)
x = torch.randn(600, 20, generator=g)
y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Dropout(0.3), nn.Linear(64, 3))


def aug(xb, gen):
    if slow:
        time.sleep(slow)
    return xb + 0.05 * torch.randn(xb.shape, generator=gen)


cfg = TrainConfig(epochs=6, batch_size=32, optimizer="sgd", lr=0.05, schedule="cosine", progress=False)
res = fit(model, (x[:500], y[:500]), (x[500:], y[500:]), cfg, Run(run_dir, quiet=True), tag="net", augment=aug, seed=1)
print("DONE", res.best_epoch)
