"""Thinks every node requires grad as soon as any leaf does (b = w + 1 does not depend on x)."""


def requires_grad_flags(w_requires_grad, x_requires_grad):
    w = torch.tensor([1.], requires_grad=bool(w_requires_grad))
    x = torch.tensor([2.], requires_grad=bool(x_requires_grad))
    a = torch.add(w, x)
    y = torch.mul(a, torch.add(w, 1))
    any_grad = bool(w_requires_grad or x_requires_grad)
    return {"a": a.requires_grad, "b": any_grad, "y": y.requires_grad}
