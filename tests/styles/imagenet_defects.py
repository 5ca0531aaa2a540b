"""imagenet_cnn: four students with one defect each, and what the point table takes for it.

Table (assignments/imagenet_cnn/assignment.toml): executed 1 (three facts, an equal share each) ·
preprocess 2 (1.5 colour images, 0.5 the part "greyscale") · topk_accuracy 2 (compared exactly) ·
model_shape 1 · top1 2.5 and top5 1.5 (0 at reference - 0.6, full at reference - 0.1).
"""
from styles import Style

DIEGO = Style(
    name="diego",
    summary="preprocess never converts to RGB (a greyscale image has no channel axis); static TF padding "
            "with nn.ZeroPad2d; torch.topk",
    lost={"preprocess": ("0.5", "no convert('RGB'): a greyscale image gives [H, W] pixels and the permute fails; "
                                "the table's part 'greyscale images turned into RGB' is worth exactly 0.5, and "
                                "every colour case is right")},
    cells=(
        ("md", "# Práctica 2 · ImageNet\nDiego Romero Gil"),
        ("code", "import json\nfrom pathlib import Path\nimport numpy as np\nimport torch\nfrom torch import nn\n"
                 "from PIL import Image\nimport matplotlib.pyplot as plt"),
        ("parameters", "data_dir = 'data/imagenet'\ndevice = 'auto'\nbatch_size = 32"),
        ("code", "if device == 'auto':\n    device = 'cuda' if torch.cuda.is_available() else 'cpu'\nprint('using', device)"),
        ("code", "class_index = json.load(open(Path(data_dir) / 'imagenet_class_index.json'))\n"
                 "example_paths = sorted((Path(data_dir) / 'examples').glob('*'))\nprint(example_paths)"),
        ("code", "MEAN = np.array([0.485, 0.456, 0.406])\nSTD = np.array([0.229, 0.224, 0.225])\n\n"
                 "def preprocess(image):\n"
                 "    w, h = image.size\n"
                 "    if w > h:\n"
                 "        image = image.resize((int(256 * w / h), 256), Image.BILINEAR)\n"
                 "    else:\n"
                 "        image = image.resize((256, int(256 * h / w)), Image.BILINEAR)\n"
                 "    w, h = image.size\n"
                 "    x0, y0 = (w - 224) // 2, (h - 224) // 2\n"
                 "    image = image.crop((x0, y0, x0 + 224, y0 + 224))\n"
                 "    pixels = np.asarray(image) / 255.0\n"
                 "    pixels = (pixels - MEAN) / STD\n"
                 "    return torch.from_numpy(pixels).float().permute(2, 0, 1)\n\n"
                 "print(preprocess(Image.open(example_paths[0])).shape)"),
        ("code", "def topk_accuracy(logits, targets, k):\n"
                 "    idx = torch.topk(torch.as_tensor(logits), k, dim=1).indices\n"
                 "    return (idx == torch.as_tensor(targets).unsqueeze(1)).any(1).float().mean().item()\n\n"
                 "print(topk_accuracy(torch.tensor([[3.0, 1.0, 2.0], [1.0, 3.0, 2.0]]), torch.tensor([0, 2]), 2))"),
        ("code", "STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),\n"
                 "          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]\n\n"
                 "def pad_for(k, s):\n"
                 "    # every stride-2 layer sees an even size with 224x224 inputs: TF pads k - 2, the extra at the end\n"
                 "    t = k - 1 if s == 1 else k - 2\n"
                 "    return nn.ZeroPad2d((t // 2, t - t // 2, t // 2, t - t // 2))\n\n"
                 "class Block(nn.Module):\n"
                 "    def __init__(self, i, o, k, s, e):\n"
                 "        super().__init__()\n"
                 "        m = i * e\n"
                 "        self.e = e\n"
                 "        if e > 1:\n"
                 "            self._expand_conv = nn.Conv2d(i, m, 1, bias=False)\n"
                 "            self._bn0 = nn.BatchNorm2d(m, eps=1e-3)\n"
                 "        self.pad = pad_for(k, s)\n"
                 "        self._depthwise_conv = nn.Conv2d(m, m, k, s, groups=m, bias=False)\n"
                 "        self._bn1 = nn.BatchNorm2d(m, eps=1e-3)\n"
                 "        self._project_conv = nn.Conv2d(m, o, 1, bias=False)\n"
                 "        self._bn2 = nn.BatchNorm2d(o, eps=1e-3)\n"
                 "        self.skip = (s == 1 and i == o)\n\n"
                 "    def forward(self, x):\n"
                 "        h = nn.functional.relu6(self._bn0(self._expand_conv(x))) if self.e > 1 else x\n"
                 "        h = nn.functional.relu6(self._bn1(self._depthwise_conv(self.pad(h))))\n"
                 "        h = self._bn2(self._project_conv(h))\n"
                 "        return h + x if self.skip else h\n\n"
                 "class Net(nn.Module):\n"
                 "    def __init__(self):\n"
                 "        super().__init__()\n"
                 "        self.pad = pad_for(3, 2)\n"
                 "        self._conv_stem = nn.Conv2d(3, 32, 3, 2, bias=False)\n"
                 "        self._bn0 = nn.BatchNorm2d(32, eps=1e-3)\n"
                 "        self._blocks = nn.ModuleList()\n"
                 "        for n, k, s, e, i, o in STAGES:\n"
                 "            for r in range(n):\n"
                 "                self._blocks.append(Block(i if r == 0 else o, o, k, s if r == 0 else 1, e))\n"
                 "        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)\n"
                 "        self._bn1 = nn.BatchNorm2d(1280, eps=1e-3)\n"
                 "        self._fc = nn.Linear(1280, 1000)\n\n"
                 "    def forward(self, x):\n"
                 "        x = nn.functional.relu6(self._bn0(self._conv_stem(self.pad(x))))\n"
                 "        for b in self._blocks:\n"
                 "            x = b(x)\n"
                 "        x = nn.functional.relu6(self._bn1(self._conv_head(x)))\n"
                 "        return self._fc(x.mean([2, 3]))\n\n"
                 "model = Net()\n"
                 "model.load_state_dict(torch.load(Path(data_dir) / 'efficientnet-lite0-57934424.pth', map_location='cpu'))\n"
                 "model = model.to(device).eval()"),
        ("code", "images = [Image.open(p).convert('RGB') for p in example_paths]\n"
                 "batch = torch.stack([preprocess(im) for im in images]).to(device)\n"
                 "with torch.no_grad():\n"
                 "    pred = model(batch).argmax(1).cpu()\n"
                 "for p, c in zip(example_paths, pred):\n"
                 "    print(p.name, '->', class_index[str(c.item())][1])\n"
                 "plt.imshow(images[0]); plt.title(class_index[str(pred[0].item())][1]); plt.show()"),
    ),
)

