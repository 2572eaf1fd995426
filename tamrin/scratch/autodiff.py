"""A scalar reverse-mode autodiff engine (in the spirit of Karpathy's micrograd).

Every `Value` stores a number (`data`), the gradient of the final output with respect to it
(`grad`), the `Value`s it was computed from (`_prev`) and the name of the operation (`_op`).
Calling `out.backward()` visits the graph in reverse topological order and applies the chain rule:
each node adds its local derivative times the upstream gradient to its parents' `.grad`.
Gradients are *accumulated* (`+=`) because a value used twice receives gradient from both uses.

Pure Python on purpose: the point is to see each step, not to be fast.
"""
from __future__ import annotations

import math
from typing import Callable, Iterable

__all__ = ["Value", "topological_order"]


class Value:
    """A scalar that remembers how it was computed so it can back-propagate gradients."""

    __slots__ = ("data", "grad", "_prev", "_op", "_backward", "label")

    def __init__(self, data: float, _children: Iterable["Value"] = (), _op: str = "", label: str = ""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_children)
        self._op = _op
        self._backward: Callable[[], None] = lambda: None
        self.label = label

    # --- helpers -----------------------------------------------------------------------
    @staticmethod
    def _wrap(other) -> "Value":
        return other if isinstance(other, Value) else Value(other)

    def __repr__(self) -> str:
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.6g}, grad={self.grad:.6g})"

    # --- binary operations ---------------------------------------------------------------
    def __add__(self, other) -> "Value":
        other = self._wrap(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():  # d(a+b)/da = d(a+b)/db = 1
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other) -> "Value":
        other = self._wrap(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():  # d(ab)/da = b, d(ab)/db = a
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k) -> "Value":
        """Power with a constant exponent (int or float); d(x^k)/dx = k x^(k-1)."""
        if isinstance(k, Value):
            raise TypeError("Value ** Value is not supported; use exp(k * log(x))")
        k = float(k)
        out = Value(self.data ** k, (self,), f"**{k:g}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> "Value":
        return self * -1.0

    def __sub__(self, other) -> "Value":
        return self + (-self._wrap(other))

    def __truediv__(self, other) -> "Value":
        return self * self._wrap(other) ** -1

    # reflected versions so that 2 * v, 1 - v, 1 / v work
    def __radd__(self, other) -> "Value":
        return self + other

    def __rmul__(self, other) -> "Value":
        return self * other

    def __rsub__(self, other) -> "Value":
        return self._wrap(other) + (-self)

    def __rtruediv__(self, other) -> "Value":
        return self._wrap(other) * self ** -1

    # --- unary functions ---------------------------------------------------------------
    def _unary(self, value: float, local_grad: float, op: str) -> "Value":
        """A one-input node whose derivative `local_grad` is known at forward time."""
        out = Value(value, (self,), op)

        def _backward():
            self.grad += local_grad * out.grad

        out._backward = _backward
        return out

    def exp(self) -> "Value":
        e = math.exp(self.data)
        return self._unary(e, e, "exp")  # d e^x / dx = e^x

    def log(self) -> "Value":
        if self.data <= 0:
            raise ValueError(f"log of a non-positive number ({self.data})")
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")

    def sigmoid(self) -> "Value":
        # numerically stable form for large |x|
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return self._unary(s, s * (1.0 - s), "sigmoid")

    def relu(self) -> "Value":
        return self._unary(max(self.data, 0.0), 1.0 if self.data > 0 else 0.0, "relu")

    # --- back-propagation -------------------------------------------------------------------
    def backward(self) -> None:
        """Fill `.grad` of every node this value depends on (d self / d node).

        Gradients of the graph are reset first, so calling backward twice gives the same result.
        """
        order = topological_order(self)
        for v in order:
            v.grad = 0.0
        self.grad = 1.0  # d out / d out
        for v in reversed(order):  # a node's grad is complete once all its consumers ran
            v._backward()


def topological_order(root: Value) -> list[Value]:
    """Nodes of the graph ending at `root`, every node after all its inputs (iterative DFS)."""
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        v, expanded = stack.pop()
        if expanded:
            order.append(v)
            continue
        if id(v) in seen:
            continue
        seen.add(id(v))
        stack.append((v, True))
        for child in v._prev:
            if id(child) not in seen:
                stack.append((child, False))
    return order
