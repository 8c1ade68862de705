#!/usr/bin/python3
"""Exports the real models of tests/real/ and bench/ to ONNX (opset 13) with random weights.

usage: /usr/bin/python3 scripts/export_models.py OUT_DIR [MODEL...]

MODEL is one of resnet18, mobilenet_v2, transformer, resnet50 (default: all). For each
model it writes OUT_DIR/MODEL.onnx and OUT_DIR/MODEL.input.npy (a seeded f32 input of the
model's shape). Weights are random (torchvision's weights=None, seeded): nothing is
downloaded. Needs Debian's python3-torch (1.13) and python3-torchvision (0.14). Each file is
written under a temporary name and renamed, so an interrupted export leaves nothing
half-written for a cache to trust.
"""
import os
import sys

import numpy as np
import torch
import torchvision

OPSET = 13


def transformer():
    # d_model 256, 4 heads, feed-forward 1024, 4 layers, batch first.
    layer = torch.nn.TransformerEncoderLayer(d_model=256, nhead=4, dim_feedforward=1024, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, num_layers=4)
    # The encoder deep-copies one layer, so its layers start with equal weights (and the
    # exporter would share them): draw each layer's own.
    for clone in encoder.layers:
        clone.self_attn._reset_parameters()
        for m in clone.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    return encoder


MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(weights=None), (1, 3, 224, 224)),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(weights=None), (1, 3, 224, 224)),
    "transformer": (transformer, (1, 128, 256)),
    "resnet50": (lambda: torchvision.models.resnet50(weights=None), (1, 3, 224, 224)),
}


def calibrate_batch_norms(model, shape):
    """Gives every batch norm the running statistics of its input on a few random images.

    Untrained, a batch norm's running mean is 0 and variance 1, so in eval mode it does not
    normalize, and an untrained MobileNetV2's outputs shrink to about 1e-9: numbers too small
    for the comparison to test much. Statistics gathered on data keep the activations near
    unit scale, as a trained network's are."""
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the calibration batches
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model(torch.randn((4,) + shape[1:]))


def export(name, out):
    make, shape = MODELS[name]
    torch.manual_seed(0)
    model = make()
    calibrate_batch_norms(model, shape)
    # Eval mode (batch norm uses its running statistics, dropout is off) but not under
    # torch.no_grad(): torch 1.13's fused TransformerEncoder fast path runs only without
    # gradients, and it cannot be exported.
    model.eval()
    x = np.random.default_rng(1).standard_normal(shape, dtype=np.float32)
    onnx_path = os.path.join(out, name + ".onnx")
    npy_path = os.path.join(out, name + ".input.npy")
    tmp = onnx_path + ".tmp"
    torch.onnx.export(model, torch.from_numpy(x), tmp, opset_version=OPSET,
                      input_names=["input"], output_names=["output"], do_constant_folding=True)
    with open(npy_path + ".tmp", "wb") as f:
        np.save(f, x)
    os.replace(npy_path + ".tmp", npy_path)
    os.replace(tmp, onnx_path)
    print(f"{onnx_path}: {os.path.getsize(onnx_path)} bytes")


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) >= 2 else 2
    out = sys.argv[1]
    names = sys.argv[2:] or list(MODELS)
    for name in names:
        if name not in MODELS:
            print(f"export_models.py: unknown model '{name}' (known: {', '.join(MODELS)})", file=sys.stderr)
            return 2
    os.makedirs(out, exist_ok=True)
    for name in names:
        export(name, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
