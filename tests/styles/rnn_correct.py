"""rnn_text: three students who got everything right, each her own way (see tests/styles/__init__.py).

Hugo trains a GRU and keeps its state while generating; Irene a two-layer LSTM with dropout, AdamW, samples with
numpy's np.random.choice and re-reads a window of context for every new character; Jorge works in Colab (Drive,
`!pip`, `%matplotlib inline`, a /content path) and samples with torch.distributions.Categorical. All train under
the grading parameters with Adam-like optimisers at the usual char-RNN rates (2e-3 to 5e-3) and honour the
contract, so each keeps all 10 points: cross_entropy is full at reference + 0.15, a margin meant for any sound
recurrent model trained under the same budget.

Measured, not intended: under the tests' 30-step budget Irene's two layers and Jorge's 2e-3 learn a little slower
than the reference's recipe (one LSTM layer, Adam 3e-3) and keep 2.74 and 2.88 of the 3 points (9.74, 9.88: within
the 0.5 the issue allows). Under the course's default budget (150 steps, 256 hidden units) all three keep 3 of 3
(Jorge 2.093 nats against a line at 2.108). The intention stays 10: the table sets the line, not how fast a recipe
reaches it in 30 steps.
"""
from styles import Style

HUGO = Style(
    name="hugo",
    summary="GRU (nn.GRU, embedding 32), Adam 5e-3 with clipping, torch.multinomial, generate carrying the hidden state",
    cells=(
        ("md", "# Práctica 3 – RNN de caracteres\nHugo Navarro. Uso una GRU en vez de una LSTM."),
        ("code", "import math\nfrom pathlib import Path\nimport numpy as np\nimport torch\nimport torch.nn as nn\n"
                 "import torch.nn.functional as F\nimport matplotlib.pyplot as plt"),
        ("parameters", "data_dir = \"data/text\"\nsteps = 150\nhidden_size = 256\nseq_len = 100\nbatch_size = 64\n"
                       "device = \"auto\"\nseed = 0"),
        ("code", "if device == \"auto\":\n    device = \"cuda\" if torch.cuda.is_available() else \"cpu\"\n"
                 "torch.manual_seed(seed)\nnp.random.seed(seed)"),
        ("code", "text = open(Path(data_dir) / \"train.txt\", encoding=\"utf-8\").read()\n"
                 "chars = sorted(set(text))\nchar2idx = {ch: i for i, ch in enumerate(chars)}\nidx2char = np.array(chars)\n"
                 "V = len(chars)\nprint(V, repr(\"\".join(chars)))"),
        ("code", "def encode(s):\n    return [char2idx[ch] for ch in s]\n\n\n"
                 "def decode(ids):\n    return \"\".join(idx2char[np.asarray(ids, dtype=int)])\n\n\n"
                 "assert decode(encode(\"First Citizen:\")) == \"First Citizen:\""),
        ("code", "data = torch.tensor(encode(text))\n\n\n"
                 "def batch():\n"
                 "    starts = np.random.randint(0, len(data) - seq_len - 1, size=batch_size)\n"
                 "    x = torch.stack([data[s:s + seq_len] for s in starts])\n"
                 "    y = torch.stack([data[s + 1:s + seq_len + 1] for s in starts])\n"
                 "    return x.to(device), y.to(device)"),
        ("code", "class CharGRU(nn.Module):\n"
                 "    def __init__(self, vocab, hidden, emb=32):\n"
                 "        super().__init__()\n"
                 "        self.emb = nn.Embedding(vocab, emb)\n"
                 "        self.gru = nn.GRU(emb, hidden, batch_first=True)\n"
                 "        self.out = nn.Linear(hidden, vocab)\n\n"
                 "    def forward(self, x, h=None, return_hidden=False):\n"
                 "        y, h = self.gru(self.emb(x), h)\n"
                 "        logits = self.out(y)\n"
                 "        return (logits, h) if return_hidden else logits\n\n\n"
                 "model = CharGRU(V, hidden_size).to(device)\nmodel"),
        ("code", "def sample(logits, temperature=1.0):\n"
                 "    probs = F.softmax(torch.as_tensor(logits).float() / temperature, dim=-1)\n"
                 "    return torch.multinomial(probs, num_samples=1).item()"),
        ("code", "opt = torch.optim.Adam(model.parameters(), lr=5e-3)\nlosses = []\n"
                 "for it in range(steps):\n"
                 "    model.train()\n"
                 "    x, y = batch()\n"
                 "    loss = F.cross_entropy(model(x).view(-1, V), y.view(-1))\n"
                 "    opt.zero_grad()\n"
                 "    loss.backward()\n"
                 "    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"
                 "    opt.step()\n"
                 "    losses.append(loss.item())\n"
                 "print(\"final loss\", losses[-1])"),
        ("code", "plt.plot(losses)\nplt.xlabel(\"iteration\")\nplt.ylabel(\"loss\")\nplt.show()"),
        ("code", "@torch.no_grad()\n"
                 "def generate(prompt, length, temperature=1.0):\n"
                 "    model.eval()\n"
                 "    logits, h = model(torch.tensor([encode(prompt)], device=device), return_hidden=True)\n"
                 "    result = prompt\n"
                 "    for _ in range(length):\n"
                 "        i = sample(logits[0, -1].cpu(), temperature)\n"
                 "        result += idx2char[i]\n"
                 "        logits, h = model(torch.tensor([[i]], device=device), h, return_hidden=True)\n"
                 "    return result\n\n\n"
                 "for T in [0.05, 0.5, 1.0, 2.0]:\n    print(T, repr(generate(\"ROMEO:\", 100, T)))"),
    ),
)

