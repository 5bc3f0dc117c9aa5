/* Kernel IR: the contract between Kiln's code generator and a device plugin.
 *
 * A kernel is a linear SSA list of POD instructions. An instruction's result is referred to by
 * its index in the list; sources always refer to earlier instructions. Control flow is
 * structured: RANGE/ENDRANGE and IF/ENDIF nest properly. Accumulators (ACC) are the only
 * mutable values. docs/kernel-ir.md is the full reference; this header is the layout. */
#ifndef KILN_KERNEL_IR_H
#define KILN_KERNEL_IR_H

#include <stdint.h>

#include "kiln/dtype.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_IR_VERSION 5
#define KILN_IR_MAX_SRC 4
#define KILN_IR_MAX_LANES 16

/* Values are part of the contract: never renumber, only append (and bump KILN_IR_VERSION). */
typedef enum kiln_ir_op {
  KILN_IR_NOP = 0,
  /* ---- definitions ---- */
  KILN_IR_PARAM = 1,   /* a global buffer. arg = parameter slot (0..n_params-1); dtype = element
                          type; flags: KILN_IR_FLAG_WRITTEN when the kernel stores to it. */
  KILN_IR_VAR = 2,     /* a symbolic integer. arg = variable slot; dtype I32 or I64; src none.
                          imm.i = minimum, arg2 = maximum (inclusive) the value can take. */
  KILN_IR_LOCAL = 3,   /* workgroup-shared array. arg = element count; dtype = element type. */
  KILN_IR_ACC = 4,     /* mutable register, initialised from src0 at this point. Uses of the
                          ACC read its current value; ASSIGN writes it. */
  KILN_IR_SPECIAL = 5, /* launch index, dtype I32. arg: 0,1,2 = group id x,y,z;
                          3,4,5 = local (thread) id x,y,z. */
  KILN_IR_CONST = 6,   /* immediate: imm.i for integer and bool types, imm.f for floats. */
  /* ---- control ---- */
  KILN_IR_RANGE = 10,    /* for (i = src0; i < src1; ++i) — result is i (I32 or I64). */
  KILN_IR_ENDRANGE = 11, /* closes the RANGE src0. */
  KILN_IR_IF = 12,       /* if (src0) { — src0 is BOOL. */
  KILN_IR_ENDIF = 13,    /* } — closes the IF src0. */
  KILN_IR_BARRIER = 14,  /* workgroup barrier with a local-memory fence. */
  /* ---- memory ---- */
  KILN_IR_LOAD = 20,   /* src0 = PARAM or LOCAL, src1 = element index (integer); optional
                          src2 = gate (BOOL) and src3 = value when the gate is false.
                          vcount > 1 loads vcount consecutive elements from the index. */
  KILN_IR_STORE = 21,  /* src0 = PARAM or LOCAL, src1 = element index, src2 = value;
                          optional src3 = gate. vcount lanes from the index. No result. */
  KILN_IR_ASSIGN = 22, /* src0 = ACC, src1 = new value. No result. */
  /* ---- unary ALU (lane-wise) ---- */
  KILN_IR_NEG = 30,
  KILN_IR_EXP2 = 31,
  KILN_IR_LOG2 = 32,
  KILN_IR_SIN = 33,
  KILN_IR_SQRT = 34,
  KILN_IR_RECIP = 35,
  KILN_IR_TRUNC = 36, /* float round toward zero */
  KILN_IR_NOT = 37,   /* bitwise not; logical not on BOOL */
  /* ---- binary ALU (lane-wise; both sources of the result dtype unless noted) ---- */
  KILN_IR_ADD = 40,
  KILN_IR_SUB = 41,
  KILN_IR_MUL = 42,
  KILN_IR_FDIV = 43, /* float division */
  KILN_IR_IDIV = 44, /* integer division, truncating toward zero (C); x/0 = 0, MIN/-1 = MIN */
  KILN_IR_MOD = 45,  /* integer remainder, sign of the dividend (C); x%0 = 0, x%-1 = 0 */
  KILN_IR_MAX = 46,  /* a < b ? b : a */
  KILN_IR_MIN = 47,  /* b < a ? b : a */
  KILN_IR_CMPLT = 48, /* result BOOL; sources of any equal type */
  KILN_IR_CMPNE = 49, /* result BOOL */
  KILN_IR_CMPEQ = 50, /* result BOOL */
  KILN_IR_AND = 51,
  KILN_IR_OR = 52,
  KILN_IR_XOR = 53,
  KILN_IR_SHL = 54,  /* shift count taken modulo the bit width */
  KILN_IR_SHR = 55,  /* arithmetic for signed types, logical for unsigned */
  KILN_IR_POW = 56,  /* float a^b (C powf semantics) */
  /* ---- ternary ---- */
  KILN_IR_WHERE = 60,  /* src0 (BOOL) ? src1 : src2 */
  KILN_IR_MULADD = 61, /* src0 * src1 + src2, may be fused */
  KILN_IR_DOT4 = 62,   /* (IR version 3) I32 lanes only: src2 + the sum over bytes b = 0..3 of
                          (unsigned byte b of src0) * (signed byte b of src1), wrapping; the
                          byte dot product of dp4a.u32.s32 / VPDPBUSD. */
  /* ---- conversions and vectors ---- */
  KILN_IR_CAST = 70,      /* value conversion to dtype (float->int truncates; ->BOOL is != 0;
                             out-of-range float->int and NaN->int are unspecified) */
  KILN_IR_BITCAST = 71,   /* reinterpret bits, same width */
  KILN_IR_VECTORIZE = 72, /* lanes from scalars: src0 = first entry in the operand pool,
                             vcount entries; each entry is an instruction index. */
  KILN_IR_GEP = 73,       /* extract lane arg of vector src0 */
  /* ---- cross-thread ---- */
  KILN_IR_SHFL_XOR = 80, /* value of src0 held by lane (lane_id ^ arg) of the same warp;
                            only emitted when the device reports warp_size > 1. */
  KILN_IR_MMA = 81,      /* (IR version 2) warp-wide D = A*B + C on one 16x8 tile with k = 16,
                            each lane holding the fragments of PTX mma.sync.m16n8k16.row.col
                            (lane = 4*g + t): src0 = A, 8 lanes of F16 or BF16: rows g, g+8 at
                            k = 2t, 2t+1 as lanes (0,1), (2,3) and at k = 2t+8, 2t+9 as lanes
                            (4,5), (6,7); src1 = B, 4 lanes of A's dtype: column g at k = 2t,
                            2t+1, 2t+8, 2t+9; src2 = C, 4 lanes F32: row g, columns 2t, 2t+1,
                            then row g+8 the same. Result F32 x 4 in C's layout, products
                            summed in f32. Only emitted when the device reports
                            KILN_TENSOR_CORES_MMA_16816 in has_tensor_cores. */
  /* ---- asynchronous copies (IR version 4), only emitted when the device reports
   * async_copy: global memory into local memory without passing through registers ---- */
  KILN_IR_COPY_ASYNC = 82,  /* src0 = LOCAL, src1 = its element index, src2 = PARAM of the same
                               dtype, src3 = its element index; vcount elements (4, 8 or 16
                               bytes, flag ALIGNED required) start to be copied. No result. The
                               copy is complete, for this thread, after a COPY_WAIT that covers
                               its group; for the group's other threads, after a BARRIER that
                               follows that wait. */
  KILN_IR_COPY_COMMIT = 83, /* closes the group of this thread's COPY_ASYNCs issued since the
                               last COPY_COMMIT. */
  KILN_IR_COPY_WAIT = 84,   /* waits until at most arg (>= 0) of this thread's committed groups
                               are incomplete. */
  /* ---- (IR version 5) ---- */
  KILN_IR_WARP_BARRIER = 85, /* barrier among the lanes of one warp, with a local-memory fence:
                                local stores a lane made before it are visible to the warp's
                                other lanes after it. Every lane of the warp reaches it. Only
                                emitted when the device reports warp_size > 1. */
  KILN_IR_OP_COUNT
} kiln_ir_op;

