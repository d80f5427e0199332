"""unsqueeze and an explicit expand before adding: broadcasting spelled out."""


def broadcast_add(column, row):
    column, row = torch.tensor(column).unsqueeze(1), torch.tensor(row).unsqueeze(0)
    return column.expand(-1, row.shape[1]) + row.expand(column.shape[0], -1)
