#!/bin/sh
# Numerical debugging end to end (docs/debugging.md): `lathe opt --bisect` and
# `lathe run --compare`. The known wrong result they must find comes from the test-only pass
# test-perturb (passes/test_perturb.c: adds 1 to the value named by LATHE_TEST_PERTURB), which
# exists only when LATHE_TEST_PASSES=1. Where it sits in the pipeline (after fold, simplify and
# cse) and which outputs adding 1 changes are worked out by hand below.
# usage: run.sh LATHE SOURCE_DIR
set -u
if [ $# -ne 2 ]; then echo "usage: run.sh LATHE SOURCE_DIR" >&2; exit 2; fi
lathe=$1
src=$2
. "$src/tests/lib.sh"
models=$src/tests/models
digits=$src/examples/digits/digits.lathe

# ---- lathe opt --bisect ----
# The real pipeline changes no model's outputs beyond --verify-each's tolerance.
for model in "$models"/*.lathe "$digits"; do
  m=$(basename "$model" .lathe)
  check "bisect $m -O2: no change" 0 '^no pass changes the outputs \(10 passes run' -- "$lathe" opt "$model" -O2 --bisect
done
check "bisect digits with --in" 0 '^no pass changes the outputs' -- \
  "$lathe" opt "$digits" --bisect --in input="$src/tests/cli/digit_first.npy"
check "bisect -O1 seed 7" 0 '^no pass changes the outputs \(5 passes run' -- "$lathe" opt "$models/cnn.lathe" -O1 --bisect --seed 7

# test-perturb exists only under LATHE_TEST_PASSES=1.
check "test-perturb is test-only" 2 "unknown pass 'test-perturb'" -- "$lathe" opt "$models/mlp.lathe" --passes=test-perturb --bisect
check "test-perturb not listed" 0 '' -- sh -c "! '$lathe' opt --help | grep -q test-perturb"
export LATHE_TEST_PASSES=1
check "perturb unset: no change" 0 '^no pass changes the outputs \(11 passes run' -- "$lathe" opt "$models/mlp.lathe" --bisect
export LATHE_TEST_PERTURB=h4
# mlp: %h4 feeds softmax (unchanged by adding 1 to every logit), sigmoid and tanh (so %aux
# moves): the first output beyond the tolerance is %aux, all 6 of its elements.
check "bisect names test-perturb at 4 of 11" 1 '^pass 4 of 11, test-perturb, changes output %aux: .* 6 of 6 elements beyond rtol 0.001, atol 0.0001' -- \
  "$lathe" opt "$models/mlp.lathe" -O2 --bisect
check "bisect -O0: 1 of 1" 1 '^pass 1 of 1, test-perturb, changes output %aux' -- "$lathe" opt "$models/mlp.lathe" -O0 --bisect
check "bisect --passes" 1 '^pass 2 of 3, test-perturb' -- "$lathe" opt "$models/mlp.lathe" --passes=fold,test-perturb,dce --bisect
# %edge_r is output %edge_out: relu of [0, -0, 1e-45, 3.4e38, -inf, inf, nan, nan, 0.1,
# 1.2e-38, 2^24, 1/3]. Adding 1 leaves 3.4e38, inf, both NaNs and 2^24 (f32 has no 2^24 + 1)
# as they were: 7 of 12 elements move, each by 1 (up to the rounding of 0.1 + 1 and 1/3 + 1).
check "bisect counts the changed elements" 1 \
  'changes output %edge_out: max abs diff 1(\.0*[0-9]*)?, .* 7 of 12 elements beyond' -- env LATHE_TEST_PERTURB=edge_r "$lathe" opt "$models/mlp.lathe" --bisect
# A tolerance wide enough for a change of 1 hides it.
check "bisect --tolerance" 0 '^no pass changes the outputs .*rtol 10, atol 2' -- \
  "$lathe" opt "$models/mlp.lathe" --bisect --tolerance=10,2
check "perturb of an unknown value" 1 'no node of the graph.s body defines %nosuch' -- \
  env LATHE_TEST_PERTURB=nosuch "$lathe" opt "$models/mlp.lathe" --bisect
unset LATHE_TEST_PERTURB LATHE_TEST_PASSES

# Bad input and usage.
check "bisect missing file" 1 'nosuch.lathe' -- "$lathe" opt "$tmp/nosuch.lathe" --bisect
check "bisect model that does not verify" 1 'error:' -- "$lathe" opt "$src/tests/golden/errors/fused-result-type.lathe" --bisect
check "bisect with -o" 2 '--bisect writes nothing' -- "$lathe" opt "$models/mlp.lathe" --bisect -o "$tmp/x.lathe"
check "bisect bad tolerance" 2 '--tolerance needs RTOL' -- "$lathe" opt "$models/mlp.lathe" --bisect --tolerance=-1
check "--seed without --bisect" 2 'go with --bisect or --verify-each' -- "$lathe" opt "$models/mlp.lathe" --seed 3
expect "no file written" test ! -e "$tmp/x.lathe"

# ---- lathe run --compare ----
# The number of nodes compared: every node of the body but the consts, counted from the text.
nodes_of() { grep -E '^ *%[^=]*= *[a-z_0-9]+ *\(' "$1" | grep -vc '= *const'; }
mkdir "$tmp/t"
for model in "$models/cnn.lathe" "$models/mlp.lathe" "$digits"; do
  m=$(basename "$model" .lathe)
  n=$(nodes_of "$model")
  TMPDIR=$tmp/t check "compare $m: all within tolerance" 0 "^$n nodes \([0-9]+ values\) compared, all within tolerance \(rtol 1e-05, atol 1e-06\)" -- \
    "$lathe" run --compare "$model"
done
expect "compare leaves no temporary file" test -z "$(ls "$tmp/t")"
check "compare digits with --in" 0 'compared, all within tolerance' -- \
  "$lathe" run --compare "$digits" --in input="$src/tests/cli/digit_first.npy"
# Blocked layouts: %b and %r are shown through a reorder to row-major; 3 nodes, 3 values.
cat >"$tmp/lay.lathe" <<'LATHE'
lathe 1
graph @lay(%x: f32[1,16,2,2]) -> (%y: f32[1,16,2,2]) {
  %b = reorder(%x) : f32[1,16,2,2] layout(nChw16c)
  %r = relu(%b) : f32[1,16,2,2] layout(nChw16c)
  %y = reorder(%r) : f32[1,16,2,2]
  return %y
}
LATHE
check "compare blocked layouts" 0 '^3 nodes \(3 values\) compared, all within tolerance' -- "$lathe" run --compare "$tmp/lay.lathe"
check "compare --tolerance" 0 'all within tolerance \(rtol 0.5, atol 0.05\)' -- "$lathe" run --compare "$models/mlp.lathe" --tolerance=0.5
# The compiled copy runs the -O0 pipeline, which holds test-perturb only under LATHE_TEST_PASSES=1:
# %h4 (and all after it) is 1 more there than on the interpreter; %h4 is the first in graph order.
at=$(awk '/%h4 = add/ { print NR ":" index($0, "add"); exit }' "$models/mlp.lathe")
export LATHE_TEST_PASSES=1
check "compare names the perturbed node" 1 \
  "mlp.lathe:$at: error: compiled and interpreted results differ first at %h4 = add: max abs diff 1(\.0*[0-9]*)?, .* 6 of 6 elements beyond rtol 1e-05, atol 1e-06" -- \
  env LATHE_TEST_PERTURB=h4 "$lathe" run --compare "$models/mlp.lathe"
at=$(awk '/%h2 = relu/ { print NR ":" index($0, "relu"); exit }' "$models/mlp.lathe")
check "compare names an earlier node" 1 "mlp.lathe:$at: error: .* differ first at %h2 = relu: .* 12 of 12 elements" -- \
  env LATHE_TEST_PERTURB=h2 "$lathe" run --compare "$models/mlp.lathe"
check "compare, nothing perturbed" 0 'all within tolerance' -- "$lathe" run --compare "$models/mlp.lathe"

# An ONNX model, imported in memory: the report names the ONNX node.
if /usr/bin/python3 - "$tmp/net.onnx" <<'PY'
import sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
rng = np.random.default_rng(1)
w = numpy_helper.from_array((rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32), "w")
fc = numpy_helper.from_array((rng.standard_normal((8 * 6 * 6, 5)) * 0.1).astype(np.float32), "fc_w")
shape = numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape")
nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv_a", pads=[1, 1, 1, 1]),
         helper.make_node("Sigmoid", ["c"], ["s"], name="squash"),
         helper.make_node("Reshape", ["s", "shape"], ["f"], name="flatten"),
         helper.make_node("MatMul", ["f", "fc_w"], ["y"], name="classifier")]
g = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], [w, fc, shape])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PY
then
  check "compare an ONNX model" 0 '^4 nodes \(4 values\) compared, all within tolerance' -- env LATHE_TEST_PASSES= "$lathe" run --compare "$tmp/net.onnx"
  check "compare names the ONNX node" 1 \
    "net.onnx: error: node 'squash': compiled and interpreted results differ first at %s = sigmoid: max abs diff 1" -- \
    env LATHE_TEST_PERTURB=s "$lathe" run --compare "$tmp/net.onnx"
else
  skip "compare an ONNX model" "/usr/bin/python3 cannot make the model (python3-onnx missing)"
fi
unset LATHE_TEST_PASSES

# Values the backends refuse, bad input and usage.
at=$(awk '/%h2_v = add/ { print NR ":" index($0, "add"); exit }' "$models/types.lathe")
check "compare f16" 1 "types.lathe:$at: error: --compare: %h2_v has type f16\[4\]; the compiled backends do not handle f16 and bf16" -- \
  "$lathe" run --compare "$models/types.lathe"
check "compare missing file" 1 'nosuch.lathe: error: cannot open' -- "$lathe" run --compare "$tmp/nosuch.lathe"
check "compare model that does not verify" 1 'fused-result-type.lathe:4:3: error:' -- \
  "$lathe" run --compare "$src/tests/golden/errors/fused-result-type.lathe"
check "compare with --interp" 2 '--compare takes a .lathe or .onnx model' -- "$lathe" run --compare --interp "$models/mlp.lathe"
check "--tolerance without --compare" 2 '--tolerance goes with --compare' -- "$lathe" run "$models/mlp.lathe" --tolerance=1
check "compare bad tolerance" 2 '--tolerance needs RTOL' -- "$lathe" run --compare "$models/mlp.lathe" --tolerance=1,x

finish
