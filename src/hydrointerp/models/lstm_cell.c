/*
 * One LSTM cell step for a block of windows, fused: input projection gather, gate activations,
 * cell and hidden state update in one pass over memory (hydrointerp.models.lstm_kernel).
 *
 * The caller computes gates = h @ W_hh^T with the BLAS beforehand; this adds each window's
 * cached input projection row, squashes the gates and updates c and h in place. The candidate
 * gate's rows of both W_hh and the projections come pre-doubled, so every gate is one sigmoid:
 * tanh(g) = 2 sigmoid(2g) - 1.
 *
 * exp is evaluated by a range reduction to [-ln2/2, ln2/2] and a degree-6 polynomial (the
 * classical Cody-Waite / Cephes scheme, about 1 ulp), written without library calls so that the
 * compiler vectorises the loops.
 */
#include <stdint.h>
#include <string.h>

static inline float exp_approx(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
    const float r = x - n * 0.693359375f + n * 2.12194440e-4f; /* ln 2 split in two */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23; /* 2^n */
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float sigmoid(float z) { return 1.0f / (1.0f + exp_approx(-z)); }

/*
 * gates   [n, 4u]  in: h @ W_hh^T (gate order i, f, g, o; g doubled); overwritten
 * x_proj  [rows, 4u]  cached W_ih x + b of every day (g doubled)
 * first   [n]  row of x_proj holding window r's first day; this step reads row first[r] + step
 * c, h    [n, u]  cell and hidden state, updated in place
 */
static void cell_row(float *restrict a, const float *restrict x, float *restrict c,
                     float *restrict h, int64_t u)
{
    for (int64_t j = 0; j < 4 * u; j++)
        a[j] = sigmoid(a[j] + x[j]);
    for (int64_t j = 0; j < u; j++) {
        const float cell = a[u + j] * c[j] + a[j] * (2.0f * a[2 * u + j] - 1.0f);
        c[j] = cell;
        h[j] = a[3 * u + j] * (2.0f * sigmoid(2.0f * cell) - 1.0f);
    }
}

void lstm_cell_step(float *gates, const float *x_proj, const int64_t *first, int64_t step,
                    int64_t n, int64_t u, float *c, float *h, int32_t threads)
{
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t r = 0; r < n; r++)
        cell_row(gates + r * 4 * u, x_proj + (first[r] + step) * 4 * u, c + r * u, h + r * u, u);
}
