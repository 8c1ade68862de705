/* systolic.c — the systolic unit's commands: lathe asm, lathe disasm and lathe sim. Only
 * main()-level work happens here: options, files, printing; the assembler, generator and
 * SCALE-Sim readers live in codegen/systolic/, the simulator in runtime/systolic/. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/systolic/asm.h"
#include "codegen/systolic/gen.h"
#include "codegen/systolic/scalesim.h"
#include "frontend/npy.h"
#include "ir/fs.h"
#include "tools/commands.h"

static const char *const asm_usage =
    "usage: lathe asm FILE.s -o FILE.bin\n"
    "\n"
    "Assembles a listing of the systolic unit's instructions (docs/isa.md): one instruction a\n"
    "line, a mnemonic and key=value fields, `#` or `;` starting a comment. The output is the\n"
    "16-byte LATHESYS header and one 16-byte word per instruction. Errors are reported as\n"
    "FILE:line:col with the line and a caret; nothing is written then.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE.bin  where to write the program (replaced only when all is written)\n"
    "  -h, --help             print this help\n";

static const char *const disasm_usage =
    "usage: lathe disasm FILE.bin [-o FILE.s]\n"
    "\n"
    "Prints the listing of a program, one instruction a line (line k + 1 is instruction k), with\n"
    "every field: `lathe asm` turns it back into the same bytes.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE.s    write the listing to FILE.s instead of standard output\n"
    "  -h, --help             print this help\n";

static const char *const sim_usage =
    "usage: lathe sim PROGRAM [machine options] [--dram-in ...]... [--dram-out ...]...\n"
    "       lathe sim --topology FILE.csv --config FILE.cfg [--scalesim-compat] [-o OUT.csv]\n"
    "\n"
    "The first form runs a program (a .bin from `lathe asm`, or a listing, which is assembled\n"
    "first) on the simulator and prints its cycles split by cause (matrix busy, weight\n"
    "load/shift, input stall, dependency stall, non-matrix), the array's utilization, the\n"
    "instructions run and the DRAM, scratchpad and accumulator traffic.\n"
    "\n"
    "The second form reads a SCALE-Sim v2 topology and config and writes SCALE-Sim's\n"
    "COMPUTE_REPORT.csv columns, one row per layer, to OUT.csv or standard output. With\n"
    "--scalesim-compat the figures are SCALE-Sim's own analytical (stall-free) counts for the\n"
    "config's dataflow; without it every layer is tiled into a program and run on lathe's\n"
    "weight-stationary machine (int8, random data), and a summary goes to standard error.\n"
    "\n"
    "program options:\n"
    "  --dram-in ADDR[:bf16]=FILE.npy    copy the array's bytes into DRAM at ADDR before the run\n"
    "                                    (:bf16 rounds an f32 array to bf16 on the way)\n"
    "  --dram-out ADDR:SHAPE:TYPE=FILE.npy  after the run, write the SHAPE (e.g. 4x16) array of\n"
    "                                    TYPE (i8, u8, i32, f32 or bf16, which is written as f32)\n"
    "                                    found at ADDR\n"
    "  --array RxC          array rows x columns (default 16x16)\n"
    "  --spad-kib N         scratchpad KiB, N * 1024 / max(R, C) rows (default 256)\n"
    "  --acc-kib N          accumulator KiB, N * 1024 / (4 * C) rows (default 64)\n"
    "  --dram-mib N         DRAM MiB (default 64)\n"
    "\n"
    "options of both forms:\n"
    "  --bw N               DRAM bytes per cycle (default 32; for a topology the config's\n"
    "                       Bandwidth with InterfaceBandwidth USER, R + C with CALC)\n"
    "  --latency N          DRAM latency in cycles (default 100)\n"
    "  --max-cycles N       stop a run that passes N cycles (default 2^40)\n"
    "  --timing-only        simulate time only, leaving memories untouched\n"
    "\n"
    "topology options:\n"
    "  --topology FILE.csv  the layers (SCALE-Sim's convolution or M, N, K GEMM format)\n"
    "  --config FILE.cfg    the SCALE-Sim config: array size, SRAM sizes, dataflow, bandwidth\n"
    "  --gemm, --conv       read the topology as GEMM or convolution rows (default: GEMM when\n"
    "                       its header's second column is M)\n"
    "  --scalesim-compat    SCALE-Sim v2's analytical counts instead of lathe's timing model\n"
    "  -o, --output FILE    write the report to FILE\n"
    "  -q, --quiet          no summary on standard error\n"
    "  -h, --help           print this help\n";

/* ---- programs in files ---------------------------------------------------------------------- */

