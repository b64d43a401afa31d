/* The kernels of the generated INT8 model code; see ek_kernels.h for what each one matches. */
#include "ek_kernels.h"

#include <math.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#endif

/* Round half to even for |v| <= 2^22 with two float additions (1.5 * 2^23 pushes the fraction
 * out of the mantissa in the default rounding mode): what MLAS's scalar paths do, and no libm call
 * (newlib's lrintf is software on the M4). The compiler may not fold (v + m) - m: without
 * -ffast-math it is not an identity. Callers clamp v to the code range first; clamping at integer
 * bounds before rounding gives what rounding then saturating gives. */
static inline int32_t round_even(float v)
{
    return (int32_t)((v + 12582912.0f) - 12582912.0f);
}

static inline float clampf(float v, float low, float high)
{
    v = v > low ? v : low; /* NaN -> low, as x86 maxps(v, low) */
    return v < high ? v : high;
}

/* A finite float -> the uint8 code round_half_even(v) + zero_point saturated to 0..255. On the M4:
 * VCVTR rounds half to even (the FPSCR default) and saturates to int32, SSAT/USAT clamp, so no
 * float compares; elsewhere: clamp in float, then round (the same result for any finite v). */
#if defined(__ARM_FEATURE_DSP) && defined(__ARM_FP) && defined(__arm__)
static inline uint8_t to_code(float v, int32_t zero_point)
{
    float r;
    int32_t i;
    __asm__("vcvtr.s32.f32 %0, %1" : "=t"(r) : "t"(v));
    memcpy(&i, &r, sizeof i);
    return (uint8_t)__usat(__ssat(i, 16) + zero_point, 8);
}
#else
static inline uint8_t to_code(float v, int32_t zero_point)
{
    return (uint8_t)(round_even(clampf(v, (float)(0 - zero_point), (float)(255 - zero_point))) + zero_point);
}
#endif

static inline uint8_t requantize(int32_t acc, float scale, int32_t zero_point)
{
    return to_code((float)acc * scale, zero_point);
}

void ek_k_quantize(const float *x, uint8_t *y, uint32_t n, float scale, int32_t zero_point)
{
    uint32_t i;
    for (i = 0; i < n; ++i) {
        const float v = x[i] / scale;
        y[i] = v != v ? 0u : to_code(v, zero_point); /* NaN: the lowest code, as ORT (maxps(NaN, low) = low) */
    }
}

void ek_k_dq_fbin_q(uint32_t op, const uint8_t *a, float a_scale, int32_t a_zero_point, const float *b, uint32_t b_step,
                    uint8_t *y, uint32_t n, float y_scale, int32_t y_zero_point)
{
    uint32_t i;
    for (i = 0; i < n; ++i, b += b_step) {
        const float u = (float)((int32_t)a[i] - a_zero_point) * a_scale, v = *b;
        const float w = (op == EK_F_ADD ? u + v : op == EK_F_SUB ? u - v : op == EK_F_MUL ? u * v : u / v) / y_scale;
        y[i] = w != w ? 0u : to_code(w, y_zero_point);
    }
}

void ek_k_dequantize(const uint8_t *x, float *y, uint32_t n, float scale, int32_t zero_point)
{
    uint32_t i;
    for (i = 0; i < n; ++i) y[i] = (float)((int32_t)x[i] - zero_point) * scale;
}

void ek_k_lut(const uint8_t *x, uint8_t *y, uint32_t n, const uint8_t *table)
{
    uint32_t i;
    for (i = 0; i < n; ++i) y[i] = table[x[i]];
}

#if !defined(__ARM_FEATURE_DSP)
/* sum_i w[i] * x[i] over n codes (the input zero point is folded into the bias) */
static int32_t dot_u8s8(const uint8_t *x, const int8_t *w, uint32_t n)
{
    int32_t acc = 0;
    uint32_t i;
    for (i = 0; i < n; ++i) acc += (int32_t)w[i] * (int32_t)x[i];
    return acc;
}
#else
/* The M4's dual 16-bit multiply-accumulate (SMLAD): the input vector is widened once per layer
 * into halfword pairs (x0,x2),(x1,x3),... in the scratch; each weight word gives the matching pairs
 * (w0,w2) = SXTB16(w) and (w1,w3) = SXTB16(w ROR 8). */
