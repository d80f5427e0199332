"""Keeps a copy of the model before training and returns that copy: the reported numbers are right,
but the returned model was never trained."""
import copy


def train(train_x, train_y, lr=0.01, momentum=0.9, max_iterations=1000, target_acc=0.99, seed=10):
    torch.manual_seed(seed)
    model = LR()
    saved = copy.deepcopy(model)
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
    return {"model": saved, "iterations": iteration, "accuracy": acc, "losses": losses}
