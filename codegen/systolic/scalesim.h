/* scalesim.h — SCALE-Sim v2's inputs and outputs, so lathe's systolic unit can be checked
 * against a public simulator: its topology CSV (convolution and GEMM forms) and .cfg INI file
 * are read; --scalesim-compat recomputes its analytical (stall-free, CALC) COMPUTE_REPORT
 * figures exactly; and the same layers can be run on lathe's own timing model as generated
 * programs (sys_layer_run). docs/isa.md, "Checking against SCALE-Sim", gives the formulas. */
#ifndef LATHE_CODEGEN_SYSTOLIC_SCALESIM_H
#define LATHE_CODEGEN_SYSTOLIC_SCALESIM_H

#include <stdio.h>

#include "codegen/systolic/gen.h"

/* SCALE-Sim's dataflows. */
typedef enum { SYS_DF_OS = 0, SYS_DF_WS = 1, SYS_DF_IS = 2 } SysDataflow;

/* One layer of a topology, as SCALE-Sim holds it (a GEMM row is turned into the convolution
 * SCALE-Sim makes of it: ifmap M x K, filter 1 x K, 1 channel, N filters, stride 1). */
typedef struct SysLayer {
  char *name;       /* the layer's name (ir_malloc'd) */
  int64_t ih, iw;   /* IFMAP height and width */
  int64_t fh, fw;   /* filter height and width */
  int64_t c;        /* channels */
  int64_t n;        /* number of filters */
  int64_t sh, sw;   /* strides (one column gives both) */
  bool gemm;        /* from a GEMM row (M = ih, K = iw, N = n) */
} SysLayer;

/* A topology file's layers. */
typedef struct SysTopology {
  SysLayer *layers; /* the layers, depthwise ('DP') layers already split per channel */
  int64_t n;        /* number of layers */
} SysTopology;

/* How to read a topology: by its header, or forced. */
typedef enum { SYS_TOPO_AUTO, SYS_TOPO_CONV, SYS_TOPO_GEMM } SysTopoKind;

/* Reads the topology CSV at path: a header line, then one layer per line (`name, IFMAP height,
 * IFMAP width, filter height, filter width, channels, filters, stride[, stride width],` or, for
 * GEMM, `name, M, N, K,`). AUTO reads a GEMM topology when the header's second column is M.
 * Errors are reported as path:line:col. */
IrStatus sys_topology_read(const char *path, SysTopoKind kind, SysTopology *out, DiagSink *d);
/* Frees t's layers and empties it. */
void sys_topology_free(SysTopology *t);

/* The settings of a SCALE-Sim .cfg file that matter here. */
typedef struct SysScaleCfg {
  char run_name[128];   /* [general] run_name */
  int64_t array_h;      /* ArrayHeight: rows of the array */
  int64_t array_w;      /* ArrayWidth: columns */
  int64_t ifmap_kb;     /* IfmapSramSzkB */
  int64_t filter_kb;    /* FilterSramSzkB */
  int64_t ofmap_kb;     /* OfmapSramSzkB */
  int64_t offsets[3];   /* IfmapOffset, FilterOffset, OfmapOffset (read, not used) */
  SysDataflow df;       /* Dataflow */
  bool user_bw;         /* [run_presets] InterfaceBandwidth is USER (else CALC) */
  int64_t bandwidth;    /* Bandwidth (its first value) in words per cycle, when user_bw */
} SysScaleCfg;

/* Reads a SCALE-Sim config (INI: [section], key: value or key = value, keys case-insensitive,
 * # and ; comments). Errors are reported as path:line:col or path: for a missing key. */
IrStatus sys_scalecfg_read(const char *path, SysScaleCfg *out, DiagSink *d);

/* One COMPUTE_REPORT row. */
typedef struct SysReportRow {
  int64_t total;     /* Total Cycles */
  int64_t stall;     /* Stall Cycles */
  double overall;    /* Overall Util %: MACs / (total * R * C) * 100 */
  double mapping;    /* Mapping Efficiency % */
  double compute;    /* Compute Util % */
} SysReportRow;

/* SCALE-Sim v2's stall-free count of layer l on an R x C array with dataflow df. */
void sys_scalesim_compat(const SysLayer *l, int64_t R, int64_t C, SysDataflow df, SysReportRow *out);

/* Formats v as Python's repr(float) does (shortest digits that read back the same; 100.0,
 * 91.68309650614964, 1e-05, 1e+16), which is how SCALE-Sim writes its reports. */
void sys_format_pyfloat(double v, char *buf, size_t size);
/* Writes COMPUTE_REPORT's header line, and one row for layer id. */
void sys_report_header(FILE *f);
void sys_report_row(FILE *f, int64_t id, const SysReportRow *r);

/* The convolution lathe runs for layer l (int8 in, int32 out, no padding: SCALE-Sim's ifmap
 * sizes include any padding), with input, weights and output placed from DRAM address 0, each
 * 64-byte aligned; a GEMM layer becomes sys_conv_gemm. Returns the DRAM bytes it needs. */
int64_t sys_layer_conv(const SysLayer *l, SysConv *cv);

/* Runs layer l on machine m as a generated program (random int8 data when functional) and fills
 * the report row from lathe's own timing model: Stall Cycles are the weight, input and
 * dependency stalls, Mapping Efficiency the useful share of MACs in matrix-busy cycles, Compute
 * Util the useful share of the cycles that were not stalls. *stats gets the run's counts. */
IrStatus sys_layer_run(SysMachine *m, const SysLayer *l, uint64_t seed, SysStats *stats, SysReportRow *row,
                       char *err, size_t errlen);

#endif
