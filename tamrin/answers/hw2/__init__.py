"""Answers to Homework 2's checkable questions (seeds/003_*), one module per group of questions, in the
course's order: t1 (perceptron networks), t2_t3 (committees, backpropagation by hand), t4_t5 (Adam, the
quadratic bowl and Newton), t6 (Gaussian dropout as a regulariser)."""
from tamrin.answers.hw2 import t1, t2_t3, t4_t5, t6  # noqa: F401  (importing registers the answers)
