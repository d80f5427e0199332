"""Under no_grad builds a new tensor w + 1 instead of updating w in place; the result no longer requires grad."""


def inplace_on_leaf_no_grad(w):
    w = torch.tensor([float(w)], requires_grad=True)
    with torch.no_grad():
        w = w + 1
    return w
