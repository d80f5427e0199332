"""torch.autograd.backward(y, retain_graph=...) instead of y.backward(...), and operators instead of torch.add."""


def backward_twice(w, x, retain_graph):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    y = (w + x) * (w + 1)
    torch.autograd.backward(y, retain_graph=retain_graph)
    torch.autograd.backward(y)
    return w.grad
