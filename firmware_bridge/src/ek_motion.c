/* Step 3 of a push: per-sample motion signals from the cleaned sample and the previous one.
 *
 * The reference (float64) uses acos/asin and differences of angles; in float32 those lose
 * accuracy exactly where wrist data lives (small rotations between samples, tilt near 0, rates
 * of angles near +-pi), so every angle here is an atan2 of well-conditioned arguments and every
 * angle rate is the atan2 of the rotation between the previous and current (sin, cos) pair.
 * Mathematically identical to the reference; numerically within a few float32 ulps of it. */
#include <math.h>

#include "ek_internal.h"

static inline float norm3(float x, float y, float z) { return sqrtf(x * x + y * y + z * z); }

/* atan2 in float32 within ~3 ulp (2.3e-7 relative, measured against float64 on 16 M argument
 * pairs; libm's atan2f is within ~1), 40x inside the parity tolerance, for a quarter of libm's
 * instructions: a push takes ten of them. Same results as libm for signed zeros, +-Inf against
 * a finite value and NaN. Octant by comparison, so t = min / max lies in [0, 1]; above tan(pi/8)
 * t is moved to (t - 1) / (t + 1) around pi/4; then the Cephes atanf polynomial (S. Moshier). */
#define EK_TAN_PI_8 0.414213562373095f
#define EK_PI_4 0.785398163397448f
#define EK_PI_2 1.57079632679490f
#define EK_PI 3.14159265358979f

static float atan2_f32(float y, float x)
{
    const float ay = fabsf(y), ax = fabsf(x);
    const int steep = ay > ax;
    const float num = steep ? ax : ay, den = steep ? ay : ax;
    const float t = den == 0.0f ? num : num / den; /* 0 / 0 -> 0; NaN stays NaN */
    const int upper = t > EK_TAN_PI_8;
    const float u = upper ? (t - 1.0f) / (t + 1.0f) : t, z = u * u;
    float r = (((8.05374449538e-2f * z - 1.38776856032e-1f) * z + 1.99777106478e-1f) * z - 3.33329491539e-1f) * z * u + u;
    if (upper) r += EK_PI_4;
    if (steep) r = EK_PI_2 - r;
    if (signbit(x)) r = EK_PI - r;
    return copysignf(r, y);
}

/* The signed angle from direction (n0, d0) to (n1, d1): wrap(atan2(n1, d1) - atan2(n0, d0)). */
static inline float angle_step(float n1, float d1, float n0, float d0)
{
    return atan2_f32(n1 * d0 - d1 * n0, d1 * d0 + n1 * n0);
}

static void linear_acc(const ek_bridge_t *b, float *sig)
{
    const float *q = b->q, g = b->config->gravity;
    const float w = q[0], x = q[1], y = q[2], z = q[3];
    /* gravity in the device frame is R(q)^T (0, 0, 1): the third row of R(q) */
    float lx = sig[EK_SIG_ACC_X] - g * (2.0f * (x * z - w * y));
    float ly = sig[EK_SIG_ACC_Y] - g * (2.0f * (y * z + w * x));
    float lz = sig[EK_SIG_ACC_Z] - g * (1.0f - 2.0f * (x * x + y * y));
    sig[EK_SIG_LINACC_X] = lx;
    sig[EK_SIG_LINACC_Y] = ly;
    sig[EK_SIG_LINACC_Z] = lz;
    sig[EK_SIG_LINACC_MAG] = norm3(lx, ly, lz);
}

/* Body-frame angular velocity from the relative rotation conj(q_prev) * q over one period. */
static void angular_velocity(const ek_bridge_t *b, float *sig)
{
    const float *p = b->prev_q, *q = b->q, dt = b->config->sample_period_s;
    float dw, dx, dy, dz, vnorm, angle, per_v;
    if (!b->started) {
        sig[EK_SIG_ANGVEL_X] = sig[EK_SIG_ANGVEL_Y] = sig[EK_SIG_ANGVEL_Z] = sig[EK_SIG_ANGDIST] = 0.0f;
        return;
    }
    dw = p[0] * q[0] + p[1] * q[1] + p[2] * q[2] + p[3] * q[3];
    dx = p[0] * q[1] - p[1] * q[0] - p[2] * q[3] + p[3] * q[2];
    dy = p[0] * q[2] + p[1] * q[3] - p[2] * q[0] - p[3] * q[1];
    dz = p[0] * q[3] - p[1] * q[2] + p[2] * q[1] - p[3] * q[0];
    vnorm = norm3(dx, dy, dz);
    angle = 2.0f * atan2_f32(vnorm, dw);
    per_v = vnorm > 1.0e-12f ? angle / vnorm : 2.0f; /* the limit of angle / |v| at 0 */
    sig[EK_SIG_ANGVEL_X] = per_v * dx / dt;
    sig[EK_SIG_ANGVEL_Y] = per_v * dy / dt;
    sig[EK_SIG_ANGVEL_Z] = per_v * dz / dt;
    sig[EK_SIG_ANGDIST] = angle;
}

