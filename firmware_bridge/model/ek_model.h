/*
 * ek_model.h - the INT8 student compiled to C by edgekit (`edgekit export RUN --target cortex-m4`).
 *
 * The generated ek_model_<name>.c holds the model: weights, per-channel scales and activation
 * tables as const arrays (flash) and one function running its kernels in order. This header is
 * the one API over any generated model, in the bridge's style: C99, caller-owned memory sized by
 * the generated macros, no malloc, no globals, status codes (ek_status_t, 0 = EK_OK).
 *
 *   static ek_word_t arena[EK_MODEL_CMI_ARENA_WORDS];   // scratch, may be shared between streams
 *   static ek_word_t state[EK_MODEL_CMI_STATE_WORDS];   // per stream (step models: the recurrent state)
 *   ek_model_t model;
 *   if (ek_model_init(&model, &ek_model_cmi, arena, sizeof arena, state, sizeof state) != EK_OK) ...
 *   ek_model_step(&model, features, logits);            // step model: one feature vector per sample
 *   ek_model_run(&model, window, logits);               // window model: window rows x n_inputs, time-major
 *
 * Exactness: the outputs equal onnxruntime's on the exported INT8 ONNX file bit for bit (the
 * kernels in ek_kernels.c follow ORT's; compile with -ffp-contract=off and without -ffast-math).
 * Features are the bridge's outputs (ek_bridge_push) in the model's channel order; NaN and
 * infinities are handled as the exported graph does (NaN -> 0 before normalisation, +-Inf clamp).
 */
#ifndef EK_MODEL_H
#define EK_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "edgekit_bridge.h" /* ek_status_t, EK_OK, EK_ERR_NULL, ek_word_t */

#ifdef __cplusplus
extern "C" {
#endif

/* Bump on any change to ek_model_def_t or a function signature. */
#define EK_MODEL_ABI_VERSION 1u

#define EK_ERR_MODEL_ABI (-32)    /* the generated model was built for another EK_MODEL_ABI_VERSION */
#define EK_ERR_MODEL_KIND (-33)   /* step() on a window model or run() on a step model */
#define EK_ERR_MODEL_ARENA (-34)  /* arena smaller than the model's plan or not 4-byte aligned */
#define EK_ERR_MODEL_STATE (-35)  /* state smaller than the model needs or not 4-byte aligned */

#define EK_MODEL_WINDOW 1 /* kinds: macros, so that #if can test them */
#define EK_MODEL_STEP 2

/* What a generated model exports (ek_model_<name>); read-only, lives in flash. */
typedef struct ek_model_def {
    uint32_t abi_version;        /* EK_MODEL_ABI_VERSION */
    uint8_t kind;                /* EK_MODEL_WINDOW or EK_MODEL_STEP */
    uint16_t n_inputs;           /* features per sample */
    uint16_t n_classes;          /* logits */
    uint16_t window;             /* rows per ek_model_run (window models); 1 for step models */
    uint32_t arena_bytes, state_bytes;
    char spec_hash[EK_SPEC_HASH_CHARS + 1]; /* the FeatureSpec the model was trained on */
    void (*forward)(const float *in, float *out, uint8_t *arena, uint8_t *state);
    void (*reset)(uint8_t *state);
} ek_model_def_t;

typedef struct ek_model {
    const ek_model_def_t *def;
    uint8_t *arena;
    uint8_t *state;
} ek_model_t;

uint32_t ek_model_abi_version(void);

/* Check `def` and the caller's buffers (4-byte aligned, at least the model's sizes) and reset. */
ek_status_t ek_model_init(ek_model_t *model, const ek_model_def_t *def, ek_word_t *arena, size_t arena_bytes,
                          ek_word_t *state, size_t state_bytes);

/* Forget the sequence: a step model's state back to the ONNX zero state. */
void ek_model_reset(ek_model_t *model);

/* Step model: one sample's n_inputs features in, n_classes logits out; the state moves on. */
ek_status_t ek_model_step(ek_model_t *model, const float *features, float *logits);

/* Window model: window x n_inputs features (time-major rows) in, n_classes logits out. */
ek_status_t ek_model_run(ek_model_t *model, const float *window, float *logits);

/* Index of the largest logit (the first one on ties, as numpy's argmax). */
uint32_t ek_model_argmax(const float *logits, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* EK_MODEL_H */
