"""Believes every node requires grad: returns True for all three flags whatever the leaves say."""


def requires_grad_flags(w_requires_grad, x_requires_grad):
    return {"a": True, "b": True, "y": True}