static inline uint32_t sxtb16_ror8(uint32_t w)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(w));
    return r;
}

static void widen_pairs(const uint8_t *x, uint32_t n, uint32_t *pairs)
{
    uint32_t j, word;
    for (j = 0; j + 4u <= n; j += 4u) {
        memcpy(&word, x + j, 4); /* LDR: unaligned loads are fine on the M4 */
        *pairs++ = __uxtb16(word);
        *pairs++ = __uxtb16(word >> 8);
    }
    if (j < n) {
        uint8_t tail[4] = {0, 0, 0, 0};
        memcpy(tail, x + j, n - j);
        memcpy(&word, tail, 4);
        *pairs++ = __uxtb16(word);
        *pairs = __uxtb16(word >> 8);
    }
}

/* one sample through a 1x1 conv: two output channels at once, each widened input pair loaded
 * once for both weight rows; not inlined into ek_k_conv, so its accumulators stay in registers.
 * Weight rows are not padded (flash): the last c_in % 4 inputs are multiplied one by one. */
__attribute__((noinline)) static void pointwise_m4(const ek_conv_t *p, const uint8_t *x, uint8_t *y, uint32_t y_stride,
                                                   uint32_t *pairs)
{
    const uint32_t row = p->row, c_out = p->c_out, c_in = p->c_in, body = c_in & ~3u;
    const int32_t zero_point = p->y_zero_point;
    const int8_t *weights = p->weights;
    const int32_t *bias = p->bias;
    const float *scale = p->scale;
    uint32_t o, j, wa, wb;
    widen_pairs(x, c_in, pairs);
    for (o = 0; o < c_out; o += 2u) {
        const uint32_t o1 = o + 1u < c_out ? o + 1u : o; /* an odd last channel pairs with itself */
        const int8_t *w0 = weights + o * row, *w1 = weights + o1 * row;
        const uint32_t *xp = pairs;
        int32_t a = bias[o], b = bias[o1];
        for (j = 0; j < body; j += 4u, xp += 2, w0 += 4, w1 += 4) {
            const uint32_t x02 = xp[0], x13 = xp[1];
            memcpy(&wa, w0, 4);
            memcpy(&wb, w1, 4);
            a = __smlad(x02, __sxtb16(wa), a);
            b = __smlad(x02, __sxtb16(wb), b);
            a = __smlad(x13, sxtb16_ror8(wa), a);
            b = __smlad(x13, sxtb16_ror8(wb), b);
        }
        for (; j < c_in; ++j, ++w0, ++w1) { /* the last c_in % 4 inputs (rows are not padded: flash) */
            a += (int32_t)*w0 * (int32_t)x[j];
            b += (int32_t)*w1 * (int32_t)x[j];
        }
        y[o * y_stride] = requantize(a, scale[o], zero_point);
        y[o1 * y_stride] = requantize(b, scale[o1], zero_point);
    }
}
#endif

