"""A helper draws each cloud (in the lesson's order, so the random numbers are the same) and its labels."""


def _cloud(sample_nums, centre, bias, label):
    points = torch.normal(centre * torch.ones(sample_nums, 2), 1) + bias
    return points, torch.full((sample_nums,), float(label))


def make_data(sample_nums=100, mean_value=1.7, bias=1.0, seed=10):
    torch.manual_seed(seed)
    x0, y0 = _cloud(sample_nums, mean_value, bias, 0)
    x1, y1 = _cloud(sample_nums, -mean_value, bias, 1)
    return torch.cat([x0, x1]), torch.cat([y0, y1])
