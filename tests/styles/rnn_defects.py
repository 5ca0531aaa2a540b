"""rnn_text: four students with one defect each, and what the point table takes for it.

Table (assignments/rnn_text/assignment.toml): executed 1 · roundtrip 1 (share of 4 texts; ids in the
contract's numbering) · model_shape 1 · sample 1.5 (share of 3 temperatures) · generate 1 (a third each:
prompt, length, vocabulary) · temperature 1.5 (all or nothing; generate's own draws at T = 0.01, 0.5 and 5 against
its draws at T = 1, so the model never decides it; not judged, 0, when generate's answers give no character
to read) · cross_entropy 3 (from the model's logits, in the student's numbering).
"""
from styles import Style

KARLA = Style(
    name="karla",
    summary="her own vocabulary order, list(set(text)) (hash order, new in every kernel); LSTM, Adam 3e-3, multinomial",
    lost={"roundtrip": ("1", "ids not in the contract's sorted(set(text)) numbering: the table says an own "
                             "vocabulary order passes none of the 4 texts and loses 1, and that temperature and "
                             "cross_entropy read her own numbering, so nothing else")},
    cells=(
        ("md", "# Práctica 3: RNN\nKarla Jiménez"),
        ("code", "import math\nfrom pathlib import Path\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport torch\n"
                 "from torch import nn"),
        ("parameters", "data_dir = \"data/text\"\nsteps = 150\nhidden_size = 256\nseq_len = 100\nbatch_size = 64\n"
                       "device = \"auto\"\nseed = 0"),
        ("code", "if device == \"auto\":\n    device = \"cuda\" if torch.cuda.is_available() else \"cpu\"\ntorch.manual_seed(seed)"),
        ("code", "text = (Path(data_dir) / \"train.txt\").read_text(encoding=\"utf-8\")\n"
                 "chars = list(set(text))   # every character once\n"
                 "char_to_int = {c: i for i, c in enumerate(chars)}\nint_to_char = {i: c for i, c in enumerate(chars)}\n"
                 "vocab_size = len(chars)\nprint(vocab_size, \"characters\")"),
        ("code", "def encode(s):\n    return [char_to_int[c] for c in s]\n\n\n"
                 "def decode(ids):\n    return \"\".join(int_to_char[int(i)] for i in ids)\n\n\n"
                 "print(decode(encode(\"To be, or not to be\")))"),
        ("code", "data = torch.tensor(encode(text), dtype=torch.long)\n\n\n"
                 "def get_batch():\n"
                 "    ix = torch.randint(len(data) - seq_len - 1, (batch_size,))\n"
                 "    x = torch.stack([data[i:i + seq_len] for i in ix])\n"
                 "    y = torch.stack([data[i + 1:i + seq_len + 1] for i in ix])\n"
                 "    return x.to(device), y.to(device)"),
        ("code", "class CharLSTM(nn.Module):\n"
                 "    def __init__(self):\n"
                 "        super().__init__()\n"
                 "        self.embedding = nn.Embedding(vocab_size, 64)\n"
                 "        self.lstm = nn.LSTM(64, hidden_size, batch_first=True)\n"
                 "        self.linear = nn.Linear(hidden_size, vocab_size)\n\n"
                 "    def forward(self, x, hidden=None):\n"
                 "        out, self.hidden = self.lstm(self.embedding(x), hidden)\n"
                 "        return self.linear(out)\n\n\n"
                 "model = CharLSTM().to(device)"),
        ("code", "def sample(logits, temperature=1.0):\n"
                 "    probs = torch.softmax(logits / temperature, dim=-1)\n"
                 "    return torch.multinomial(probs, 1).item()"),
        ("code", "optimizer = torch.optim.Adam(model.parameters(), lr=0.003)\ncriterion = nn.CrossEntropyLoss()\n"
                 "history = []\n"
                 "for step in range(steps):\n"
                 "    x, y = get_batch()\n"
                 "    loss = criterion(model(x).reshape(-1, vocab_size), y.reshape(-1))\n"
                 "    optimizer.zero_grad()\n"
                 "    loss.backward()\n"
                 "    nn.utils.clip_grad_norm_(model.parameters(), 1)\n"
                 "    optimizer.step()\n"
                 "    history.append(loss.item())\n"
                 "plt.plot(history)\nplt.title(\"training loss\")\nplt.show()"),
        ("code", "@torch.no_grad()\n"
                 "def generate(prompt, length, temperature=1.0):\n"
                 "    model.eval()\n"
                 "    logits = model(torch.tensor([encode(prompt)], device=device))\n"
                 "    hidden, out = model.hidden, prompt\n"
                 "    for _ in range(length):\n"
                 "        nxt = sample(logits[0, -1], temperature)\n"
                 "        out += int_to_char[nxt]\n"
                 "        logits = model(torch.tensor([[nxt]], device=device), hidden)\n"
                 "        hidden = model.hidden\n"
                 "    return out\n\n\n"
                 "print(generate(\"HAMLET:\", 200, 0.8))"),
    ),
)