enum {
  KILN_IR_FLAG_WRITTEN = 1u << 0,   /* PARAM: the kernel stores to this buffer */
  KILN_IR_FLAG_READ = 1u << 1,      /* PARAM: the kernel loads from this buffer */
  KILN_IR_FLAG_UNROLL = 1u << 2,    /* RANGE: the trip count is constant, unrolling is wanted */
  KILN_IR_FLAG_REDUCE = 1u << 3,    /* RANGE: loop over a reduction axis */
  KILN_IR_FLAG_ALIGNED = 1u << 4,   /* LOAD/STORE: index is a multiple of vcount */
  KILN_IR_FLAG_INBOUNDS = 1u << 5,  /* LOAD/STORE: index proven within the buffer */
  KILN_IR_FLAG_NOWRAP = 1u << 6,    /* integer ADD/SUB/MUL: index math whose signed result is
                                       proven not to overflow (a renderer may say nsw); devices
                                       may ignore it */
  KILN_IR_FLAG_STREAM = 1u << 7,    /* LOAD of a PARAM: streamed, each element read once per
                                       launch (a GEMV's weights); a device may keep it from
                                       displacing cached data. Devices may ignore it */
};

typedef union kiln_ir_imm {
  int64_t i;
  double f;
} kiln_ir_imm;

