"""`w += 1` instead of w.add_(1), on the leaf and under torch.no_grad()."""


def inplace_on_leaf(w):
    w = torch.tensor([float(w)], requires_grad=True)
    x = torch.tensor([2.0], requires_grad=True)
    y = (w + x) * (w + 1)
    w += 1
    y.backward()
    return w


def inplace_on_leaf_no_grad(w):
    w = torch.tensor([float(w)], requires_grad=True)
    with torch.no_grad():
        w += 1
    return w
