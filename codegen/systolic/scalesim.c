/* scalesim.c — SCALE-Sim v2 compatibility: its topology and config readers, its analytical
 * compute report (recomputed from the fold structure of scalesim/compute/systolic_compute_*.py
 * and the cycle count of scalesim/memory/double_buffered_scratchpad_mem.py in CALC mode), its
 * report format, and running its layers on lathe's own machine. */
#include "codegen/systolic/scalesim.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/fs.h"

/* ---- reading text files ------------------------------------------------------------------------ */

/* A text file read whole, registered with the sink for carets. */
typedef struct TextFile {
  IrBuffer *buf;    /* the bytes */
  const char *name; /* the interned name (for Loc) */
  const char *text; /* buf's bytes */
  size_t len;       /* their count */
} TextFile;

/* Reads path and registers it as a diagnostic source. */
static IrStatus text_read(const char *path, TextFile *t, DiagSink *d) {
  memset(t, 0, sizeof *t);
  IrStatus st = ir_read_file(path, (int64_t)1 << 30, &t->buf, d);
  if (st != IR_OK) return st;
  t->text = t->buf->data;
  t->len = (size_t)t->buf->size;
  t->name = diag_add_source(d, path, t->text, t->len);
  if (!t->name) {
    ir_buffer_unref(t->buf);
    return diag_oom(d, loc_file(path));
  }
  return IR_OK;
}

/* Returns the location line:col of file t. */
static Loc text_loc(const TextFile *t, int line, int col) {
  Loc l = {t->name, line, col, NULL};
  return l;
}

/* One line of a text file: [p, p + len), its number and where it starts in the file. */
typedef struct Line {
  const char *p; /* first byte */
  size_t len;    /* bytes, without the newline */
  int no;        /* line number, from 1 */
} Line;

/* Moves *pos to the next line of t; false at the end. */
static bool next_line(const TextFile *t, size_t *pos, Line *l) {
  if (*pos >= t->len) return false;
  const char *s = t->text + *pos;
  const char *nl = memchr(s, '\n', t->len - *pos);
  l->p = s;
  l->len = nl ? (size_t)(nl - s) : t->len - *pos;
  if (l->len && s[l->len - 1] == '\r') l->len--;
  l->no++;
  *pos += (nl ? (size_t)(nl - s) + 1 : t->len - *pos);
  return true;
}

/* Trims spaces and tabs from both ends of [*p, *p + *n). */
static void trim(const char **p, size_t *n) {
  while (*n && isspace((unsigned char)**p)) { (*p)++; (*n)--; }
  while (*n && isspace((unsigned char)(*p)[*n - 1])) (*n)--;
}

/* Parses a decimal integer (optional sign) filling all of s[0..n). */
static bool parse_dec(const char *s, size_t n, int64_t *out) {
  size_t k = 0;
  bool neg = false;
  if (n && (s[0] == '-' || s[0] == '+')) { neg = s[0] == '-'; k = 1; }
  if (k >= n) return false;
  int64_t v = 0;
  for (; k < n; k++) {
    if (!isdigit((unsigned char)s[k]) || v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (s[k] - '0');
  }
  *out = neg ? -v : v;
  return true;
}

/* ---- topologies ------------------------------------------------------------------------------- */

/* Appends a layer (taking ownership of name); false when out of memory. */
static bool topo_push(SysTopology *t, int64_t *cap, const SysLayer *l) {
  if (t->n == *cap) {
    int64_t nc = *cap ? 2 * *cap : 16;
    SysLayer *nl = ir_realloc(t->layers, (size_t)nc * sizeof *nl);
    if (!nl) return false;
    t->layers = nl;
    *cap = nc;
  }
  t->layers[t->n++] = *l;
  return true;
}

/* Splits line l at commas into at most max fields (each trimmed), with their columns. A last
 * field that is empty (the trailing comma SCALE-Sim's files end rows with) is dropped. */
static int split_csv(const Line *l, const char **f, size_t *flen, int *fcol, int max) {
  int n = 0;
  const char *p = l->p, *end = l->p + l->len;
  while (n < max) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *stop = comma ? comma : end;
    f[n] = p;
    flen[n] = (size_t)(stop - p);
    trim(&f[n], &flen[n]);
    fcol[n] = (int)(f[n] - l->p) + 1;
    n++;
    if (!comma) break;
    p = comma + 1;
  }
  if (n > 0 && flen[n - 1] == 0) n--;
  return n;
}

