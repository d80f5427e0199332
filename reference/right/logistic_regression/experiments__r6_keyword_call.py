"""experiment unpacks make_data's tuple straight into train, with keywords."""


def experiment(mean_value, bias):
    return train(*make_data(bias=bias, mean_value=mean_value))