LUCAS = Style(
    name="lucas",
    summary="sample never divides by the temperature (and generate draws through it); LSTM, Adam 4e-3",
    lost={"sample": ("1.0", "softmax(logits), not softmax(logits / T): right at T = 1 only; the table scores the "
                            "share of its 3 temperatures, so 1 of 3 kept (0.5 of 1.5), 1.0 lost"),
          "temperature": ("1.5", "generate draws through that sample: its draws at T = 0.01, 0.5 and 5 are those of "
                                 "T = 1, the temperature changes nothing; all or nothing, 1.5")},
    cells=(
        ("md", "## Practical 3 — character-level text generation\nLucas Herrera"),
        ("code", "import math\nfrom pathlib import Path\nimport numpy as np\nimport torch\nimport torch.nn as nn\n"
                 "import matplotlib.pyplot as plt"),
        ("parameters", "data_dir = \"data/text\"\nsteps = 150\nhidden_size = 256\nseq_len = 100\nbatch_size = 64\n"
                       "device = \"auto\"\nseed = 0"),
        ("code", "device = \"cuda\" if device == \"auto\" and torch.cuda.is_available() else (\"cpu\" if device == \"auto\" else device)\n"
                 "torch.manual_seed(seed)"),
        ("code", "text = Path(data_dir, \"train.txt\").read_text(encoding=\"utf-8\")\nchars = sorted(set(text))\n"
                 "stoi = {c: i for i, c in enumerate(chars)}\nV = len(chars)\n\n"
                 "encode = lambda s: [stoi[c] for c in s]\ndecode = lambda l: \"\".join(chars[int(i)] for i in l)"),
        ("code", "class Net(nn.Module):\n"
                 "    def __init__(self):\n"
                 "        super().__init__()\n"
                 "        self.emb = nn.Embedding(V, 64)\n"
                 "        self.lstm = nn.LSTM(64, hidden_size, batch_first=True)\n"
                 "        self.fc = nn.Linear(hidden_size, V)\n\n"
                 "    def forward(self, x, state=None):\n"
                 "        h, self.state = self.lstm(self.emb(x), state)\n"
                 "        return self.fc(h)\n\n\n"
                 "model = Net().to(device)"),
        ("code", "ids = torch.tensor(encode(text))\nopt = torch.optim.Adam(model.parameters(), lr=4e-3)\nlosses = []\n"
                 "for step in range(steps):\n"
                 "    starts = torch.randint(0, len(ids) - seq_len - 1, (batch_size,))\n"
                 "    xb = torch.stack([ids[s:s + seq_len] for s in starts]).to(device)\n"
                 "    yb = torch.stack([ids[s + 1:s + 1 + seq_len] for s in starts]).to(device)\n"
                 "    loss = nn.functional.cross_entropy(model(xb).flatten(0, 1), yb.flatten())\n"
                 "    opt.zero_grad()\n    loss.backward()\n"
                 "    nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n    opt.step()\n"
                 "    losses.append(loss.item())\n"
                 "plt.plot(losses)\nplt.show()"),
        ("code", "def sample(logits, temperature=1.0):\n"
                 "    probs = torch.softmax(torch.as_tensor(logits), dim=-1)\n"
                 "    return int(torch.multinomial(probs, 1))\n\n\n"
                 "@torch.no_grad()\n"
                 "def generate(prompt, length, temperature=1.0):\n"
                 "    model.eval()\n"
                 "    out = model(torch.tensor([encode(prompt)], device=device))\n"
                 "    text_out = prompt\n"
                 "    for _ in range(length):\n"
                 "        c = sample(out[0, -1], temperature)\n"
                 "        text_out += chars[c]\n"
                 "        out = model(torch.tensor([[c]], device=device), model.state)\n"
                 "    return text_out\n\n\n"
                 "for T in (0.05, 1, 2):\n    print(T, generate(\"KING:\", 80, T))"),
    ),
)

