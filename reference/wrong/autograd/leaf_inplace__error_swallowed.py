"""Catches the RuntimeError of the in-place operation on a leaf instead of letting it show."""


def inplace_on_leaf(w):
    w = torch.tensor([float(w)], requires_grad=True)
    try:
        w.add_(1)
    except RuntimeError:
        pass
    return w