void ek_k_conv(const ek_conv_t *p, const uint8_t *x, uint8_t *y, uint32_t *scratch)
{
    const uint32_t t_out = p->t_out, t_in = p->t_in;
    uint32_t o, t, k, c;
    if (p->depthwise) {
        (void)scratch;
        for (c = 0; c < p->c_out; ++c) {
            const int8_t *w = p->weights + (uint32_t)c * p->row;
            const uint8_t *xc = x + (uint32_t)c * t_in;
            for (t = 0; t < t_out; ++t) {
                const uint8_t *xt = xc + t * p->stride;
                int32_t acc = p->bias[c];
                for (k = 0; k < p->kernel; ++k) acc += (int32_t)w[k] * (int32_t)xt[k * p->dilation];
                y[c * t_out + t] = requantize(acc, p->scale[c], p->y_zero_point);
            }
        }
    } else if (p->kernel == 1u && t_in == 1u) {
        /* one sample (the step model): a matrix-vector product */
#if defined(__ARM_FEATURE_DSP)
        pointwise_m4(p, x, y, 1u, scratch);
#else
        (void)scratch;
        for (o = 0; o < p->c_out; ++o)
            y[o] = requantize(p->bias[o] + dot_u8s8(x, p->weights + o * p->row, p->c_in), p->scale[o], p->y_zero_point);
#endif
#if defined(__ARM_FEATURE_DSP)
    } else if (p->kernel == 1u && p->stride == 1u) {
        /* a window through a 1x1 conv: each time step's column gathered, then the one-sample path */
        uint8_t *column = (uint8_t *)(scratch + 2u * ((p->c_in + 3u) / 4u));
        for (t = 0; t < t_out; ++t) {
            for (c = 0; c < p->c_in; ++c) column[c] = x[c * t_in + t];
            pointwise_m4(p, column, y + t, t_out, scratch);
        }
#endif
    } else {
        (void)scratch;
        for (o = 0; o < p->c_out; ++o) {
            const int8_t *w = p->weights + o * p->row;
            for (t = 0; t < t_out; ++t) {
                int32_t acc = p->bias[o];
                for (c = 0; c < p->c_in; ++c) {
                    const uint8_t *xt = x + c * t_in + t * p->stride;
                    for (k = 0; k < p->kernel; ++k) acc += (int32_t)w[c * p->kernel + k] * (int32_t)xt[k * p->dilation];
                }
                y[o * t_out + t] = requantize(acc, p->scale[o], p->y_zero_point);
            }
        }
    }
}

void ek_k_dwconv_ring(const ek_dwring_t *p, const uint8_t *x, uint8_t *ring, uint32_t *position, uint8_t *y)
{
    /* the ring is time-major, [length][channels]: tap k of every channel is one contiguous row */
    const uint32_t length = p->length, channels = p->channels, kernel = p->kernel, at = *position % length;
    const uint8_t *taps[EK_RING_MAX_KERNEL];
    const int8_t *w = p->weights;
    uint8_t *now = ring + at * channels;
    uint32_t c, k;
    for (c = 0; c < channels; ++c) now[c] = p->table ? p->table[x[c]] : x[c];
    for (k = 0; k < kernel; ++k) /* tap k reads (kernel - 1 - k) * dilation samples back */
        taps[k] = ring + ((at + length - (kernel - 1u - k) * p->dilation) % length) * channels;
    if (kernel == 5u) { /* the students' kernel: five row pointers in registers */
        const uint8_t *t0 = taps[0], *t1 = taps[1], *t2 = taps[2], *t3 = taps[3], *t4 = taps[4];
        for (c = 0; c < channels; ++c, w += 5) {
            int32_t acc = p->bias[c] + w[0] * t0[c] + w[1] * t1[c] + w[2] * t2[c] + w[3] * t3[c] + w[4] * t4[c];
            y[c] = requantize(acc, p->scale[c], p->y_zero_point);
        }
    } else {
        for (c = 0; c < channels; ++c, w += kernel) {
            int32_t acc = p->bias[c];
            for (k = 0; k < kernel; ++k) acc += (int32_t)w[k] * (int32_t)taps[k][c];
            y[c] = requantize(acc, p->scale[c], p->y_zero_point);
        }
    }
    *position = (at + 1u) % length;
}

void ek_k_gap(const uint8_t *x, uint8_t *y, uint32_t channels, uint32_t length, int32_t x_zero_point, float scale,
              int32_t y_zero_point)
{
    uint32_t c, t;
    for (c = 0; c < channels; ++c, x += length) {
        int32_t acc = -x_zero_point * (int32_t)length;
        for (t = 0; t < length; ++t) acc += x[t];
        y[c] = requantize(acc, scale, y_zero_point);
    }
}

