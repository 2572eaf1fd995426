"""Forward-Forward training (Hinton 2022, arXiv 2212.13345): supervised and unsupervised.

- labels.py        label pixels, wrong-label negatives (random and hard), never the true label
- layers.py        normalise -> linear -> ReLU, goodness, the local softplus loss
- net.py           the stack of layers, batched goodness prediction over all 10 labels
- supervised.py    supervised training (all layers every batch, or greedy layer by layer)
- unsupervised.py  blurred random masks and hybrid negatives
- unsup_train.py   unsupervised training on real digits vs hybrids
- probe.py         linear softmax read-outs on frozen features
- baseline.py      the backprop MLP with the same architecture and budget
- trainer.py       the epoch loop with per-epoch checkpoints (bit-exact resume)
"""
from tamrin.ff.labels import embed_all_labels, embed_label, embed_neutral, hard_wrong_labels, random_wrong_labels
from tamrin.ff.layers import FFLayer, ff_loss, goodness, normalise
from tamrin.ff.net import FFNet
from tamrin.ff.supervised import FFTrain, train_supervised
from tamrin.ff.unsupervised import blur, hybrids, mean_run_length, random_masks

__all__ = ["FFLayer", "FFNet", "FFTrain", "blur", "embed_all_labels", "embed_label", "embed_neutral", "ff_loss",
           "goodness", "hard_wrong_labels", "hybrids", "mean_run_length", "normalise", "random_masks",
           "random_wrong_labels", "train_supervised"]
