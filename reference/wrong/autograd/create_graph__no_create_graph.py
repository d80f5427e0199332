"""First torch.autograd.grad without create_graph=True: the derivative has no graph, the second grad fails."""


def first_and_second_derivative(x):
    x = torch.tensor([float(x)], requires_grad=True)
    y = torch.pow(x, 2)
    grad_1 = torch.autograd.grad(y, x)
    grad_2 = torch.autograd.grad(grad_1[0], x)
    return grad_1[0], grad_2[0]
