"""Ignores the retain_graph argument and always keeps the graph, so the second backward never fails."""


def backward_twice(w, x, retain_graph):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    y = torch.mul(torch.add(w, x), torch.add(w, 1))
    y.backward(retain_graph=True)
    y.backward()
    return w.grad
