"""Ignores the weights: backward with gradient=ones, i.e. the plain sum dy0/dw + dy1/dw."""


def weighted_backward(w, x, weights):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    a = torch.add(w, x)
    b = torch.add(w, 1)
    loss = torch.cat([torch.mul(a, b), torch.add(a, b)], dim=0)
    loss.backward(gradient=torch.ones(2))
    return w.grad