/* Reads field k of a row as a positive integer; reports and returns false otherwise. */
static bool field_int(const TextFile *t, const Line *l, const char **f, const size_t *flen, const int *fcol, int k,
                      const char *what, int64_t *out, DiagSink *d) {
  if (!parse_dec(f[k], flen[k], out) || *out < 1) {
    diag_error(d, text_loc(t, l->no, fcol[k]), "%s must be a positive integer, not '%.*s'", what, (int)flen[k], f[k]);
    return false;
  }
  return true;
}

/* Copies f[0..n) into a new string (a layer name). */
static char *name_dup(const char *f, size_t n) {
  char *s = ir_malloc(n + 1);
  if (s) {
    memcpy(s, f, n);
    s[n] = 0;
  }
  return s;
}

/* Adds the layers of one convolution row (several for a depthwise 'DP' layer, one per channel,
 * named NAME + "Channel_" + i as SCALE-Sim names them). */
static IrStatus topo_conv_row(const TextFile *t, const Line *l, SysTopology *out, int64_t *cap, DiagSink *d) {
  const char *f[12];
  size_t fl[12];
  int fc[12];
  int nf = split_csv(l, f, fl, fc, 12);
  if (nf < 8) {
    diag_error(d, text_loc(t, l->no, 1), "a convolution layer has 8 fields (name, IFMAP height and width, filter height and width, channels, filters, stride), not %d", nf);
    return IR_ERR_INPUT;
  }
  static const char *const what[] = {"", "IFMAP height", "IFMAP width", "filter height", "filter width", "channels", "filters", "stride", "stride width"};
  int64_t v[9];
  for (int k = 1; k <= 7; k++)
    if (!field_int(t, l, f, fl, fc, k, what[k], &v[k], d)) return IR_ERR_INPUT;
  v[8] = v[7];
  if (nf >= 9 && fl[8] && !field_int(t, l, f, fl, fc, 8, what[8], &v[8], d)) return IR_ERR_INPUT;
  if (v[3] > v[1] || v[4] > v[2]) {
    diag_error(d, text_loc(t, l->no, fc[v[3] > v[1] ? 3 : 4]), "the filter is larger than the IFMAP");
    return IR_ERR_INPUT;
  }
  bool dw = false;
  for (size_t k = 0; k + 1 < fl[0]; k++) dw = dw || (f[0][k] == 'D' && f[0][k + 1] == 'P');
  int64_t copies = dw ? v[5] : 1;
  for (int64_t ch = 0; ch < copies; ch++) {
    SysLayer layer = {NULL, v[1], v[2], v[3], v[4], dw ? 1 : v[5], v[6], v[7], v[8], false};
    char suffix[40] = "";
    if (dw) snprintf(suffix, sizeof suffix, "Channel_%lld", (long long)ch);
    layer.name = ir_malloc(fl[0] + strlen(suffix) + 1);
    if (layer.name) snprintf(layer.name, fl[0] + strlen(suffix) + 1, "%.*s%s", (int)fl[0], f[0], suffix);
    if (!layer.name || !topo_push(out, cap, &layer)) {
      ir_free(layer.name);
      return diag_oom(d, loc_file(t->name));
    }
  }
  return IR_OK;
}

/* Adds the layer of one GEMM row: name, M, N, K. */
static IrStatus topo_gemm_row(const TextFile *t, const Line *l, SysTopology *out, int64_t *cap, DiagSink *d) {
  const char *f[8];
  size_t fl[8];
  int fc[8];
  int nf = split_csv(l, f, fl, fc, 8);
  if (nf < 4) {
    diag_error(d, text_loc(t, l->no, 1), "a GEMM layer has 4 fields (name, M, N, K), not %d", nf);
    return IR_ERR_INPUT;
  }
  int64_t m, n, k;
  if (!field_int(t, l, f, fl, fc, 1, "M", &m, d) || !field_int(t, l, f, fl, fc, 2, "N", &n, d) ||
      !field_int(t, l, f, fl, fc, 3, "K", &k, d))
    return IR_ERR_INPUT;
  SysLayer layer = {name_dup(f[0], fl[0]), m, k, 1, k, 1, n, 1, 1, true};
  if (!layer.name || !topo_push(out, cap, &layer)) {
    ir_free(layer.name);
    return diag_oom(d, loc_file(t->name));
  }
  return IR_OK;
}

/* True when the header line names a GEMM topology (its second column is M). */
static bool header_is_gemm(const Line *l) {
  const char *f[4];
  size_t fl[4];
  int fc[4];
  int nf = split_csv(l, f, fl, fc, 4);
  return nf >= 2 && fl[1] == 1 && (f[1][0] == 'M' || f[1][0] == 'm');
}

