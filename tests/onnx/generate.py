"""Writes the ONNX backend test data (node, simple and real tests: model.onnx beside
test_data_set_*/input_*.pb and output_*.pb) with the generators of Debian's python3-onnx.

usage: /usr/bin/python3 generate.py OUT_DIR

Debian 12 pairs onnx 1.12 with numpy 1.24, which removed the aliases np.float, np.int,
np.bool and np.object that onnx 1.12's generators still use; they are restored here, before
onnx is imported. Run it with /usr/bin/python3: a python3 earlier on PATH may lack numpy."""
import sys
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for alias, value in (("float", float), ("int", int), ("bool", bool), ("object", object)):
        setattr(np, alias, value)

from onnx.backend.test import cmd_tools  # noqa: E402  (needs the aliases above)

if len(sys.argv) != 2:
    sys.exit("usage: generate.py OUT_DIR")
sys.argv = [sys.argv[0], "generate-data", "-o", sys.argv[1]]
cmd_tools.main()
