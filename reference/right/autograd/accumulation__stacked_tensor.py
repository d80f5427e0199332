"""Returns the cloned gradients stacked into one tensor of shape [steps, 1]."""


def accumulated_grads(w, x, steps, zero_grad):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    grads = []
    for _ in range(steps):
        y = torch.mul(torch.add(w, x), torch.add(w, 1))
        y.backward()
        grads.append(w.grad.clone())
        if zero_grad:
            w.grad.zero_()
    return torch.stack(grads)
