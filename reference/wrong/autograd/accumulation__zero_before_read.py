"""Zeroes w.grad right after backward, before reading it, so it records zeros."""


def accumulated_grads(w, x, steps, zero_grad):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    grads = []
    for _ in range(steps):
        y = torch.mul(torch.add(w, x), torch.add(w, 1))
        y.backward()
        if zero_grad:
            w.grad.zero_()
        grads.append(w.grad.clone())
    return grads
