"""imagenet_cnn: three students who got everything right, each her own way (see tests/styles/__init__.py).

Alba works in Colab (Drive, `!pip`, `%matplotlib inline`, a /content path); Bruno builds the network from
nn.Sequential blocks of his own and renames the .pth keys into it; Clara runs the pretrained tensors through
torch.nn.functional and resizes with F.interpolate. Nothing in the point table is about where or how the
code was written, so each keeps all 10 points.
"""
from styles import Style

ALBA = Style(
    name="alba",
    summary="Colab: Drive, !pip, %matplotlib inline; PIL resize + crop, numpy normalisation; "
            "EfficientNet with its own class names and a padding helper; topk + eq/expand_as",
    colab=True,
    cells=(
        ("md", "# Práctica 2 - ImageNet\nAlba Ferrer · hecho en Google Colab (GPU T4)"),
        ("code", "!pip install -q pillow matplotlib"),
        ("code", "from google.colab import drive\ndrive.mount('/content/drive')"),
        ("code", "%matplotlib inline\nimport json, math\nfrom pathlib import Path\nimport numpy as np\n"
                 "import matplotlib.pyplot as plt\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
                 "from PIL import Image"),
        ("parameters", 'data_dir = "/content/drive/MyDrive/ML1/practica2/data"\ndevice = "auto"\nbatch_size = 32'),
        ("code", "if device == 'auto':\n    device = 'cuda' if torch.cuda.is_available() else 'cpu'\n!nvidia-smi\n"
                 "print(device)"),
        ("code", "class_index = json.load(open(f'{data_dir}/imagenet_class_index.json'))\n"
                 "labels = [class_index[str(i)][1] for i in range(len(class_index))]\n"
                 "example_paths = sorted(Path(data_dir, 'examples').glob('*.*'))\nprint(len(labels), example_paths[:3])"),
        ("md", "## Preprocesado"),
        ("code", "def preprocess(image):\n"
                 "    img = image.convert('RGB')\n"
                 "    w, h = img.size\n"
                 "    if w < h:\n"
                 "        new_w, new_h = 256, int(h * 256 / w)\n"
                 "    else:\n"
                 "        new_w, new_h = int(w * 256 / h), 256\n"
                 "    img = img.resize((new_w, new_h), resample=Image.BILINEAR)\n"
                 "    left, top = round((new_w - 224) / 2), round((new_h - 224) / 2)\n"
                 "    img = img.crop((left, top, left + 224, top + 224))\n"
                 "    x = np.array(img).astype('float32') / 255.\n"
                 "    x = (x - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])\n"
                 "    return torch.tensor(x.transpose(2, 0, 1), dtype=torch.float32)\n\n"
                 "x0 = preprocess(Image.open(example_paths[0]))\nprint(x0.shape, x0.dtype, x0.mean().item())"),
        ("md", "## Top-k"),
        ("code", "def topk_accuracy(logits, targets, k):\n"
                 "    logits, targets = torch.as_tensor(logits), torch.as_tensor(targets)\n"
                 "    _, pred = logits.topk(k, dim=1, largest=True, sorted=True)\n"
                 "    correct = pred.eq(targets.view(-1, 1).expand_as(pred))\n"
                 "    return correct.any(dim=1).float().mean().item()\n\n"
                 "print(topk_accuracy(torch.tensor([[3., 1., 2.], [1., 3., 2.]]), torch.tensor([0, 2]), 2))"),
        ("md", "## EfficientNet-Lite0"),
        ("code", "STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),\n"
                 "          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]\n\n\n"
                 "def tf_same_pad(x, kernel, stride):\n"
                 "    ih, iw = x.shape[-2:]\n"
                 "    ph = max((math.ceil(ih / stride) - 1) * stride + kernel - ih, 0)\n"
                 "    pw = max((math.ceil(iw / stride) - 1) * stride + kernel - iw, 0)\n"
                 "    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])\n\n\n"
                 "class MBConv(nn.Module):\n"
                 "    def __init__(self, cin, cout, kernel, stride, expand):\n"
                 "        super().__init__()\n"
                 "        hidden = cin * expand\n"
                 "        self.kernel, self.stride, self.has_expand = kernel, stride, expand != 1\n"
                 "        if self.has_expand:\n"
                 "            self._expand_conv = nn.Conv2d(cin, hidden, 1, bias=False)\n"
                 "            self._bn0 = nn.BatchNorm2d(hidden, eps=1e-3)\n"
                 "        self._depthwise_conv = nn.Conv2d(hidden, hidden, kernel, stride, groups=hidden, bias=False)\n"
                 "        self._bn1 = nn.BatchNorm2d(hidden, eps=1e-3)\n"
                 "        self._project_conv = nn.Conv2d(hidden, cout, 1, bias=False)\n"
                 "        self._bn2 = nn.BatchNorm2d(cout, eps=1e-3)\n"
                 "        self.residual = stride == 1 and cin == cout\n\n"
                 "    def forward(self, inputs):\n"
                 "        x = inputs\n"
                 "        if self.has_expand:\n"
                 "            x = F.relu6(self._bn0(self._expand_conv(x)))\n"
                 "        x = F.relu6(self._bn1(self._depthwise_conv(tf_same_pad(x, self.kernel, self.stride))))\n"
                 "        x = self._bn2(self._project_conv(x))\n"
                 "        return x + inputs if self.residual else x\n\n\n"
                 "class EfficientLite(nn.Module):\n"
                 "    def __init__(self, num_classes=1000):\n"
                 "        super().__init__()\n"
                 "        self._conv_stem = nn.Conv2d(3, 32, 3, 2, bias=False)\n"
                 "        self._bn0 = nn.BatchNorm2d(32, eps=1e-3)\n"
                 "        blocks = []\n"
                 "        for repeats, kernel, stride, expand, cin, cout in STAGES:\n"
                 "            for r in range(repeats):\n"
                 "                blocks.append(MBConv(cin if r == 0 else cout, cout, kernel, stride if r == 0 else 1, expand))\n"
                 "        self._blocks = nn.ModuleList(blocks)\n"
                 "        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)\n"
                 "        self._bn1 = nn.BatchNorm2d(1280, eps=1e-3)\n"
                 "        self._dropout = nn.Dropout(0.2)\n"
                 "        self._fc = nn.Linear(1280, num_classes)\n\n"
                 "    def forward(self, x):\n"
                 "        x = F.relu6(self._bn0(self._conv_stem(tf_same_pad(x, 3, 2))))\n"
                 "        for blk in self._blocks:\n"
                 "            x = blk(x)\n"
                 "        x = F.relu6(self._bn1(self._conv_head(x)))\n"
                 "        x = F.adaptive_avg_pool2d(x, 1).flatten(1)\n"
                 "        return self._fc(self._dropout(x))\n\n\n"
                 "model = EfficientLite()\n"
                 "weights = torch.load(f'{data_dir}/efficientnet-lite0-57934424.pth', map_location='cpu')\n"
                 "print(model.load_state_dict(weights))\n"
                 "model.to(device)\nmodel.eval();"),
        ("md", "## Predicciones"),
        ("code", "imgs = [Image.open(p).convert('RGB') for p in example_paths]\n"
                 "with torch.no_grad():\n"
                 "    probs = F.softmax(model(torch.stack([preprocess(im) for im in imgs]).to(device)), dim=1).cpu()\n"
                 "fig = plt.figure(figsize=(12, 6))\n"
                 "for i, (im, p) in enumerate(zip(imgs, probs)):\n"
                 "    ax = fig.add_subplot(2, 4, i + 1)\n"
                 "    ax.imshow(im); ax.axis('off')\n"
                 "    ax.set_title(f'{labels[p.argmax()]} {p.max():.0%}')\n"
                 "plt.show()"),
    ),
)

