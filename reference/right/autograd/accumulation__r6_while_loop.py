"""A while loop, w.grad.detach().clone() and w.grad.data.zero_()."""


def accumulated_grads(w, x, steps, zero_grad):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    grads = []
    step = 0
    while step < steps:
        y = torch.mul(torch.add(w, x), torch.add(w, 1))
        y.backward()
        grads.append(w.grad.detach().clone())
        if zero_grad:
            w.grad.data.zero_()
        step += 1
    return grads