/* A program read from a file: its words and, for a listing, each word's line. */
typedef struct LoadedProgram {
  SysWord *words;    /* the instructions */
  int64_t n;         /* their count */
  int *lines;        /* for a listing, each instruction's line; else NULL */
  const char *name;  /* the file name, interned by the sink */
} LoadedProgram;

/* Reads a program file: a LATHESYS binary, or (when allow_listing) a listing to assemble. */
static IrStatus program_read(const char *path, bool allow_listing, LoadedProgram *lp, DiagSink *d) {
  memset(lp, 0, sizeof *lp);
  lp->name = path;
  IrBuffer *buf;
  IrStatus st = ir_read_file(path, IR_MAX_FILE_BYTES, &buf, d);
  if (st != IR_OK) return st;
  const unsigned char *bytes = buf->data, *body;
  size_t len = (size_t)buf->size;
  uint32_t count;
  const char *why = NULL;
  bool binary = len >= 8 && memcmp(bytes, SYS_FILE_MAGIC, 8) == 0;
  if (binary && sys_file_parse(bytes, len, &body, &count, &why)) {
    lp->words = ir_malloc((size_t)count * sizeof *lp->words + 1);
    if (!lp->words) st = diag_oom(d, loc_file(path));
    for (uint32_t k = 0; st == IR_OK && k < count; k++) lp->words[k] = sys_word_read(body + (size_t)k * SYS_WORD_BYTES);
    lp->n = count;
  } else if (binary || !allow_listing) {
    diag_error(d, loc_file(path), "%s", why ? why : "not a lathe systolic program (no LATHESYS header)");
    st = IR_ERR_INPUT;
  } else {
    const char *name = diag_add_source(d, path, (const char *)bytes, len);
    if (!name) st = diag_oom(d, loc_file(path));
    else {
      lp->name = name;
      st = sys_asm(name, (const char *)bytes, len, &lp->words, &lp->n, &lp->lines, d);
    }
  }
  ir_buffer_unref(buf);
  return st;
}

/* Frees what program_read made. */
static void program_free(LoadedProgram *lp) {
  ir_free(lp->words);
  ir_free(lp->lines);
  memset(lp, 0, sizeof *lp);
}

/* Writes the n words as a program file at path (safely). */
static IrStatus program_write(const char *path, const SysWord *words, int64_t n, DiagSink *d) {
  IrOutFile o;
  IrStatus st = ir_out_open(&o, path, d);
  if (st != IR_OK) return st;
  unsigned char w[SYS_WORD_BYTES];
  sys_file_header((uint32_t)n, w);
  fwrite(w, 1, sizeof w, o.f);
  for (int64_t k = 0; k < n; k++) {
    sys_word_write(&words[k], w);
    fwrite(w, 1, sizeof w, o.f);
  }
  return ir_out_commit(&o, d);
}

/* ---- asm and disasm ------------------------------------------------------------------------- */

