#!/usr/bin/python3
"""Train and export lathe's bundled default model: a small conv net on sklearn's 8x8 digits.

Rerun with:  /usr/bin/python3 examples/digits/train.py
(Debian's Python: it needs torch, scikit-learn and numpy.)

Writes, next to this script:
  digits.safetensors   the weights (safetensors format, written by hand: json + struct)
  digits.lathe         the model in lathe's text IR, naming the sidecar by size and SHA-256
  test_images.npy      float32 [360,1,8,8], the held-out images scaled to [0,1]
  test_labels.npy      int64 [360], their labels
  test_probs.npy       float32 [360,10], the torch model's softmax output on them (eval mode)

Before writing anything it recomputes the forward pass in plain numpy from the exported
arrays and checks it against torch (1e-5) and that held-out accuracy is above 90%.
The run is deterministic: fixed seeds, one thread, deterministic algorithms.
"""

import hashlib
import json
import os
import random
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 0
EPOCHS = 40
BATCH = 32
LR = 3e-3
BN_EPS = 1e-05  # torch's default; written to the IR as the text 1e-05
TEST_SIZE = 360

WEIGHTS_FILE = "digits.safetensors"
MODEL_FILE = "digits.lathe"


def set_determinism():
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False


class DigitsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(8, eps=BN_EPS)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=True)
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def logits(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2, 2)   # [N,8,4,4]
        x = F.avg_pool2d(F.relu(self.conv2(x)), 2, 2)             # [N,16,2,2]
        x = torch.flatten(x, 1)                                    # [N,64]
        x = F.relu(self.fc1(x))                                    # [N,32]
        return self.fc2(x)                                         # [N,10]

    def forward(self, x):
        return F.softmax(self.logits(x), dim=1)


def load_data():
    d = load_digits()
    images = (d.images.astype(np.float64) / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    labels = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=TEST_SIZE, random_state=0, stratify=labels)
    return (np.ascontiguousarray(x_tr), np.ascontiguousarray(y_tr),
            np.ascontiguousarray(x_te), np.ascontiguousarray(y_te))


def train(model, x_tr, y_tr):
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=EPOCHS)
    rng = np.random.RandomState(SEED)
    xt = torch.from_numpy(x_tr)
    yt = torch.from_numpy(y_tr)
    n = len(x_tr)
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.from_numpy(rng.permutation(n))
        total = 0.0
        for i in range(0, n, BATCH):
            idx = perm[i:i + BATCH]
            opt.zero_grad()
            loss = F.cross_entropy(model.logits(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1:3d}  loss {total / n:.4f}")


def export_tensors(model):
    """The weights under their lathe names, as float32 numpy arrays."""
    sd = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    return {
        "conv1.weight": sd["conv1.weight"],        # [8,1,3,3]
        "conv1.bias": sd["conv1.bias"],            # [8]
        "bn1.scale": sd["bn1.weight"],             # [8]
        "bn1.bias": sd["bn1.bias"],                # [8]
        "bn1.mean": sd["bn1.running_mean"],        # [8]
        "bn1.var": sd["bn1.running_var"],          # [8]
        "conv2.weight": sd["conv2.weight"],        # [16,8,3,3]
        "conv2.bias": sd["conv2.bias"],            # [16]
        "fc1.weight": sd["fc1.weight"],            # [32,64] (out, in)
        "fc1.bias": sd["fc1.bias"],                # [32]
        "fc2.weight": sd["fc2.weight"],            # [10,32] (out, in)
        "fc2.bias": sd["fc2.bias"],                # [10]
    }


# ---- plain numpy reference forward pass (ONNX semantics) ----------------------------------------

def np_conv2d(x, w, b, pad):
    n, c, h, wd = x.shape
    o, ci, kh, kw = w.shape
    assert ci == c
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = h + 2 * pad - kh + 1, wd + 2 * pad - kw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)       # im2col
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i:i + oh, j:j + ow]
    y = np.einsum("nckluv,ockl->nouv", cols, w)
    return y + b.reshape(1, o, 1, 1)