IrStatus sys_topology_read(const char *path, SysTopoKind kind, SysTopology *out, DiagSink *d) {
  memset(out, 0, sizeof *out);
  TextFile t;
  IrStatus st = text_read(path, &t, d);
  if (st != IR_OK) return st;
  size_t pos = 0;
  Line l = {NULL, 0, 0};
  int64_t cap = 0;
  bool gemm = kind == SYS_TOPO_GEMM;
  if (next_line(&t, &pos, &l) && kind == SYS_TOPO_AUTO) gemm = header_is_gemm(&l);
  while (st == IR_OK && next_line(&t, &pos, &l)) {
    Line trimmed = l;
    trim(&trimmed.p, &trimmed.len);
    if (trimmed.len == 0) continue;
    st = gemm ? topo_gemm_row(&t, &l, out, &cap, d) : topo_conv_row(&t, &l, out, &cap, d);
  }
  if (st == IR_OK && out->n == 0) {
    diag_error(d, loc_file(t.name), "the topology has no layers (the first line is the header)");
    st = IR_ERR_INPUT;
  }
  ir_buffer_unref(t.buf);
  if (st != IR_OK) sys_topology_free(out);
  return st;
}

void sys_topology_free(SysTopology *t) {
  for (int64_t k = 0; k < t->n; k++) ir_free(t->layers[k].name);
  ir_free(t->layers);
  memset(t, 0, sizeof *t);
}

/* ---- config files ------------------------------------------------------------------------------ */

/* The keys read from a .cfg: section, key (lowercase), where the value goes. */
enum { K_RUN, K_AH, K_AW, K_IF, K_FI, K_OF, K_IO, K_FO, K_OO, K_DF, K_BW, K_IB, K_COUNT };
static const char *const cfg_keys[K_COUNT][2] = {
    {"general", "run_name"},          {"architecture_presets", "arrayheight"}, {"architecture_presets", "arraywidth"},
    {"architecture_presets", "ifmapsramszkb"}, {"architecture_presets", "filtersramszkb"},
    {"architecture_presets", "ofmapsramszkb"}, {"architecture_presets", "ifmapoffset"},
    {"architecture_presets", "filteroffset"},  {"architecture_presets", "ofmapoffset"},
    {"architecture_presets", "dataflow"},      {"architecture_presets", "bandwidth"},
    {"run_presets", "interfacebandwidth"},
};
static const char *const cfg_key_names[K_COUNT] = {"run_name", "ArrayHeight", "ArrayWidth", "IfmapSramSzkB",
                                                   "FilterSramSzkB", "OfmapSramSzkB", "IfmapOffset", "FilterOffset",
                                                   "OfmapOffset", "Dataflow", "Bandwidth", "InterfaceBandwidth"};

/* A value found in the file: where it is. */
typedef struct CfgVal {
  const char *p; /* the value (trimmed) */
  size_t len;    /* its length */
  int line, col; /* where it is */
  bool found;    /* it was given */
} CfgVal;

/* True when s[0..n) equals the lowercase word w, ignoring case. */
static bool eq_nocase(const char *s, size_t n, const char *w) {
  if (strlen(w) != n) return false;
  for (size_t k = 0; k < n; k++)
    if (tolower((unsigned char)s[k]) != w[k]) return false;
  return true;
}

/* Scans the INI text for the known keys. */
static IrStatus cfg_scan(const TextFile *t, CfgVal *vals, DiagSink *d) {
  size_t pos = 0;
  Line l = {NULL, 0, 0};
  const char *sec = "";
  size_t seclen = 0;
  while (next_line(t, &pos, &l)) {
    const char *p = l.p;
    size_t n = l.len;
    trim(&p, &n);
    if (n == 0 || p[0] == '#' || p[0] == ';') continue;
    if (p[0] == '[') {
      const char *close = memchr(p, ']', n);
      if (!close) { diag_error(d, text_loc(t, l.no, (int)(p - l.p) + 1), "a section header needs ']'"); return IR_ERR_INPUT; }
      sec = p + 1;
      seclen = (size_t)(close - p - 1);
      continue;
    }
    const char *sep = p;
    while (sep < p + n && *sep != ':' && *sep != '=') sep++;
    if (sep == p + n) { diag_error(d, text_loc(t, l.no, (int)(p - l.p) + 1), "expected 'key: value' or 'key = value'"); return IR_ERR_INPUT; }
    const char *key = p, *val = sep + 1;
    size_t klen = (size_t)(sep - p), vlen = (size_t)(p + n - val);
    trim(&key, &klen);
    trim(&val, &vlen);
    for (int k = 0; k < K_COUNT; k++)
      if (eq_nocase(sec, seclen, cfg_keys[k][0]) && eq_nocase(key, klen, cfg_keys[k][1]))
        vals[k] = (CfgVal){val, vlen, l.no, (int)(val - l.p) + 1, true};
  }
  return IR_OK;
}