/* MLAS's QLinearAdd AVX2 kernel on one span (qladd_avx2.cpp): codes as floats through fused
 * multiply-adds (the compiler contracts its scalar multiply-adds too: measured against ORT); a
 * one-element operand is folded into the constant first (a span of one element takes that path
 * for a, whatever b is). Saturation after rounding = clamping before it. */
static void qadd_span(const ek_qbin_t *p, const uint8_t *a, const uint8_t *b, uint8_t *y, uint32_t n, int b_scalar)
{
    uint32_t i;
    if (n == 1u) {
        float fixed = fmaf((float)a[0], p->ratio_a, p->offset);
        y[0] = to_code(fmaf((float)b[0], p->ratio_b, fixed), 0);
    } else if (b_scalar) {
        float fixed = fmaf((float)b[0], p->ratio_b, p->offset);
        for (i = 0; i < n; ++i) y[i] = to_code(fmaf((float)a[i], p->ratio_a, fixed), 0);
    } else {
        for (i = 0; i < n; ++i) {
            y[i] = to_code(fmaf((float)a[i], p->ratio_a, fmaf((float)b[i], p->ratio_b, p->offset)), 0);
        }
    }
}

/* MLAS's QLinearMul SSE2 kernel (qlmul.cpp): exact integer product, x ratio, + zero point */
static void qmul_span(const ek_qbin_t *p, const uint8_t *a, const uint8_t *b, uint8_t *y, uint32_t n, int b_scalar)
{
    uint32_t i;
    for (i = 0; i < n; ++i) {
        int32_t prod = ((int32_t)a[i] - p->a_zero_point) * ((int32_t)b[b_scalar ? 0u : i] - p->b_zero_point);
        y[i] = to_code((float)prod * p->ratio_a + p->offset, 0);
    }
}

void ek_k_qbin(const ek_qbin_t *p, const uint8_t *a, const uint8_t *b, uint8_t *y)
{
    uint32_t s;
    for (s = 0; s < p->spans; ++s) {
        const uint8_t *as = a + s * p->a_step, *bs = b + s * p->b_step;
        if (p->kind == EK_QBIN_ADD) qadd_span(p, as, bs, y + s * p->span, p->span, p->b_scalar);
        else qmul_span(p, as, bs, y + s * p->span, p->span, p->b_scalar);
    }
}

void ek_k_concat(const ek_concat_t *p, const uint8_t *const *inputs, uint8_t *y)
{
    uint32_t r, i, c;
    for (r = 0; r < p->rows; ++r) {
        for (i = 0; i < p->n_inputs; ++i) {
            const uint8_t *x = inputs[i] + r * p->cols[i];
            if (p->table[i] == NULL) {
                memcpy(y, x, p->cols[i]);
            } else {
                for (c = 0; c < p->cols[i]; ++c) y[c] = p->table[i][x[c]];
            }
            y += p->cols[i];
        }
    }
}

void ek_k_fbin(uint32_t op, const float *a, const float *b, float *y, uint32_t rows, uint32_t cols,
               uint32_t a_rs, uint32_t a_cs, uint32_t b_rs, uint32_t b_cs)
{
    uint32_t r, c;
    if (rows == 1u && a_cs <= 1u && b_cs <= 1u) { /* flattened by the code generator: one pass */
        for (c = 0; c < cols; ++c, a += a_cs, b += b_cs) {
            const float u = *a, v = *b;
            y[c] = op == EK_F_ADD ? u + v : op == EK_F_SUB ? u - v : op == EK_F_MUL ? u * v : u / v;
        }
        return;
    }
#define EK_FBIN_LOOP(expr) \
    for (r = 0; r < rows; ++r) \
        for (c = 0; c < cols; ++c) { \
            float u = a[r * a_rs + c * a_cs], v = b[r * b_rs + c * b_cs]; \
            y[r * cols + c] = (expr); \
        }
    switch (op) {
    case EK_F_ADD: EK_FBIN_LOOP(u + v) break;
    case EK_F_SUB: EK_FBIN_LOOP(u - v) break;
    case EK_F_MUL: EK_FBIN_LOOP(u * v) break;
    default: EK_FBIN_LOOP(u / v) break;
    }
#undef EK_FBIN_LOOP
}

