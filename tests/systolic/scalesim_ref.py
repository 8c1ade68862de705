#!/usr/bin/env python3
"""scalesim_ref.py - an independent re-derivation of SCALE-Sim v2's COMPUTE_REPORT in plain
Python (no numpy, so it runs where SCALE-Sim itself cannot), used to produce and check the
expected files of tests/systolic/. It is written from reading SCALE-Sim v2's sources, not
copied from them:

- configs are read with configparser, as scalesim/scale_config.py does;
- topology rows are split at commas with the last field (after the trailing comma) dropped,
  'DP' layers are split per channel, GEMM rows (name, M, N, K) become an M x K ifmap with a
  1 x K filter, 1 channel and N filters, as scalesim/topology_utils.py does;
- for each fold (col fold outer, row fold inner) the heights of the three demand matrices are
  built from their pieces the way scalesim/compute/systolic_compute_{os,ws,is}.py concatenates
  them (prefix rows, the fold's rows, suffix rows, and the skew, which adds columns - 1 rows);
  the three must agree, as SCALE-Sim asserts;
- in CALC mode no request stalls, so the total is the index of the last OFMAP demand line
  (scalesim/memory/double_buffered_scratchpad_mem.py): the sum of the heights minus one;
- utilizations are Python floats computed in SCALE-Sim's order and printed with str(), as
  scalesim/simulator.py writes them.

usage: scalesim_ref.py CONFIG.cfg TOPOLOGY.csv [gemm]   (prints COMPUTE_REPORT.csv)
"""
import configparser
import math
import sys


def read_config(path):
    cp = configparser.ConfigParser()
    cp.read(path)
    a = 'architecture_presets'
    return {
        'rows': int(cp.get(a, 'ArrayHeight')),
        'cols': int(cp.get(a, 'ArrayWidth')),
        'df': cp.get(a, 'Dataflow').strip(),
    }


def read_topology(path, gemm):
    layers = []
    with open(path) as f:
        lines = f.read().splitlines()
    for raw in lines[1:]:
        line = raw.strip()
        if not line:
            continue
        fields = line.split(',')[:-1]
        if gemm:
            m, n, k = (int(x.strip()) for x in fields[1:4])
            layers.append([m, k, 1, k, 1, n, 1, 1])
            continue
        vals = [int(x.strip()) for x in fields[1:]]
        if len(vals) < 8:
            vals.append(vals[6])
        if 'DP' in fields[0].strip():
            for _ in range(vals[4]):
                layers.append(vals[:4] + [1] + vals[5:8])
        else:
            layers.append(vals[:8])
    return layers


def skewed(height, width):
    """Height of a height x width demand matrix after the systolic skew."""
    return height + width - 1


def fold_heights(df, R, C, T):
    """Heights of the IFMAP, filter and OFMAP demand matrices of one fold, and the cycles the
    fold's compute utilization divides by (its operand matrix's height + width - 1)."""
    if df == 'ws':
        ifmap = skewed(R + T + (C - 1), R)            # weight-load prefix, inputs, drain suffix
        filt = R + (R + C + T - 2)                    # the weights, then idle while inputs stream
        ofmap = skewed((2 * R - 1) + T, C)            # nothing until the first result
        util = filt + C - 1
    elif df == 'is':
        ifmap = R + (R + C + T - 2)                   # the stationary inputs, then idle
        filt = skewed(R + T + (C - 1), R)
        ofmap = skewed((2 * R - 1) + T, C)
        util = ifmap + C - 1
    else:  # os
        ifmap = skewed(T + (C - 1), R)
        filt = skewed(T + (R - 1), C)
        unskewed = (T - 1) + R
        ofmap = skewed(unskewed, C)
        util = unskewed + C - 1
    assert ifmap == filt == ofmap, 'demand matrices out of sync'
    return ofmap, util


def layer_report(layer, R, C, df):
    ih, iw, fh, fw, ch, nf, sh, sw = layer
    eh = int(math.ceil((ih - fh + sh) / sh))
    ew = int(math.ceil((iw - fw + sw) / sw))
    M, K, N = eh * ew, fh * fw * ch, nf
    Sr, Sc, T = {'os': (M, N, K), 'ws': (K, N, M), 'is': (K, M, N)}[df]
    row_folds, col_folds = math.ceil(Sr / R), math.ceil(Sc / C)
    lines, mapping, compute = 0, [], []
    for fc in range(col_folds):
        for fr in range(row_folds):
            used_r = min(R, Sr - fr * R)
            used_c = min(C, Sc - fc * C)
            height, util_cycles = fold_heights(df, R, C, T)
            lines += height
            mapping.append(used_r * used_c / (R * C))
            compute.append(used_r * used_c * T / (R * C * util_cycles))
    total = lines - 1
    overall = (M * N * K * 100) / (total * R * C)
    return [total, 0, overall, sum(mapping) / len(mapping) * 100, sum(compute) / len(compute) * 100]


def main():
    cfg = read_config(sys.argv[1])
    layers = read_topology(sys.argv[2], len(sys.argv) > 3 and sys.argv[3] == 'gemm')
    out = ['LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n']
    for lid, layer in enumerate(layers):
        items = layer_report(layer, cfg['rows'], cfg['cols'], cfg['df'])
        out.append(str(lid) + ', ' + ', '.join(str(x) for x in items) + ',\n')
    sys.stdout.write(''.join(out))


if __name__ == '__main__':
    main()
