"""Pairs the weights with the wrong outputs (g1 on y0 = a*b, g0 on y1 = a+b)."""


def weighted_backward(w, x, weights):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    a = torch.add(w, x)
    b = torch.add(w, 1)
    loss = torch.cat([torch.mul(a, b), torch.add(a, b)], dim=0)
    loss.backward(gradient=torch.tensor([float(weights[1]), float(weights[0])]))
    return w.grad
