"""experiment goes through a helper that makes the data and trains with train's defaults."""


def _run(data):
    train_x, train_y = data
    return train(train_x, train_y)


def experiment(mean_value, bias):
    return _run(make_data(bias=bias, mean_value=mean_value))
