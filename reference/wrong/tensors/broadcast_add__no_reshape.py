"""Adds the column and the row as they are: shape [n] + [m] raises unless n == m, and then adds elementwise."""


def broadcast_add(column, row):
    return torch.tensor(column) + torch.tensor(row)
