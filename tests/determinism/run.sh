#!/bin/sh
# Determinism: the same input twice gives byte-identical outputs. Each command runs twice,
# into two different folders, the second time from another working directory with a larger
# environment (so heap and stack addresses differ even beyond ASLR): iteration keyed by
# pointers, uninitialized padding, temporary paths or times in an output would show as a
# difference. Outputs are also checked for the scratch folder's path and for leftover
# temporary files. Covered: `lathe import` (text IR and safetensors sidecar) of ONNX models,
# `lathe print -o` of text IR models, and `lathe compile` of the digits model (every output
# kind, two targets, weights inline and in a sidecar).
# usage: run.sh LATHE SOURCE_DIR
set -u
lathe=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$2" && pwd)
. "$src/tests/lib.sh"
mkdir -p "$tmp/a" "$tmp/b" "$tmp/models" "$tmp/elsewhere"

# run_into PATH CMD...: runs CMD with every @OUT@ in its arguments replaced by PATH.
run_into() {
  path=$1
  shift
  for arg; do
    shift
    set -- "$@" "$(printf '%s' "$arg" | sed "s|@OUT@|$path|g")"
  done
  "$@"
}

# twice NAME OUT -- CMD... (CMD's arguments may name @OUT@, the output's path): runs CMD
# into $tmp/a and $tmp/b and expects exit 0, identical bytes in every file written, and no
# trace of the scratch folder's path or of temporary files.
twice() {
  name=$1 out=$2
  shift 3
  for side in a b; do
    rm -rf "$tmp/$side" && mkdir -p "$tmp/$side"
    if [ "$side" = a ]; then
      run_into "$tmp/$side/$out" "$@" >"$tmp/$side.log" 2>&1
    else
      (cd "$tmp/elsewhere" && LATHE_DETERMINISM_PAD=$(printf '%04096d' 0) && export LATHE_DETERMINISM_PAD &&
       run_into "$tmp/$side/$out" "$@") >"$tmp/$side.log" 2>&1
    fi || { echo "FAIL $name: exit $? on run $side"; sed 's/^/  | /' "$tmp/$side.log" | head; failed=$((failed + 1)); return; }
  done
  if ! diff -r "$tmp/a" "$tmp/b" >/dev/null; then
    echo "FAIL $name: the two runs differ"; diff -r "$tmp/a" "$tmp/b" | head -5; failed=$((failed + 1)); return
  fi
  if grep -rqF "$tmp" "$tmp/a"; then echo "FAIL $name: an output names the scratch folder"; failed=$((failed + 1)); return; fi
  if [ "$(find "$tmp/a" -name '*.tmp*' | wc -l)" -ne 0 ]; then echo "FAIL $name: temporary files left"; failed=$((failed + 1)); return; fi
  echo "PASS $name ($(ls "$tmp/a" | tr '\n' ' '))"
  passed=$((passed + 1))
}

# ---- ONNX import: a model with weights (initializers, a large Constant, unnamed nodes) made
# here, and a few seed models of the ONNX fuzz target (tests/fuzz/corpus/onnx)
/usr/bin/python3 - "$tmp/models" <<'PY' || { echo "FAIL making the model with /usr/bin/python3 and onnx"; exit 1; }
import sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
w = numpy_helper.from_array(np.linspace(-1, 1, 4 * 3 * 3 * 3).astype(np.float32).reshape(4, 3, 3, 3), "w")
b = numpy_helper.from_array(np.arange(4, dtype=np.float32), "b")
k = helper.make_tensor("k", TensorProto.FLOAT, [4, 1, 1], np.linspace(0, 1, 4).astype(np.float32))
big = helper.make_tensor("big", TensorProto.FLOAT, [32], np.arange(32, dtype=np.float32))
nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),  # no node names
         helper.make_node("Constant", [], ["kc"], value=k),
         helper.make_node("Mul", ["c", "kc"], ["m"]),
         helper.make_node("Relu", ["m"], ["r"]),
         helper.make_node("Flatten", ["r"], ["f"]),
         helper.make_node("Constant", [], ["bigc"], value=big)]
g = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 2, 2])],
                      [helper.make_tensor_value_info("f", TensorProto.FLOAT, [1, 16]),
                       helper.make_tensor_value_info("bigc", TensorProto.FLOAT, [32])], [w, b])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1] + "/weights.onnx")
PY
twice import-weights m.lathe -- "$lathe" import "$tmp/models/weights.onnx" -o @OUT@
for seed in net-conv-gemm net-reshape-const test_basic_conv_with_padding test_batchnorm_example \
            test_gemm_default_no_bias test_prelu_broadcast test_softmax_example; do
  model=$src/tests/fuzz/corpus/onnx/$seed.onnx
  twice "import-$(basename "$model" .onnx)" m.lathe -- "$lathe" import "$model" -o @OUT@
done

# ---- the text IR printed: the test models and the example
for model in "$src"/tests/models/*.lathe "$src"/tests/golden/ok/*.lathe "$src"/examples/digits/digits.lathe; do
  twice "print-$(basename "$(dirname "$model")")/$(basename "$model" .lathe)" p.lathe -- "$lathe" print --output @OUT@ "$model"
done

# ---- compiled artifacts: every output kind of `lathe compile` (.so, .o, .s, .ll, .c, .h), for
# the digits model on the host and the generic target, and with its weights in a sidecar
digits=$src/examples/digits/digits.lathe
for target in native generic; do
  twice "compile-digits-$target" m -- "$lathe" compile "$digits" -o @OUT@ --emit=so,obj,asm,llvm,c,header,nest \
    --target=$target
done
twice compile-digits-sidecar m -- "$lathe" compile "$digits" -o @OUT@ --emit=so,c,header --weights=@OUT@.bin

finish
