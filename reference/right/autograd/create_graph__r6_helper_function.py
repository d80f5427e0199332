"""A helper that differentiates once, called twice (create_graph only where a second derivative follows)."""


def _derivative(y, x, create_graph):
    (grad,) = torch.autograd.grad(y, x, create_graph=create_graph)
    return grad


def first_and_second_derivative(x):
    x = torch.tensor([float(x)], requires_grad=True)
    y = x ** 2
    first = _derivative(y, x, create_graph=True)
    second = _derivative(first, x, create_graph=False)
    return first, second
