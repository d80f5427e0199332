"""Returns what torch.autograd.grad returned (1-tuples) instead of the gradient tensors grad_1[0], grad_2[0]."""


def first_and_second_derivative(x):
    x = torch.tensor([float(x)], requires_grad=True)
    y = torch.pow(x, 2)
    grad_1 = torch.autograd.grad(y, x, create_graph=True)
    grad_2 = torch.autograd.grad(grad_1[0], x)
    return grad_1, grad_2
