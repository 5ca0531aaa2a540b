"""Hand-written MNIST solutions for the similarity tests: the cells a student fills in the template.

Two independent solutions (different layers, loops, names, loss code) and, in the tests, a copy of the
first with other names, comments, spacing and cell order. Keys are cell indices of the template.
"""

SOLUTION_A = {
    7: '''def softmax(logits):
    """Probabilities over dim 1 of [N, C] logits."""
    shifted = logits - logits.max(dim=1, keepdim=True).values
    exps = torch.exp(shifted)
    return exps / exps.sum(dim=1, keepdim=True)''',
    8: '''def cross_entropy(logits, targets):
    """Mean cross-entropy of [N, C] logits against integer targets [N], without F.cross_entropy."""
    row_max = logits.max(dim=1, keepdim=True).values
    log_sum_exp = row_max.squeeze(1) + torch.log(torch.exp(logits - row_max).sum(dim=1))
    picked = logits.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    return (log_sum_exp - picked).mean()''',
    11: '''class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
        )

    def forward(self, x):
        x = (x - 0.1307) / 0.3081
        return self.classifier(self.features(x))


model = Net().to(device)
print(model)''',
    13: '''optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True,
    generator=torch.Generator().manual_seed(seed),
)
history = {"loss": [], "accuracy": []}
for epoch in range(epochs):
    model.train()
    total_loss, correct, seen = 0.0, 0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        logits = model(xb)
        loss = cross_entropy(logits, yb)
        loss.backward()
        optimizer.step()
        total_loss += loss.item() * len(xb)
        correct += (logits.argmax(dim=1) == yb).sum().item()
        seen += len(xb)
    history["loss"].append(total_loss / seen)
    history["accuracy"].append(correct / seen)
    print(f"epoch {epoch + 1}/{epochs}: loss {history['loss'][-1]:.4f}, accuracy {history['accuracy'][-1]:.4f}")''',
    14: '''fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(8, 3))
epochs_axis = range(1, len(history["loss"]) + 1)
ax_loss.plot(epochs_axis, history["loss"], marker="o")
ax_loss.set(xlabel="epoch", ylabel="loss", title="Training loss")
ax_acc.plot(epochs_axis, history["accuracy"], marker="o")
ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Training accuracy")
fig.tight_layout()
plt.show()''',
    16: '''model.eval()
with torch.no_grad():
    predictions = torch.cat([model(x_test[i:i + 500].to(device)).argmax(dim=1).cpu()
                             for i in range(0, len(x_test), 500)])
acc = (predictions == y_test).float().mean().item()
print(f"Test accuracy: {acc:.4f}")''',
}