MARINA = Style(
    name="marina",
    summary="module-style helper classes (Vocabulary, TextGenerator, Trainer); generate returns only the new "
            "characters, without the prompt",
    lost={"generate": ("0.33", "the prompt is left out: of the table's three thirds (prompt first, length new "
                               "characters, all in the vocabulary) she keeps two; temperature reads the text alone "
                               "when generate leaves the prompt out, so nothing else")},
    cells=(
        ("md", "# Práctica 3 — Marina Pascual\n\nOrganizo el código en clases, como en un módulo."),
        ("code", "import math\nfrom pathlib import Path\n\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport torch\n"
                 "from torch import nn"),
        ("parameters", "data_dir = \"data/text\"\nsteps = 150\nhidden_size = 256\nseq_len = 100\nbatch_size = 64\n"
                       "device = \"auto\"\nseed = 0"),
        ("code", "if device == \"auto\":\n    device = \"cuda\" if torch.cuda.is_available() else \"cpu\"\n"
                 "torch.manual_seed(seed)\nnp.random.seed(seed)"),
        ("code", "class Vocabulary:\n"
                 "    \"\"\"Characters <-> ids, in sorted order.\"\"\"\n\n"
                 "    def __init__(self, text):\n"
                 "        self.chars = sorted(set(text))\n"
                 "        self.index = {c: i for i, c in enumerate(self.chars)}\n\n"
                 "    def __len__(self):\n"
                 "        return len(self.chars)\n\n"
                 "    def encode(self, s):\n"
                 "        return [self.index[c] for c in s]\n\n"
                 "    def decode(self, ids):\n"
                 "        return \"\".join(self.chars[i] for i in map(int, ids))\n\n\n"
                 "text = (Path(data_dir) / \"train.txt\").read_text(encoding=\"utf-8\")\n"
                 "vocab = Vocabulary(text)\nencode, decode = vocab.encode, vocab.decode\nprint(len(vocab))"),
        ("code", "class TextGenerator(nn.Module):\n"
                 "    def __init__(self, n_vocab, n_hidden, n_embed=64):\n"
                 "        super().__init__()\n"
                 "        self.embedding = nn.Embedding(n_vocab, n_embed)\n"
                 "        self.recurrent = nn.LSTM(n_embed, n_hidden, batch_first=True)\n"
                 "        self.classifier = nn.Linear(n_hidden, n_vocab)\n\n"
                 "    def forward(self, ids, state=None, keep_state=False):\n"
                 "        out, state = self.recurrent(self.embedding(ids), state)\n"
                 "        logits = self.classifier(out)\n"
                 "        return (logits, state) if keep_state else logits\n\n\n"
                 "class Trainer:\n"
                 "    def __init__(self, model, ids, lr=3e-3):\n"
                 "        self.model, self.ids = model, ids\n"
                 "        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)\n"
                 "        self.losses = []\n\n"
                 "    def batch(self):\n"
                 "        starts = np.random.randint(0, len(self.ids) - seq_len - 1, batch_size)\n"
                 "        window = np.stack([self.ids[s:s + seq_len + 1] for s in starts])\n"
                 "        window = torch.from_numpy(window).to(device)\n"
                 "        return window[:, :-1], window[:, 1:]\n\n"
                 "    def fit(self, n_steps):\n"
                 "        self.model.train()\n"
                 "        for _ in range(n_steps):\n"
                 "            x, y = self.batch()\n"
                 "            logits = self.model(x)\n"
                 "            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))\n"
                 "            self.optimizer.zero_grad()\n"
                 "            loss.backward()\n"
                 "            nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)\n"
                 "            self.optimizer.step()\n"
                 "            self.losses.append(loss.item())\n"
                 "        self.model.eval()\n"
                 "        return self.losses"),
        ("code", "model = TextGenerator(len(vocab), hidden_size).to(device)\n"
                 "trainer = Trainer(model, np.array(encode(text), dtype=np.int64))\n"
                 "losses = trainer.fit(steps)\n"
                 "plt.plot(losses, label=\"train\")\nplt.legend()\nplt.show()"),
        ("code", "def sample(logits, temperature=1.0):\n"
                 "    scaled = torch.as_tensor(logits, dtype=torch.float32) / temperature\n"
                 "    return int(torch.multinomial(scaled.softmax(-1), 1)[0])\n\n\n"
                 "@torch.no_grad()\n"
                 "def generate(prompt, length, temperature=1.0):\n"
                 "    \"\"\"The `length` characters the model writes after `prompt`.\"\"\"\n"
                 "    logits, state = model(torch.tensor([encode(prompt)], device=device), keep_state=True)\n"
                 "    new = []\n"
                 "    for _ in range(length):\n"
                 "        i = sample(logits[0, -1], temperature)\n"
                 "        new.append(i)\n"
                 "        logits, state = model(torch.tensor([[i]], device=device), state, keep_state=True)\n"
                 "    return decode(new)\n\n\n"
                 "prompt = \"ROMEO:\"\nprint(prompt + generate(prompt, 200, 0.8))"),
    ),
)

