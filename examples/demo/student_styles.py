"""Each student's own code for the cells the template leaves to them: different architectures and styles,
so that the similarity report has nothing to say about them; José's is Sean's, renamed and commented."""

LUIS = {   # functional, a small CNN in nn.Sequential, SGD with momentum, manual batches; softmax without the shift
    "softmax": "def softmax(logits):\n    e = torch.exp(logits)\n    return e / torch.sum(e, 1, keepdim=True)",
    "cross-entropy": (
        "def cross_entropy(logits, targets):\n"
        "    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)\n"
        "    return -log_probs[torch.arange(logits.shape[0]), targets.long()].mean()"),
    "model": (
        "model = nn.Sequential(\n"
        "    nn.Conv2d(1, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),\n"
        "    nn.Conv2d(16, 32, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),\n"
        "    nn.Flatten(), nn.Linear(32 * 4 * 4, 10),\n"
        ").to(device)\nmodel"),
    "train": (
        "sgd = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)\n"
        "history = {'loss': []}\n"
        "n = len(x_train)\n"
        "for ep in range(epochs):\n"
        "    perm = torch.randperm(n)\n"
        "    running = []\n"
        "    for start in range(0, n, batch_size):\n"
        "        idx = perm[start:start + batch_size]\n"
        "        out = model(x_train[idx].to(device))\n"
        "        batch_loss = cross_entropy(out, y_train[idx].to(device))\n"
        "        sgd.zero_grad(); batch_loss.backward(); sgd.step()\n"
        "        running.append(batch_loss.item())\n"
        "    history['loss'].append(sum(running) / len(running))\n"
        "    print('epoch', ep, 'mean loss', round(history['loss'][-1], 4))"),
    "plot": "plt.plot(history['loss'], 'r-o')\nplt.xlabel('epoch'); plt.ylabel('loss'); plt.title('SGD')\nplt.show()",
    "test": (
        "with torch.no_grad():\n"
        "    guesses = model(x_test.to(device)).argmax(1).cpu()\n"
        "right = int((guesses == y_test).sum())\n"
        "print(f'Test accuracy: {right / len(y_test):.4f}  ({right} of {len(y_test)})')"),
}

MARTA = {   # LeNet-5 with tanh and average pooling, one-hot cross-entropy; forgets the optimiser's step
    "softmax": (
        "def softmax(logits):\n    z = logits - logits.amax(dim=-1, keepdim=True)\n"
        "    return z.exp() / z.exp().sum(dim=-1, keepdim=True)"),
    "cross-entropy": (
        "def cross_entropy(logits, targets):\n"
        "    one_hot = torch.zeros_like(logits).scatter_(1, targets.long().view(-1, 1), 1.0)\n"
        "    log_p = torch.log_softmax(logits, dim=1)\n"
        "    return -(one_hot * log_p).sum(dim=1).mean()"),
    "model": (
        "class LeNet5(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.c1 = nn.Conv2d(1, 6, 5, padding=2)\n"
        "        self.c3 = nn.Conv2d(6, 16, 5)\n"
        "        self.f5 = nn.Linear(16 * 5 * 5, 120)\n"
        "        self.f6 = nn.Linear(120, 84)\n"
        "        self.out = nn.Linear(84, 10)\n\n"
        "    def forward(self, x):\n"
        "        x = nn.functional.avg_pool2d(torch.tanh(self.c1(x)), 2)\n"
        "        x = nn.functional.avg_pool2d(torch.tanh(self.c3(x)), 2)\n"
        "        x = x.flatten(1)\n"
        "        return self.out(torch.tanh(self.f6(torch.tanh(self.f5(x)))))\n\n\n"
        "model = LeNet5().to(device)"),
    "train": (
        "opt = torch.optim.Adam(model.parameters(), lr=2e-3)\n"
        "history = dict(loss=[], accuracy=[])\n"
        "batches = torch.utils.data.DataLoader(list(zip(x_train, y_train)), batch_size=batch_size, shuffle=True)\n"
        "for e in range(1, epochs + 1):\n"
        "    losses, hits = [], 0\n"
        "    for images_b, labels_b in batches:\n"
        "        scores = model(images_b.to(device))\n"
        "        loss_b = cross_entropy(scores, labels_b.to(device))\n"
        "        opt.zero_grad()\n"
        "        loss_b.backward()\n"
        "        losses.append(loss_b.item())\n"
        "        hits += (scores.argmax(1).cpu() == labels_b).sum().item()\n"
        "    history['loss'].append(np.mean(losses))\n"
        "    history['accuracy'].append(hits / len(x_train))\n"
        "    print('Epoch %d: loss=%.3f acc=%.3f' % (e, history['loss'][-1], history['accuracy'][-1]))"),
    "plot": (
        "fig, ax = plt.subplots()\nax.plot(history['loss'], label='loss')\nax.plot(history['accuracy'], label='accuracy')\n"
        "ax.legend(); ax.grid(True)\nplt.show()"),
    "test": (
        "model.eval()\ncorrect = 0\nwith torch.no_grad():\n"
        "    for k in range(0, len(x_test), 256):\n"
        "        correct += (model(x_test[k:k + 256].to(device)).argmax(1).cpu() == y_test[k:k + 256]).sum().item()\n"
        "print('Test accuracy: %.4f' % (correct / len(x_test)))"),
}