BRUNO = Style(
    name="bruno",
    summary="nn.Sequential blocks with his own names, the .pth keys renamed in order (shapes asserted); "
            "numpy slicing for the crop; topk via np.argsort",
    cells=(
        ("md", "# Práctica 2: ImageNet con una CNN preentrenada\n\nBruno Sanz"),
        ("code", "import json\nimport math\nfrom collections import OrderedDict\nfrom pathlib import Path\n\n"
                 "import matplotlib.pyplot as plt\nimport numpy as np\nimport torch\nfrom PIL import Image\nfrom torch import nn"),
        ("parameters", "# Grading parameters\ndata_dir = \"data/imagenet\"\ndevice = \"auto\"\nbatch_size = 32"),
        ("code", "device = ('cuda' if torch.cuda.is_available() else 'cpu') if device == 'auto' else device\ndevice"),
        ("code", "root = Path(data_dir)\nwith open(root / 'imagenet_class_index.json') as f:\n    idx = json.load(f)\n"
                 "names = [idx[str(c)][1] for c in range(1000)]\n"
                 "examples = sorted((root / 'examples').iterdir())\nlen(examples)"),
        ("md", "## Preprocesado\nRedimensiono con PIL y recorto con índices de numpy."),
        ("code", "mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)\n"
                 "std = np.array([0.229, 0.224, 0.225], dtype=np.float32)\n\n\n"
                 "def preprocess(image):\n"
                 "    image = image.convert('RGB')\n"
                 "    w, h = image.size\n"
                 "    short = min(w, h)\n"
                 "    image = image.resize((round(w * 256 / short), round(h * 256 / short)), Image.BILINEAR)\n"
                 "    a = np.asarray(image, dtype=np.float32) / 255\n"
                 "    H, W, _ = a.shape\n"
                 "    i, j = (H - 224) // 2, (W - 224) // 2\n"
                 "    a = (a[i:i + 224, j:j + 224, :] - mean) / std\n"
                 "    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))\n\n\n"
                 "t = preprocess(Image.open(examples[0]))\nt.shape, t.dtype"),
        ("md", "## Top-k"),
        ("code", "def topk_accuracy(logits, targets, k):\n"
                 "    logits = np.asarray(logits)\n"
                 "    targets = np.asarray(targets)\n"
                 "    best = np.argsort(logits, axis=1)[:, ::-1][:, :k]\n"
                 "    return float((best == targets.reshape(-1, 1)).any(axis=1).mean())\n\n\n"
                 "topk_accuracy(np.array([[3., 1., 2.], [1., 3., 2.]]), np.array([0, 2]), 1)"),
        ("md", "## Red\nBloques con `nn.Sequential`; los nombres del `.pth` los traduzco por orden."),
        ("code", "STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),\n"
                 "          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]\n\n\n"
                 "def same_pad(k, s):\n"
                 "    # TF 'same' padding for the even sizes of a 224 input: the extra pixel goes right and bottom\n"
                 "    total = k - s if s > 1 else k - 1\n"
                 "    return nn.ZeroPad2d((total // 2, total - total // 2, total // 2, total - total // 2))\n\n\n"
                 "def conv_bn(cin, cout, k, s=1, groups=1, act=True):\n"
                 "    layers = [same_pad(k, s)] if k > 1 else []\n"
                 "    layers += [nn.Conv2d(cin, cout, k, s, groups=groups, bias=False), nn.BatchNorm2d(cout, eps=0.001)]\n"
                 "    return layers + [nn.ReLU6()] if act else layers\n\n\n"
                 "class InvertedResidual(nn.Module):\n"
                 "    def __init__(self, cin, cout, k, s, e):\n"
                 "        super().__init__()\n"
                 "        mid = cin * e\n"
                 "        layers = conv_bn(cin, mid, 1) if e != 1 else []\n"
                 "        layers += conv_bn(mid, mid, k, s, groups=mid)\n"
                 "        layers += conv_bn(mid, cout, 1, act=False)\n"
                 "        self.body = nn.Sequential(*layers)\n"
                 "        self.use_res = s == 1 and cin == cout\n\n"
                 "    def forward(self, x):\n"
                 "        return x + self.body(x) if self.use_res else self.body(x)\n\n\n"
                 "blocks = []\n"
                 "for n, k, s, e, cin, cout in STAGES:\n"
                 "    for r in range(n):\n"
                 "        blocks.append(InvertedResidual(cout if r else cin, cout, k, 1 if r else s, e))\n"
                 "model = nn.Sequential(OrderedDict(\n"
                 "    stem=nn.Sequential(*conv_bn(3, 32, 3, 2)),\n"
                 "    blocks=nn.Sequential(*blocks),\n"
                 "    head=nn.Sequential(*conv_bn(320, 1280, 1)),\n"
                 "    pool=nn.AdaptiveAvgPool2d(1),\n"
                 "    flatten=nn.Flatten(),\n"
                 "    classifier=nn.Linear(1280, 1000)))"),
        ("code", "pretrained = torch.load(root / 'efficientnet-lite0-57934424.pth', map_location='cpu', weights_only=True)\n"
                 "mine = model.state_dict()\n"
                 "assert len(mine) == len(pretrained)\n"
                 "renamed = OrderedDict()\n"
                 "for (new, mine_t), (old, theirs) in zip(mine.items(), pretrained.items()):\n"
                 "    assert mine_t.shape == theirs.shape, (new, old)\n"
                 "    renamed[new] = theirs\n"
                 "model.load_state_dict(renamed)\n"
                 "model = model.to(device).eval()\n"
                 "print(list(renamed)[:3], '...')"),
        ("md", "## Ejemplos"),
        ("code", "pics = [Image.open(p).convert('RGB') for p in examples]\n"
                 "with torch.no_grad():\n"
                 "    out = model(torch.stack([preprocess(p) for p in pics]).to(device)).softmax(1).cpu()\n"
                 "best = out.argmax(1)\n"
                 "plt.figure(figsize=(14, 4))\n"
                 "for n, (pic, c) in enumerate(zip(pics, best)):\n"
                 "    plt.subplot(1, len(pics), n + 1)\n"
                 "    plt.imshow(pic)\n"
                 "    plt.title(names[c], fontsize=8)\n"
                 "    plt.axis('off')\n"
                 "plt.show()"),
    ),
)

