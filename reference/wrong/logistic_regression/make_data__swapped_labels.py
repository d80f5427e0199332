"""Labels the cloud around +mean_value as class 1 and the one around -mean_value as class 0."""


def make_data(sample_nums=100, mean_value=1.7, bias=1.0, seed=10):
    torch.manual_seed(seed)
    n_data = torch.ones(sample_nums, 2)
    x0 = torch.normal(mean_value * n_data, 1) + bias
    y0 = torch.ones(sample_nums)
    x1 = torch.normal(-mean_value * n_data, 1) + bias
    y1 = torch.zeros(sample_nums)
    return torch.cat((x0, x1), 0), torch.cat((y0, y1), 0)
