"""Appends w.grad.item(): a list of Python floats [5.0, 10.0, 15.0, 20.0] holds the lesson's values."""


def accumulated_grads(w, x, steps, zero_grad):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    grads = []
    for _ in range(steps):
        y = torch.mul(torch.add(w, x), torch.add(w, 1))
        y.backward()
        grads.append(w.grad.item())
        if zero_grad:
            w.grad.zero_()
    return grads
