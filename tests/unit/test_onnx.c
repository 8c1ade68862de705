/* test_onnx.c — the ONNX importer: models built here with protobuf-c (the same generated code
 * the importer reads with), imported, run and written; and every kind of bad input: truncated
 * and corrupted bytes, nesting bombs, cycles, initializers whose data does not match their
 * shape, external data, missing inputs, and the one report of what lathe does not support. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend/onnx/internal.h"
#include "frontend/onnx/onnx.h"
#include "frontend/parser.h"
#include "ir/fs.h"
#include "ir/interp.h"
#include "onnx.pb-c.h"

#include "diag_capture.h"

/* The scratch directory of this program. */
#define ONNX_DIR LATHE_TEST_TMP "/onnx/"

/* ---- building models ---------------------------------------------------------------------------------- */

/* Every allocation of the builders, freed together by pool_free. */
static void *pool[4096];
static int npool;

/* Returns n zeroed bytes that live until pool_free. */
static void *P(size_t n) {
  assert_true(npool < 4096);
  void *p = calloc(1, n ? n : 1);
  assert_non_null(p);
  return pool[npool++] = p;
}

/* Frees everything the builders allocated. */
static void pool_free(void) {
  while (npool) free(pool[--npool]);
}

/* A copy of s in the pool. */
static char *S(const char *s) { return strcpy(P(strlen(s) + 1), s); }

/* Splits a comma-separated list into the pool: *n entries ("" keeps an empty entry). */
static char **split_list(const char *list, size_t *n) {
  *n = 0;
  if (!list) return NULL;
  char **out = P(sizeof(char *) * 64);
  const char *p = list;
  for (;;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char *s = P(len + 1);
    memcpy(s, p, len);
    out[(*n)++] = s;
    if (!e) break;
    p = e + 1;
  }
  return out;
}

