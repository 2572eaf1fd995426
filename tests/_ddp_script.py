"""Helper for tests/test_distributed.py: the same training, launched with or without torchrun."""
import sys

import torch
import torch.nn as nn

sys.path.insert(0, sys.argv[2])
from tamrin.runs import Run  # noqa: E402
from tamrin.train import TrainConfig, fit  # noqa: E402
from tamrin.train import distributed as D  # noqa: E402

torch.set_num_threads(1)
D.init_from_env("cpu")
run_dir = D.broadcast_object(sys.argv[1])
g = torch.Generator().manual_seed(0)
x = torch.randn(512, 16, generator=g)
y = (x[:, :4].sum(1) > 0).long()
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 2))
cfg = TrainConfig(epochs=3, batch_size=64, optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=1e-4, schedule="cosine", progress=False)
run = Run(run_dir, quiet=True)
res = fit(model, (x[:448], y[:448]), (x[448:], y[448:]), cfg, run, tag="ddp", seed=7)
if D.is_main():
    torch.save({k: v for k, v in model.state_dict().items()}, f"{run_dir}/final.pt")
print("RANK", D.rank(), "DONE")