def np_pool(x, k, reduce):
    n, c, h, w = x.shape
    return reduce(x.reshape(n, c, h // k, k, w // k, k), axis=(3, 5))


def np_forward(t, x):
    """Forward pass in float64 from the exported float32 arrays; x is [N,1,8,8]."""
    t = {k: v.astype(np.float64) for k, v in t.items()}
    x = x.astype(np.float64)
    c1 = np_conv2d(x, t["conv1.weight"], t["conv1.bias"], 1)
    sh = (1, -1, 1, 1)
    n1 = (t["bn1.scale"].reshape(sh) * (c1 - t["bn1.mean"].reshape(sh))
          / np.sqrt(t["bn1.var"].reshape(sh) + BN_EPS) + t["bn1.bias"].reshape(sh))
    p1 = np_pool(np.maximum(n1, 0), 2, np.max)
    c2 = np_conv2d(p1, t["conv2.weight"], t["conv2.bias"], 1)
    p2 = np_pool(np.maximum(c2, 0), 2, np.mean)
    f = p2.reshape(p2.shape[0], -1)
    g1 = np.maximum(f @ t["fc1.weight"].T + t["fc1.bias"], 0)
    g2 = g1 @ t["fc2.weight"].T + t["fc2.bias"]
    e = np.exp(g2 - g2.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# ---- writers -----------------------------------------------------------------------------------

def safetensors_bytes(tensors):
    names = sorted(tensors)
    header = {}
    chunks = []
    off = 0
    for name in names:
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        raw = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    hj = json.dumps(header, separators=(",", ":"), sort_keys=True).encode("utf-8")
    hj += b" " * (-len(hj) % 8)
    return struct.pack("<Q", len(hj)) + hj + b"".join(chunks)


def ty(shape):
    return "f32[" + ",".join(str(d) for d in shape) + "]"


def lathe_text(tensors, wsize, wsha):
    def const(var, name):
        return f"  %{var} = const weight(\"{name}\") : {ty(tensors[name].shape)}"

    conv_attrs = "{dilations = [1, 1], group = 1, pads = [1, 1, 1, 1], strides = [1, 1]}"
    pool_attrs = "{kernel = [2, 2], pads = [0, 0, 0, 0], strides = [2, 2]}"
    lines = [
        "lathe 1",
        f"weights \"{WEIGHTS_FILE}\" size {wsize} sha256 \"{wsha}\"",
        "",
        "# Generated by examples/digits/train.py; do not edit by hand, rerun the script.",
        "# A small conv net for sklearn's 8x8 digits (pixels scaled to [0,1]); one image per call.",
        "graph @digits(%input: f32[1,1,8,8]) -> (%probs: f32[1,10]) {",
        const("conv1_w", "conv1.weight"),
        const("conv1_b", "conv1.bias"),
        f"  %c1 = conv2d(%input, %conv1_w, %conv1_b) {conv_attrs} : f32[1,8,8,8]",
        const("bn1_s", "bn1.scale"),
        const("bn1_b", "bn1.bias"),
        const("bn1_m", "bn1.mean"),
        const("bn1_v", "bn1.var"),
        f"  %n1 = batch_norm(%c1, %bn1_s, %bn1_b, %bn1_m, %bn1_v) {{epsilon = {BN_EPS!r}}} : f32[1,8,8,8]",
        "  %r1 = relu(%n1) : f32[1,8,8,8]",
        f"  %p1 = maxpool(%r1) {pool_attrs} : f32[1,8,4,4]",
        const("conv2_w", "conv2.weight"),
        const("conv2_b", "conv2.bias"),
        f"  %c2 = conv2d(%p1, %conv2_w, %conv2_b) {conv_attrs} : f32[1,16,4,4]",
        "  %r2 = relu(%c2) : f32[1,16,4,4]",
        f"  %p2 = averagepool(%r2) {pool_attrs} : f32[1,16,2,2]",
        "  %f = flatten(%p2) {axis = 1} : f32[1,64]",
        const("fc1_w", "fc1.weight"),
        const("fc1_b", "fc1.bias"),
        "  %g1 = gemm(%f, %fc1_w, %fc1_b) {transB = 1} : f32[1,32]",
        "  %r3 = relu(%g1) : f32[1,32]",
        const("fc2_w", "fc2.weight"),
        const("fc2_b", "fc2.bias"),
        "  %g2 = gemm(%r3, %fc2_w, %fc2_b) {transB = 1} : f32[1,10]",
        "  %probs_v = softmax(%g2) {axis = 1} : f32[1,10]",
        "  return %probs_v",
        "}",
    ]
    assert f"{BN_EPS!r}" == "1e-05"
    return "\n".join(lines) + "\n"


def main():
    set_determinism()
    x_tr, y_tr, x_te, y_te = load_data()
    print(f"data: {len(x_tr)} train, {len(x_te)} held-out test")

    model = DigitsNet()
    t0 = time.perf_counter()
    train(model, x_tr, y_tr)
    train_s = time.perf_counter() - t0
    print(f"training took {train_s:.1f} s")

    model.eval()
    with torch.no_grad():
        tr_probs = model(torch.from_numpy(x_tr)).numpy()
        te_probs = model(torch.from_numpy(x_te)).numpy().astype(np.float32)
    train_acc = float((tr_probs.argmax(1) == y_tr).mean())
    test_acc = float((te_probs.argmax(1) == y_te).mean())
    print(f"train accuracy {train_acc:.4f}  test accuracy {test_acc:.4f} "
          f"({int((te_probs.argmax(1) == y_te).sum())}/{len(y_te)})")

    # Self-check: plain numpy forward from the exported arrays must agree with torch.
    tensors = export_tensors(model)
    ref = np_forward(tensors, x_te)
    err = float(np.abs(ref - te_probs).max())
    np_acc = float((ref.argmax(1) == y_te).mean())
    print(f"numpy reference vs torch: max abs diff {err:.3g}, numpy accuracy {np_acc:.4f}")
    assert err < 1e-5, f"numpy forward disagrees with torch: {err}"
    assert np_acc > 0.90 and test_acc > 0.90, "held-out accuracy too low"
    # The same check at batch 1, as the model is declared, on a few images.
    with torch.no_grad():
        for i in range(0, len(x_te), 45):
            p1 = model(torch.from_numpy(x_te[i:i + 1])).numpy()
            assert np.abs(p1 - te_probs[i:i + 1]).max() < 1e-6

    st = safetensors_bytes(tensors)
    sha = hashlib.sha256(st).hexdigest()
    text = lathe_text(tensors, len(st), sha)

    def write(name, data):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(data)

    write(WEIGHTS_FILE, st)
    write(MODEL_FILE, text.encode("utf-8"))
    np.save(os.path.join(HERE, "test_images.npy"), x_te.astype(np.float32))
    np.save(os.path.join(HERE, "test_labels.npy"), y_te.astype(np.int64))
    np.save(os.path.join(HERE, "test_probs.npy"), te_probs.astype(np.float32))
    for name in (WEIGHTS_FILE, MODEL_FILE, "test_images.npy", "test_labels.npy", "test_probs.npy"):
        print(f"wrote {name} ({os.path.getsize(os.path.join(HERE, name))} bytes)")
    print(f"{WEIGHTS_FILE} sha256 {sha}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