int cmd_asm(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
  const char *out = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    if (c == 'h') { fputs(asm_usage, stdout); return EXIT_OK; }
    if (c == 'o') out = optarg;
    else return usage_error("asm", "%s", "unknown option");
  }
  if (optind != argc - 1) return usage_error("asm", "%s", "expected one FILE.s");
  if (!out) return usage_error("asm", "%s", "expected -o FILE.bin");
  DiagSink d;
  diag_init(&d, stderr);
  IrBuffer *buf;
  IrStatus st = ir_read_file(argv[optind], IR_MAX_FILE_BYTES, &buf, &d);
  if (st == IR_OK) {
    const char *name = diag_add_source(&d, argv[optind], buf->data, (size_t)buf->size);
    SysWord *words = NULL;
    int64_t n = 0;
    st = name ? sys_asm(name, buf->data, (size_t)buf->size, &words, &n, NULL, &d) : diag_oom(&d, loc_file(argv[optind]));
    if (st == IR_OK && n > UINT32_MAX) {
      diag_error(&d, loc_file(argv[optind]), "a program holds at most 2^32 - 1 instructions");
      st = IR_ERR_INPUT;
    }
    if (st == IR_OK) st = program_write(out, words, n, &d);
    ir_free(words);
    ir_buffer_unref(buf);
  }
  diag_free(&d);
  return exit_code(st);
}

int cmd_disasm(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
  const char *out = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    if (c == 'h') { fputs(disasm_usage, stdout); return EXIT_OK; }
    if (c == 'o') out = optarg;
    else return usage_error("disasm", "%s", "unknown option");
  }
  if (optind != argc - 1) return usage_error("disasm", "%s", "expected one FILE.bin");
  DiagSink d;
  diag_init(&d, stderr);
  LoadedProgram lp;
  IrStatus st = program_read(argv[optind], false, &lp, &d);
  if (st == IR_OK && out) {
    IrOutFile o;
    st = ir_out_open(&o, out, &d);
    if (st == IR_OK) {
      st = sys_disasm(o.f, lp.name, lp.words, lp.n, &d);
      if (st == IR_OK) st = ir_out_commit(&o, &d);
      else ir_out_abort(&o);
    }
  } else if (st == IR_OK) {
    st = sys_disasm(stdout, lp.name, lp.words, lp.n, &d);
  }
  program_free(&lp);
  diag_free(&d);
  return exit_code(st);
}

/* ---- sim: options ----------------------------------------------------------------------------- */

/* What `lathe sim` was asked to do. */
typedef struct SimOpts {
  SysParams params;        /* the machine (program runs) */
  bool machine_given;      /* --array, --spad-kib, --acc-kib or --dram-mib was given */
  int64_t bw, latency;     /* --bw and --latency (-1: not given) */
  const char *program;     /* the program file (first form) */
  const char *topology;    /* --topology */
  const char *config;      /* --config */
  const char *output;      /* -o */
  SysTopoKind kind;        /* --gemm / --conv */
  bool compat;             /* --scalesim-compat */
  bool quiet;              /* -q */
  const char **ins;        /* --dram-in specs */
  int nins;                /* their count */
  const char **outs;       /* --dram-out specs */
  int nouts;               /* their count */
} SimOpts;

/* Parses a non-negative integer (decimal or 0x hex) filling all of s. */
static bool parse_u64(const char *s, int64_t *out) {
  if (!*s || *s == '-') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (*end || errno || v > INT64_MAX) return false;
  *out = (int64_t)v;
  return true;
}

/* Parses "RxC". */
static bool parse_array(const char *s, int64_t *r, int64_t *c) {
  char buf[64];
  const char *x = strchr(s, 'x');
  if (!x || (size_t)(x - s) >= sizeof buf) return false;
  memcpy(buf, s, (size_t)(x - s));
  buf[x - s] = 0;
  return parse_u64(buf, r) && parse_u64(x + 1, c) && *r > 0 && *c > 0;
}

enum { O_TOPO = 256, O_CFG, O_COMPAT, O_GEMM, O_CONV, O_ARRAY, O_SPAD, O_ACC, O_DRAM, O_BW, O_LAT, O_MAXC, O_TIMING, O_IN, O_OUT };