IRENE = Style(
    name="irene",
    summary="two-layer LSTM with dropout 0.2, AdamW 3e-3; np.random.choice on float64 softmax; generate re-reads "
            "the last seq_len characters for every new one; keeps the template's helper cells",
    cells=(
        ("md", "# Práctica 3 · Generación de texto con una RNN de caracteres\n\nIrene Blanco Ruiz"),
        ("code", "import math\nfrom pathlib import Path\n\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport torch\n"
                 "from torch import nn"),
        ("parameters", "# Grading parameters: the grader replaces these values. Keep the names and keep them literals.\n"
                       "data_dir = \"data/text\"    # folder with train.txt\nsteps = 150               # optimiser steps\n"
                       "hidden_size = 256\nseq_len = 100             # characters per training window\nbatch_size = 64\n"
                       "device = \"auto\"           # \"auto\": a GPU when there is one, else the CPU\nseed = 0"),
        ("code", "if device == \"auto\":\n    device = \"cuda\" if torch.cuda.is_available() else \"cpu\"\n"
                 "torch.manual_seed(seed)\nnp.random.seed(seed)\nprint(\"device:\", device)"),
        ("code", "text = (Path(data_dir) / \"train.txt\").read_text(encoding=\"utf-8\")\nchars = sorted(set(text))\n"
                 "vocab_size = len(chars)\nstoi = {c: i for i, c in enumerate(chars)}\nitos = {i: c for i, c in enumerate(chars)}\n"
                 "print(f\"{len(text):,} characters, vocabulary of {vocab_size}\")"),
        ("code", "def encode(s):\n    \"\"\"Text -> list of ids (chars[i] has id i).\"\"\"\n    return list(map(stoi.get, s))\n\n\n"
                 "def decode(ids):\n    \"\"\"Ids (a list or a tensor) -> text.\"\"\"\n"
                 "    return \"\".join(itos[i] for i in torch.as_tensor(ids).tolist())\n\n\n"
                 "print(\"round trip:\", decode(encode(text[:1000])) == text[:1000])"),
        ("code", "data = torch.tensor(encode(text), dtype=torch.long)\nn_val = len(data) // 10\n"
                 "train_data, val_data = data[:-n_val], data[-n_val:]\n"
                 "generator = torch.Generator().manual_seed(seed)\n\n\n"
                 "def get_batch(source):\n"
                 "    starts = torch.randint(0, len(source) - seq_len - 1, (batch_size,), generator=generator)\n"
                 "    x = torch.stack([source[s:s + seq_len] for s in starts.tolist()])\n"
                 "    y = torch.stack([source[s + 1:s + seq_len + 1] for s in starts.tolist()])\n"
                 "    return x.to(device), y.to(device)"),
        ("code", "class CharRNN(nn.Module):\n"
                 "    def __init__(self, vocab_size, hidden_size, embedding_size=64, layers=2, dropout=0.2):\n"
                 "        super().__init__()\n"
                 "        self.embedding = nn.Embedding(vocab_size, embedding_size)\n"
                 "        self.lstm = nn.LSTM(embedding_size, hidden_size, num_layers=layers, dropout=dropout, batch_first=True)\n"
                 "        self.drop = nn.Dropout(dropout)\n"
                 "        self.head = nn.Linear(hidden_size, vocab_size)\n\n"
                 "    def forward(self, ids):\n"
                 "        out, _ = self.lstm(self.embedding(ids))\n"
                 "        return self.head(self.drop(out))\n\n\n"
                 "model = CharRNN(vocab_size, hidden_size).to(device)\nprint(model)"),
        ("code", "def sample(logits, temperature=1.0):\n"
                 "    \"\"\"One index drawn from softmax(logits / temperature).\"\"\"\n"
                 "    z = torch.as_tensor(logits, dtype=torch.float64).flatten() / temperature\n"
                 "    p = torch.softmax(z, dim=0).cpu().numpy()\n"
                 "    return int(np.random.choice(len(p), p=p))\n\n\n"
                 "print([sample(torch.tensor([2.0, 1.0, 0.1]), 1.0) for _ in range(10)])"),
        ("code", "optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)\n"
                 "history = {\"loss\": []}\nmodel.train()\n"
                 "for step in range(steps):\n"
                 "    x, y = get_batch(train_data)\n"
                 "    loss = nn.functional.cross_entropy(model(x).reshape(-1, vocab_size), y.reshape(-1))\n"
                 "    optimizer.zero_grad(set_to_none=True)\n"
                 "    loss.backward()\n"
                 "    nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"
                 "    optimizer.step()\n"
                 "    history[\"loss\"].append(loss.item())\n"
                 "    if step % 50 == 0:\n"
                 "        print(step, round(loss.item(), 3))\n"
                 "model.eval()"),
        ("code", "fig, ax = plt.subplots(figsize=(6, 3))\nax.plot(history[\"loss\"])\n"
                 "ax.set(xlabel=\"step\", ylabel=\"nats/char\", title=\"Training loss\")\nplt.show()"),
        ("code", "@torch.no_grad()\n"
                 "def generate(prompt, length, temperature=1.0):\n"
                 "    model.eval()\n"
                 "    text_so_far = prompt\n"
                 "    for _ in range(length):\n"
                 "        context = torch.tensor([encode(text_so_far[-seq_len:])], device=device)\n"
                 "        text_so_far += itos[sample(model(context)[0, -1], temperature)]\n"
                 "    return text_so_far\n\n\n"
                 "for t in (0.05, 1.0, 2.0):\n    print(f\"--- temperature {t}\")\n    print(generate(\"ROMEO:\", 150, t))"),
    ),
)

