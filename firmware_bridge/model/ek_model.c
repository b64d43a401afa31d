/* The one API over every generated model (ek_model.h): checks, reset, step/run, argmax. */
#include "ek_model.h"

uint32_t ek_model_abi_version(void) { return EK_MODEL_ABI_VERSION; }

static int aligned(const void *p) { return ((uintptr_t)p & 3u) == 0u; }

ek_status_t ek_model_init(ek_model_t *model, const ek_model_def_t *def, ek_word_t *arena, size_t arena_bytes,
                          ek_word_t *state, size_t state_bytes)
{
    if (model == NULL || def == NULL || def->forward == NULL || def->reset == NULL) return EK_ERR_NULL;
    if (def->abi_version != EK_MODEL_ABI_VERSION) return EK_ERR_MODEL_ABI;
    if (def->kind != EK_MODEL_WINDOW && def->kind != EK_MODEL_STEP) return EK_ERR_MODEL_KIND;
    if (arena == NULL || !aligned(arena) || arena_bytes < def->arena_bytes) return EK_ERR_MODEL_ARENA;
    if (def->state_bytes > 0u && (state == NULL || !aligned(state) || state_bytes < def->state_bytes))
        return EK_ERR_MODEL_STATE;
    model->def = def;
    model->arena = (uint8_t *)arena;
    model->state = (uint8_t *)state;
    ek_model_reset(model);
    return EK_OK;
}

void ek_model_reset(ek_model_t *model)
{
    model->def->reset(model->state);
}

ek_status_t ek_model_step(ek_model_t *model, const float *features, float *logits)
{
    if (model == NULL || features == NULL || logits == NULL) return EK_ERR_NULL;
    if (model->def->kind != EK_MODEL_STEP) return EK_ERR_MODEL_KIND;
    model->def->forward(features, logits, model->arena, model->state);
    return EK_OK;
}

ek_status_t ek_model_run(ek_model_t *model, const float *window, float *logits)
{
    if (model == NULL || window == NULL || logits == NULL) return EK_ERR_NULL;
    if (model->def->kind != EK_MODEL_WINDOW) return EK_ERR_MODEL_KIND;
    model->def->forward(window, logits, model->arena, model->state);
    return EK_OK;
}

uint32_t ek_model_argmax(const float *logits, uint32_t n)
{
    uint32_t i, best = 0;
    for (i = 1; i < n; ++i)
        if (logits[i] > logits[best]) best = i;
    return best;
}