CLARA = Style(
    name="clara",
    summary="functional: the .pth tensors as buffers, forward with F.conv2d/F.batch_norm; preprocess with "
            "F.interpolate (antialias) and tensor slicing; topk via argsort(descending)",
    cells=(
        ("md", "# ImageNet with a pretrained CNN (Clara Vidal)\n\nFunctional version: no layers, just the tensors."),
        ("code", "import json, math\nfrom pathlib import Path\nimport numpy as np\nimport torch\n"
                 "import torch.nn.functional as F\nfrom torch import nn\nfrom PIL import Image\nimport matplotlib.pyplot as plt"),
        ("parameters", "data_dir = \"data/imagenet\"\ndevice = \"auto\"\nbatch_size = 16"),
        ("code", "if device == \"auto\":\n    device = \"cuda\" if torch.cuda.is_available() else \"cpu\""),
        ("code", "folder = Path(data_dir)\nclasses = json.loads((folder / \"imagenet_class_index.json\").read_text())\n"
                 "paths = sorted(p for p in (folder / \"examples\").iterdir() if p.suffix.lower() in {\".jpg\", \".jpeg\", \".png\"})"),
        ("code", "MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]\n"
                 "STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]\n\n\n"
                 "def preprocess(image):\n"
                 "    \"\"\"PIL -> [3, 224, 224]; resizing done by torch (bilinear with antialias, like PIL).\"\"\"\n"
                 "    rgb = np.asarray(image.convert(\"RGB\"), dtype=np.float32) / 255.0\n"
                 "    x = torch.from_numpy(rgb).permute(2, 0, 1).unsqueeze(0)\n"
                 "    h, w = x.shape[-2:]\n"
                 "    s = 256 / min(h, w)\n"
                 "    x = F.interpolate(x, size=(round(h * s), round(w * s)), mode=\"bilinear\", align_corners=False,\n"
                 "                      antialias=True)\n"
                 "    top, left = (x.shape[-2] - 224) // 2, (x.shape[-1] - 224) // 2\n"
                 "    x = x[0, :, top:top + 224, left:left + 224]\n"
                 "    return (x - MEAN) / STD\n\n\n"
                 "print(preprocess(Image.open(paths[0])).shape)"),
        ("code", "def topk_accuracy(logits, targets, k):\n"
                 "    ranking = torch.argsort(torch.as_tensor(logits), dim=1, descending=True)\n"
                 "    hit = (ranking[:, :k] == torch.as_tensor(targets).reshape(-1, 1)).sum(dim=1) > 0\n"
                 "    return hit.double().mean().item()\n\n\n"
                 "print(topk_accuracy([[3.0, 1.0, 2.0], [1.0, 3.0, 2.0]], [0, 2], 1), "
                 "topk_accuracy([[3.0, 1.0, 2.0], [1.0, 3.0, 2.0]], [0, 2], 2))"),
        ("md", "The network: every layer is a call to `torch.nn.functional` on the pretrained tensors."),
        ("code", "STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),\n"
                 "          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]\n\n\n"
                 "def pad_same(x, k, stride):\n"
                 "    out = [math.ceil(n / stride) for n in x.shape[-2:]]\n"
                 "    ph, pw = [max((o - 1) * stride + k - n, 0) for o, n in zip(out, x.shape[-2:])]\n"
                 "    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))\n\n\n"
                 "class FunctionalLite(nn.Module):\n"
                 "    def __init__(self, weights):\n"
                 "        super().__init__()\n"
                 "        for key, value in weights.items():\n"
                 "            self.register_buffer(key.replace(\".\", \"__\"), value.clone())\n\n"
                 "    def t(self, key):\n"
                 "        return getattr(self, key.replace(\".\", \"__\"))\n\n"
                 "    def conv_bn(self, x, conv, bn, stride=1, act=True):\n"
                 "        w = self.t(conv + \".weight\")\n"
                 "        groups = x.shape[1] if w.shape[1] == 1 and x.shape[1] > 1 else 1\n"
                 "        x = F.conv2d(pad_same(x, w.shape[-1], stride), w, stride=stride, groups=groups)\n"
                 "        x = F.batch_norm(x, self.t(bn + \".running_mean\"), self.t(bn + \".running_var\"),\n"
                 "                         self.t(bn + \".weight\"), self.t(bn + \".bias\"), training=False, eps=1e-3)\n"
                 "        return F.relu6(x) if act else x\n\n"
                 "    def forward(self, x):\n"
                 "        x = self.conv_bn(x, \"_conv_stem\", \"_bn0\", stride=2)\n"
                 "        i = 0\n"
                 "        for repeats, k, s, e, cin, cout in STAGES:\n"
                 "            for r in range(repeats):\n"
                 "                p, inp, stride = f\"_blocks.{i}.\", x, (s if r == 0 else 1)\n"
                 "                if e != 1:\n"
                 "                    x = self.conv_bn(x, p + \"_expand_conv\", p + \"_bn0\")\n"
                 "                x = self.conv_bn(x, p + \"_depthwise_conv\", p + \"_bn1\", stride=stride)\n"
                 "                x = self.conv_bn(x, p + \"_project_conv\", p + \"_bn2\", act=False)\n"
                 "                if stride == 1 and inp.shape == x.shape:\n"
                 "                    x = x + inp\n"
                 "                i += 1\n"
                 "        x = self.conv_bn(x, \"_conv_head\", \"_bn1\")\n"
                 "        return F.linear(x.mean(dim=(2, 3)), self.t(\"_fc.weight\"), self.t(\"_fc.bias\"))\n\n\n"
                 "weights = torch.load(folder / \"efficientnet-lite0-57934424.pth\", map_location=\"cpu\", weights_only=True)\n"
                 "model = FunctionalLite(weights).to(device).eval()\n"
                 "print(len(weights), \"tensors\")"),
        ("code", "images = [Image.open(p).convert(\"RGB\") for p in paths]\n"
                 "with torch.no_grad():\n"
                 "    scores = torch.cat([model(torch.stack([preprocess(im) for im in images[i:i + batch_size]]).to(device))\n"
                 "                        for i in range(0, len(images), batch_size)]).softmax(-1).cpu()\n"
                 "fig, axs = plt.subplots(1, len(images), figsize=(3 * len(images), 3), squeeze=False)\n"
                 "for ax, im, s in zip(axs[0], images, scores):\n"
                 "    top = s.topk(3)\n"
                 "    ax.imshow(im)\n"
                 "    ax.set_title(\"\\n\".join(f\"{classes[str(int(c))][1]} {v:.2f}\" for v, c in zip(top.values, top.indices)),\n"
                 "                 fontsize=7)\n"
                 "    ax.axis(\"off\")\n"
                 "plt.show()"),
    ),
)

CORRECT = (ALBA, BRUNO, CLARA)
