"""Returns dy/dx as the tensor grad_1[0] (with its graph) and d2y/dx2 as a Python float."""


def first_and_second_derivative(x):
    x = torch.tensor([float(x)], requires_grad=True)
    y = x ** 2
    (first,) = torch.autograd.grad(y, x, create_graph=True)
    (second,) = torch.autograd.grad(first, x)
    return first, second.item()