ELENA = Style(
    name="elena",
    summary="topk_accuracy returns a percentage (0-100); a SameConv2d subclass as in the notes",
    lost={"topk_accuracy": ("2", "100 x the fraction: the table asks for a fraction in [0, 1] compared exactly "
                                 "(atol 1e-6) and every case's accuracy lies strictly between 0 and 1: all 2")},
    cells=(
        ("md", "# Practical 2 – ImageNet\n*Elena Castro*"),
        ("code", "import json\nimport math\nfrom pathlib import Path\n\nimport matplotlib.pyplot as plt\n"
                 "import numpy as np\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nfrom PIL import Image"),
        ("parameters", "data_dir = \"data/imagenet\"   # examples/, class index, weights\ndevice = \"auto\"\nbatch_size = 32"),
        ("code", "if device == \"auto\":\n    device = \"cuda\" if torch.cuda.is_available() else \"cpu\"\nprint(device)"),
        ("code", "with open(Path(data_dir) / \"imagenet_class_index.json\") as fh:\n    class_index = json.load(fh)\n"
                 "class_names = [class_index[str(i)][1] for i in range(1000)]\n"
                 "example_paths = sorted((Path(data_dir) / \"examples\").iterdir())"),
        ("code", "def preprocess(image):\n"
                 "    image = image.convert(\"RGB\")\n"
                 "    w, h = image.size\n"
                 "    ratio = 256 / min(w, h)\n"
                 "    image = image.resize((max(256, round(w * ratio)), max(256, round(h * ratio))), Image.Resampling.BILINEAR)\n"
                 "    w, h = image.size\n"
                 "    left, top = (w - 224) // 2, (h - 224) // 2\n"
                 "    image = image.crop((left, top, left + 224, top + 224))\n"
                 "    t = torch.tensor(np.array(image), dtype=torch.float32).permute(2, 0, 1) / 255\n"
                 "    mean = torch.tensor([0.485, 0.456, 0.406]).reshape(3, 1, 1)\n"
                 "    std = torch.tensor([0.229, 0.224, 0.225]).reshape(3, 1, 1)\n"
                 "    return (t - mean) / std"),
        ("code", "def topk_accuracy(logits, targets, k):\n"
                 "    \"\"\"Top-k accuracy in %.\"\"\"\n"
                 "    top = torch.as_tensor(logits).topk(k, dim=1).indices\n"
                 "    correct = (top == torch.as_tensor(targets).view(-1, 1)).any(dim=1).sum().item()\n"
                 "    return 100.0 * correct / len(top)\n\n\n"
                 "_l = torch.tensor([[3.0, 1.0, 2.0], [1.0, 3.0, 2.0]])\n"
                 "print(f\"top-1 {topk_accuracy(_l, torch.tensor([0, 2]), 1):.1f} %, top-2 {topk_accuracy(_l, torch.tensor([0, 2]), 2):.1f} %\")"),
        ("code", "STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),\n"
                 "          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]\n\n\n"
                 "class SameConv2d(nn.Conv2d):\n"
                 "    def __init__(self, cin, cout, k, stride=1, groups=1):\n"
                 "        super().__init__(cin, cout, k, stride=stride, groups=groups, bias=False)\n\n"
                 "    def forward(self, x):\n"
                 "        h, w = x.shape[-2:]\n"
                 "        k, s = self.kernel_size[0], self.stride[0]\n"
                 "        ph = max((math.ceil(h / s) - 1) * s + k - h, 0)\n"
                 "        pw = max((math.ceil(w / s) - 1) * s + k - w, 0)\n"
                 "        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))\n"
                 "        return F.conv2d(x, self.weight, None, self.stride, 0, self.dilation, self.groups)\n\n\n"
                 "def bn(c):\n"
                 "    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)\n\n\n"
                 "class MBConvBlock(nn.Module):\n"
                 "    def __init__(self, cin, cout, k, stride, expand):\n"
                 "        super().__init__()\n"
                 "        mid = cin * expand\n"
                 "        self.expand = expand\n"
                 "        if expand != 1:\n"
                 "            self._expand_conv, self._bn0 = SameConv2d(cin, mid, 1), bn(mid)\n"
                 "        self._depthwise_conv, self._bn1 = SameConv2d(mid, mid, k, stride, groups=mid), bn(mid)\n"
                 "        self._project_conv, self._bn2 = SameConv2d(mid, cout, 1), bn(cout)\n"
                 "        self.id_skip = stride == 1 and cin == cout\n\n"
                 "    def forward(self, inputs):\n"
                 "        x = inputs\n"
                 "        if self.expand != 1:\n"
                 "            x = F.relu6(self._bn0(self._expand_conv(x)))\n"
                 "        x = F.relu6(self._bn1(self._depthwise_conv(x)))\n"
                 "        x = self._bn2(self._project_conv(x))\n"
                 "        if self.id_skip:\n"
                 "            x = x + inputs\n"
                 "        return x\n\n\n"
                 "class EfficientNetLite0(nn.Module):\n"
                 "    def __init__(self):\n"
                 "        super().__init__()\n"
                 "        self._conv_stem, self._bn0 = SameConv2d(3, 32, 3, 2), bn(32)\n"
                 "        self._blocks = nn.ModuleList()\n"
                 "        for repeats, k, s, e, cin, cout in STAGES:\n"
                 "            self._blocks.append(MBConvBlock(cin, cout, k, s, e))\n"
                 "            for _ in range(repeats - 1):\n"
                 "                self._blocks.append(MBConvBlock(cout, cout, k, 1, e))\n"
                 "        self._conv_head, self._bn1 = SameConv2d(320, 1280, 1), bn(1280)\n"
                 "        self._avg_pooling = nn.AdaptiveAvgPool2d(1)\n"
                 "        self._fc = nn.Linear(1280, 1000)\n\n"
                 "    def extract_features(self, x):\n"
                 "        x = F.relu6(self._bn0(self._conv_stem(x)))\n"
                 "        for block in self._blocks:\n"
                 "            x = block(x)\n"
                 "        return F.relu6(self._bn1(self._conv_head(x)))\n\n"
                 "    def forward(self, x):\n"
                 "        return self._fc(self._avg_pooling(self.extract_features(x)).flatten(start_dim=1))\n\n\n"
                 "model = EfficientNetLite0()\n"
                 "state = torch.load(Path(data_dir) / \"efficientnet-lite0-57934424.pth\", map_location=\"cpu\", weights_only=True)\n"
                 "model.load_state_dict(state, strict=True)\n"
                 "model = model.to(device).eval()"),
        ("code", "images = [Image.open(p).convert(\"RGB\") for p in example_paths]\n"
                 "with torch.no_grad():\n"
                 "    probs = model(torch.stack([preprocess(i) for i in images]).to(device)).softmax(1).cpu()\n"
                 "fig, axes = plt.subplots(1, len(images), figsize=(4 * len(images), 4), squeeze=False)\n"
                 "for ax, image, p in zip(axes[0], images, probs):\n"
                 "    ax.imshow(image)\n"
                 "    ax.set_title(f\"{class_names[p.argmax()]} ({100 * p.max():.0f} %)\")\n"
                 "    ax.axis(\"off\")\n"
                 "plt.show()"),
    ),
)

