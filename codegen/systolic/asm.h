/* asm.h — the assembler and disassembler of the systolic unit's listing (docs/isa.md, "The
 * listing"). One instruction per line: a mnemonic, then key=value fields, then optional
 * wait=UNIT[,UNIT] and signal=UNIT[,UNIT]. The disassembler prints every field in the order of
 * the field table, so disassembling and assembling again gives the same bytes, and a listing
 * the disassembler printed assembles and disassembles to the same text. */
#ifndef LATHE_CODEGEN_SYSTOLIC_ASM_H
#define LATHE_CODEGEN_SYSTOLIC_ASM_H

#include <stdio.h>

#include "ir/base.h"
#include "runtime/systolic/isa.h"

/* Assembles text[0..len) (a file named name, for diagnostics; the caller has registered it with
 * diag_add_source for carets) into a new array *words (ir_free it) of *n words; when lines is not
 * NULL, *lines gets a new array (ir_free it) of each word's line number. Every error is reported
 * as name:line:col; on any error returns IR_ERR_INPUT with *words (and *lines) NULL. */
IrStatus sys_asm(const char *name, const char *text, size_t len, SysWord **words, int64_t *n, int **lines,
                 DiagSink *d);

/* Prints instruction i in the listing's canonical form (no newline) into buf[0..size). */
void sys_insn_format(const SysInsn *i, char *buf, size_t size);

/* Decodes the n words and prints the listing to out, one line per instruction. When a word is not
 * a valid instruction, reports `name: error: instruction K (byte B): why` for each such word,
 * prints nothing and returns IR_ERR_INPUT. */
IrStatus sys_disasm(FILE *out, const char *name, const SysWord *words, int64_t n, DiagSink *d);

#endif
