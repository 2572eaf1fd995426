"""Small, tested helpers behind the optimisation and regularisation labs (issue #9).

One idea per file: the maths of a theory question (a quadratic bowl, a saddle, the dropout identity,
Adam's bias, ...) lives here as plain functions, so the experiments in `tamrin.experiments` only
measure, plot and write sentences from the measured numbers, and the tests can check the maths alone.
"""
