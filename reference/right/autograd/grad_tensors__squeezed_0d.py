"""Returns the 0-d w.grad.squeeze() (tensor(9.)): the value is the lesson's."""


def weighted_backward(w, x, weights):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    a, b = torch.add(w, x), torch.add(w, 1)
    loss = torch.cat([torch.mul(a, b), torch.add(a, b)], dim=0)
    loss.backward(gradient=torch.tensor(weights))
    return w.grad.squeeze()