void ek_k_fnan_to(const float *x, const float *fill, float *y, uint32_t rows, uint32_t cols, uint32_t f_rs,
                  uint32_t f_cs)
{
    uint32_t r, c;
    for (r = 0; r < rows; ++r)
        for (c = 0; c < cols; ++c) {
            float v = x[r * cols + c];
            y[r * cols + c] = v != v ? fill[r * f_rs + c * f_cs] : v;
        }
}

/* ONNX Runtime's CumSum: a running float sum along the last axis, in order */
void ek_k_fcumsum(const float *x, float *y, uint32_t rows, uint32_t cols)
{
    uint32_t r, c;
    for (r = 0; r < rows; ++r) {
        float sum = 0.0f;
        for (c = 0; c < cols; ++c) {
            sum = c == 0u ? x[r * cols] : sum + x[r * cols + c];
            y[r * cols + c] = sum;
        }
    }
}

/* ReduceMean over one axis of an (outer, n, inner) block, keeping it: y[o][i] = the sum over k of
   x[o][k][i] in order, divided by n. ORT sums with Eigen's packets, in another order: the two may
   differ in the last bits, which the quantization after them (a per-window standardisation that
   feeds a quantized conv) rarely reaches */
void ek_k_fmean_axis(const float *x, float *y, uint32_t outer, uint32_t n, uint32_t inner)
{
    uint32_t o, k, i;
    for (o = 0; o < outer; ++o) {
        for (i = 0; i < inner; ++i) {
            float sum = 0.0f;
            for (k = 0; k < n; ++k) {
                sum += x[(o * n + k) * inner + i];
            }
            y[o * inner + i] = sum / (float)n;
        }
    }
}

void ek_k_fsqrt(const float *x, float *y, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; ++i) {
        y[i] = sqrtf(x[i]);
    }
}

void ek_k_fclip(const float *x, float *y, uint32_t n, float low, float high)
{
    uint32_t i;
    for (i = 0; i < n; ++i) {
        float v = x[i] < low ? low : x[i];
        y[i] = v > high ? high : v;
    }
}

/* BatchNormalization in inference: x * new_scale + new_bias per row, two roundings (ORT's Eigen) */
void ek_k_faffine(const float *x, const float *mul, const float *add, float *y, uint32_t rows, uint32_t cols)
{
    uint32_t r, c;
    for (r = 0; r < rows; ++r)
        for (c = 0; c < cols; ++c) {
            float v = x[r * cols + c] * mul[r];
            y[r * cols + c] = v + add[r];
        }
}

void ek_k_gather2d(const void *x, void *y, uint32_t elem, uint32_t rows, uint32_t cols,
                   uint32_t offset, uint32_t rs, uint32_t cs)
{
    const uint8_t *src = (const uint8_t *)x;
    uint8_t *dst = (uint8_t *)y;
    uint32_t r, c;
    if (cs == 1u) {
        for (r = 0; r < rows; ++r) memmove(dst + r * cols * elem, src + (offset + r * rs) * elem, cols * elem);
        return;
    }
    for (r = 0; r < rows; ++r)
        for (c = 0; c < cols; ++c) memcpy(dst + (r * cols + c) * elem, src + (offset + r * rs + c * cs) * elem, elem);
}

void ek_k_pad_cols(const uint8_t *x, uint8_t *y, uint32_t rows, uint32_t cols, uint32_t left, uint32_t right,
                   uint8_t value)
{
    uint32_t r, width = left + cols + right;
    for (r = rows; r-- > 0;) { /* backwards: y may start where x does */
        memmove(y + r * width + left, x + r * cols, cols);
        memset(y + r * width, value, left);
        memset(y + r * width + left + cols, value, right);
    }
}