/* Reads value k as an integer >= min; reports a missing key or a bad value. */
static bool cfg_int(const TextFile *t, const CfgVal *vals, int k, int64_t min, int64_t *out, DiagSink *d) {
  const CfgVal *v = &vals[k];
  if (!v->found) {
    diag_error(d, loc_file(t->name), "[%s] has no %s", cfg_keys[k][0], cfg_key_names[k]);
    return false;
  }
  const char *comma = memchr(v->p, ',', v->len);
  size_t n = comma ? (size_t)(comma - v->p) : v->len;
  const char *p = v->p;
  trim(&p, &n);
  if (!parse_dec(p, n, out) || *out < min) {
    diag_error(d, text_loc(t, v->line, v->col), "%s must be an integer of at least %lld, not '%.*s'", cfg_key_names[k],
               (long long)min, (int)v->len, v->p);
    return false;
  }
  return true;
}

/* Reads the dataflow and bandwidth mode. */
static bool cfg_modes(const TextFile *t, const CfgVal *vals, SysScaleCfg *out, DiagSink *d) {
  static const char *const dfs[] = {"os", "ws", "is"};
  const CfgVal *df = &vals[K_DF], *ib = &vals[K_IB];
  bool ok = false;
  for (int k = 0; k < 3 && df->found; k++)
    if (eq_nocase(df->p, df->len, dfs[k])) { out->df = (SysDataflow)k; ok = true; }
  if (!ok) {
    if (df->found) diag_error(d, text_loc(t, df->line, df->col), "Dataflow must be os, ws or is, not '%.*s'", (int)df->len, df->p);
    else diag_error(d, loc_file(t->name), "[architecture_presets] has no Dataflow");
    return false;
  }
  if (!ib->found) {
    diag_error(d, loc_file(t->name), "[run_presets] has no InterfaceBandwidth");
    return false;
  }
  if (ib->len == 4 && !memcmp(ib->p, "USER", 4)) out->user_bw = true;
  else if (!(ib->len == 4 && !memcmp(ib->p, "CALC", 4))) {
    diag_error(d, text_loc(t, ib->line, ib->col), "InterfaceBandwidth must be USER or CALC, not '%.*s'", (int)ib->len, ib->p);
    return false;
  }
  return true;
}

IrStatus sys_scalecfg_read(const char *path, SysScaleCfg *out, DiagSink *d) {
  memset(out, 0, sizeof *out);
  TextFile t;
  IrStatus st = text_read(path, &t, d);
  if (st != IR_OK) return st;
  CfgVal vals[K_COUNT];
  memset(vals, 0, sizeof vals);
  st = cfg_scan(&t, vals, d);
  bool ok = st == IR_OK;
  if (ok && vals[K_RUN].found)
    snprintf(out->run_name, sizeof out->run_name, "%.*s", (int)vals[K_RUN].len, vals[K_RUN].p);
  else if (ok) { diag_error(d, loc_file(t.name), "[general] has no run_name"); ok = false; }
  ok = ok && cfg_int(&t, vals, K_AH, 1, &out->array_h, d) && cfg_int(&t, vals, K_AW, 1, &out->array_w, d);
  ok = ok && cfg_int(&t, vals, K_IF, 1, &out->ifmap_kb, d) && cfg_int(&t, vals, K_FI, 1, &out->filter_kb, d) &&
       cfg_int(&t, vals, K_OF, 1, &out->ofmap_kb, d);
  ok = ok && cfg_int(&t, vals, K_IO, 0, &out->offsets[0], d) && cfg_int(&t, vals, K_FO, 0, &out->offsets[1], d) &&
       cfg_int(&t, vals, K_OO, 0, &out->offsets[2], d);
  ok = ok && cfg_modes(&t, vals, out, d);
  if (ok && out->user_bw) ok = cfg_int(&t, vals, K_BW, 1, &out->bandwidth, d);
  ir_buffer_unref(t.buf);
  return ok ? IR_OK : IR_ERR_INPUT;
}

