"""Computes both derivatives correctly but returns the first one detached from its graph (no grad_fn)."""


def first_and_second_derivative(x):
    x = torch.tensor([float(x)], requires_grad=True)
    y = torch.pow(x, 2)
    grad_1 = torch.autograd.grad(y, x, create_graph=True)
    grad_2 = torch.autograd.grad(grad_1[0], x)
    return grad_1[0].detach(), grad_2[0]
