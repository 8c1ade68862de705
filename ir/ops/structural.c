/* structural.c — ops that move data rather than compute: const, fused and reorder. */
#include "ir/interp.h"

#include <string.h>

/* ---- const: a tensor carried by the node ------------------------------------------------------ */

static const AttrSpec no_attrs[] = {{0}};

/* The result's type is the declared one; the data is checked when weights are attached. */
static bool const_infer(InferCtx *c) { (void)c; return true; }

/* Unpacks the node's physical data into the plain result. */
static IrStatus const_eval(EvalCtx *c) {
  const Node *n = c->node;
  const Value *v = &c->g->values[n->outputs[0]];
  if (!n->data || n->data->size != ir_type_bytes(&v->type))
    return op_eval_fail(c, "const has no data loaded (were the weights attached?)");
  ir_tensor_unpack(&v->type, n->data->data, c->out[0].type.dtype, c->out[0].data);
  return IR_OK;
}

const OpImpl ir_impl_const = {no_attrs, const_infer, const_eval, NULL};

/* ---- fused: a region run as one op --------------------------------------------------------- */

/* The verifier checks the body and takes the result types from its yield. */
static bool fused_infer(InferCtx *c) { (void)c; return true; }

/* Runs the body on the operands. */
static IrStatus fused_eval(EvalCtx *c) {
  return ir_interp_region(c->interp, c->node->body, c->in, c->out);
}

/* Sums the multiply-accumulates of the body's nodes. */
static int64_t fused_macs(const Graph *g, const Node *n) {
  int64_t total = 0;
  for (int i = 0; i < n->body->nnodes; i++) {
    const Node *m = &g->nodes[n->body->nodes[i]];
    if (ir_ops[m->op].impl->macs) total += ir_ops[m->op].impl->macs(g, m);
  }
  return total;
}

const OpImpl ir_impl_fused = {no_attrs, fused_infer, fused_eval, fused_macs};

/* ---- reorder: the same logical tensor in another layout ---------------------------------------- */

/* The result keeps the operand's logical shape, element type and quantization; only the
 * declared layout differs. */
static bool reorder_infer(InferCtx *c) {
  const Layout *layout = c->out[0].layout;
  c->out[0] = *c->in[0];
  c->out[0].layout = layout;
  return true;
}

/* Logical data is unchanged: the interpreter repacks it into the result's layout. */
static IrStatus reorder_eval(EvalCtx *c) {
  int64_t bytes = ir_type_numel(&c->in[0].type) * ir_dtype_size(c->in[0].type.dtype);
  memcpy(c->out[0].data, c->in[0].data, (size_t)bytes);
  return IR_OK;
}

const OpImpl ir_impl_reorder = {no_attrs, reorder_infer, reorder_eval, NULL};