/* ---- the analytical model ------------------------------------------------------------------------ */

/* Ceiling of a / b for a >= 0. */
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void sys_scalesim_compat(const SysLayer *l, int64_t R, int64_t C, SysDataflow df, SysReportRow *out) {
  /* topology_utils.py: ofmap = ceil((ifmap - filter + stride) / stride); M pixels, K window, N. */
  int64_t eh = cdiv(l->ih - l->fh + l->sh, l->sh), ew = cdiv(l->iw - l->fw + l->sw, l->sw);
  int64_t M = eh * ew, K = l->fh * l->fw * l->c, N = l->n;
  /* systolic_compute_{os,ws,is}.py set_params: the spatial rows and columns and the time. */
  int64_t Sr = df == SYS_DF_OS ? M : K, Sc = df == SYS_DF_WS ? N : df == SYS_DF_OS ? N : M;
  int64_t T = df == SYS_DF_OS ? K : df == SYS_DF_WS ? M : N;
  int64_t row_folds = cdiv(Sr, R), col_folds = cdiv(Sc, C), folds = row_folds * col_folds;
  /* Rows of the OFMAP demand matrix per fold (prefix, T, and the skew of C - 1), and the cycles
   * each fold's compute utilization divides by (its operand demand matrix plus its skew). */
  int64_t per_fold = df == SYS_DF_OS ? R + C + T - 2 : 2 * R + C + T - 2;
  int64_t util_cycles = df == SYS_DF_OS ? per_fold : 2 * R + 2 * C + T - 3;
  double map_sum = 0, util_sum = 0;
  for (int64_t fc = 0; fc < col_folds; fc++)
    for (int64_t fr = 0; fr < row_folds; fr++) {
      int64_t rows = Sr - fr * R < R ? Sr - fr * R : R, cols = Sc - fc * C < C ? Sc - fc * C : C;
      map_sum += (double)(rows * cols) / (double)(R * C);
      util_sum += (double)(rows * cols * T) / (double)(R * C * util_cycles);
    }
  /* double_buffered_scratchpad_mem.py: the cycle of the last OFMAP line, counted from 0. */
  out->total = folds * per_fold - 1;
  out->stall = 0;
  out->overall = (double)(M * N * K * 100) / (double)(out->total * R * C);
  out->mapping = map_sum / (double)folds * 100;
  out->compute = util_sum / (double)folds * 100;
}

/* ---- the report ------------------------------------------------------------------------------- */

void sys_format_pyfloat(double v, char *buf, size_t size) {
  if (isnan(v)) { snprintf(buf, size, "nan"); return; }
  if (isinf(v)) { snprintf(buf, size, v < 0 ? "-inf" : "inf"); return; }
  if (v == 0) { snprintf(buf, size, signbit(v) ? "-0.0" : "0.0"); return; }
  char tmp[40];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
    if (strtod(tmp, NULL) == v) break;
  }
  /* tmp is [-]d[.ddd]e[+-]xx: collect the digits and the exponent. */
  char digits[24];
  int nd = 0;
  const char *p = tmp;
  bool neg = *p == '-';
  if (neg) p++;
  for (; *p && *p != 'e'; p++)
    if (*p != '.') digits[nd++] = *p;
  int e = atoi(p + 1);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = 0;
  int decpt = e + 1;
  size_t len = 0;
  if (neg && size > 1) buf[len++] = '-';
  if (decpt > -4 && decpt <= 16) {
    /* Fixed notation: 0.000ddd, ddd000.0 or dd.ddd. */
    for (int k = 0; k < decpt && len + 1 < size; k++) buf[len++] = k < nd ? digits[k] : '0';
    if (decpt <= 0 && len + 1 < size) buf[len++] = '0';
    if (len + 1 < size) buf[len++] = '.';
    for (int k = decpt; k < 0 && len + 1 < size; k++) buf[len++] = '0';
    if (decpt >= nd && len + 1 < size) buf[len++] = '0';
    for (int k = decpt < 0 ? 0 : decpt; k < nd && len + 1 < size; k++) buf[len++] = digits[k];
    buf[len] = 0;
  } else {
    snprintf(buf + len, size - len, "%c%s%se%c%02d", digits[0], nd > 1 ? "." : "", digits + 1, e < 0 ? '-' : '+',
             e < 0 ? -e : e);
  }
}

void sys_report_header(FILE *f) {
  fputs("LayerID, Total Cycles, Stall Cycles, Overall Util %, Mapping Efficiency %, Compute Util %,\n", f);
}