CARMEN = {   # functional style: her own parameters and F.conv2d, RMSprop
    "softmax": (
        "def softmax(logits):\n    # log-sum-exp trick\n"
        "    return torch.exp(logits - torch.logsumexp(logits, dim=1, keepdim=True))"),
    "cross-entropy": (
        "def cross_entropy(logits, targets):\n"
        "    lse = torch.logsumexp(logits, 1)\n"
        "    true_logit = torch.gather(logits, 1, targets.long()[:, None])[:, 0]\n"
        "    return torch.mean(lse - true_logit)"),
    "model": (
        "import torch.nn.functional as F\n\n\n"
        "class TinyConv(nn.Module):\n"
        "    def __init__(self, width=24):\n"
        "        super().__init__()\n"
        "        self.k1 = nn.Parameter(torch.randn(width, 1, 3, 3) * 0.3)\n"
        "        self.k2 = nn.Parameter(torch.randn(2 * width, width, 3, 3) * (2 / (9 * width)) ** 0.5)\n"
        "        self.head = nn.Linear(2 * width, 10)\n\n"
        "    def forward(self, x):\n"
        "        h = F.max_pool2d(F.relu(F.conv2d(x, self.k1, padding=1)), 2)\n"
        "        h = F.relu(F.conv2d(h, self.k2, padding=1))\n"
        "        return self.head(h.mean(dim=(2, 3)))   # global average pooling\n\n\n"
        "model = TinyConv().to(device)\nprint(sum(p.numel() for p in model.parameters()), 'parameters')"),
    "train": (
        "optim = torch.optim.RMSprop(model.parameters(), lr=3e-3)\n"
        "history = {\"loss\": []}\n"
        "for epoch_number in range(epochs):\n"
        "    order = np.random.permutation(len(x_train))\n"
        "    epoch_losses = []\n"
        "    for chunk in np.array_split(order, max(1, len(order) // batch_size)):\n"
        "        chunk = torch.as_tensor(chunk)\n"
        "        value = cross_entropy(model(x_train[chunk].to(device)), y_train[chunk].to(device))\n"
        "        optim.zero_grad()\n"
        "        value.backward()\n"
        "        optim.step()\n"
        "        epoch_losses.append(float(value))\n"
        "    history[\"loss\"].append(float(np.mean(epoch_losses)))\n"
        "print(\"losses per epoch:\", [round(v, 3) for v in history[\"loss\"]])"),
    "plot": "plt.figure(figsize=(4, 3))\nplt.semilogy(history[\"loss\"])\nplt.title(\"loss (log scale)\")\nplt.show()",
    "test": (
        "model.eval()\nwith torch.no_grad():\n    pred = torch.argmax(model(x_test.to(device)), dim=1).cpu()\n"
        "print(\"Test accuracy: {:.4f}\".format((pred == y_test).double().mean().item()))"),
}

