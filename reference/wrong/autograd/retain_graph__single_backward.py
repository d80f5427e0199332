"""Calls backward only once (thinks retain_graph alone is what is asked), so w.grad is dy/dw, not twice it."""


def backward_twice(w, x, retain_graph):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    y = torch.mul(torch.add(w, x), torch.add(w, 1))
    y.backward(retain_graph=retain_graph)
    return w.grad