void sys_report_row(FILE *f, int64_t id, const SysReportRow *r) {
  char a[40], b[40], c[40];
  sys_format_pyfloat(r->overall, a, sizeof a);
  sys_format_pyfloat(r->mapping, b, sizeof b);
  sys_format_pyfloat(r->compute, c, sizeof c);
  fprintf(f, "%lld, %lld, %lld, %s, %s, %s,\n", (long long)id, (long long)r->total, (long long)r->stall, a, b, c);
}

/* ---- running layers on lathe's machine ------------------------------------------------------------ */

/* Rounds x up to a multiple of 64. */
static int64_t align64(int64_t x) { return (x + 63) / 64 * 64; }

int64_t sys_layer_conv(const SysLayer *l, SysConv *cv) {
  memset(cv, 0, sizeof *cv);
  if (l->gemm) {
    sys_conv_gemm(cv, l->ih, l->iw, l->n);
  } else {
    cv->h = l->ih;
    cv->w = l->iw;
    cv->c = l->c;
    cv->fh = l->fh;
    cv->fw = l->fw;
    cv->n = l->n;
    cv->sh = l->sh;
    cv->sw = l->sw;
  }
  cv->type = SYS_T_I8;
  cv->out_type = SYS_T_I8;
  cv->mult = 1 << 30;
  cv->shift = 40;
  int64_t w_addr = align64(sys_conv_in_bytes(cv)), out_addr = align64(w_addr + sys_conv_w_bytes(cv));
  int64_t need = out_addr + sys_conv_out_bytes(cv);
  cv->in_addr = 0;
  cv->w_addr = (uint32_t)(w_addr < UINT32_MAX ? w_addr : 0);
  cv->out_addr = (uint32_t)(out_addr < UINT32_MAX ? out_addr : 0);
  return need;
}

/* Fills n bytes at p with pseudo-random int8 values from *seed (splitmix64). */
static void fill_random(uint8_t *p, int64_t n, uint64_t *seed) {
  for (int64_t k = 0; k < n; k++) {
    uint64_t z = (*seed += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    p[k] = (uint8_t)(z ^ (z >> 31));
  }
}

/* Fills the report row of a run on lathe's machine. */
static void report_from_stats(const SysStats *s, const SysParams *p, SysReportRow *row) {
  double pes = (double)p->rows * (double)p->cols;
  int64_t stall = s->by_cause[SYS_C_WEIGHT] + s->by_cause[SYS_C_INPUT] + s->by_cause[SYS_C_DEP];
  row->total = s->cycles;
  row->stall = stall;
  row->overall = s->cycles ? (double)s->useful_macs * 100 / ((double)s->cycles * pes) : 0;
  int64_t busy = s->by_cause[SYS_C_BUSY];
  row->mapping = busy ? (double)s->useful_macs * 100 / ((double)busy * pes) : 0;
  row->compute = s->cycles > stall ? (double)s->useful_macs * 100 / ((double)(s->cycles - stall) * pes) : 0;
}

IrStatus sys_layer_run(SysMachine *m, const SysLayer *l, uint64_t seed, SysStats *stats, SysReportRow *row,
                       char *err, size_t errlen) {
  const SysParams *p = sys_params(m);
  SysConv cv;
  int64_t need = sys_layer_conv(l, &cv);
  if (need > p->dram_bytes) {
    snprintf(err, errlen, "layer %s needs %lld bytes of DRAM; the machine has %lld", l->name, (long long)need,
             (long long)p->dram_bytes);
    return IR_ERR_INPUT;
  }
  if (p->functional) {
    fill_random(sys_dram(m) + cv.in_addr, sys_conv_in_bytes(&cv), &seed);
    fill_random(sys_dram(m) + cv.w_addr, sys_conv_w_bytes(&cv), &seed);
  }
  SysProgram prog;
  sys_prog_init(&prog);
  IrStatus st = sys_gen_conv(p, &cv, &prog, err, errlen);
  SysInsn halt = {.op = SYS_OP_HALT};
  if (st == IR_OK) st = sys_prog_emit(&prog, &halt, err, errlen);
  if (st == IR_OK) {
    st = sys_run(m, prog.words, prog.n, stats);
    if (st != IR_OK) snprintf(err, errlen, "layer %s: %s", l->name, sys_error(m));
  }
  if (st == IR_OK) report_from_stats(stats, p, row);
  sys_prog_free(&prog);
  return st;
}
