"""Does the in-place update of the leaf without torch.no_grad(), so it raises instead of updating."""


def inplace_on_leaf_no_grad(w):
    w = torch.tensor([float(w)], requires_grad=True)
    w.add_(1)
    return w