/* Applies one numeric machine option; false when its value is bad. */
static bool sim_machine_opt(SimOpts *o, int c, const char *arg, int64_t *spad_kib, int64_t *acc_kib) {
  int64_t v;
  switch (c) {
  case O_ARRAY: o->machine_given = true; return parse_array(arg, &o->params.rows, &o->params.cols);
  case O_SPAD: o->machine_given = true; return parse_u64(arg, spad_kib) && *spad_kib > 0;
  case O_ACC: o->machine_given = true; return parse_u64(arg, acc_kib) && *acc_kib > 0;
  case O_DRAM:
    o->machine_given = true;
    if (!parse_u64(arg, &v) || v < 1 || v > 4096) return false;
    o->params.dram_bytes = v << 20;
    return true;
  case O_BW: return parse_u64(arg, &o->bw) && o->bw > 0;
  case O_LAT: return parse_u64(arg, &o->latency);
  case O_MAXC: return parse_u64(arg, &o->params.max_cycles) && o->params.max_cycles > 0;
  default: return false;
  }
}

/* Parses sim's options into *o; returns EXIT_OK or the usage error's exit code (-1: --help). */
static int sim_parse(int argc, char **argv, SimOpts *o) {
  static const struct option opts[] = {
      {"help", no_argument, 0, 'h'},        {"output", required_argument, 0, 'o'},  {"quiet", no_argument, 0, 'q'},
      {"topology", required_argument, 0, O_TOPO}, {"config", required_argument, 0, O_CFG},
      {"scalesim-compat", no_argument, 0, O_COMPAT}, {"gemm", no_argument, 0, O_GEMM}, {"conv", no_argument, 0, O_CONV},
      {"array", required_argument, 0, O_ARRAY}, {"spad-kib", required_argument, 0, O_SPAD},
      {"acc-kib", required_argument, 0, O_ACC},  {"dram-mib", required_argument, 0, O_DRAM},
      {"bw", required_argument, 0, O_BW},        {"latency", required_argument, 0, O_LAT},
      {"max-cycles", required_argument, 0, O_MAXC}, {"timing-only", no_argument, 0, O_TIMING},
      {"dram-in", required_argument, 0, O_IN},   {"dram-out", required_argument, 0, O_OUT}, {0, 0, 0, 0}};
  int64_t spad_kib = 256, acc_kib = 64;
  int c, li = 0;
  while ((c = getopt_long(argc, argv, "ho:q", opts, &li)) != -1) {
    switch (c) {
    case 'h': fputs(sim_usage, stdout); return -1;
    case 'o': o->output = optarg; break;
    case 'q': o->quiet = true; break;
    case O_TOPO: o->topology = optarg; break;
    case O_CFG: o->config = optarg; break;
    case O_COMPAT: o->compat = true; break;
    case O_GEMM: o->kind = SYS_TOPO_GEMM; break;
    case O_CONV: o->kind = SYS_TOPO_CONV; break;
    case O_TIMING: o->params.functional = false; break;
    case O_IN:
      if (!strchr(optarg, '=')) return usage_error("sim", "--dram-in needs ADDR=FILE.npy, not '%s'", optarg);
      o->ins[o->nins++] = optarg;
      break;
    case O_OUT:
      if (!strchr(optarg, '=')) return usage_error("sim", "--dram-out needs ADDR:SHAPE:TYPE=FILE.npy, not '%s'", optarg);
      o->outs[o->nouts++] = optarg;
      break;
    case '?': return usage_error("sim", "%s", "unknown option or missing value");
    default:
      if (!sim_machine_opt(o, c, optarg, &spad_kib, &acc_kib))
        return usage_error("sim", "bad value '%s' for --%s", optarg, opts[li].name);
    }
  }
  int64_t width = o->params.rows > o->params.cols ? o->params.rows : o->params.cols;
  o->params.spad_rows = spad_kib * 1024 / width;
  o->params.acc_rows = acc_kib * 1024 / (4 * o->params.cols);
  if (o->topology || o->config) {
    if (!o->topology || !o->config) return usage_error("sim", "%s", "--topology and --config go together");
    if (optind != argc) return usage_error("sim", "%s", "a topology run takes no PROGRAM");
    if (o->machine_given) return usage_error("sim", "%s", "a topology run takes the array and memories from --config");
    if (o->nins || o->nouts) return usage_error("sim", "%s", "--dram-in and --dram-out are for program runs");
    return EXIT_OK;
  }
  if (o->compat || o->kind != SYS_TOPO_AUTO) return usage_error("sim", "%s", "--scalesim-compat, --gemm and --conv need --topology");
  if (optind != argc - 1) return usage_error("sim", "%s", "expected one PROGRAM (or --topology and --config)");
  o->program = argv[optind];
  return EXIT_OK;
}

