// ort_run.js — the reference of tests/real/run.sh: runs an ONNX model on ONNX Runtime (npm
// onnxruntime-node, CPU, one thread, every graph optimization off) with one f32 input read
// from a .npy file, and writes each output as OUT_DIR/NAME.npy (little-endian f32, C order).
// usage: node ort_run.js NODE_MODULES MODEL.onnx INPUT.npy OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');

function fail(msg) {
  process.stderr.write(`ort_run.js: ${msg}\n`);
  process.exit(1);
}

// The .npy format, version 1 or 2: magic, version, header length, a Python-dict header.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') fail(`${file}: not a .npy file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']*)'/.exec(header);
  const order = /'fortran_order':\s*(True|False)/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !order || !shape) fail(`${file}: cannot read the .npy header`);
  if (descr[1] !== '<f4' || order[1] !== 'False') fail(`${file}: want little-endian f32 in C order, got ${header}`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length - start !== count * 4) fail(`${file}: ${buf.length - start} data bytes for shape [${dims}]`);
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) data[i] = buf.readFloatLE(start + 4 * i);
  return { dims, data };
}

function writeNpy(file, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.alloc(data.length * 4);
  for (let i = 0; i < data.length; i++) body.writeFloatLE(data[i], 4 * i);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

async function main() {
  const [modules, model, input, outDir] = process.argv.slice(2);
  if (!outDir) fail('usage: node ort_run.js NODE_MODULES MODEL.onnx INPUT.npy OUT_DIR');
  const ort = require(path.resolve(modules, 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'disabled',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  if (session.inputNames.length !== 1) fail(`${model}: ${session.inputNames.length} inputs, want 1`);
  const x = readNpy(input);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', x.data, x.dims) };
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const name of session.outputNames) {
    const t = results[name];
    if (t.type !== 'float32') fail(`${model}: output '${name}' is ${t.type}, want float32`);
    writeNpy(path.join(outDir, `${name}.npy`), t.dims, t.data);
  }
}

main().catch((e) => fail(e.message || String(e)));
