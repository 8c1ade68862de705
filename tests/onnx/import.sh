#!/bin/sh
# `lathe import` end to end, as a user runs it: help and usage errors, a model with weights
# imported, checked and run, --shape for dynamic dimensions, the one report of what lathe
# cannot import, truncated files, and nothing written (nor left behind) whenever it fails.
# The small models are made here with Debian's python3-onnx.
# usage: import.sh LATHE TESTS_ONNX_DIR
set -u
lathe=$1
. "$(dirname "$0")/../lib.sh"

/usr/bin/python3 - "$tmp" <<'EOF' || { echo "FAIL making the models with /usr/bin/python3 and onnx"; exit 1; }
import sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

out = sys.argv[1]
def model(nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "net", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])

w = numpy_helper.from_array(np.linspace(-1, 1, 8 * 3 * 3 * 3).astype(np.float32).reshape(8, 3, 3, 3), "conv.weight")
b = numpy_helper.from_array(np.arange(8, dtype=np.float32) / 10, "conv.bias")
fc = numpy_helper.from_array(np.linspace(-0.5, 0.5, 10 * 8).astype(np.float32).reshape(10, 8), "fc.weight")
nodes = [
    helper.make_node("Conv", ["input.1", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c"], ["r"], name="/relu/Relu"),
    helper.make_node("GlobalAveragePool", ["r"], ["p"], name="/pool"),
    helper.make_node("Flatten", ["p"], ["f"], name="/flatten"),
    helper.make_node("Gemm", ["f", "fc.weight"], ["logits"], name="/fc/Gemm", transB=1),
]
def net(batch):
    return model(nodes, [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [batch, 3, 8, 8])],
                 [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, 10])], [w, b, fc])
save(net(1), f"{out}/net.onnx")
save(net("N"), f"{out}/dynamic.onnx")
bad = [helper.make_node("NonZero", ["x"], ["a"], name="nz1"), helper.make_node("NonZero", ["a"], ["b"], name="nz2"),
       helper.make_node("TopK", ["b", "k"], ["c", "i"], name="topk")]
save(model(bad, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 4]),
                 helper.make_tensor_value_info("k", TensorProto.INT64, [1])],
           [helper.make_tensor_value_info("c", TensorProto.FLOAT, None)], opset=18), f"{out}/unsupported.onnx")
EOF

check help 0 '^usage: lathe import MODEL.onnx -o OUT.lathe' -- "$lathe" import --help
check main-help-lists-import 0 '^  import FILE' -- "$lathe" --help
check no-model 2 'expected one MODEL.onnx' -- "$lathe" import -o "$tmp/x.lathe"
check no-output 2 '-o OUT.lathe is required' -- "$lathe" import "$tmp/net.onnx"
check bad-shape 2 "--shape needs NAME=D0,D1" -- "$lathe" import "$tmp/net.onnx" -o "$tmp/x.lathe" --shape x=1,a
check shape-twice 2 "--shape given twice for input 'x'" -- \
  "$lathe" import "$tmp/net.onnx" -o "$tmp/x.lathe" --shape x=1 --shape x=2
check missing-file 1 'nosuch.onnx: error: cannot open' -- "$lathe" import "$tmp/nosuch.onnx" -o "$tmp/x.lathe"

# A model with weights: the .lathe and its sidecar, which lathe check and run accept.
check import 0 'net.lathe: 8 nodes; weights in net.safetensors \([0-9]+ bytes\)$' -- "$lathe" import "$tmp/net.onnx" -o "$tmp/net.lathe"
expect sidecar-written test -s "$tmp/net.safetensors"
expect weights-line grep -Eq '^weights "net.safetensors" size [0-9]+ sha256 "[0-9a-f]{64}"$' "$tmp/net.lathe"
expect onnx-names-kept grep -q '%"input.1": f32\[1,3,8,8\]' "$tmp/net.lathe"
expect weight-named grep -q 'const weight("conv.weight") : f32\[8,3,3,3\]' "$tmp/net.lathe"
check check-imported 0 '^parameters: 304 in 3 tensors, 1216 bytes$' -- "$lathe" check "$tmp/net.lathe"
check run-imported 0 '%logits: f32\[1,10\]' -- "$lathe" run --interp "$tmp/net.lathe"
check print-roundtrip 0 '' -- "$lathe" print "$tmp/net.lathe" -o "$tmp/net2.lathe"
expect print-is-canonical cmp -s "$tmp/net.lathe" "$tmp/net2.lathe"

# Dynamic dimensions: refused with the input's name, fixed by --shape.
check dynamic 1 "input 'input.1' has 1 dynamic dimension, \[N,3,8,8\]: fix it with --shape input.1=" -- \
  "$lathe" import "$tmp/dynamic.onnx" -o "$tmp/dyn.lathe"
expect dynamic-writes-nothing test ! -e "$tmp/dyn.lathe" -a ! -e "$tmp/dyn.safetensors"
check dynamic-fixed 0 '' -- "$lathe" import "$tmp/dynamic.onnx" -o "$tmp/dyn.lathe" --shape input.1=2,3,8,8
expect dynamic-fixed-type grep -q '%"input.1": f32\[2,3,8,8\]' "$tmp/dyn.lathe"
check dynamic-conflict 1 "dimension 2 is 8 in the model, not 9" -- \
  "$lathe" import "$tmp/dynamic.onnx" -o "$tmp/dyn2.lathe" --shape input.1=2,3,9,8

# What lathe cannot import: one message, every item, exit 1, nothing written.
check unsupported 1 '^.*unsupported.onnx: error: lathe cannot import this model \(4 unsupported items\):$' -- \
  "$lathe" import "$tmp/unsupported.onnx" -o "$tmp/u.lathe"
for item in "opset 18 of the default ONNX domain" "op NonZero: not in lathe's op set; 2 nodes: 'nz1', 'nz2'" \
            "op TopK: not in lathe's op set; 1 node: 'topk'" "input 'x' has 1 dynamic dimension, \[B,4\]"; do
  expect "unsupported-lists: $item" grep -q -- "$item" "$tmp/out"
done
expect unsupported-one-error test "$(grep -c 'error:' "$tmp/out")" -eq 1
expect unsupported-writes-nothing test ! -e "$tmp/u.lathe" -a ! -e "$tmp/u.safetensors"

# Damaged files: an error, and existing outputs stay as they were.
echo old >"$tmp/keep.lathe"
echo old >"$tmp/keep.safetensors"
head -c 600 "$tmp/net.onnx" >"$tmp/truncated.onnx"
check truncated 1 'truncated.onnx: error: not a valid ONNX model' -- "$lathe" import "$tmp/truncated.onnx" -o "$tmp/keep.lathe"
printf 'not a model' >"$tmp/text.onnx"
check not-protobuf 1 'text.onnx: error: not a valid ONNX model' -- "$lathe" import "$tmp/text.onnx" -o "$tmp/keep.lathe"
expect failed-import-keeps-outputs test "$(cat "$tmp/keep.lathe" "$tmp/keep.safetensors")" = "old
old"
check unwritable-dir 1 'nosuch/net.safetensors: error: cannot create' -- "$lathe" import "$tmp/net.onnx" -o "$tmp/nosuch/net.lathe"
expect no-temporary-files-left test -z "$(find "$tmp" -name '*.tmp.*')"

finish
