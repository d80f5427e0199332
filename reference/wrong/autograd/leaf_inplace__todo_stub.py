"""The untouched TODO stub: NotImplementedError subclasses RuntimeError, but a stub is never the expected error."""


def inplace_on_leaf(w):
    """w.add_(1) on a leaf that requires grad (this raises RuntimeError)."""
    raise NotImplementedError("TODO: implement inplace_on_leaf")
