"""Catches the in-place RuntimeError, prints it and raises it again: the error still propagates."""


def inplace_on_leaf(w):
    w = torch.tensor([float(w)], requires_grad=True)
    try:
        w.add_(1)
    except RuntimeError as error:
        print("as expected:", error)
        raise
    return w
