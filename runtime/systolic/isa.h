/* isa.h — the instruction set of lathe's systolic matrix unit (docs/isa.md is the reference):
 * the opcode table, the decoded form of an instruction, and its fixed 128-bit encoding.
 * The assembler, the program generator and the simulator all go through the field table in
 * isa.c, so the three cannot disagree about where a field lives. */
#ifndef LATHE_RUNTIME_SYSTOLIC_ISA_H
#define LATHE_RUNTIME_SYSTOLIC_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The instructions, each with its meaning. X(ENUM, mnemonic, meaning). Opcode numbers are the
 * positions in this list counted from 1; opcode 0 is invalid, so a zeroed word never runs. */
#define SYS_OPCODES(X)                                                                                   \
  X(CONFIG, "config", "set a unit's parameters: DMA stride and valid range, store type, requantizer, compute type") \
  X(LOAD, "load", "2-D strided DMA from DRAM into scratchpad or accumulator rows, zero outside the valid range") \
  X(LOADW, "loadw", "shift a weight tile from scratchpad rows into the array's shadow weight registers")   \
  X(MATMUL, "matmul", "stream scratchpad rows through the array; write or add the products to accumulator rows") \
  X(ALU, "alu", "element-wise operation on accumulator rows (add, max, add/max/min/multiply by an immediate, shift, move)") \
  X(STORE, "store", "accumulator rows to DRAM, requantized or converted on the way out")                  \
  X(SYNC, "sync", "fence: every unit finishes all earlier instructions before any later one starts")     \
  X(HALT, "halt", "end of program: instructions after the first halt are never run")

typedef enum {
  SYS_OP_INVALID = 0,
#define X(e, name, meaning) SYS_OP_##e,
  SYS_OPCODES(X)
#undef X
  SYS_OP_COUNT
} SysOpcode;

/* The three decoupled units, each with its own in-order instruction queue. */
typedef enum {
  SYS_UNIT_LOAD = 0,    /* DMA into the scratchpad and accumulator */
  SYS_UNIT_COMPUTE = 1, /* weight shifter, matrix array and ALU */
  SYS_UNIT_STORE = 2,   /* accumulator to DRAM */
  SYS_UNIT_ALL = 3,     /* SYNC and HALT: seen by every unit */
} SysUnit;

/* The sub-operations of CONFIG (the field `kind`); each belongs to one unit. */
typedef enum {
  SYS_CFG_LOAD = 0,    /* load unit: DRAM row stride and valid range */
  SYS_CFG_STORE = 1,   /* store unit: DRAM row stride, output type, activation */
  SYS_CFG_REQUANT = 2, /* store unit: the requantizer (multiplier, shift, zero point, clamp) */
  SYS_CFG_COMPUTE = 3, /* compute unit: element type of LOADW and MATMUL (int8 or bf16) */
  SYS_CFG_COUNT
} SysConfigKind;

/* The sub-operations of ALU (the field `op`). */
typedef enum {
  SYS_ALU_ADD = 0,  /* dst = src + src2 */
  SYS_ALU_MAX = 1,  /* dst = max(src, src2) (pooling) */
  SYS_ALU_ADDI = 2, /* dst = src + imm */
  SYS_ALU_MAXI = 3, /* dst = max(src, imm) (relu with imm = 0) */
  SYS_ALU_MINI = 4, /* dst = min(src, imm) (with maxi: clip) */
  SYS_ALU_SHR = 5,  /* dst = src / 2^imm, rounded half away from zero; imm in [0, 31] */
  SYS_ALU_MULI = 6, /* dst = src * imm (integers saturate to int32) */
  SYS_ALU_MOV = 7,  /* dst = src */
  SYS_ALU_COUNT
} SysAluOp;

