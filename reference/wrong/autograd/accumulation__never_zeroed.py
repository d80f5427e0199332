"""Ignores zero_grad: believes gradients are reset automatically, so they always accumulate."""


def accumulated_grads(w, x, steps, zero_grad):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    grads = []
    for _ in range(steps):
        y = torch.mul(torch.add(w, x), torch.add(w, 1))
        y.backward()
        grads.append(w.grad.clone())
    return grads
