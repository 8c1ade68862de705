/* alias.c — scoped alias metadata (LLVM's !alias.scope / !noalias) telling the optimizer which
 * buffers of a kernel never overlap, so that it may keep a tile's accumulators in registers
 * across a reduction loop instead of storing Y after every multiply-add "in case" Y is X or W.
 *
 * Every workspace buffer is an offset from the one workspace pointer (every weight from the
 * one blob pointer), so LLVM alone cannot tell them apart. The facts given here are derived
 * from memory itself, not from the plan's intent: two buffers are disjoint when
 *  - they lie in the same object (the workspace, the weight blob, one input or one output)
 *    at byte ranges [offset, offset + bytes) that do not intersect (an input or output
 *    NestBuf covers its whole object, so two of the same one overlap), or
 *  - they lie in different objects and one of them is the workspace or an output: the body
 *    function's workspace and output parameters are `noalias` (shell.c), so nothing else
 *    the body reaches overlaps them. Two different inputs, or an input and the weight blob,
 *    are both read-only and may be the same memory as far as the ABI says: never disjoint.
 * Every load and store of a kernel stays inside its buffer (docs/codegen.md, the nest IR's
 * rules), so disjoint ranges mean disjoint accesses. Buffers the memory plan places over one
 * another (an in-place result written into a NestBuf of its own, a temporary in a gap) are
 * at intersecting ranges and get no noalias between them; in practice the plan's in-place
 * results share the operand's NestBuf and a kernel's buffers are all live at its step, so
 * they are disjoint (docs/llvm.md "Alias scopes"). */
#include "codegen/llvm/alias.h"

#include <string.h>

#include <llvm-c/DebugInfo.h> /* temporary nodes, for self-referring scopes */

/* True when the body's contract makes a buffer of kind k distinct from every other object. */
static bool noalias_object(NestBufKind k) { return k == NEST_BUF_WORKSPACE || k == NEST_BUF_OUTPUT; }

bool cg_llvm_alias_disjoint(const NestBuf *a, const NestBuf *b) {
  bool same_object = a->kind == b->kind &&
                     (a->kind == NEST_BUF_WORKSPACE || a->kind == NEST_BUF_WEIGHT || a->index == b->index);
  if (!same_object) return noalias_object(a->kind) || noalias_object(b->kind);
  if (a->kind == NEST_BUF_INPUT || a->kind == NEST_BUF_OUTPUT) return false;
  return a->offset + a->bytes <= b->offset || b->offset + b->bytes <= a->offset;
}

/* A distinct node !{self, rest...}: an alias domain or scope. */
static LLVMMetadataRef self_node(LLVMContextRef ctx, LLVMMetadataRef *rest, size_t n) {
  LLVMMetadataRef ops[3];
  LLVMMetadataRef tmp = LLVMTemporaryMDNode(ctx, NULL, 0);
  ops[0] = tmp;
  memcpy(ops + 1, rest, n * sizeof *rest);
  LLVMMetadataRef node = LLVMMDNodeInContext2(ctx, ops, n + 1);
  LLVMMetadataReplaceAllUsesWith(tmp, node);
  return node;
}

bool cg_llvm_alias_kernel(LLVMContextRef ctx, const NestProgram *p, const NestKernel *k, const NestBufOrder *o,
                          LLVMValueRef *scope, LLVMValueRef *noalias) {
  LLVMMetadataRef *scopes = ir_calloc((size_t)o->n + 1, sizeof *scopes);
  LLVMMetadataRef *list = ir_calloc((size_t)o->n + 1, sizeof *list);
  bool ok = scopes && list;
  for (int i = 0; i < o->n; i++) scope[i] = noalias[i] = NULL;
  if (ok) {
    LLVMMetadataRef kname = LLVMMDStringInContext2(ctx, k->name, strlen(k->name));
    LLVMMetadataRef domain = self_node(ctx, &kname, 1);
    for (int i = 0; i < o->n; i++) {
      const char *name = p->bufs[o->bufs[i]].name;
      LLVMMetadataRef rest[] = {domain, LLVMMDStringInContext2(ctx, name, strlen(name))};
      scopes[i] = self_node(ctx, rest, 2);
      scope[i] = LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, &scopes[i], 1));
    }
    for (int i = 0; i < o->n; i++) {
      size_t n = 0;
      for (int j = 0; j < o->n; j++)
        if (j != i && cg_llvm_alias_disjoint(&p->bufs[o->bufs[i]], &p->bufs[o->bufs[j]])) list[n++] = scopes[j];
      if (n > 0) noalias[i] = LLVMMetadataAsValue(ctx, LLVMMDNodeInContext2(ctx, list, n));
    }
  }
  ir_free(scopes);
  ir_free(list);
  return ok;
}

void cg_llvm_alias_set(LLVMContextRef ctx, LLVMValueRef inst, LLVMValueRef scope, LLVMValueRef noalias) {
  if (!scope) return;
  LLVMSetMetadata(inst, LLVMGetMDKindIDInContext(ctx, "alias.scope", 11), scope);
  if (noalias) LLVMSetMetadata(inst, LLVMGetMDKindIDInContext(ctx, "noalias", 7), noalias);
}
