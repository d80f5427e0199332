"""Operators instead of torch.add/torch.mul, flags read in a dict comprehension."""


def requires_grad_flags(w_requires_grad, x_requires_grad):
    w = torch.tensor([1.0], requires_grad=w_requires_grad)
    x = torch.tensor([2.0], requires_grad=x_requires_grad)
    a = w + x
    b = w + 1
    y = a * b
    return {name: node.requires_grad for name, node in (("a", a), ("b", b), ("y", y))}