FRAN = Style(
    name="fran",
    summary="names his ModuleList `blocks` (the .pth says `_blocks`) and loads with strict=False: the 16 blocks, "
            "most of the weights, stay random; ImageOps.crop; a plain-Python topk",
    lost={"top1": ("2.5", "strict=False skips every `_blocks.*` tensor: the blocks keep their random init and the "
                          "network guesses at chance (~0.001), below zero_at = reference - 0.6 (EfficientNet-Lite0 "
                          "scores well above 0.6 top-1 on ImageNet photographs): 0 of 2.5"),
          "top5": ("1.5", "the same random blocks: top-5 near chance (~0.005), below reference - 0.6: 0 of 1.5")},
    cells=(
        ("md", "# P2 ImageNet — Francisco Molina"),
        ("code", "import json, math\nfrom pathlib import Path\nimport numpy as np\nimport torch\nfrom torch import nn\n"
                 "from torch.nn import functional as F\nfrom PIL import Image, ImageOps\nimport matplotlib.pyplot as plt"),
        ("parameters", "data_dir = \"data/imagenet\"\ndevice = \"auto\"\nbatch_size = 8"),
        ("code", "device = \"cuda\" if device == \"auto\" and torch.cuda.is_available() else (\"cpu\" if device == \"auto\" else device)"),
        ("code", "with open(Path(data_dir) / \"imagenet_class_index.json\") as f:\n    classes = json.load(f)\n"
                 "example_paths = sorted((Path(data_dir) / \"examples\").glob(\"*.[jJpP]*\"))"),
        ("code", "MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)\n"
                 "STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)\n\n\n"
                 "def preprocess(image):\n"
                 "    image = image.convert(\"RGB\")\n"
                 "    scale = 256 / min(image.size)\n"
                 "    w, h = round(image.width * scale), round(image.height * scale)\n"
                 "    image = image.resize((w, h), Image.BILINEAR)\n"
                 "    left, top = (w - 224) // 2, (h - 224) // 2\n"
                 "    image = ImageOps.crop(image, (left, top, w - 224 - left, h - 224 - top))\n"
                 "    arr = (np.asarray(image, dtype=np.float32) / 255 - MEAN) / STD\n"
                 "    return torch.from_numpy(arr).permute(2, 0, 1).contiguous()"),
        ("code", "def topk_accuracy(logits, targets, k):\n"
                 "    hits = 0\n"
                 "    for row, target in zip(logits, targets):\n"
                 "        row = [float(v) for v in row]\n"
                 "        best = sorted(range(len(row)), key=lambda c: row[c], reverse=True)[:k]\n"
                 "        if int(target) in best:\n"
                 "            hits += 1\n"
                 "    return hits / len(targets)\n\n\n"
                 "print(topk_accuracy([[3, 1, 2], [1, 3, 2]], [0, 2], 1), topk_accuracy([[3, 1, 2], [1, 3, 2]], [0, 2], 2))"),
        ("code", "STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),\n"
                 "          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]\n\n\n"
                 "class Conv2dSame(nn.Conv2d):\n"
                 "    def forward(self, x):\n"
                 "        pads = []\n"
                 "        for n, k, s in [(x.shape[3], self.kernel_size[1], self.stride[1]), (x.shape[2], self.kernel_size[0], self.stride[0])]:\n"
                 "            total = max((math.ceil(n / s) - 1) * s + k - n, 0)\n"
                 "            pads += [total // 2, total - total // 2]\n"
                 "        return super().forward(F.pad(x, pads))\n\n\n"
                 "class MBBlock(nn.Module):\n"
                 "    def __init__(self, cin, cout, k, s, e):\n"
                 "        super().__init__()\n"
                 "        mid = cin * e\n"
                 "        if e != 1:\n"
                 "            self._expand_conv = Conv2dSame(cin, mid, 1, bias=False)\n"
                 "            self._bn0 = nn.BatchNorm2d(mid, eps=1e-3)\n"
                 "        self._depthwise_conv = Conv2dSame(mid, mid, k, s, groups=mid, bias=False)\n"
                 "        self._bn1 = nn.BatchNorm2d(mid, eps=1e-3)\n"
                 "        self._project_conv = Conv2dSame(mid, cout, 1, bias=False)\n"
                 "        self._bn2 = nn.BatchNorm2d(cout, eps=1e-3)\n"
                 "        self.res = s == 1 and cin == cout\n\n"
                 "    def forward(self, x):\n"
                 "        y = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, \"_expand_conv\") else x\n"
                 "        y = self._bn2(self._project_conv(F.relu6(self._bn1(self._depthwise_conv(y)))))\n"
                 "        return x + y if self.res else y\n\n\n"
                 "class EfficientNetLite0(nn.Module):\n"
                 "    def __init__(self):\n"
                 "        super().__init__()\n"
                 "        self._conv_stem = Conv2dSame(3, 32, 3, 2, bias=False)\n"
                 "        self._bn0 = nn.BatchNorm2d(32, eps=1e-3)\n"
                 "        self.blocks = nn.ModuleList([MBBlock(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e)\n"
                 "                                     for n, k, s, e, cin, cout in STAGES for i in range(n)])\n"
                 "        self._conv_head = Conv2dSame(320, 1280, 1, bias=False)\n"
                 "        self._bn1 = nn.BatchNorm2d(1280, eps=1e-3)\n"
                 "        self._fc = nn.Linear(1280, 1000)\n\n"
                 "    def forward(self, x):\n"
                 "        x = F.relu6(self._bn0(self._conv_stem(x)))\n"
                 "        for block in self.blocks:\n"
                 "            x = block(x)\n"
                 "        x = F.relu6(self._bn1(self._conv_head(x)))\n"
                 "        return self._fc(x.mean(dim=(2, 3)))\n\n\n"
                 "model = EfficientNetLite0()\n"
                 "state = torch.load(Path(data_dir) / \"efficientnet-lite0-57934424.pth\", map_location=\"cpu\", weights_only=True)\n"
                 "# strict=True complained about the key names; strict=False loads what matches\n"
                 "result = model.load_state_dict(state, strict=False)\n"
                 "print(len(result.missing_keys), \"missing,\", len(result.unexpected_keys), \"unexpected\")\n"
                 "model = model.to(device).eval()"),
        ("code", "images = [Image.open(p).convert(\"RGB\") for p in example_paths]\n"
                 "with torch.no_grad():\n"
                 "    out = torch.cat([model(torch.stack([preprocess(im) for im in images[i:i + batch_size]]).to(device)).cpu()\n"
                 "                     for i in range(0, len(images), batch_size)])\n"
                 "for p, row in zip(example_paths, out.softmax(1)):\n"
                 "    print(p.name, [classes[str(int(c))][1] for c in row.topk(5).indices])\n"
                 "plt.figure()\nplt.bar(range(5), out.softmax(1)[0].topk(5).values)\nplt.show()"),
    ),
)

