"""Answers to Homework 4's checkable questions (seeds/000_*), one module per theme, in the course's order:
depth (t1a–t1c), gradients (t2a, t2b), rnn (t3a–t3c, measured on the rnn-sentiment experiment's model),
gradcam (t4a, t4b), residual (p1)."""
from tamrin.answers.hw4 import depth  # noqa: F401
from tamrin.answers.hw4 import gradients  # noqa: F401
from tamrin.answers.hw4 import rnn  # noqa: F401
from tamrin.answers.hw4 import gradcam  # noqa: F401
from tamrin.answers.hw4 import residual  # noqa: F401
