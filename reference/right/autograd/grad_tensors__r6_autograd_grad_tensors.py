"""torch.autograd.backward(loss, grad_tensors=...) with the weights as a tensor built by torch.as_tensor."""


def weighted_backward(w, x, weights):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([float(x)], requires_grad=True)
    a = w + x
    b = w + 1
    loss = torch.cat([a * b, a + b])
    torch.autograd.backward(loss, grad_tensors=torch.as_tensor(weights, dtype=torch.float32))
    return w.grad
