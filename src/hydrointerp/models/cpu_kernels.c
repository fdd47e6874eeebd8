/*
 * One LSTM cell step for a block of windows, fused: input projection gather, gate activations,
 * cell and hidden state update in one pass over memory (hydrointerp.models.cpu_kernels).
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
#ifdef _OPENMP
#include <omp.h>
#endif

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

/* this thread's number in the enclosing parallel region (its slice of per-thread scratch) */
static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
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

/*
 * Training. Windows (rows) are independent through time, so each thread runs whole rows through
 * all steps with no synchronisation; the recurrent product of a row is a matrix-vector product
 * kept in registers, blocks of 64 outputs at a time. Arrays are row-major per window:
 *
 * x_proj  [n, T, 4u]  W_ih x + b_ih + b_hh (gate order i, f, g, o; nothing doubled)
 * w_hh_t  [u, 4u]     W_hh transposed;  w_hh [4u, u] as stored by PyTorch
 * act     [n, T, 4u]  i, f, tanh(g), o of every step
 * c, h    [n, T + 1, u]  c_t and h_t, index 0 the zero state
 * tanh_c  [n, T, u]   tanh(c_{t+1})
 */
/* 8 floats as one vector (GCC/Clang vector extension: AVX registers where the CPU has them) */
typedef float v8 __attribute__((vector_size(32)));

static inline v8 load8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }

/*
 * Vector-matrix products of GROUP rows at once, sharing every load of the matrix:
 * out[r][j] = x[r][j] (0 if x is NULL) + sum_k v[r][k] m[k * cols + j], j < cols. Blocks of 16
 * outputs x 6 rows stay in twelve vector registers while k runs (six rows measured ~30 % faster
 * than four on AVX2: more independent multiply-adds per loaded block of the matrix).
 */
#define GROUP 6

static void vec_mat(const float *const *v, const float *restrict m, const float *const *x,
                    int64_t rows, int64_t cols, float *const *out)
{
    int64_t j0 = 0;
    for (; j0 + 16 <= cols; j0 += 16) {
        v8 a[GROUP][2];
        for (int r = 0; r < GROUP; r++) {
            a[r][0] = x ? load8(x[r] + j0) : (v8){0};
            a[r][1] = x ? load8(x[r] + j0 + 8) : (v8){0};
        }
        const float *mk = m + j0;
        for (int64_t k = 0; k < rows; k++, mk += cols) {
            const v8 m0 = load8(mk), m1 = load8(mk + 8);
            for (int r = 0; r < GROUP; r++) {
                const float s = v[r][k];
                const v8 vk = {s, s, s, s, s, s, s, s};
                a[r][0] += vk * m0;
                a[r][1] += vk * m1;
            }
        }
        for (int r = 0; r < GROUP; r++) {
            store8(out[r] + j0, a[r][0]);
            store8(out[r] + j0 + 8, a[r][1]);
        }
    }
    for (int r = 0; r < GROUP; r++) {
        for (int64_t j = j0; j < cols; j++) {
            float acc = x ? x[r][j] : 0.0f;
            for (int64_t k = 0; k < rows; k++)
                acc += v[r][k] * m[k * cols + j];
            out[r][j] = acc;
        }
    }
}

static void squash_row(float *restrict a, const float *restrict c_prev, float *restrict c_now,
                       float *restrict tc, float *restrict h_now, int64_t u)
{
    for (int64_t j = 0; j < 2 * u; j++)
        a[j] = sigmoid(a[j]);
    for (int64_t j = 2 * u; j < 3 * u; j++)
        a[j] = 2.0f * sigmoid(2.0f * a[j]) - 1.0f;
    for (int64_t j = 3 * u; j < 4 * u; j++)
        a[j] = sigmoid(a[j]);
    for (int64_t j = 0; j < u; j++) {
        const float cell = a[u + j] * c_prev[j] + a[j] * a[2 * u + j];
        const float squashed = 2.0f * sigmoid(2.0f * cell) - 1.0f;
        c_now[j] = cell;
        tc[j] = squashed;
        h_now[j] = a[3 * u + j] * squashed;
    }
}

/* rows r[0..GROUP) (a row may repeat: the group is padded with its last row) through all steps */
static void forward_group(const int64_t *r, const float *x_proj, const float *w_hh_t,
                          int64_t steps, int64_t u, float *act, float *c, float *tanh_c, float *h)
{
    for (int64_t t = 0; t < steps; t++) {
        const float *hv[GROUP], *xv[GROUP];
        float *av[GROUP];
        for (int g = 0; g < GROUP; g++) {
            hv[g] = h + (r[g] * (steps + 1) + t) * u;
            xv[g] = x_proj + (r[g] * steps + t) * 4 * u;
            av[g] = act + (r[g] * steps + t) * 4 * u;
        }
        vec_mat(hv, w_hh_t, xv, u, 4 * u, av);
        for (int g = 0; g < GROUP; g++) {
            if (g && r[g] == r[g - 1])
                break;
            float *cr = c + r[g] * (steps + 1) * u;
            squash_row(av[g], cr + t * u, cr + (t + 1) * u, tanh_c + (r[g] * steps + t) * u,
                       h + (r[g] * (steps + 1) + t + 1) * u, u);
        }
    }
}

static void group_rows(int64_t first, int64_t n, int64_t *r)
{
    for (int g = 0; g < GROUP; g++)
        r[g] = first + g < n ? first + g : n - 1;
}

void lstm_train_forward(const float *x_proj, const float *w_hh_t, int64_t steps, int64_t n,
                        int64_t u, float *act, float *c, float *tanh_c, float *h, int32_t threads)
{
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int64_t first = 0; first < n; first += GROUP) {
        int64_t r[GROUP];
        group_rows(first, n, r);
        forward_group(r, x_proj, w_hh_t, steps, u, act, c, tanh_c, h);
    }
}