typedef struct kiln_ir_inst {
  uint16_t op;     /* kiln_ir_op */
  uint8_t dtype;   /* kiln_dtype of the result (element type for PARAM/LOCAL) */
  uint8_t vcount;  /* lanes of the result (1 = scalar), at most KILN_IR_MAX_LANES */
  uint32_t flags;  /* KILN_IR_FLAG_* */
  int32_t src[KILN_IR_MAX_SRC]; /* earlier instruction indices, -1 when unused */
  int64_t arg;
  int64_t arg2;
  kiln_ir_imm imm;
} kiln_ir_inst;

typedef struct kiln_kernel {
  uint32_t ir_version;          /* KILN_IR_VERSION */
  const char* name;             /* a valid C identifier, unique within a program */
  const kiln_ir_inst* insts;
  uint32_t n_insts;
  const int32_t* operands;      /* pool used by VECTORIZE */
  uint32_t n_operands;
  uint32_t n_params;            /* buffers, slots 0..n_params-1 */
  uint32_t n_vars;              /* integer variables, slots 0..n_vars-1 (passed as int64) */
  uint32_t global_size[3];      /* default launch grid in groups */
  uint32_t local_size[3];       /* threads per group (all 1 on devices without locals) */
} kiln_kernel;

/* The op's name as IR dumps print it ("ADD"), or NULL for a value that is no kiln_ir_op. */
static inline const char* kiln_ir_op_name(unsigned op) {
  switch (op) {
    case KILN_IR_NOP: return "NOP";
    case KILN_IR_PARAM: return "PARAM";
    case KILN_IR_VAR: return "VAR";
    case KILN_IR_LOCAL: return "LOCAL";
    case KILN_IR_ACC: return "ACC";
    case KILN_IR_SPECIAL: return "SPECIAL";
    case KILN_IR_CONST: return "CONST";
    case KILN_IR_RANGE: return "RANGE";
    case KILN_IR_ENDRANGE: return "ENDRANGE";
    case KILN_IR_IF: return "IF";
    case KILN_IR_ENDIF: return "ENDIF";
    case KILN_IR_BARRIER: return "BARRIER";
    case KILN_IR_LOAD: return "LOAD";
    case KILN_IR_STORE: return "STORE";
    case KILN_IR_ASSIGN: return "ASSIGN";
    case KILN_IR_NEG: return "NEG";
    case KILN_IR_EXP2: return "EXP2";
    case KILN_IR_LOG2: return "LOG2";
    case KILN_IR_SIN: return "SIN";
    case KILN_IR_SQRT: return "SQRT";
    case KILN_IR_RECIP: return "RECIP";
    case KILN_IR_TRUNC: return "TRUNC";
    case KILN_IR_NOT: return "NOT";
    case KILN_IR_ADD: return "ADD";
    case KILN_IR_SUB: return "SUB";
    case KILN_IR_MUL: return "MUL";
    case KILN_IR_FDIV: return "FDIV";
    case KILN_IR_IDIV: return "IDIV";
    case KILN_IR_MOD: return "MOD";
    case KILN_IR_MAX: return "MAX";
    case KILN_IR_MIN: return "MIN";
    case KILN_IR_CMPLT: return "CMPLT";
    case KILN_IR_CMPNE: return "CMPNE";
    case KILN_IR_CMPEQ: return "CMPEQ";
    case KILN_IR_AND: return "AND";
    case KILN_IR_OR: return "OR";
    case KILN_IR_XOR: return "XOR";
    case KILN_IR_SHL: return "SHL";
    case KILN_IR_SHR: return "SHR";
    case KILN_IR_POW: return "POW";
    case KILN_IR_WHERE: return "WHERE";
    case KILN_IR_MULADD: return "MULADD";
    case KILN_IR_DOT4: return "DOT4";
    case KILN_IR_CAST: return "CAST";
    case KILN_IR_BITCAST: return "BITCAST";
    case KILN_IR_VECTORIZE: return "VECTORIZE";
    case KILN_IR_GEP: return "GEP";
    case KILN_IR_SHFL_XOR: return "SHFL_XOR";
    case KILN_IR_MMA: return "MMA";
    case KILN_IR_COPY_ASYNC: return "COPY_ASYNC";
    case KILN_IR_COPY_COMMIT: return "COPY_COMMIT";
    case KILN_IR_COPY_WAIT: return "COPY_WAIT";
    case KILN_IR_WARP_BARRIER: return "WARP_BARRIER";
    default: return 0;
  }
}

#ifdef __cplusplus
}
#endif

#endif /* KILN_KERNEL_IR_H */
