"""Puts the row down the side: returns the [len(row), len(column)] table (the transpose)."""


def broadcast_add(column, row):
    return torch.tensor(row).view(-1, 1) + torch.tensor(column)