NICO = Style(
    name="nico",
    summary="model's forward returns (logits, (h, c)), as in many tutorials; everything else right",
    lost={"model_shape": ("1", "model(ids) is a tuple, not the [N, T, V] logits the table asks for"),
          "cross_entropy": ("3", "the table scores it from the model's logits: a tuple gives none, 0 of 3; "
                                 "temperature reads only generate's draws, which unpack the tuple: kept")},
    cells=(
        ("md", "# Práctica 3 · RNN de caracteres\nNicolás Vega"),
        ("code", "import math\nfrom pathlib import Path\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport torch\n"
                 "from torch import nn"),
        ("parameters", "data_dir = \"data/text\"\nsteps = 150\nhidden_size = 256\nseq_len = 100\nbatch_size = 64\n"
                       "device = \"auto\"\nseed = 0"),
        ("code", "if device == \"auto\":\n    device = \"cuda\" if torch.cuda.is_available() else \"cpu\"\ntorch.manual_seed(seed)"),
        ("code", "text = (Path(data_dir) / \"train.txt\").read_text(encoding=\"utf-8\")\nchars = sorted(set(text))\n"
                 "vocab_size = len(chars)\nstoi = {c: i for i, c in enumerate(chars)}\nitos = {i: c for c, i in stoi.items()}\n\n\n"
                 "def encode(s):\n    return [stoi[c] for c in s]\n\n\n"
                 "def decode(ids):\n    return ''.join(itos[int(i)] for i in ids)"),
        ("code", "class CharRNN(nn.Module):\n"
                 "    def __init__(self, vocab_size, hidden_size, embedding_size=64):\n"
                 "        super().__init__()\n"
                 "        self.embedding = nn.Embedding(vocab_size, embedding_size)\n"
                 "        self.lstm = nn.LSTM(embedding_size, hidden_size, batch_first=True)\n"
                 "        self.fc = nn.Linear(hidden_size, vocab_size)\n\n"
                 "    def forward(self, x, hidden=None):\n"
                 "        out, hidden = self.lstm(self.embedding(x), hidden)\n"
                 "        return self.fc(out), hidden\n\n\n"
                 "model = CharRNN(vocab_size, hidden_size).to(device)"),
        ("code", "data = torch.tensor(encode(text))\noptimizer = torch.optim.Adam(model.parameters(), lr=3e-3)\nloss_log = []\n"
                 "for step in range(steps):\n"
                 "    starts = torch.randint(0, len(data) - seq_len - 1, (batch_size,))\n"
                 "    x = torch.stack([data[s:s + seq_len] for s in starts]).to(device)\n"
                 "    y = torch.stack([data[s + 1:s + seq_len + 1] for s in starts]).to(device)\n"
                 "    logits, _ = model(x)\n"
                 "    loss = nn.functional.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1))\n"
                 "    optimizer.zero_grad()\n"
                 "    loss.backward()\n"
                 "    nn.utils.clip_grad_norm_(model.parameters(), 1.0)\n"
                 "    optimizer.step()\n"
                 "    loss_log.append(loss.item())\n"
                 "plt.plot(loss_log)\nplt.xlabel('step')\nplt.ylabel('loss')\nplt.show()"),
        ("code", "def sample(logits, temperature=1.0):\n"
                 "    p = torch.softmax(logits / temperature, dim=-1)\n"
                 "    return torch.multinomial(p, 1).item()\n\n\n"
                 "def generate(prompt, length, temperature=1.0):\n"
                 "    model.eval()\n"
                 "    with torch.no_grad():\n"
                 "        logits, hidden = model(torch.tensor([encode(prompt)], device=device))\n"
                 "        out = prompt\n"
                 "        for _ in range(length):\n"
                 "            i = sample(logits[0, -1], temperature)\n"
                 "            out += itos[i]\n"
                 "            logits, hidden = model(torch.tensor([[i]], device=device), hidden)\n"
                 "    return out\n\n\n"
                 "print(generate('ROMEO:', 200, 0.5))"),
    ),
)

DEFECTS = (KARLA, LUCAS, MARINA, NICO)