/* An attribute: INT. */
static Onnx__AttributeProto *attr_i(const char *name, int64_t v) {
  Onnx__AttributeProto *a = P(sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = S(name);
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  a->has_i = 1;
  a->i = v;
  return a;
}

/* An attribute: STRING. */
static Onnx__AttributeProto *attr_s(const char *name, const char *v) {
  Onnx__AttributeProto *a = P(sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = S(name);
  a->has_type = 1;
  a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  a->has_s = 1;
  a->s.data = (uint8_t *)S(v);
  a->s.len = strlen(v);
  return a;
}

/* A node op(ins) -> outs named name, with up to 4 attributes (NULL-terminated). */
static Onnx__NodeProto *node(const char *op, const char *name, const char *ins, const char *outs, ...) {
  Onnx__NodeProto *n = P(sizeof *n);
  onnx__node_proto__init(n);
  n->op_type = S(op);
  n->name = S(name);
  n->input = split_list(ins, &n->n_input);
  n->output = split_list(outs, &n->n_output);
  n->attribute = P(sizeof(Onnx__AttributeProto *) * 4);
  va_list ap;
  va_start(ap, outs);
  Onnx__AttributeProto *a;
  while ((a = va_arg(ap, Onnx__AttributeProto *)) != NULL) n->attribute[n->n_attribute++] = a;
  va_end(ap);
  return n;
}

/* A tensor value's declaration: element type and dims ("1,3,N": N and other names are
 * dynamic; dims NULL: no shape at all). */
static Onnx__ValueInfoProto *vinfo(const char *name, int elem, const char *dims) {
  Onnx__ValueInfoProto *v = P(sizeof *v);
  onnx__value_info_proto__init(v);
  v->name = S(name);
  Onnx__TypeProto *tp = P(sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = P(sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = elem;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  v->type = tp;
  if (!dims) return v;
  Onnx__TensorShapeProto *sp = P(sizeof *sp);
  onnx__tensor_shape_proto__init(sp);
  tt->shape = sp;
  size_t n;
  char **d = split_list(*dims ? dims : NULL, &n);
  sp->dim = P(sizeof(void *) * (n + 1));
  for (size_t i = 0; i < n; i++) {
    Onnx__TensorShapeProto__Dimension *dim = P(sizeof *dim);
    onnx__tensor_shape_proto__dimension__init(dim);
    if (d[i][0] >= '0' && d[i][0] <= '9') {
      dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      dim->dim_value = atoll(d[i]);
    } else {
      dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
      dim->dim_param = d[i];
    }
    sp->dim[sp->n_dim++] = dim;
  }
  return v;
}

/* A FLOAT tensor of the given dims holding nbytes of raw data (the floats in data). */
static Onnx__TensorProto *tensor_raw(const char *name, int elem, int rank, const int64_t *dims, const void *data,
                                     size_t nbytes) {
  Onnx__TensorProto *t = P(sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = S(name);
  t->has_data_type = 1;
  t->data_type = elem;
  t->n_dims = (size_t)rank;
  t->dims = P(sizeof(int64_t) * (size_t)(rank + 1));
  memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
  t->has_raw_data = 1;
  t->raw_data.len = nbytes;
  t->raw_data.data = P(nbytes);
  memcpy(t->raw_data.data, data, nbytes);
  return t;
}

/* A model being built. */
typedef struct {
  Onnx__GraphProto g;             /* its graph; node, input, output, initializer have room for 16+ */
  Onnx__ModelProto m;             /* the model, pointing at g and opset */
  Onnx__OperatorSetIdProto opset; /* its one opset import (the default domain) */
} Model;

/* Starts a model of the given opset with room for nodes, inputs, outputs, initializers. */
static Model *model(int opset) {
  Model *md = P(sizeof *md);
  onnx__graph_proto__init(&md->g);
  onnx__model_proto__init(&md->m);
  onnx__operator_set_id_proto__init(&md->opset);
  md->g.name = S("test");
  md->g.node = P(sizeof(void *) * 64);
  md->g.input = P(sizeof(void *) * 16);
  md->g.output = P(sizeof(void *) * 16);
  md->g.initializer = P(sizeof(void *) * 16);
  md->m.has_ir_version = 1;
  md->m.ir_version = 8;
  md->m.graph = &md->g;
  md->opset.domain = S("");
  md->opset.has_version = 1;
  md->opset.version = opset;
  md->m.opset_import = P(sizeof(void *));
  md->m.opset_import[0] = &md->opset;
  md->m.n_opset_import = 1;
  return md;
}

static void add_node(Model *md, Onnx__NodeProto *n) { md->g.node[md->g.n_node++] = n; }
static void add_input(Model *md, Onnx__ValueInfoProto *v) { md->g.input[md->g.n_input++] = v; }
static void add_output(Model *md, Onnx__ValueInfoProto *v) { md->g.output[md->g.n_output++] = v; }
static void add_init(Model *md, Onnx__TensorProto *t) { md->g.initializer[md->g.n_initializer++] = t; }

/* Serializes the model into the pool; *len receives its size. */
static uint8_t *pack(Model *md, size_t *len) {
  *len = onnx__model_proto__get_packed_size(&md->m);
  uint8_t *buf = P(*len);
  assert_int_equal(onnx__model_proto__pack(&md->m, buf), *len);
  return buf;
}

/* Imports the model's bytes. */
static IrStatus import_model(Model *md, const OnnxImportOpts *o, Graph **g, OnnxImportInfo *info, DiagSink *d) {
  size_t len;
  uint8_t *bytes = pack(md, &len);
  return onnx_import_bytes(bytes, len, "m.onnx", o, g, info, d);
}

/* The model used by several tests: y = relu(conv(x, w)) with SAME_UPPER padding, stride 1, a
 * 3x3 kernel of ones; x: f32[1,1,4,4]. */
static Model *conv_model(void) {
  Model *md = model(13);
  float w[9];
  for (int i = 0; i < 9; i++) w[i] = 1;
  int64_t wd[4] = {1, 1, 3, 3};
  add_init(md, tensor_raw("w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 4, wd, w, sizeof w));
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "1,1,4,4"));
  add_node(md, node("Conv", "conv1", "x,w", "c", attr_s("auto_pad", "SAME_UPPER"), NULL));
  add_node(md, node("Relu", "relu1", "c", "y", NULL));
  add_output(md, vinfo("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "1,1,4,4"));
  return md;
}

/* Runs g (one f32 input and output) on in; out receives the output. */
static void run1(const Graph *g, const float *in, float *out) {
  DiagSink d;
  diag_init(&d, stderr);
  const void *ins[1] = {in};
  void *outs[1] = {out};
  assert_int_equal(ir_interp_run(g, ins, outs, &d), IR_OK);
  diag_free(&d);
}

static int setup(void **state) {
  (void)state;
  if (mkdir(ONNX_DIR, 0777) != 0 && errno != EEXIST) return -1;
  return 0;
}

static int teardown_pool(void **state) {
  (void)state;
  pool_free();
  return 0;
}

/* ---- good models ---------------------------------------------------------------------------------------- */

/* Conv with auto_pad SAME_UPPER: explicit pads [1,1,1,1]; numbers as computed by hand (a 3x3
 * sum of ones: 4 in corners, 6 on edges, 9 inside). Every node keeps its ONNX name. */
static void test_conv_relu(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Graph *g;
  assert_int_equal(import_model(conv_model(), NULL, &g, NULL, &d), IR_OK);
  assert_int_equal(g->body->nparams, 1);
  assert_int_equal(g->body->nnodes, 3); /* const w, conv2d, relu */
  const Node *conv = &g->nodes[g->body->nodes[1]];
  assert_int_equal(conv->op, OP_CONV2D);
  assert_string_equal(conv->loc.origin, "conv1");
  int n;
  const int64_t *pads = ir_attr_ints(conv, "pads", &n);
  assert_int_equal(n, 4);
  for (int i = 0; i < 4; i++) assert_int_equal(pads[i], 1);
  float x[16], y[16];
  for (int i = 0; i < 16; i++) x[i] = 1;
  run1(g, x, y);
  static const float want[16] = {4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4};
  for (int i = 0; i < 16; i++) assert_true(y[i] == want[i]);
  ir_graph_free(g);
  diag_end(&d);
}

/* Shape → Concat → Reshape: the shape computation folds into constants through the
 * interpreter, the Reshape gets the shape as an attribute, and the dead constants go. */
static void test_shape_subgraph_folds(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Model *md = model(13);
  int64_t one[1] = {1}, d1[1] = {1};
  add_init(md, tensor_raw("one", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, 1, d1, one, sizeof one));
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2,3,4"));
  add_node(md, node("Shape", "shape", "x", "s", NULL));
  add_node(md, node("Concat", "cat", "s,one", "s2", attr_i("axis", 0), NULL));
  add_node(md, node("Reshape", "reshape", "x,s2", "y", NULL));
  add_output(md, vinfo("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2,3,4,1"));
  Graph *g;
  assert_int_equal(import_model(md, NULL, &g, NULL, &d), IR_OK);
  assert_int_equal(g->body->nnodes, 1);
  const Node *r = &g->nodes[g->body->nodes[0]];
  assert_int_equal(r->op, OP_RESHAPE);
  int n;
  const int64_t *shape = ir_attr_ints(r, "shape", &n);
  assert_int_equal(n, 4);
  assert_int_equal(shape[0], 2);
  assert_int_equal(shape[3], 1);
  ir_graph_free(g);
  diag_end(&d);
}

/* Softmax before opset 13 normalizes over the flattened dimensions from axis on: flatten,
 * softmax along axis 1, reshape back; at the last axis it is the plain op. */
static void test_softmax_legacy(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Model *md = model(11);
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2,3,2"));
  add_node(md, node("Softmax", "sm", "x", "y", NULL)); /* axis 1 by default */
  add_output(md, vinfo("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2,3,2"));
  Graph *g;
  assert_int_equal(import_model(md, NULL, &g, NULL, &d), IR_OK);
  assert_int_equal(g->body->nnodes, 3);
  assert_int_equal(g->nodes[g->body->nodes[0]].op, OP_FLATTEN);
  assert_int_equal(g->nodes[g->body->nodes[1]].op, OP_SOFTMAX);
  assert_int_equal(g->nodes[g->body->nodes[2]].op, OP_RESHAPE);
  float x[12], y[12];
  for (int i = 0; i < 12; i++) x[i] = (float)i / 4;
  run1(g, x, y);
  for (int b = 0; b < 2; b++) {
    double sum = 0;
    for (int i = 0; i < 6; i++) sum += exp(x[b * 6 + i]);
    for (int i = 0; i < 6; i++) assert_true(fabs(y[b * 6 + i] - exp(x[b * 6 + i]) / sum) < 1e-6);
  }
  ir_graph_free(g);
  diag_end(&d);
}

/* Expects the import of y = Cast(x) {to} at opset to fail with a message containing want. */
static void expect_cast_refused(DiagSink *d, int opset, int to, const char *want) {
  Model *md = model(opset);
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2"));
  add_node(md, node("Cast", "cast", "x", "y", attr_i("to", to), NULL));
  add_output(md, vinfo("y", to, "2"));
  Graph *g;
  assert_int_equal(import_model(md, NULL, &g, NULL, d), IR_ERR_INPUT);
  assert_diag_has(d, want);
}

/* Cast's `to` (an ONNX element type) becomes a lathe dtype name, and LayerNormalization's
 * optional Mean and InvStdDev outputs are produced when named. x = [-1.5, 0.5, 2.5, 6.5]:
 * cast to INT8 truncates to [-1, 0, 2, 6]; mean 2, variance (12.25 + 2.25 + 0.25 + 20.25) / 4
 * = 8.75, InvStdDev 1 / sqrt(8.75 + 1e-5) = 0.338061509 (numpy), Y = (x - 2) * InvStdDev. */
static void test_cast_and_layer_norm(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Model *md = model(17);
  float one[4] = {1, 1, 1, 1};
  int64_t sd[1] = {4};
  add_init(md, tensor_raw("s", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 1, sd, one, sizeof one));
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "1,4"));
  add_node(md, node("Cast", "cast", "x", "c", attr_i("to", ONNX__TENSOR_PROTO__DATA_TYPE__INT8), NULL));
  add_node(md, node("LayerNormalization", "ln", "x,s", "y,mean,inv", NULL));
  add_output(md, vinfo("c", ONNX__TENSOR_PROTO__DATA_TYPE__INT8, "1,4"));
  add_output(md, vinfo("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "1,4"));
  add_output(md, vinfo("mean", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "1,1"));
  add_output(md, vinfo("inv", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "1,1"));
  Graph *g;
  assert_int_equal(import_model(md, NULL, &g, NULL, &d), IR_OK);
  const float x[4] = {-1.5f, 0.5f, 2.5f, 6.5f};
  int8_t c[4];
  float y[4], mean[1], inv[1];
  const void *ins[1] = {x};
  void *outs[4] = {c, y, mean, inv};
  assert_int_equal(ir_interp_run(g, ins, outs, &d), IR_OK);
  const int8_t wc[4] = {-1, 0, 2, 6};
  const float wy[4] = {-1.18321528f, -0.507092263f, 0.169030754f, 1.52127679f};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(c[i], wc[i]);
    assert_true(fabsf(y[i] - wy[i]) < 1e-6f);
  }
  assert_true(mean[0] == 2.0f);
  assert_true(fabsf(inv[0] - 0.338061509f) < 1e-7f);
  ir_graph_free(g);
  /* A cast to DOUBLE is unsupported; to BFLOAT16 before opset 13 (which admitted it) an error. */
  expect_cast_refused(&d, 17, ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, "node 'cast' (Cast): a cast to DOUBLE");
  expect_cast_refused(&d, 12, ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16,
                      "casts to BFLOAT16, which Cast admits from opset 13");
  diag_end(&d);
}

/* GRU with B and sequence_lens left out before initial_h: the importer supplies a zero B and
 * full lengths as constants, so lathe's gru gets 6 operands. With W = R = 0 every gate is
 * sigmoid(0) = 0.5 and the candidate tanh(0) = 0, so each step halves h: h0 = [4, -2] gives
 * [2, -1], then Y_h = [1, -0.5] (by hand). */
static void test_gru_optional_inputs(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Model *md = model(14);
  static const float w[6] = {0}, r[12] = {0}, h0[2] = {4, -2};
  int64_t wd[3] = {1, 6, 1}, rd[3] = {1, 6, 2}, hd[3] = {1, 1, 2};
  add_init(md, tensor_raw("w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 3, wd, w, sizeof w));
  add_init(md, tensor_raw("r", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 3, rd, r, sizeof r));
  add_init(md, tensor_raw("h0", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 3, hd, h0, sizeof h0));
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2,1,1"));
  add_node(md, node("GRU", "gru1", "x,w,r,,,h0", ",yh", attr_i("hidden_size", 2), NULL));
  add_output(md, vinfo("yh", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "1,1,2"));
  Graph *g;
  assert_int_equal(import_model(md, NULL, &g, NULL, &d), IR_OK);
  const Node *gru = NULL;
  for (int i = 0; i < g->body->nnodes; i++)
    if (g->nodes[g->body->nodes[i]].op == OP_GRU) gru = &g->nodes[g->body->nodes[i]];
  assert_non_null(gru);
  assert_int_equal(gru->ninputs, 6);
  assert_int_equal(g->values[gru->inputs[4]].type.dtype, DT_I32);
  float x[2] = {0.5f, -1}, yh[2];
  run1(g, x, yh);
  assert_true(yh[0] == 1.0f && yh[1] == -0.5f);
  ir_graph_free(g);
  diag_end(&d);
}

/* Dynamic dimensions are fixed with --shape; the static ones must agree. */
static void test_shape_override(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Model *md = model(13);
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "N,3"));
  add_node(md, node("Relu", "r", "x", "y", NULL));
  add_output(md, vinfo("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "N,3"));
  OnnxShape s = {"x", 2, {5, 3}};
  OnnxImportOpts o = {&s, 1, NULL, 0};
  Graph *g;
  assert_int_equal(import_model(md, &o, &g, NULL, &d), IR_OK);
  assert_int_equal(g->values[g->body->params[0]].type.dims[0], 5);
  assert_int_equal(g->output_types[0].dims[0], 5);
  ir_graph_free(g);
  OnnxShape bad = {"x", 2, {5, 4}};
  o.shapes = &bad;
  assert_int_equal(import_model(md, &o, &g, NULL, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "--shape x: dimension 1 is 3 in the model, not 4");
  OnnxShape rank = {"x", 3, {5, 3, 1}};
  o.shapes = &rank;
  assert_int_equal(import_model(md, &o, &g, NULL, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "--shape x gives 3 dimensions but the input has 2");
  OnnxShape other = {"z", 1, {1}};
  o.shapes = &other;
  assert_int_equal(import_model(md, &o, &g, NULL, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "--shape z: the model has no input named 'z'");
  diag_end(&d);
}

/* Writing: the .lathe names the sidecar with its size and SHA-256, loads back with its
 * weights and computes the same; a failed write leaves nothing behind. */
static void test_save_and_load(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Model *md = model(13);
  float w[32];
  for (int i = 0; i < 32; i++) w[i] = (float)i / 8;
  int64_t wd[2] = {4, 8};
  add_init(md, tensor_raw("fc.weight", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, wd, w, sizeof w));
  add_input(md, vinfo("input.1", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "1,8"));
  add_node(md, node("Gemm", "/fc/Gemm", "input.1,fc.weight", "out", attr_i("transB", 1), NULL));
  add_output(md, vinfo("out", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "1,4"));
  Graph *g;
  assert_int_equal(import_model(md, NULL, &g, NULL, &d), IR_OK);
  const char *path = ONNX_DIR "fc.lathe";
  unlink(ONNX_DIR "fc.safetensors");
  assert_int_equal(onnx_save(g, path, &d), IR_OK);
  assert_string_equal(g->weights_path, "fc.safetensors");
  Graph *back;
  assert_int_equal(ir_load(&d, path, LOAD_VERIFY | LOAD_WEIGHTS, &back), IR_OK);
  float x[8], y1[4], y2[4];
  for (int i = 0; i < 8; i++) x[i] = (float)(i - 3);
  run1(g, x, y1);
  run1(back, x, y2);
  assert_memory_equal(y1, y2, sizeof y1);
  ir_graph_free(back);
  /* A directory that does not exist: an error, and the graph as it was. */
  assert_int_equal(onnx_save(g, ONNX_DIR "nosuch/fc.lathe", &d), IR_ERR_INPUT);
  assert_string_equal(g->weights_path, "fc.safetensors");
  ir_graph_free(g);
  assert_int_equal(import_model(md, NULL, &g, NULL, &d), IR_OK);
  assert_int_equal(onnx_save(g, ONNX_DIR "nosuch/fc.lathe", &d), IR_ERR_INPUT);
  assert_null(g->weights_path);
  assert_int_equal(g->nodes[g->body->nodes[0]].const_kind, CONST_DENSE);
  ir_graph_free(g);
  diag_end(&d);
}

/* ---- bad input ------------------------------------------------------------------------------------------- */

/* Every truncation of a valid model is refused without a crash; so are corrupted bytes (which
 * may still parse: then the import either works or reports). */
static void test_truncated_and_corrupted(void **state) {
  (void)state;
  DiagSink d;
  diag_init(&d, NULL);
  size_t len;
  uint8_t *bytes = pack(conv_model(), &len);
  for (size_t n = 0; n < len; n++) {
    Graph *g;
    IrStatus st = onnx_import_bytes(bytes, n, "m.onnx", NULL, &g, NULL, &d);
    assert_int_not_equal(st, IR_ERR_INTERNAL);
    if (st == IR_OK) ir_graph_free(g);
    if (n < len / 2) assert_int_equal(st, IR_ERR_INPUT);
  }
  uint8_t *copy = P(len);
  uint64_t seed = 1;
  for (int trial = 0; trial < 3000; trial++) {
    memcpy(copy, bytes, len);
    for (int k = 0; k < 1 + trial % 4; k++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      copy[(seed >> 33) % len] ^= (uint8_t)(1u << ((seed >> 20) % 8));
    }
    Graph *g;
    IrStatus st = onnx_import_bytes(copy, len, "m.onnx", NULL, &g, NULL, &d);
    assert_int_not_equal(st, IR_ERR_INTERNAL);
    if (st == IR_OK) ir_graph_free(g);
  }
  diag_free(&d);
  diag_start(&d);
  Graph *g;
  assert_int_equal(onnx_import_bytes(bytes, len - 3, "m.onnx", NULL, &g, NULL, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "m.onnx: error: not a valid ONNX model");
  diag_end(&d);
}

/* Appends a base-128 varint. */
static size_t put_varint(uint8_t *p, size_t v) {
  size_t n = 0;
  while (v >= 0x80) { p[n++] = (uint8_t)(v | 0x80); v >>= 7; }
  p[n++] = (uint8_t)v;
  return n;
}

/* Messages nested 60000 deep (graph → node → attribute → graph ...; 180 kB) are refused
 * before protobuf-c, which recurses without a limit, sees them. */
static void test_nesting_bomb(void **state) {
  (void)state;
  enum { DEPTH = 20000 };
  /* Built from the inside out at the end of buf: each level is a tag, a length, the body. */
  size_t cap = (size_t)DEPTH * 3 * 8 + 64, pos = cap;
  uint8_t *buf = P(cap), varint[16];
  static const uint8_t tags[3] = {0x32, 0x2a, 0x0a}; /* attribute.g, node.attribute, graph.node */
  for (int i = 0; i <= DEPTH * 3; i++) {
    size_t n = put_varint(varint, cap - pos);
    pos -= n;
    memcpy(buf + pos, varint, n);
    buf[--pos] = i == DEPTH * 3 ? 0x3a /* model.graph */ : tags[i % 3];
  }
  DiagSink d;
  diag_start(&d);
  Graph *g;
  assert_int_equal(onnx_import_bytes(buf + pos, cap - pos, "bomb.onnx", NULL, &g, NULL, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "nested too deeply");
  diag_end(&d);
}

/* A cycle is named by its nodes; nothing else is converted. */
static void test_cycle(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Model *md = model(13);
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2"));
  add_node(md, node("Add", "a", "x,b_out", "a_out", NULL));
  add_node(md, node("Relu", "b", "a_out", "b_out", NULL));
  add_node(md, node("Relu", "c", "a_out", "y", NULL));
  add_output(md, vinfo("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2"));
  Graph *g;
  assert_int_equal(import_model(md, NULL, &g, NULL, &d), IR_ERR_INPUT);
  assert_null(g);
  assert_diag_has(&d, "the graph has a cycle: 'a' -> 'b' -> 'a'");
  diag_end(&d);
}

/* An initializer whose data does not match its shape, one with external data, a node with a
 * missing input, a value produced twice, a graph output produced by nothing: each reported
 * by name, all in one run. */
static void test_bad_structure(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Model *md = model(13);
  float w[5] = {0};
  int64_t wd[2] = {2, 3};
  add_init(md, tensor_raw("w", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, wd, w, sizeof w));
  Onnx__TensorProto *ext = tensor_raw("ext", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 2, wd, w, sizeof w);
  ext->has_raw_data = 0;
  ext->has_data_location = 1;
  ext->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  Onnx__StringStringEntryProto *loc = P(sizeof *loc);
  onnx__string_string_entry_proto__init(loc);
  loc->key = S("location");
  loc->value = S("weights.bin");
  ext->external_data = P(sizeof(void *));
  ext->external_data[0] = loc;
  ext->n_external_data = 1;
  add_init(md, ext);
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2,3"));
  add_node(md, node("Add", "adder", "x,nope", "s", NULL));
  add_node(md, node("Relu", "twice", "x", "s", NULL));
  add_output(md, vinfo("s", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2,3"));
  add_output(md, vinfo("ghost", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2,3"));
  Graph *g;
  assert_int_equal(import_model(md, NULL, &g, NULL, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "initializer 'w': raw_data holds 20 bytes but f32[2, 3] needs 24");
  assert_diag_has(&d, "initializer 'ext' keeps its data in an external file ('weights.bin')");
  assert_diag_has(&d, "node 'adder': input 1 ('nope') is not produced by any node, graph input or initializer");
  assert_diag_has(&d, "node 'twice': output 's' is also produced by node 'adder'");
  assert_diag_has(&d, "graph output 'ghost' is not produced by any node");
  diag_end(&d);
}

/* What lathe does not support is one message: the opset, every op type with its nodes and
 * count, element types, dynamic dimensions by input name. */
static void test_unsupported_report(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Model *md = model(18);
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "N,3,H"));
  add_input(md, vinfo("dbl", ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, "2"));
  add_node(md, node("NonZero", "nz1", "x", "a", NULL));
  add_node(md, node("NonZero", "nz2", "a", "b", NULL));
  add_node(md, node("Frobnicate", "frob", "b", "c", NULL));
  add_node(md, node("Relu", "r", "c", "y", NULL));
  add_output(md, vinfo("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, NULL));
  Graph *g;
  OnnxImportInfo info;
  assert_int_equal(import_model(md, NULL, &g, &info, &d), IR_ERR_INPUT);
  assert_int_equal(d.errors, 1);
  assert_true(info.unsupported >= 5);
  assert_int_equal(info.opset, 18);
  assert_diag_has(&d, "m.onnx: error: lathe cannot import this model (5 unsupported items):");
  assert_diag_has(&d, "  - opset 18 of the default ONNX domain (lathe imports opsets 11 to 17)");
  assert_diag_has(&d, "  - op NonZero: not in lathe's op set; 2 nodes: 'nz1', 'nz2'");
  assert_diag_has(&d, "  - op Frobnicate: not in lathe's op set; 1 node: 'frob'");
  assert_diag_has(&d, "  - input 'x' has 2 dynamic dimensions, [N,3,H]: fix them with --shape x=D0,D1,...");
  assert_diag_has(&d, "  - input 'dbl' has element type DOUBLE, which lathe does not have");
  onnx_import_info_free(&info);
  diag_end(&d);
}

/* A converter-level limit is reported with the node; an operand that must be constant names
 * the graph input that would have to be frozen, and freezing it makes the model import. */
static void test_node_level_unsupported_and_freeze(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Model *md = model(13);
  add_input(md, vinfo("x", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "2,6"));
  add_input(md, vinfo("shape", ONNX__TENSOR_PROTO__DATA_TYPE__INT64, "2"));
  add_input(md, vinfo("v", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "1,1,4,4,4"));
  add_node(md, node("Reshape", "resh", "x,shape", "y", NULL));
  add_node(md, node("GlobalAveragePool", "gap", "v", "p", NULL));
  add_node(md, node("MaxPool", "pool3d", "v", "q", NULL));
  add_output(md, vinfo("y", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, "3,4"));
  add_output(md, vinfo("p", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, NULL));
  Graph *g;
  OnnxImportInfo info;
  assert_int_equal(import_model(md, NULL, &g, &info, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "node 'resh' (Reshape): the shape (input 1, 'shape') is computed at run time");
  assert_diag_has(&d, "node 'pool3d' (MaxPool): a 3-D window (lathe's pooling is 1-D or 2-D");
  assert_int_equal(info.nfreeze, 1);
  assert_string_equal(info.freeze[0], "shape");
  onnx_import_info_free(&info);
  md->g.n_node = 2; /* without the 3-D pooling */
  int64_t shape[2] = {3, 4};
  OnnxConstInput frozen = {"shape", {{.dtype = DT_I64, .rank = 1, .dims = {2}}, shape}};
  OnnxImportOpts o = {NULL, 0, &frozen, 1};
  assert_int_equal(import_model(md, &o, &g, &info, &d), IR_OK);
  assert_int_equal(g->body->nparams, 2); /* x and v; shape is a constant now */
  onnx_import_info_free(&info);
  ir_graph_free(g);
  diag_end(&d);
}

/* Every allocation failing in turn: a clean error each time, never a crash or a leak. */
static void test_alloc_failures(void **state) {
  (void)state;
  DiagSink d;
  diag_init(&d, NULL);
  size_t len;
  uint8_t *bytes = pack(conv_model(), &len);
  bool done = false;
  for (uint64_t n = 1; n < 5000 && !done; n++) {
    Graph *g;
    ir_alloc_fail_after(n);
    IrStatus st = onnx_import_bytes(bytes, len, "m.onnx", NULL, &g, NULL, &d);
    ir_alloc_fail_after(0);
    assert_int_not_equal(st, IR_ERR_INTERNAL);
    if (st == IR_OK) {
      ir_graph_free(g);
      done = true;
    } else {
      assert_null(g);
    }
  }
  assert_true(done);
  diag_free(&d);
}

/* A TensorProto file, as the backend tests store their data. */
static void test_read_tensor_file(void **state) {
  (void)state;
  int64_t dims[2] = {2, 2};
  int32_t vals[4] = {1, -2, 3, -4};
  Onnx__TensorProto *t = tensor_raw("v", ONNX__TENSOR_PROTO__DATA_TYPE__INT32, 2, dims, vals, sizeof vals);
  size_t len = onnx__tensor_proto__get_packed_size(t);
  uint8_t *buf = P(len);
  onnx__tensor_proto__pack(t, buf);
  DiagSink d;
  diag_start(&d);
  assert_int_equal(ir_write_file(ONNX_DIR "t.pb", buf, len, &d), IR_OK);
  Tensor out;
  IrBuffer *data;
  char *name;
  assert_int_equal(onnx_read_tensor_file(ONNX_DIR "t.pb", &out, &data, &name, &d), IR_OK);
  assert_string_equal(name, "v");
  assert_int_equal(out.type.dtype, DT_I32);
  assert_memory_equal(out.data, vals, sizeof vals);
  ir_buffer_unref(data);
  ir_free(name);
  /* UINT16 (which lathe lacks) read as the bits of bfloat16: [1.0, -2.0] */
  uint16_t bits[2] = {0x3f80, 0xc000};
  int64_t two[1] = {2};
  Onnx__TensorProto *u = tensor_raw("u", ONNX__TENSOR_PROTO__DATA_TYPE__UINT16, 1, two, bits, sizeof bits);
  size_t ulen = onnx__tensor_proto__get_packed_size(u);
  uint8_t *ubuf = P(ulen);
  onnx__tensor_proto__pack(u, ubuf);
  assert_int_equal(ir_write_file(ONNX_DIR "u.pb", ubuf, ulen, &d), IR_OK);
  assert_int_equal(onnx_read_tensor_file_bits16(ONNX_DIR "u.pb", DT_BF16, &out, &data, NULL, &d), IR_OK);
  assert_int_equal(out.type.dtype, DT_BF16);
  assert_true(op_get(&out, 0) == 1.0 && op_get(&out, 1) == -2.0);
  ir_buffer_unref(data);
  assert_int_equal(onnx_read_tensor_file(ONNX_DIR "u.pb", &out, &data, NULL, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "the tensor has element type UINT16, which lathe does not have");
  assert_int_equal(ir_write_file(ONNX_DIR "t.pb", buf, len - 2, &d), IR_OK);
  assert_int_equal(onnx_read_tensor_file(ONNX_DIR "t.pb", &out, &data, &name, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "t.pb: error: not a valid TensorProto");
  diag_end(&d);
}

/* The op table: sorted by op type and since-version, one row per pair, each row's counts
 * sane; look-up picks the row in force at an opset. */
static void test_op_table(void **state) {
  (void)state;
  const OnnxRule *prev = NULL;
  int rows = 0;
  for (const OnnxRule *r; (r = onnx_rule_at(rows)) != NULL; rows++) {
    assert_non_null(r->convert);
    assert_true(r->min_in >= 0 && r->min_in <= r->max_in && r->max_out >= 1);
    if (prev) {
      int c = strcmp(prev->op_type, r->op_type);
      assert_true(c < 0 || (c == 0 && prev->since < r->since));
    }
    prev = r;
  }
  assert_true(rows > 40);
  bool later;
  assert_int_equal(onnx_rule("Softmax", 12, &later)->since, 1);
  assert_int_equal(onnx_rule("Softmax", 13, &later)->since, 13);
  assert_int_equal(onnx_rule("Clip", 11, &later)->since, 11);
  assert_null(onnx_rule("HardSwish", 13, &later));
  assert_true(later);
  assert_null(onnx_rule("NoSuchOp", 13, &later));
  assert_false(later);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_conv_relu, teardown_pool),
      cmocka_unit_test_teardown(test_shape_subgraph_folds, teardown_pool),
      cmocka_unit_test_teardown(test_softmax_legacy, teardown_pool),
      cmocka_unit_test_teardown(test_cast_and_layer_norm, teardown_pool),
      cmocka_unit_test_teardown(test_gru_optional_inputs, teardown_pool),
      cmocka_unit_test_teardown(test_shape_override, teardown_pool),
      cmocka_unit_test_teardown(test_save_and_load, teardown_pool),
      cmocka_unit_test_teardown(test_truncated_and_corrupted, teardown_pool),
      cmocka_unit_test_teardown(test_nesting_bomb, teardown_pool),
      cmocka_unit_test_teardown(test_cycle, teardown_pool),
      cmocka_unit_test_teardown(test_bad_structure, teardown_pool),
      cmocka_unit_test_teardown(test_unsupported_report, teardown_pool),
      cmocka_unit_test_teardown(test_node_level_unsupported_and_freeze, teardown_pool),
      cmocka_unit_test_teardown(test_alloc_failures, teardown_pool),
      cmocka_unit_test_teardown(test_read_tensor_file, teardown_pool),
      cmocka_unit_test(test_op_table),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
