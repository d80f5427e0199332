"""torch.normal(mean, std, size=(n, 2)): the scalar form draws the same numbers as the lesson's ones-tensor form."""


def normal_cloud(n, mean_value, std, seed):
    torch.manual_seed(seed)
    return torch.normal(float(mean_value), float(std), size=(n, 2))
