"""The TODO stub left in place: NotImplementedError subclasses RuntimeError, but a stub is never the expected error."""


def inplace_on_leaf(w):
    # not done yet: the exercise's stub, as handed out
    raise NotImplementedError("TODO: implement inplace_on_leaf")