/* Intrinsic z-y'-x'' Euler angles (yaw, pitch, roll), R = Rz(yaw) Ry(pitch) Rx(roll). */
static void euler_angles(ek_bridge_t *b, float *sig)
{
    const float w = b->q[0], x = b->q[1], y = b->q[2], z = b->q[3], dt = b->config->sample_period_s;
    float r00 = 1.0f - 2.0f * (y * y + z * z), r10 = 2.0f * (w * z + x * y);
    /* (numerator, denominator) of roll, pitch, yaw; pitch's cosine from the first column so
     * that pitch stays accurate near +-90 degrees where asin would not */
    float a[6];
    int k;
    a[0] = 2.0f * (w * x + y * z);
    a[1] = 1.0f - 2.0f * (x * x + y * y);
    a[2] = 2.0f * (w * y - x * z);
    a[3] = sqrtf(r00 * r00 + r10 * r10);
    a[4] = r10;
    a[5] = r00;
    for (k = 0; k < 3; ++k) {
        sig[EK_SIG_ROLL + k] = atan2_f32(a[2 * k], a[2 * k + 1]);
        sig[EK_SIG_ROLL_RATE + k] =
            b->started ? angle_step(a[2 * k], a[2 * k + 1], b->prev_euler[2 * k], b->prev_euler[2 * k + 1]) / dt
                       : 0.0f;
    }
    for (k = 0; k < 6; ++k) b->prev_euler[k] = a[k];
}

static void tilt(ek_bridge_t *b, float *sig)
{
    const ek_bridge_config_t *c = b->config;
    float sin_t, cos_t;
    if (c->tilt_source == EK_TILT_ORIENTATION) { /* device z against world up */
        const float *q = b->q;
        float s = q[1] * q[1] + q[2] * q[2], r = q[0] * q[0] + q[3] * q[3];
        sin_t = 2.0f * sqrtf(s * r);
        cos_t = r - s;
    } else if (sig[EK_SIG_ACC_MAG] > EK_MIN_ACC_NORM) { /* device z against measured acc */
        sin_t = sqrtf(sig[EK_SIG_ACC_X] * sig[EK_SIG_ACC_X] + sig[EK_SIG_ACC_Y] * sig[EK_SIG_ACC_Y]);
        cos_t = sig[EK_SIG_ACC_Z];
    } else { /* no gravity direction */
        sin_t = 0.0f;
        cos_t = 1.0f;
    }
    sig[EK_SIG_TILT] = atan2_f32(sin_t, cos_t);
    sig[EK_SIG_TILT_RATE] =
        b->started ? angle_step(sin_t, cos_t, b->prev_tilt[0], b->prev_tilt[1]) / c->sample_period_s : 0.0f;
    b->prev_tilt[0] = sin_t;
    b->prev_tilt[1] = cos_t;
}

void ek_motion_signals(ek_bridge_t *b, float *sig)
{
    const uint32_t needs = b->needs;
    if (needs & EK_NEED_ACC_MAG) sig[EK_SIG_ACC_MAG] = norm3(sig[EK_SIG_ACC_X], sig[EK_SIG_ACC_Y], sig[EK_SIG_ACC_Z]);
    if (needs & EK_NEED_GYRO_MAG) sig[EK_SIG_GYRO_MAG] = norm3(b->gyro[0], b->gyro[1], b->gyro[2]);
    if (needs & EK_NEED_ROT_ANGLE) /* 2 acos|w| without acos's loss near w = 1 */
        sig[EK_SIG_ROT_ANGLE] = 2.0f * atan2_f32(norm3(b->q[1], b->q[2], b->q[3]), fabsf(b->q[0]));
    if (needs & EK_NEED_LINACC) linear_acc(b, sig);
    if (needs & EK_NEED_ANGVEL) angular_velocity(b, sig);
    if (needs & EK_NEED_EULER) euler_angles(b, sig);
    if (needs & EK_NEED_TILT) tilt(b, sig);
}