JORGE = Style(
    name="jorge",
    summary="Colab: Drive, !pip, %matplotlib inline, a /content data_dir; LSTM with a step method; "
            "torch.distributions.Categorical; Adam 2e-3",
    colab=True,
    cells=(
        ("code", "!pip install -q unidecode"),
        ("code", "from google.colab import drive\ndrive.mount('/content/drive')"),
        ("code", "%matplotlib inline\nimport numpy as np, torch, math\nfrom torch import nn\nimport matplotlib.pyplot as plt"),
        ("parameters", "data_dir = '/content/drive/MyDrive/Colab Notebooks/ML1/p3'\nsteps = 150\nhidden_size = 256\n"
                       "seq_len = 100\nbatch_size = 64\ndevice = 'auto'\nseed = 0"),
        ("code", "!nvidia-smi -L\ndevice = torch.device('cuda' if device == 'auto' and torch.cuda.is_available() else "
                 "('cpu' if device == 'auto' else device))\ntorch.manual_seed(seed)"),
        ("code", "with open(data_dir + '/train.txt', encoding='utf-8') as f:\n    text = f.read()\n"
                 "vocab = sorted(set(text))\nto_id = {c: i for i, c in enumerate(vocab)}\n"
                 "encode = lambda s: [to_id[c] for c in s]\ndecode = lambda ids: ''.join(vocab[int(i)] for i in ids)\n"
                 "print(len(vocab), decode(encode(text[:50])))"),
        ("code", "class LSTMModel(nn.Module):\n"
                 "    def __init__(self, n_chars, n_hidden):\n"
                 "        super().__init__()\n"
                 "        self.embed = nn.Embedding(n_chars, 48)\n"
                 "        self.rnn = nn.LSTM(48, n_hidden, batch_first=True)\n"
                 "        self.fc = nn.Linear(n_hidden, n_chars)\n\n"
                 "    def step(self, ids, state=None):\n"
                 "        out, state = self.rnn(self.embed(ids), state)\n"
                 "        return self.fc(out), state\n\n"
                 "    def forward(self, ids):\n"
                 "        return self.step(ids)[0]\n\n\n"
                 "model = LSTMModel(len(vocab), hidden_size).to(device)"),
        ("code", "ids = torch.tensor(encode(text))\noptimizer = torch.optim.Adam(model.parameters(), lr=0.002)\n"
                 "loss_fn = nn.CrossEntropyLoss()\nloss_history = []\n"
                 "for i in range(steps):\n"
                 "    idx = torch.randint(len(ids) - seq_len - 1, (batch_size, 1)) + torch.arange(seq_len + 1)\n"
                 "    chunk = ids[idx].to(device)\n"
                 "    logits = model(chunk[:, :-1])\n"
                 "    loss = loss_fn(logits.transpose(1, 2), chunk[:, 1:])\n"
                 "    optimizer.zero_grad()\n"
                 "    loss.backward()\n"
                 "    nn.utils.clip_grad_norm_(model.parameters(), 5.0)\n"
                 "    optimizer.step()\n"
                 "    loss_history.append(loss.item())\n"
                 "    if i % 20 == 0:\n"
                 "        print(f'{i:4d} {loss.item():.3f}')"),
        ("code", "plt.figure(figsize=(8, 3))\nplt.plot(loss_history)\nplt.title('loss')\nplt.grid()"),
        ("code", "def sample(logits, temperature=1.0):\n"
                 "    dist = torch.distributions.Categorical(logits=torch.as_tensor(logits, dtype=torch.float32) / temperature)\n"
                 "    return dist.sample().item()\n\n\n"
                 "def generate(prompt, length, temperature=1.0):\n"
                 "    model.eval()\n"
                 "    with torch.no_grad():\n"
                 "        logits, state = model.step(torch.tensor([encode(prompt)]).to(device))\n"
                 "        chars_out = list(prompt)\n"
                 "        for _ in range(length):\n"
                 "            nxt = sample(logits[0, -1].cpu(), temperature)\n"
                 "            chars_out.append(vocab[nxt])\n"
                 "            logits, state = model.step(torch.tensor([[nxt]]).to(device), state)\n"
                 "    return ''.join(chars_out)\n\n\n"
                 "print(generate('JULIET:', 200, 0.7))"),
    ),
)

CORRECT = (HUGO, IRENE, JORGE)