# The same solution A, copied: every name changed, comments and blank lines added, spacing changed.
# The tests also hand its cells in another order.
COPY_OF_A = {
    7: '''def softmax(logits):
    """Probabilities over dim 1 of [N, C] logits."""
    # subtract the max so exp never overflows
    z = logits - logits.max(dim = 1, keepdim = True).values
    ez = torch.exp(z)

    return ez / ez.sum(dim = 1, keepdim = True)''',
    8: '''def cross_entropy(logits, targets):
    """Mean cross-entropy of [N, C] logits against integer targets [N], without F.cross_entropy."""
    m = logits.max(dim=1, keepdim=True).values   # row maximum
    lse = m.squeeze(1) + torch.log(torch.exp(logits - m).sum(dim=1))
    chosen = logits.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    return (lse - chosen).mean()''',
    11: '''class Net(nn.Module):
    def __init__(self):
        super().__init__()
        # convolutional part
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        # dense part
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
        )

    def forward(self, inp):
        inp = (inp - 0.1307) / 0.3081
        return self.head(self.body(inp))


model = Net().to(device)
print(model)''',
    13: '''opt = torch.optim.Adam(model.parameters(), lr=1e-3)
dl = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True,
    generator=torch.Generator().manual_seed(seed),
)
history = {"loss": [], "accuracy": []}
for ep in range(epochs):
    model.train()
    running, good, count = 0.0, 0, 0
    for images_b, labels_b in dl:
        images_b, labels_b = images_b.to(device), labels_b.to(device)
        opt.zero_grad()
        out = model(images_b)
        l = cross_entropy(out, labels_b)
        l.backward()
        opt.step()
        running += l.item() * len(images_b)
        good += (out.argmax(dim=1) == labels_b).sum().item()
        count += len(images_b)
    history["loss"].append(running / count)
    history["accuracy"].append(good / count)
    print(f"epoch {ep + 1}/{epochs}: loss {history['loss'][-1]:.4f}, accuracy {history['accuracy'][-1]:.4f}")''',
    14: '''f, (a1, a2) = plt.subplots(1, 2, figsize=(8, 3))
xs = range(1, len(history["loss"]) + 1)
a1.plot(xs, history["loss"], marker="o")
a1.set(xlabel="epoch", ylabel="loss", title="Loss")
a2.plot(xs, history["accuracy"], marker="o")
a2.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
f.tight_layout()
plt.show()''',
    16: '''model.eval()
with torch.no_grad():
    preds = torch.cat([model(x_test[k:k + 500].to(device)).argmax(dim=1).cpu()
                       for k in range(0, len(x_test), 500)])
acc = (preds == y_test).float().mean().item()
print(f"Test accuracy: {acc:.4f}")''',
}

# Written independently from the same template: other layers, a hand-made batch loop, another optimiser,
# log-softmax by logsumexp, a per-batch evaluation loop, one plot for both curves.
SOLUTION_B = {
    7: '''def softmax(logits):
    """Probabilities over dim 1 of [N, C] logits."""
    z = logits - torch.amax(logits, dim=1, keepdim=True)
    e = z.exp()
    return e / torch.sum(e, 1, keepdim=True)''',
    8: '''def cross_entropy(logits, targets):
    """Mean cross-entropy of [N, C] logits against integer targets [N], without F.cross_entropy."""
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    nll = -log_probs[torch.arange(logits.shape[0]), targets]
    return nll.mean()''',
    11: '''class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, kernel_size=5)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=5)
        self.drop = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 4 * 4, 100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        x = x - 0.5
        x = torch.relu(torch.max_pool2d(self.conv1(x), 2))
        x = torch.relu(torch.max_pool2d(self.conv2(x), 2))
        x = self.drop(x.flatten(1))
        return self.fc2(torch.relu(self.fc1(x)))


model = Net().to(device)
print(model)''',
    13: '''history = {"loss": [], "accuracy": []}
sgd = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
n = len(x_train)
for ep in range(epochs):
    perm = torch.randperm(n)
    running, hits = 0.0, 0
    model.train()
    for start in range(0, n, batch_size):
        idx = perm[start:start + batch_size]
        inputs = x_train[idx].to(device)
        target = y_train[idx].to(device)
        out = model(inputs)
        batch_loss = cross_entropy(out, target)
        sgd.zero_grad()
        batch_loss.backward()
        sgd.step()
        running += batch_loss.item() * inputs.shape[0]
        hits += int((out.argmax(1) == target).sum())
    history["loss"].append(running / n)
    history["accuracy"].append(hits / n)
    print("epoch", ep, history["loss"][-1], history["accuracy"][-1])''',
    14: '''plt.figure(figsize=(6, 4))
for name, values in history.items():
    plt.plot(values, label=name)
plt.xlabel("epoch")
plt.legend()
plt.show()''',
    16: '''model.eval()
correct = 0
with torch.no_grad():
    for start in range(0, len(x_test), 1000):
        batch = x_test[start:start + 1000].to(device)
        guess = model(batch).argmax(dim=1).cpu()
        correct += (guess == y_test[start:start + 1000]).sum().item()
acc = correct / len(x_test)
print(f"Test accuracy: {acc:.4f}")''',
}
