"""Answers to solution set A (seeds/001_*), a student's solutions: for every id the student's claim is quoted,
recomputed with tamrin's library, checked independently, and given a verdict computed from the comparison.

Parts: q1 (dropout as ridge regression, Gaussian dropout), q23 (conv and batch-norm gradients, batch-norm
behaviour), q4 (bias before BN, scaling, op counts, 1x1 convs, pooling, receptive field), q5 (depthwise-separable
vs standard convolutions, MobileNet), q6 (centre loss, PEDCC).

Verdict rule used throughout: the verdict grades the results the solution states (its formulas, numbers and
conclusions), each sub-claim confirmed or refuted by a computation, or left undecided (None) when it is a
qualitative statement no computation can decide; slips in intermediate lines are reported in the answer text
(with the computed value showing the slip) but do not change the verdict when the stated result is right.
"""
import importlib as _il
for _m in ("q1", "q23", "q4", "q5", "q6"):
    try:
        _il.import_module(f"tamrin.answers.solA.{_m}")
    except ModuleNotFoundError as _e:
        if _e.name != f"tamrin.answers.solA.{_m}":
            raise