/* ---- sim: binding DRAM ------------------------------------------------------------------------- */

/* Copies one --dram-in ADDR[:bf16]=FILE.npy into DRAM. */
static IrStatus bind_in(SysMachine *m, const char *spec, DiagSink *d) {
  const char *eq = strchr(spec, '=');
  char head[128];
  snprintf(head, sizeof head, "%.*s", (int)(eq - spec < 127 ? eq - spec : 127), spec);
  char *colon = strchr(head, ':');
  bool to_bf16 = colon && !strcmp(colon + 1, "bf16");
  if (colon) *colon = 0;
  int64_t addr;
  if (!parse_u64(head, &addr) || (colon && !to_bf16)) {
    diag_error(d, loc_none(), "--dram-in %s: expected ADDR=FILE.npy or ADDR:bf16=FILE.npy", spec);
    return IR_ERR_USAGE;
  }
  Tensor t;
  IrBuffer *buf;
  IrStatus st = npy_read(eq + 1, &t, &buf, d);
  if (st != IR_OK) return st;
  int64_t n = ir_type_numel(&t.type);
  if (to_bf16 && t.type.dtype != DT_F32) {
    diag_error(d, loc_file(eq + 1), "--dram-in ...:bf16 needs an f32 array, not %s", ir_dtype_name(t.type.dtype));
    st = IR_ERR_INPUT;
  }
  int64_t bytes = to_bf16 ? 2 * n : ir_type_bytes(&t.type);
  if (st == IR_OK && (addr > sys_params(m)->dram_bytes || bytes > sys_params(m)->dram_bytes - addr)) {
    diag_error(d, loc_file(eq + 1), "%lld bytes at 0x%llx do not fit the %lld-byte DRAM", (long long)bytes,
               (unsigned long long)addr, (long long)sys_params(m)->dram_bytes);
    st = IR_ERR_INPUT;
  }
  uint8_t *dst = sys_dram(m) + (st == IR_OK ? addr : 0);
  for (int64_t k = 0; st == IR_OK && to_bf16 && k < n; k++) {
    uint16_t h = ir_f32_to_bf16(((const float *)t.data)[k]);
    dst[2 * k] = (uint8_t)h;
    dst[2 * k + 1] = (uint8_t)(h >> 8);
  }
  if (st == IR_OK && !to_bf16) memcpy(dst, t.data, (size_t)bytes);
  ir_buffer_unref(buf);
  return st;
}

