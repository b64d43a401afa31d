/*
 * ek_kernels.h - the integer and float kernels the generated INT8 model code calls (internal).
 *
 * Every kernel computes exactly what ONNX Runtime's CPU kernel for the same node computes
 * (onnxruntime 1.32, x86-64 MLAS, the session edgekit runs), so that the device model equals the
 * exported INT8 file bit for bit:
 *   - requantization (QLinearConv): int32 accumulator -> float -> x per-channel scale
 *     (x_scale * w_scale[c]) / y_scale -> clamp to the code range -> round half to even -> + zero point;
 *   - QuantizeLinear: x / scale, clamp, round half to even, + zero point (NaN -> lowest code);
 *   - QLinearAdd: MLAS's AVX2 kernel, raw codes through fused multiply-adds (fmaf) around a constant
 *     that holds the zero points; QLinearMul: MLAS's SSE2 kernel, integer product x ratio + zero point;
 *   - unary activations arrive as 256-entry tables filled by running ONNX Runtime on every code.
 * Activations are uint8 (as exported), laid out [channels][time]; weights int8 with their zero
 * point 0 (symmetric), the input zero point folded into the int32 bias at code generation.
 * Build with -ffp-contract=off: a contracted multiply-add rounds differently from ONNX Runtime.
 */
#ifndef EK_KERNELS_H
#define EK_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A convolution over [c_in][t_in] uint8 codes into [c_out][t_out] (no padding: a separate pad
 * step writes the input zero point around the input first). */
typedef struct {
    uint16_t c_out, c_in, kernel, dilation, stride, t_in, t_out;
    uint16_t depthwise;      /* 1: one filter per channel (group == c_in == c_out) */
    uint16_t row;            /* int8 weights per output channel: c_in * kernel (dense), kernel (depthwise) */
    int32_t y_zero_point;
    const int8_t *weights;   /* [c_out][row]: [c_in][kernel] for dense, [kernel] for depthwise */
    const int32_t *bias;     /* bias - x_zero_point * sum(weights of the channel) */
    const float *scale;      /* (x_scale * w_scale[c]) / y_scale, one per output channel */
} ek_conv_t;

/* A step model's causal depthwise conv on a ring of the last `length` = (kernel - 1) * dilation + 1
 * samples of every channel (the state, time-major [length][channels]): the new sample (re-quantized
 * by `table` unless NULL) goes in at *position, the taps read back from it: ONNX's
 * Concat(state, x) -> Conv -> Slice(1:) without the copies; the integer sums, and so the outputs,
 * are the same. */
#define EK_RING_MAX_KERNEL 32
typedef struct {
    uint16_t channels, kernel, dilation, length;
    int32_t y_zero_point;
    const int8_t *weights;   /* [channels][kernel] */
    const int32_t *bias;     /* zero point folded in, as ek_conv_t */
    const float *scale;
    const uint8_t *table;
} ek_dwring_t;

/* QLinearAdd / QLinearMul as ONNX Runtime runs them: `spans` calls of the MLAS kernel on `span`
 * elements each; operand a advances by a_step per span, b by b_step, and b is one code per span
 * when b_scalar (it then advances per span only). */
enum { EK_QBIN_ADD = 0, EK_QBIN_MUL = 1 };
typedef struct {
    uint8_t kind, b_scalar;
    uint16_t spans;
    uint32_t span, a_step, b_step;
    float ratio_a, ratio_b, offset; /* add: a/c and b/c scale ratios, zc - (ra*za + rb*zb); mul: ratio, -, zc */
    int32_t a_zero_point, b_zero_point;  /* mul only */
} ek_qbin_t;

/* QLinearConcat along the last axis of [rows][cols_i] inputs; a table re-quantizes an input whose
 * scale or zero point differ from the output's (NULL: copied as is). */
#define EK_CONCAT_MAX 4
typedef struct {
    uint16_t n_inputs, rows;
    uint16_t cols[EK_CONCAT_MAX];
    const uint8_t *table[EK_CONCAT_MAX];
} ek_concat_t;

enum { EK_F_ADD = 0, EK_F_SUB, EK_F_MUL, EK_F_DIV };

/* uint8 <-> float */
void ek_k_quantize(const float *x, uint8_t *y, uint32_t n, float scale, int32_t zero_point);
void ek_k_dequantize(const uint8_t *x, float *y, uint32_t n, float scale, int32_t zero_point);
void ek_k_lut(const uint8_t *x, uint8_t *y, uint32_t n, const uint8_t *table);
/* QuantizeLinear(DequantizeLinear(a) (op) b) in one pass, the same float operations in order */
void ek_k_dq_fbin_q(uint32_t op, const uint8_t *a, float a_scale, int32_t a_zero_point, const float *b, uint32_t b_step,
                    uint8_t *y, uint32_t n, float y_scale, int32_t y_zero_point);

/* integer kernels */
/* scratch, 4-byte aligned, for the M4's widened input (unused elsewhere): 2 * c_in bytes rounded up to 8,
 * plus c_in rounded up to 4 when t_in > 1 (a gathered column) */
void ek_k_conv(const ek_conv_t *p, const uint8_t *x, uint8_t *y, uint32_t *scratch);
void ek_k_dwconv_ring(const ek_dwring_t *p, const uint8_t *x, uint8_t *ring, uint32_t *position, uint8_t *y);
/* QLinearGlobalAveragePool (MLAS qlgavgpool.cpp): sum - x_zp * length, requantized with
 * scale = x_scale / (y_scale * length) */
void ek_k_gap(const uint8_t *x, uint8_t *y, uint32_t channels, uint32_t length, int32_t x_zero_point, float scale,
              int32_t y_zero_point);
void ek_k_qbin(const ek_qbin_t *p, const uint8_t *a, const uint8_t *b, uint8_t *y);
void ek_k_concat(const ek_concat_t *p, const uint8_t *const *inputs, uint8_t *y);

/* float kernels on [rows][cols]; an operand's (row, col) strides are 0 where it broadcasts */
void ek_k_fbin(uint32_t op, const float *a, const float *b, float *y, uint32_t rows, uint32_t cols,
               uint32_t a_rs, uint32_t a_cs, uint32_t b_rs, uint32_t b_cs);
void ek_k_fnan_to(const float *x, const float *fill, float *y, uint32_t rows, uint32_t cols,
                  uint32_t f_rs, uint32_t f_cs);
void ek_k_fcumsum(const float *x, float *y, uint32_t rows, uint32_t cols);
void ek_k_fmean_axis(const float *x, float *y, uint32_t outer, uint32_t n, uint32_t inner);
void ek_k_fsqrt(const float *x, float *y, uint32_t n);
void ek_k_fclip(const float *x, float *y, uint32_t n, float low, float high);
void ek_k_faffine(const float *x, const float *mul, const float *add, float *y, uint32_t rows, uint32_t cols);

/* data movement, element size 1 (codes) or 4 (floats): y[r][c] = x[offset + r * rs + c * cs] */
void ek_k_gather2d(const void *x, void *y, uint32_t elem, uint32_t rows, uint32_t cols,
                   uint32_t offset, uint32_t rs, uint32_t cs);
void ek_k_pad_cols(const uint8_t *x, uint8_t *y, uint32_t rows, uint32_t cols, uint32_t left, uint32_t right,
                   uint8_t value);

#ifdef __cplusplus
}
#endif

#endif /* EK_KERNELS_H */
