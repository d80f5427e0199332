"""torch.sigmoid in forward instead of an nn.Sigmoid module."""


class LR(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Linear(2, 1)

    def forward(self, x):
        return torch.sigmoid(self.features(x))