/* Parses a --dram-out spec's ADDR:SHAPE:TYPE into addr, type (dtype, bf16 flag) and shape. */
static bool parse_out_spec(const char *spec, int64_t *addr, TensorType *tt, bool *bf16) {
  char head[256];
  const char *eq = strchr(spec, '=');
  if ((size_t)(eq - spec) >= sizeof head) return false;
  memcpy(head, spec, (size_t)(eq - spec));
  head[eq - spec] = 0;
  char *c1 = strchr(head, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (!c2) return false;
  *c1 = *c2 = 0;
  memset(tt, 0, sizeof *tt);
  *bf16 = !strcmp(c2 + 1, "bf16");
  tt->dtype = *bf16 ? DT_F32 : ir_dtype_parse(c2 + 1, strlen(c2 + 1));
  if (!parse_u64(head, addr) || (tt->dtype != DT_I8 && tt->dtype != DT_U8 && tt->dtype != DT_I32 && tt->dtype != DT_F32))
    return false;
  for (char *p = c1 + 1; *p;) {
    char *end;
    if (tt->rank == IR_MAX_RANK || *p < '0' || *p > '9') return false;
    long long v = strtoll(p, &end, 10);
    if (v < 1 || v > ((int64_t)1 << 32)) return false;
    tt->dims[tt->rank++] = v;
    p = *end == 'x' || *end == ',' ? end + 1 : end;
    if (end == p && *p) return false;
  }
  return tt->rank > 0;
}

/* Writes one --dram-out ADDR:SHAPE:TYPE=FILE.npy from DRAM. */
static IrStatus bind_out(SysMachine *m, const char *spec, DiagSink *d) {
  int64_t addr;
  TensorType tt;
  bool bf16;
  if (!parse_out_spec(spec, &addr, &tt, &bf16)) {
    diag_error(d, loc_none(), "--dram-out %s: expected ADDR:SHAPE:TYPE=FILE.npy, SHAPE like 4x16, TYPE i8, u8, i32, f32 or bf16", spec);
    return IR_ERR_USAGE;
  }
  int64_t n = ir_type_numel(&tt), bytes = bf16 ? 2 * n : ir_type_bytes(&tt);
  const char *path = strchr(spec, '=') + 1;
  if (addr > sys_params(m)->dram_bytes || bytes > sys_params(m)->dram_bytes - addr) {
    diag_error(d, loc_file(path), "%lld bytes at 0x%llx do not fit the %lld-byte DRAM", (long long)bytes,
               (unsigned long long)addr, (long long)sys_params(m)->dram_bytes);
    return IR_ERR_INPUT;
  }
  void *data = ir_malloc((size_t)(n * ir_dtype_size(tt.dtype)) + 1);
  if (!data) return diag_oom(d, loc_file(path));
  const uint8_t *src = sys_dram(m) + addr;
  for (int64_t k = 0; bf16 && k < n; k++) ((float *)data)[k] = ir_bf16_to_f32((uint16_t)(src[2 * k] | src[2 * k + 1] << 8));
  if (!bf16) memcpy(data, src, (size_t)bytes);
  Tensor t = {tt, data};
  IrStatus st = npy_write(path, &t, d);
  ir_free(data);
  return st;
}

/* ---- sim: reports ------------------------------------------------------------------------------ */

/* Prints the cycle breakdown, utilization, instruction counts and traffic of a run. */
static void print_stats(FILE *f, const SysStats *s, const SysParams *p) {
  fprintf(f, "cycles: %lld\n", (long long)s->cycles);
  for (int c = 0; c < SYS_C_COUNT; c++)
    fprintf(f, "  %-18s %12lld  %5.1f%%\n", sys_cause_names[c], (long long)s->by_cause[c],
            s->cycles ? 100.0 * (double)s->by_cause[c] / (double)s->cycles : 0.0);
  fprintf(f, "utilization: %.2f%% (%lld useful MACs on a %lldx%lld array)\n", 100 * sys_utilization(s, p),
          (long long)s->useful_macs, (long long)p->rows, (long long)p->cols);
  fprintf(f, "instructions:");
  for (int op = 1; op < SYS_OP_COUNT; op++) fprintf(f, " %s %lld", sys_opcode_name(op), (long long)s->insns[op]);
  fprintf(f, "\nDRAM: read %lld bytes, written %lld bytes\n", (long long)s->dram_read, (long long)s->dram_write);
  fprintf(f, "scratchpad: read %lld bytes, written %lld bytes\n", (long long)s->spad_read, (long long)s->spad_write);
  fprintf(f, "accumulator: read %lld bytes, written %lld bytes\n", (long long)s->acc_read, (long long)s->acc_write);
}

/* Reports a failed run at its instruction: the listing's line when the program came from one. */
static void report_run_error(SysMachine *m, const LoadedProgram *lp, DiagSink *d) {
  int64_t pc = sys_error_pc(m);
  Loc loc = loc_file(lp->name);
  if (lp->lines && pc >= 0 && pc < lp->n) {
    loc.line = lp->lines[pc];
    loc.col = 1;
  }
  diag_error(d, loc, "%s", sys_error(m));
}

/* Runs a program file on a machine built from the options. */
static IrStatus sim_program(const SimOpts *o, DiagSink *d) {
  LoadedProgram lp;
  IrStatus st = program_read(o->program, true, &lp, d);
  SysMachine *m = NULL;
  char err[256];
  if (st == IR_OK) {
    st = sys_create(&o->params, &m, err, sizeof err);
    if (st != IR_OK) diag_error(d, loc_none(), "cannot build the machine: %s", err);
  }
  for (int k = 0; st == IR_OK && k < o->nins; k++) st = bind_in(m, o->ins[k], d);
  SysStats s;
  if (st == IR_OK) {
    st = sys_run(m, lp.words, lp.n, &s);
    if (st != IR_OK) report_run_error(m, &lp, d);
  }
  if (st == IR_OK) print_stats(stdout, &s, &o->params);
  for (int k = 0; st == IR_OK && k < o->nouts; k++) st = bind_out(m, o->outs[k], d);
  sys_destroy(m);
  program_free(&lp);
  return st;
}

/* Seconds on a monotonic clock. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fills the machine of a topology run from the SCALE-Sim config and the options. */
static void topology_machine(const SimOpts *o, const SysScaleCfg *cfg, const SysTopology *topo, SysParams *p) {
  *p = o->params;
  p->rows = cfg->array_h;
  p->cols = cfg->array_w;
  int64_t width = p->rows > p->cols ? p->rows : p->cols;
  /* Row addresses have 20 bits: larger SRAMs are cut to 2^20 rows. */
  p->spad_rows = (cfg->ifmap_kb + cfg->filter_kb) * 1024 / width;
  p->acc_rows = cfg->ofmap_kb * 1024 / (4 * p->cols);
  if (p->spad_rows > (1 << 20)) p->spad_rows = 1 << 20;
  if (p->acc_rows > (1 << 20)) p->acc_rows = 1 << 20;
  p->dram_bw = o->bw > 0 ? o->bw : cfg->user_bw ? cfg->bandwidth : p->rows + p->cols;
  int64_t need = 1;
  for (int64_t k = 0; k < topo->n; k++) {
    SysConv cv;
    int64_t b = sys_layer_conv(&topo->layers[k], &cv);
    if (b > need) need = b;
  }
  p->dram_bytes = need;
}

/* Runs every layer on lathe's machine, writing report rows to out and a summary to stderr. */
static IrStatus topology_full(const SimOpts *o, const SysScaleCfg *cfg, const SysTopology *topo, FILE *out, DiagSink *d) {
  SysParams p;
  topology_machine(o, cfg, topo, &p);
  SysMachine *m;
  char err[512];
  IrStatus st = sys_create(&p, &m, err, sizeof err);
  if (st != IR_OK) {
    diag_error(d, loc_file(o->config), "cannot build the machine: %s", err);
    return st;
  }
  if (cfg->df != SYS_DF_WS && !o->quiet)
    fprintf(stderr, "lathe sim: note: lathe's array is weight-stationary; the layers run as ws (use --scalesim-compat for SCALE-Sim's %s counts)\n",
            cfg->df == SYS_DF_OS ? "os" : "is");
  SysStats total;
  memset(&total, 0, sizeof total);
  double t0 = now_s();
  sys_report_header(out);
  for (int64_t k = 0; st == IR_OK && k < topo->n; k++) {
    SysStats s;
    SysReportRow row;
    st = sys_layer_run(m, &topo->layers[k], (uint64_t)k, &s, &row, err, sizeof err);
    if (st != IR_OK) { diag_error(d, loc_file(o->topology), "%s", err); break; }
    sys_report_row(out, k, &row);
    total.cycles += s.cycles;
    total.useful_macs += s.useful_macs;
    for (int c = 0; c < SYS_C_COUNT; c++) total.by_cause[c] += s.by_cause[c];
    for (int op = 0; op < SYS_OP_COUNT; op++) total.insns[op] += s.insns[op];
    total.dram_read += s.dram_read;
    total.dram_write += s.dram_write;
    total.spad_read += s.spad_read;
    total.spad_write += s.spad_write;
    total.acc_read += s.acc_read;
    total.acc_write += s.acc_write;
  }
  if (st == IR_OK && !o->quiet) {
    fprintf(stderr, "%lld layers on a %lldx%lld array, %s, DRAM %lld bytes/cycle: simulated in %.2f s\n",
            (long long)topo->n, (long long)p.rows, (long long)p.cols, p.functional ? "function and time" : "time only",
            (long long)p.dram_bw, now_s() - t0);
    print_stats(stderr, &total, &p);
  }
  sys_destroy(m);
  return st;
}

/* Writes SCALE-Sim's own analytical figures for every layer. */
static void topology_compat(const SimOpts *o, const SysScaleCfg *cfg, const SysTopology *topo, FILE *out) {
  if (cfg->user_bw && !o->quiet)
    fprintf(stderr, "lathe sim: note: InterfaceBandwidth is USER; SCALE-Sim would add its DRAM stalls, these are its stall-free (CALC) counts\n");
  sys_report_header(out);
  for (int64_t k = 0; k < topo->n; k++) {
    SysReportRow row;
    sys_scalesim_compat(&topo->layers[k], cfg->array_h, cfg->array_w, cfg->df, &row);
    sys_report_row(out, k, &row);
  }
}

/* Runs a SCALE-Sim topology with its config, writing the report to -o or standard output. */
static IrStatus sim_topology(const SimOpts *o, DiagSink *d) {
  SysScaleCfg cfg;
  SysTopology topo;
  IrStatus st = sys_scalecfg_read(o->config, &cfg, d);
  if (st != IR_OK) return st;
  st = sys_topology_read(o->topology, o->kind, &topo, d);
  if (st != IR_OK) return st;
  IrOutFile of;
  memset(&of, 0, sizeof of);
  FILE *out = stdout;
  if (o->output) {
    st = ir_out_open(&of, o->output, d);
    out = of.f;
  }
  if (st == IR_OK && o->compat) topology_compat(o, &cfg, &topo, out);
  else if (st == IR_OK) st = topology_full(o, &cfg, &topo, out, d);
  if (o->output && st == IR_OK) st = ir_out_commit(&of, d);
  else if (o->output) ir_out_abort(&of);
  sys_topology_free(&topo);
  return st;
}

int cmd_sim(int argc, char **argv) {
  SimOpts o;
  memset(&o, 0, sizeof o);
  sys_params_default(&o.params);
  o.bw = o.latency = -1;
  o.ins = calloc((size_t)argc + 1, sizeof *o.ins);
  o.outs = calloc((size_t)argc + 1, sizeof *o.outs);
  if (!o.ins || !o.outs) {
    free(o.ins);
    free(o.outs);
    fputs("lathe: out of memory\n", stderr);
    return EXIT_INPUT;
  }
  int rc = sim_parse(argc, argv, &o);
  if (o.bw > 0) o.params.dram_bw = o.bw;
  if (o.latency >= 0) o.params.dram_latency = o.latency;
  if (rc == EXIT_OK) {
    DiagSink d;
    diag_init(&d, stderr);
    rc = exit_code(o.topology ? sim_topology(&o, &d) : sim_program(&o, &d));
    diag_free(&d);
  }
  free(o.ins);
  free(o.outs);
  return rc < 0 ? EXIT_OK : rc;
}
