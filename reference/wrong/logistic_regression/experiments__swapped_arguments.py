"""Mixes up the two keywords: makes the data with mean_value=bias and bias=mean_value."""


def experiment(mean_value, bias):
    train_x, train_y = make_data(mean_value=bias, bias=mean_value)
    return train(train_x, train_y)
