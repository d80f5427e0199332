"""Ignores the seed argument: the model's initial weights depend on whatever ran before."""


def train(train_x, train_y, lr=0.01, momentum=0.9, max_iterations=1000, target_acc=0.99, seed=10):
    model = LR()
    loss_fn = nn.BCELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = []
    acc = 0.0
    for iteration in range(max_iterations):
        y_pred = model(train_x)
        loss = loss_fn(y_pred.squeeze(), train_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        acc = ((y_pred.ge(0.5).float().squeeze() == train_y).sum()).item() / train_y.size(0)
        if acc > target_acc:
            break
    return {"model": model, "iterations": iteration, "accuracy": acc, "losses": losses}
