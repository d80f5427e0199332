"""Ignores its arguments: always trains on the lesson's data (mean_value=1.7, bias=1)."""


def experiment(mean_value, bias):
    train_x, train_y = make_data()
    return train(train_x, train_y)
