"""Answers to solution set B (seeds/002_*), a student's solutions: every claim is measured or recomputed,
and each verdict comes from comparing the claim with the computation. One module per group of questions."""
from tamrin.answers.solB import _optim  # noqa: F401  q1a–q1d
from tamrin.answers.solB import _conv  # noqa: F401,E402  q2, q3a, q3b
from tamrin.answers.solB import _nets  # noqa: F401,E402  q4–q7