GEMA = Style(
    name="gema",
    summary="handed in out of order (re-ran her preprocess cell after the model's); torchvision-like helper "
            "functions; topk via np.argpartition",
    lost={"executed": ("0.33", "one cell re-run after later ones: the fact 'in order' fails, one of the three "
                               "facts that share the point equally (1/3, rounded to 0.33)")},
    # the preprocess cell (5th code cell) run again at the end, after she fixed a typo in its comment
    counts=(1, 2, 3, 4, 11, 6, 7, 8, 9, 10),
    cells=(
        ("md", "# Práctica 2. Clasificación de ImageNet con EfficientNet-Lite0\n\nGema Ortiz"),
        ("code", "import json\nimport math\nfrom pathlib import Path\n\nimport matplotlib.pyplot as plt\n"
                 "import numpy as np\nimport torch\nfrom PIL import Image\nfrom torch import nn\nfrom torch.nn import functional as F"),
        ("parameters", "data_dir = \"data/imagenet\"\ndevice = \"auto\"\nbatch_size = 32"),
        ("code", "if device == \"auto\":\n    device = \"cuda\" if torch.cuda.is_available() else \"cpu\"\nprint(\"device:\", device)"),
        ("code", "info = json.loads((Path(data_dir) / \"imagenet_class_index.json\").read_text(encoding=\"utf-8\"))\n"
                 "class_names = [info[str(i)][1] for i in range(1000)]\n"
                 "example_paths = sorted(p for p in (Path(data_dir) / \"examples\").iterdir() if p.is_file())\n"
                 "print(len(example_paths), \"examples\")"),
        ("code", "# the same steps as torchvision's Resize(256), CenterCrop(224), ToTensor(), Normalize(...)\n"
                 "def resize(img, size=256):\n"
                 "    w, h = img.size\n"
                 "    if w <= h:\n"
                 "        return img.resize((size, int(size * h / w)), Image.BILINEAR)\n"
                 "    return img.resize((int(size * w / h), size), Image.BILINEAR)\n\n\n"
                 "def center_crop(img, size=224):\n"
                 "    w, h = img.size\n"
                 "    left, top = int(round((w - size) / 2.0)), int(round((h - size) / 2.0))\n"
                 "    return img.crop((left, top, left + size, top + size))\n\n\n"
                 "def to_tensor(img):\n"
                 "    return torch.from_numpy(np.array(img, dtype=np.float32)).permute(2, 0, 1) / 255.0\n\n\n"
                 "def normalize(t, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):\n"
                 "    return (t - torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None, None]\n\n\n"
                 "def preprocess(image):\n"
                 "    return normalize(to_tensor(center_crop(resize(image.convert(\"RGB\")))))\n\n\n"
                 "print(preprocess(Image.open(example_paths[0])).shape)"),
        ("code", "def topk_accuracy(logits, targets, k):\n"
                 "    scores = np.asarray(logits, dtype=np.float64)\n"
                 "    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]   # the k largest, in any order\n"
                 "    return float(np.mean(np.any(top == np.asarray(targets).reshape(-1, 1), axis=1)))\n\n\n"
                 "print(topk_accuracy(torch.tensor([[3.0, 1.0, 2.0], [1.0, 3.0, 2.0]]), torch.tensor([0, 2]), 2))"),
        ("code", "STAGES = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),\n"
                 "          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]\n\n\n"
                 "class PadConv(nn.Conv2d):\n"
                 "    \"\"\"Conv with TensorFlow's 'same' padding, no bias.\"\"\"\n\n"
                 "    def __init__(self, cin, cout, k, s=1, g=1):\n"
                 "        super().__init__(cin, cout, k, s, groups=g, bias=False)\n\n"
                 "    def forward(self, x):\n"
                 "        k, s = self.kernel_size[0], self.stride[0]\n"
                 "        extra = [max((math.ceil(n / s) - 1) * s + k - n, 0) for n in x.shape[-2:]]\n"
                 "        return super().forward(F.pad(x, (extra[1] // 2, extra[1] - extra[1] // 2, extra[0] // 2, extra[0] - extra[0] // 2)))\n\n\n"
                 "def make_block(cin, cout, k, s, e):\n"
                 "    block = nn.Module()\n"
                 "    mid = cin * e\n"
                 "    if e != 1:\n"
                 "        block._expand_conv, block._bn0 = PadConv(cin, mid, 1), nn.BatchNorm2d(mid, eps=1e-3)\n"
                 "    block._depthwise_conv, block._bn1 = PadConv(mid, mid, k, s, mid), nn.BatchNorm2d(mid, eps=1e-3)\n"
                 "    block._project_conv, block._bn2 = PadConv(mid, cout, 1), nn.BatchNorm2d(cout, eps=1e-3)\n"
                 "    block.residual = s == 1 and cin == cout\n"
                 "    return block\n\n\n"
                 "def run_block(block, x):\n"
                 "    y = x\n"
                 "    if hasattr(block, \"_expand_conv\"):\n"
                 "        y = F.relu6(block._bn0(block._expand_conv(y)))\n"
                 "    y = F.relu6(block._bn1(block._depthwise_conv(y)))\n"
                 "    y = block._bn2(block._project_conv(y))\n"
                 "    return x + y if block.residual else y\n\n\n"
                 "class Lite0(nn.Module):\n"
                 "    def __init__(self):\n"
                 "        super().__init__()\n"
                 "        self._conv_stem, self._bn0 = PadConv(3, 32, 3, 2), nn.BatchNorm2d(32, eps=1e-3)\n"
                 "        self._blocks = nn.ModuleList()\n"
                 "        for n, k, s, e, cin, cout in STAGES:\n"
                 "            for i in range(n):\n"
                 "                self._blocks.append(make_block(cout if i else cin, cout, k, 1 if i else s, e))\n"
                 "        self._conv_head, self._bn1 = PadConv(320, 1280, 1), nn.BatchNorm2d(1280, eps=1e-3)\n"
                 "        self._fc = nn.Linear(1280, 1000)\n\n"
                 "    def forward(self, x):\n"
                 "        x = F.relu6(self._bn0(self._conv_stem(x)))\n"
                 "        for block in self._blocks:\n"
                 "            x = run_block(block, x)\n"
                 "        return self._fc(F.relu6(self._bn1(self._conv_head(x))).mean((2, 3)))\n\n\n"
                 "model = Lite0()\n"
                 "model.load_state_dict(torch.load(Path(data_dir) / \"efficientnet-lite0-57934424.pth\", map_location=\"cpu\",\n"
                 "                                 weights_only=True), strict=True)\n"
                 "model = model.to(device).eval()"),
        ("code", "images = [Image.open(p).convert(\"RGB\") for p in example_paths]\n"
                 "with torch.no_grad():\n"
                 "    logits = model(torch.stack([preprocess(im) for im in images]).to(device)).cpu()\n"
                 "print([class_names[i] for i in logits.argmax(1)])"),
        ("code", "fig, axes = plt.subplots(1, len(images), figsize=(3 * len(images), 3), squeeze=False)\n"
                 "for ax, im, row in zip(axes[0], images, logits.softmax(1)):\n"
                 "    ax.imshow(im)\n"
                 "    ax.set_title(f\"{class_names[row.argmax()]}: {row.max():.2f}\")\n"
                 "    ax.axis(\"off\")\n"
                 "plt.show()"),
        ("code", "# Antes de entregar / before handing in:\n# import grader; grader.selfcheck()"),
    ),
)

DEFECTS = (DIEGO, ELENA, FRAN, GEMA)