/* one step of the gate gradients; dc moves from dLoss/dc_{t+1} to dLoss/dc_t */
static void gate_grads(const float *restrict a, const float *restrict c_prev,
                       const float *restrict tc, const float *restrict dh, float *restrict dc,
                       float *restrict dz, int64_t u)
{
    for (int64_t j = 0; j < u; j++) {
        const float gi = a[j], gf = a[u + j], gg = a[2 * u + j], go = a[3 * u + j];
        const float dcell = dc[j] + dh[j] * go * (1.0f - tc[j] * tc[j]);
        dz[j] = dcell * gg * gi * (1.0f - gi);
        dz[u + j] = dcell * c_prev[j] * gf * (1.0f - gf);
        dz[2 * u + j] = dcell * gi * (1.0f - gg * gg);
        dz[3 * u + j] = dh[j] * tc[j] * go * (1.0f - go);
        dc[j] = dcell * gf;
    }
}

/* rows r[0..GROUP) backwards through all steps; work holds GROUP x (dh, dc) */
static void backward_group(const int64_t *r, const float *act, const float *c,
                           const float *tanh_c, const float *w_hh, const float *grad_h,
                           int64_t steps, int64_t u, float *dz, float *work)
{
    float *dh[GROUP], *dc[GROUP];
    const float *dzv[GROUP];
    for (int g = 0; g < GROUP; g++) {
        dh[g] = work + g * 2 * u;
        dc[g] = dh[g] + u;
        memcpy(dh[g], grad_h + r[g] * u, (size_t)u * sizeof(float));
        memset(dc[g], 0, (size_t)u * sizeof(float));
    }
    for (int64_t t = steps - 1; t >= 0; t--) {
        for (int g = 0; g < GROUP; g++) {
            const int64_t at = r[g] * steps + t;
            float *z = dz + at * 4 * u;
            if (g && r[g] == r[g - 1]) { /* padding: same row again, into scratch */
                z = work + GROUP * 2 * u + g * 4 * u;
                memset(dh[g], 0, (size_t)u * sizeof(float));
            }
            gate_grads(act + at * 4 * u, c + (r[g] * (steps + 1) + t) * u, tanh_c + at * u, dh[g],
                       dc[g], z, u);
            dzv[g] = z;
        }
        if (t)
            vec_mat(dzv, w_hh, 0, 4 * u, u, dh);
    }
}

/* scratch floats per thread that lstm_train_backward needs */
int64_t lstm_train_work_floats(int64_t u) { return (int64_t)GROUP * 6 * u; }

/* dz [n, T, 4u]: dLoss/d(gate pre-activations) given grad_h [n, u] of the last hidden state;
 * work: threads x lstm_train_work_floats(u) floats of scratch */
void lstm_train_backward(const float *act, const float *c, const float *tanh_c,
                         const float *w_hh, const float *grad_h, int64_t steps, int64_t n,
                         int64_t u, float *dz, float *work, int32_t threads)
{
#pragma omp parallel num_threads(threads)
    {
        float *mine = work + (int64_t)thread_id() * lstm_train_work_floats(u);
#pragma omp for schedule(static)
        for (int64_t first = 0; first < n; first += GROUP) {
            int64_t r[GROUP];
            group_rows(first, n, r);
            backward_group(r, act, c, tanh_c, w_hh, grad_h, steps, u, dz, mine);
        }
    }
}

/*
 * Backward of relu(conv2d(x)) max-pooled over the whole grid, at the maxima only
 * (hydrointerp.models.max_pooled_conv): stride 1, odd kernel, same-size zero padding.
 *
 * x      [n, h, w, ci]  the convolution's input, channels last
 * weight [co, kh, kw, ci]
 * where  [n, co]  flat cell (row * w + col) of each maximum;  g [n, co] its gradient (0 where the
 *                 maximum is not positive: the ReLU passes nothing there)
 * dx     [n, h, w, ci]  out, zeroed by the caller
 * dw     [threads, co, kh, kw, ci]  out: per-thread partial sums, zeroed by the caller
 */
void max_conv_backward(const float *x, const float *weight, const int64_t *where, const float *g,
                       int64_t n, int64_t h, int64_t w, int64_t ci, int64_t co, int64_t kh,
                       int64_t kw, float *dx, float *dw, int32_t threads)
{
#pragma omp parallel num_threads(threads)
    {
        float *mine = dw + (int64_t)thread_id() * co * kh * kw * ci;
#pragma omp for schedule(static)
        for (int64_t d = 0; d < n; d++) {
            for (int64_t c = 0; c < co; c++) {
                const float gc = g[d * co + c];
                if (gc == 0.0f)
                    continue;
                const int64_t row = where[d * co + c] / w, col = where[d * co + c] % w;
                for (int64_t a = 0; a < kh; a++) {
                    const int64_t y = row + a - kh / 2;
                    if (y < 0 || y >= h)
                        continue;
                    for (int64_t b = 0; b < kw; b++) {
                        const int64_t xx = col + b - kw / 2;
                        if (xx < 0 || xx >= w)
                            continue;
                        const int64_t cell = ((d * h + y) * w + xx) * ci;
                        const int64_t tap = ((c * kh + a) * kw + b) * ci;
                        const float *restrict xs = x + cell;
                        const float *restrict ws = weight + tap;
                        float *restrict dxs = dx + cell;
                        float *restrict dws = mine + tap;
                        for (int64_t i = 0; i < ci; i++) {
                            dws[i] += gc * xs[i];
                            dxs[i] += gc * ws[i];
                        }
                    }
                }
            }
        }
    }
}