/* Element types in memory (the fields `type` and `dtype`). */
typedef enum {
  SYS_T_I8 = 0,   /* signed 8-bit integer */
  SYS_T_BF16 = 1, /* bfloat16 */
  SYS_T_I32 = 2,  /* signed 32-bit integer (accumulator) */
  SYS_T_F32 = 3,  /* IEEE binary32 (accumulator) */
  SYS_T_COUNT
} SysType;

/* Dependency flags (VTA's pop/push of tokens). A unit's previous unit is the one before it in
 * load -> compute -> store; its next unit the one after. */
enum {
  SYS_DEP_WAIT_PREV = 1,   /* before starting, take a token the previous unit sent */
  SYS_DEP_WAIT_NEXT = 2,   /* before starting, take a token the next unit sent */
  SYS_DEP_SIGNAL_PREV = 4, /* when done, send a token to the previous unit */
  SYS_DEP_SIGNAL_NEXT = 8, /* when done, send a token to the next unit */
};

/* One 128-bit instruction word: bits 0..63 in lo, 64..127 in hi. Files store lo then hi,
 * each little-endian. */
typedef struct SysWord {
  uint64_t lo; /* bits 0..63 */
  uint64_t hi; /* bits 64..127 */
} SysWord;

/* A decoded instruction. Which members an instruction uses depends on its form (see the field
 * table in isa.c and docs/isa.md); unused members are 0. */
typedef struct SysInsn {
  SysOpcode op;   /* the opcode */
  int sub;        /* CONFIG: SysConfigKind; ALU: SysAluOp; otherwise 0 */
  unsigned deps;  /* SYS_DEP_* flags */
  int64_t row;    /* LOAD: first destination row; LOADW, MATMUL: first scratchpad row; ALU: first
                     destination row; STORE: first accumulator row */
  int64_t acc;    /* MATMUL: first accumulator row; ALU: first source row */
  int64_t src2;   /* ALU add/max: first row of the second source */
  int64_t dram;   /* LOAD, STORE: DRAM byte address (LOAD: the base the valid range counts from) */
  int64_t col0;   /* LOAD: element offset, from dram, of row 0's first element (may be negative) */
  int64_t rows;   /* LOAD, LOADW, MATMUL, ALU, STORE: number of rows */
  int64_t cols;   /* LOAD, LOADW, STORE: elements per row */
  int64_t to;     /* LOAD: 0 scratchpad, 1 accumulator */
  int64_t type;   /* LOAD: SysType of the data; CONFIG store: output type; CONFIG compute: i8 or bf16 */
  int64_t mode;   /* MATMUL: 0 overwrite the accumulator rows, 1 add to them */
  int64_t swap;   /* MATMUL: 1 first make the shadow weights (the last LOADW) active */
  int64_t stride; /* CONFIG load/store: elements between the starts of consecutive DRAM rows */
  int64_t limit;  /* CONFIG load: elements from the base that reads may touch; others read 0 */
  int64_t dcol;   /* CONFIG load: first destination column of a LOAD (0: also zero the rest) */
  int64_t act;    /* CONFIG store: 0 none, 1 relu */
  int64_t mult;   /* CONFIG requant: int32 multiplier */
  int64_t shift;  /* CONFIG requant: right shift, 0..63 */
  int64_t zp;     /* CONFIG requant: output zero point */
  int64_t lo;     /* CONFIG requant: lowest output value (after the zero point) */
  int64_t hi;     /* CONFIG requant: highest output value */
  int64_t imm;    /* ALU: the immediate (int32, or the bits of an f32 in bf16 mode) */
} SysInsn;

/* How a field's value is written in the listing. */
typedef enum {
  SYS_F_UINT,  /* unsigned decimal */
  SYS_F_SINT,  /* signed decimal (two's complement in the word) */
  SYS_F_ADDR,  /* unsigned, printed in hex */
  SYS_F_ENUM,  /* one of the names in `names` */
} SysFieldKind;

