"""Returns w.grad.item(), a Python float, and lets the second backward's RuntimeError propagate."""


def backward_twice(w, x, retain_graph):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    y = torch.mul(torch.add(w, x), torch.add(w, 1))
    y.backward(retain_graph=retain_graph)
    y.backward()
    return w.grad.item()