SEAN = {   # batch norm and dropout, a training function, a confusion matrix
    "softmax": (
        "def softmax(logits):\n    m, _ = torch.max(logits, dim=1, keepdim=True)\n"
        "    unnormalised = torch.exp(logits - m)\n"
        "    return unnormalised / unnormalised.sum(dim=1, keepdim=True)"),
    "cross-entropy": (
        "def cross_entropy(logits, targets):\n"
        "    m, _ = torch.max(logits, dim=1, keepdim=True)\n"
        "    log_z = (m + torch.log(torch.sum(torch.exp(logits - m), dim=1, keepdim=True))).squeeze(1)\n"
        "    return torch.mean(log_z - logits[range(len(targets)), targets.long()])"),
    "model": (
        "def conv_block(c_in, c_out):\n"
        "    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),\n"
        "                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),\n"
        "                         nn.MaxPool2d(2))\n\n\n"
        "model = nn.Sequential(conv_block(1, 16), conv_block(16, 32), nn.Flatten(), nn.Dropout(0.25),\n"
        "                      nn.Linear(32 * 7 * 7, 10)).to(device)"),
    "train": (
        "def train_one_epoch(net, optimiser, xs, ys):\n"
        "    net.train()\n"
        "    shuffled = torch.randperm(len(xs))\n"
        "    total = 0.0\n"
        "    for begin in range(0, len(xs), batch_size):\n"
        "        pick = shuffled[begin:begin + batch_size]\n"
        "        optimiser.zero_grad()\n"
        "        err = cross_entropy(net(xs[pick].to(device)), ys[pick].to(device))\n"
        "        err.backward()\n"
        "        optimiser.step()\n"
        "        total += err.item() * len(pick)\n"
        "    return total / len(xs)\n\n\n"
        "adam = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)\n"
        "history = {'loss': [train_one_epoch(model, adam, x_train, y_train) for _ in range(epochs)]}\n"
        "for number, value in enumerate(history['loss'], 1):\n"
        "    print(f'epoch {number}: {value:.4f}')"),
    "plot": (
        "model.eval()\nwith torch.no_grad():\n    predicted = model(x_test.to(device)).argmax(1).cpu()\n"
        "confusion = torch.zeros(10, 10, dtype=torch.long)\n"
        "for true_label, guess in zip(y_test, predicted):\n    confusion[true_label, guess] += 1\n"
        "plt.imshow(confusion, cmap='Blues')\nplt.xlabel('predicted'); plt.ylabel('true'); plt.colorbar()\nplt.show()"),
    "test": "print('Test accuracy: %.4f' % (predicted == y_test).float().mean())",
}

# José hands in Sean's notebook with the names changed and comments added: the planted copy
_RENAMES = [("train_one_epoch", "run_epoch"), ("optimiser", "opt"), ("shuffled", "order"), ("total", "acc_loss"),
            ("begin", "i"), ("pick", "batch_idx"), ("err", "loss_value"), ("adam", "optimizer_adamw"),
            ("conv_block", "double_conv"), ("confusion", "cm"), ("predicted", "y_hat"), ("unnormalised", "e"),
            ("log_z", "lse")]


def _renamed(source: str) -> str:
    for old, new in _RENAMES:
        source = source.replace(old, new)
    return "# my implementation\n" + source.replace("\n\n\n", "\n\n\n# ---\n")


JOSE = {cell: _renamed(source) for cell, source in SEAN.items()}

PABLO = {   # an MLP-ish start he never ran: handed in blank
    "softmax": "def softmax(logits):\n    exps = logits.sub(logits.max(1, keepdim=True)[0]).exp()\n    return exps.div(exps.sum(1, keepdim=True))",
    "cross-entropy": "def cross_entropy(logits, targets):\n    return -torch.log_softmax(logits, 1).gather(1, targets.long().unsqueeze(1)).mean()",
    "model": "model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 26 * 26, 64), nn.ReLU(),\n                      nn.Linear(64, 10)).to(device)",
    "train": (
        "trainer = torch.optim.Adagrad(model.parameters(), lr=0.02)\nhistory = {'loss': []}\n"
        "for _ in range(epochs):\n    steps = []\n"
        "    for xb, yb in zip(x_train.split(batch_size), y_train.split(batch_size)):\n"
        "        trainer.zero_grad()\n        l = cross_entropy(model(xb.to(device)), yb.to(device))\n"
        "        l.backward()\n        trainer.step()\n        steps.append(l.item())\n"
        "    history['loss'].append(sum(steps) / len(steps))"),
    "plot": "plt.bar(range(1, len(history['loss']) + 1), history['loss'])\nplt.show()",
    "test": "print('Test accuracy:', round((model(x_test.to(device)).argmax(-1).cpu() == y_test).float().mean().item(), 4))",
}

STYLES = {"luis": LUIS, "marta": MARTA, "carmen": CARMEN, "sean": SEAN, "jose": JOSE, "pablo": PABLO}