/* One field of an instruction form: where it lives in the word and in SysInsn. */
typedef struct SysField {
  const char *name;         /* the key in the listing (`rows=16`) */
  int lo;                   /* first bit in the 128-bit word */
  int width;                /* bits */
  SysFieldKind kind;        /* how it is read and printed */
  size_t offset;            /* offsetof(SysInsn, member) */
  const char *const *names; /* SYS_F_ENUM: names of values 0, 1, ...; NULL-terminated */
  bool required;            /* must appear in the listing (others default to 0) */
} SysField;

/* An instruction form: an opcode, with its sub-operation for CONFIG and ALU. */
typedef struct SysForm {
  const char *mnemonic;     /* "load", "config.store", "alu.addi", ... */
  SysOpcode op;             /* its opcode */
  int sub;                  /* its sub-operation (CONFIG kind, ALU op), else 0 */
  SysUnit unit;             /* the unit whose queue runs it */
  const SysField *fields;   /* its fields, in listing order */
  int nfields;              /* entries in fields */
} SysForm;

/* Bits 0..4 hold the opcode, 5..8 the dependency flags, 9..12 the sub-operation. */
enum { SYS_SUB_LO = 9, SYS_SUB_WIDTH = 4 };

extern const SysForm sys_forms[];
extern const int sys_nforms;
/* The names of the units, "load", "compute", "store", "all". */
extern const char *const sys_unit_names[4];
/* The names of SysType values: "i8", "bf16", "i32", "f32". */
extern const char *const sys_type_names[SYS_T_COUNT + 1];

/* Returns the opcode's mnemonic ("?" for an invalid one) and meaning (NULL when invalid). */
const char *sys_opcode_name(int op);
const char *sys_opcode_meaning(int op);
/* Returns the form of (op, sub), or NULL when there is none. */
const SysForm *sys_form_of(int op, int sub);
/* Returns the form named mnemonic[0..len), or NULL. */
const SysForm *sys_form_named(const char *mnemonic, size_t len);
/* Returns the unit whose queue runs instruction i. */
SysUnit sys_insn_unit(const SysInsn *i);

/* True when v fits field f (its width, sign and, for an enum, its names). */
bool sys_field_fits(const SysField *f, int64_t v);
/* Reads bits [lo, lo + width) of w (width <= 64). */
uint64_t sys_word_bits(const SysWord *w, int lo, int width);

/* Encodes i into *w. Returns false (and leaves a reason in why) when i has no form, a value does
 * not fit its field, or a dependency flag names a unit the instruction's unit has no link to. */
bool sys_encode(const SysInsn *i, SysWord *w, const char **why);
/* Decodes w into *i. Returns false (reason in why) for an invalid opcode or sub-operation, bits
 * set outside the form's fields, an enum value out of range, or a dependency flag naming a
 * unit its unit has no link to. Machine limits (rows, sizes) are checked by the simulator. */
bool sys_decode(const SysWord *w, SysInsn *i, const char **why);

/* Bytes of one element of type t (SysType). */
int sys_type_size(int t);

/* The header of a program file: this magic, then the version (uint32, little-endian) and the
 * number of instruction words that follow (uint32): 16 bytes, one word. */
#define SYS_FILE_MAGIC "LATHESYS"
enum { SYS_FILE_VERSION = 1, SYS_WORD_BYTES = 16 };
/* Writes the file header for n words into out[16]. */
void sys_file_header(uint32_t n, unsigned char out[SYS_WORD_BYTES]);
/* Checks a program file's bytes; on success sets *words to where the words begin and *n to their
 * count; otherwise returns false with a reason in why. */
bool sys_file_parse(const unsigned char *bytes, size_t len, const unsigned char **words, uint32_t *n,
                    const char **why);
/* Reads word k of a file body (16 little-endian bytes). */
SysWord sys_word_read(const unsigned char *p);
/* Writes w as 16 little-endian bytes. */
void sys_word_write(const SysWord *w, unsigned char *p);

#endif
