/*===- api.h - The lococ runtime C ABI ------------------------------------===*\
|*                                                                            *|
|* The one C ABI that compiled train.so files call. Every backend (cpu now,   *|
|* cuda later) is a shared library exporting exactly these symbols; locorun   *|
|* loads one, creates a context on it, allocates the arena once, and dlopens  *|
|* train.so, whose undefined loco_* references bind to the loaded backend.    *|
|*                                                                            *|
|* Conventions: all tensors are dense, row-major buffers inside the arena     *|
|* (device memory for device backends), float32 unless a kernel's _bf16 or    *|
|* _f16 suffix says otherwise (see "Reduced precision" below); shapes are     *|
|* passed as int64_t;                                                         *|
|* rank-generic kernels take pointers to int64_t arrays that live in          *|
|* train.so's constant data. Kernels report failures through the context      *|
|* (loco_context_error) rather than return codes, so that a whole step can be *|
|* enqueued on a stream and checked once.                                     *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef LOCO_RUNTIME_ABI_API_H
#define LOCO_RUNTIME_ABI_API_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this ABI; train.so records the one it was compiled for and
 * locorun refuses any other. Bump on every incompatible change. */
#define LOCO_ABI_VERSION 6

/* The symbols a train.so exports besides its step entries (lococ's lowering
 * defines them; the runner finds them with dlsym): the ABI version it was
 * compiled for (int32), its manifest (a JSON string), and the slot of the
 * hook it calls after each kernel (null unless profiling or checking), and
 * the entry of its optimizer step. */
/* The schema of the manifest's config tables (runtime/abi/Manifest.h),
 * recorded as its "schema"; bumped when a key changes meaning. */
#define LOCO_MANIFEST_SCHEMA 1

#define LOCO_ARTIFACT_ABI_VERSION "loco_abi_version"
#define LOCO_ARTIFACT_MANIFEST "loco_manifest"
#define LOCO_ARTIFACT_DEBUG_HOOK "loco_debug_hook"
#define LOCO_ARTIFACT_OPTIMIZER_STEP "loco_optimizer_step"

typedef struct loco_context loco_context;

/*--- Context, memory, synchronisation ------------------------------------*/

/* Creates a context on `device` ("cpu" for this backend). Returns NULL and
 * writes a message to `error` (of `error_size` bytes) on failure. */
loco_context *loco_context_create(const char *device, char *error,
                                  int64_t error_size);
void loco_context_destroy(loco_context *ctx);
/* The first error a kernel reported since the last clear, or NULL. */
const char *loco_context_error(loco_context *ctx);
void loco_context_clear_error(loco_context *ctx);
/* The random stream's seed and the optimizer step (dropout keys). */
void loco_context_set_rng(loco_context *ctx, uint64_t seed, uint64_t step);
/* Data parallelism: this process's replica (its rank). Random ops draw at
 * `replica * extent + index`, the index their samples have in one process
 * with every replica's batch (dialect: RngKeyAttr). 0 (the default) is a
 * single process. A train.so reads it (loco_context_rng_replica) when it
 * calls a random kernel, so a CUDA graph captures the value set before. */
void loco_context_set_rng_replica(loco_context *ctx, int64_t replica);
int64_t loco_context_rng_replica(loco_context *ctx);
/* Profiling (locorun --profile): while on, the caller records a mark after
 * each kernel call (train.so's loco_debug_hook) and reads the marks' times
 * after the step. A CUDA context then runs steps eagerly (no graphs), so
 * that each call's marks are its own; marks are events on its stream, and
 * nothing synchronises until the read. */
void loco_context_profile(loco_context *ctx, int enabled);
/* A mark: the time at which every kernel enqueued before it has finished. */
void loco_context_profile_mark(loco_context *ctx);
/* Waits for the marks since the last read, writes each one's seconds after
 * the first of them to `seconds` (at most `capacity`), clears them, and
 * returns how many there were. */
int64_t loco_context_profile_read(loco_context *ctx, double *seconds,
                                  int64_t capacity);
/* Whether dropout is active (training) or the identity (evaluation). */
void loco_context_set_training(loco_context *ctx, int training);
/* The optimizer step about to be taken (1-based, for bias correction) and
 * its learning rate. */
void loco_context_set_optimizer(loco_context *ctx, int64_t step, double lr);
/* Dynamic loss scaling (fp16 mixed precision, GradScaler's semantics): the
 * backward pass starts from the loss cotangent times `scale`
 * (loco_fill_loss_scaled), so every gradient accumulator holds scale times
 * the gradient; loco_grad_norm_finish reports the unscaled norm, and AdamW
 * applies clip_coef / scale. 1 (the default) changes nothing. */
void loco_context_set_loss_scale(loco_context *ctx, double scale);
/* Name of the backend, e.g. "cpu (OpenBLAS, FFTW3, 2 threads)"; on CUDA
 * followed by the graph activity so far (graphs captured and launched, or
 * off after a failed capture). Valid until the next call on the context. */
const char *loco_context_describe(loco_context *ctx);

/* The arena: one allocation of `bytes`, 256-byte aligned. */
void *loco_arena_alloc(loco_context *ctx, int64_t bytes);
/* The arena's workspace region (manifest `workspace_offset` and
 * `workspace_bytes`), which kernels use for their scratch. */
void loco_context_set_workspace(loco_context *ctx, void *workspace,
                                int64_t bytes);
void loco_arena_free(loco_context *ctx, void *arena);
void loco_copy_to_device(loco_context *ctx, void *dst, const void *src,
                         int64_t bytes);
void loco_copy_to_host(loco_context *ctx, void *dst, const void *src,
                       int64_t bytes);
void loco_synchronize(loco_context *ctx);

/*--- Host control (called by locorun, never by train.so) ------------------*/

/* A compiled step: one of train.so's entry points. */
typedef void (*loco_step_fn)(loco_context *ctx, void *arena);
/* Runs `step` on the arena. Backends with a device queue may record it:
 * the cuda backend runs a step eagerly the first time, captures it as a
 * CUDA graph the second and replays the graph after that (the per-step
 * scalars set above live in device memory, so a replay sees new values). */
void loco_run_step(loco_context *ctx, loco_step_fn step, void *arena);
/* The input precision of matrix products (GEMMs, the 1-D convolutions,
 * fused attention) on tensor-core backends; products accumulate and every
 * tensor is stored in fp32. From the config: training.use_amp with
 * amp_dtype bfloat16 / float16, else performance.tf32, else fp32. The cpu
 * backend computes in fp32 whatever is set. */
#define LOCO_MATMUL_FP32 0
#define LOCO_MATMUL_TF32 1
#define LOCO_MATMUL_BF16 2
#define LOCO_MATMUL_FP16 3
void loco_context_set_matmul_precision(loco_context *ctx, int precision);
/* Device memory the context holds now and at most since creation (arena,
 * fixed workspace, library state), as the device reports it; 0 for host
 * backends. */
int64_t loco_context_device_memory(loco_context *ctx, int64_t *peak);
/* The devices this backend can run on (the cpu backend: 1). */
int loco_device_count(void);

/*--- Spectral transforms (torch.stft / torch.istft semantics) ------------*/

/* x [B, N] -> out [B, 2, T, F], T = 1 + N / hop, F = n_fft / 2 + 1. */
void loco_stft(loco_context *ctx, const float *x, float *out, int64_t B,
               int64_t N, int64_t n_fft, int64_t hop);
/* spec [B, 2, T, F] -> out [B, length]. */
void loco_istft(loco_context *ctx, const float *spec, float *out, int64_t B,
                int64_t T, int64_t n_fft, int64_t hop, int64_t length);

/*--- Convolutions ----------------------------------------------------------*/

/* x [B, Ci, H, W], w [Co, Ci, KH, KW], b [Co] -> out [B, Co, Ho, Wo],
 * stride 1, zero padding (PH, PW). */
void loco_conv2d(loco_context *ctx, const float *x, const float *w,
                 const float *b, float *out, int64_t B, int64_t Ci, int64_t H,
                 int64_t W, int64_t Co, int64_t KH, int64_t KW, int64_t PH,
                 int64_t PW);
/* x [B, Ci, H, W], w [Ci, Co, KH, KW], b [Co] -> out [B, Co, Ho, Wo]. */
void loco_conv_transpose2d(loco_context *ctx, const float *x, const float *w,
                           const float *b, float *out, int64_t B, int64_t Ci,
                           int64_t H, int64_t W, int64_t Co, int64_t KH,
                           int64_t KW, int64_t PH, int64_t PW);
/* Channels last: x [R, L, Ci], w [Co, Ci, K], b [Co] -> out [R, Lo, Co],
 * Lo = (L - K) / stride + 1. */
void loco_conv1d(loco_context *ctx, const float *x, const float *w,
                 const float *b, float *out, int64_t R, int64_t L, int64_t Ci,
                 int64_t Co, int64_t K, int64_t stride);
/* Channels last: x [R, L, Ci], w [Ci, Co, K], b [Co] -> out [R, Lo, Co],
 * Lo = (L - 1) * stride + K. */
void loco_conv_transpose1d(loco_context *ctx, const float *x, const float *w,
                           const float *b, float *out, int64_t R, int64_t L,
                           int64_t Ci, int64_t Co, int64_t K, int64_t stride);

/*--- Normalisation ---------------------------------------------------------*/

/* x [B, C, S] (S = product of trailing dims), affine per channel. */
void loco_group_norm(loco_context *ctx, const float *x, const float *gamma,
                     const float *beta, float *out, int64_t B, int64_t C,
                     int64_t S, int64_t groups, double eps);
/* x [rows, C]: per group of C / groups, x / (rms + eps) * gamma. */
void loco_rms_group_norm(loco_context *ctx, const float *x, const float *gamma,
                         float *out, int64_t rows, int64_t C, int64_t groups,
                         double eps);

/*--- Matrix products -------------------------------------------------------*/

/* x [M, K], w [N, K] -> out [M, N] = x w^T. */
void loco_linear(loco_context *ctx, const float *x, const float *w, float *out,
                 int64_t M, int64_t K, int64_t N);
/* a [batch, M, K] (or [batch, K, M] when transpose_a), b [batch, K, N]
 * (or [batch, N, K] when transpose_b) -> out [batch, M, N]. */
void loco_batch_matmul(loco_context *ctx, const float *a, const float *b,
                       float *out, int64_t batch, int64_t M, int64_t K,
                       int64_t N, int64_t transpose_a, int64_t transpose_b);

/*--- Attention pieces ------------------------------------------------------*/

/* x [outer, L, d]: interleaved-pair rotary embedding, positions 0..L-1;
 * `inverse` rotates by the opposite angles (the transpose). */
void loco_rope(loco_context *ctx, const float *x, float *out, int64_t outer,
               int64_t L, int64_t d, double theta, int64_t inverse);
/* x [outer, n, inner]: softmax along the middle dim. */
void loco_softmax(loco_context *ctx, const float *x, float *out, int64_t outer,
                  int64_t n, int64_t inner);
/* Inverted dropout keyed by (seed, step, stream, element index); element i
 * draws with index `index_offset + i` (a row chunk's place in the whole). */
void loco_dropout(loco_context *ctx, const float *x, float *out, int64_t n,
                  double p, int64_t stream, int64_t index_offset);
/* out = r + loco_dropout(x) (same key and indices); out may be r or x. */
void loco_dropout_add(loco_context *ctx, const float *r, const float *x,
                      float *out, int64_t n, double p, int64_t stream,
                      int64_t index_offset);

/*--- Element-wise ----------------------------------------------------------*/

void loco_add(loco_context *ctx, const float *a, const float *b, float *out,
              int64_t n);
void loco_sub(loco_context *ctx, const float *a, const float *b, float *out,
              int64_t n);
void loco_mul(loco_context *ctx, const float *a, const float *b, float *out,
              int64_t n);
void loco_div(loco_context *ctx, const float *a, const float *b, float *out,
              int64_t n);
void loco_silu(loco_context *ctx, const float *x, float *out, int64_t n);
/* x: [rows, 2 * hidden], value half then gate half; out: [rows, hidden]
 * = value * silu(gate). */
void loco_swiglu(loco_context *ctx, const float *x, float *out, int64_t rows,
                 int64_t hidden);
void loco_scale(loco_context *ctx, const float *x, float *out, int64_t n,
                double factor);
void loco_copy(loco_context *ctx, const float *x, float *out, int64_t n);

/*--- Data movement (rank-generic kernels take constant arrays) ------------*/

/* out dim i = x dim perm[i]; `shape` is the input shape. */
void loco_transpose(loco_context *ctx, const float *x, float *out, int64_t rank,
                    const int64_t *shape, const int64_t *perm);
/* x viewed as [outer, dim, inner] -> out [outer, size, inner]. */
void loco_slice(loco_context *ctx, const float *x, float *out, int64_t outer,
                int64_t dim, int64_t inner, int64_t start, int64_t size);
/* Zero padding of each dim by low[i] before and high[i] after. */
void loco_pad(loco_context *ctx, const float *x, float *out, int64_t rank,
              const int64_t *shape, const int64_t *low, const int64_t *high);
/* Sum (or mean) over the dims whose reduce[i] is non-zero. */
void loco_reduce(loco_context *ctx, const float *x, float *out, int64_t rank,
                 const int64_t *shape, const int64_t *reduce, int64_t mean);

/*--- Loss pieces -----------------------------------------------------------*/

/* e, t [B, N] -> out [B], SI-SDR in dB. */
void loco_si_sdr(loco_context *ctx, const float *e, const float *t, float *out,
                 int64_t B, int64_t N, double eps);
void loco_l1_loss(loco_context *ctx, const float *e, const float *t, float *out,
                  int64_t n);
void loco_mse_loss(loco_context *ctx, const float *e, const float *t,
                   float *out, int64_t n);
/* E, T [B, 2, frames, F] -> mean |log1p|E| - log1p|T||. */
void loco_spectral_l1(loco_context *ctx, const float *E, const float *T,
                      float *out, int64_t B, int64_t frames, int64_t F);

/*--- Backward kernels -------------------------------------------------------*/

/* Adjoint of loco_stft: g [B, 2, T, F] -> out [B, N]. */
void loco_stft_backward(loco_context *ctx, const float *g, float *out,
                        int64_t B, int64_t N, int64_t n_fft, int64_t hop);
/* Adjoint of loco_istft: g [B, length] -> out [B, 2, T, F]. */
void loco_istft_backward(loco_context *ctx, const float *g, float *out,
                         int64_t B, int64_t T, int64_t n_fft, int64_t hop,
                         int64_t length);
/* Weight gradients; shapes as the forward kernels' (x input, g output
 * cotangent). conv2d: out [Co, Ci, KH, KW]; conv_transpose2d: out
 * [Ci, Co, KH, KW]; conv1d: out [Co, Ci, K]; conv_transpose1d: out
 * [Ci, Co, K] (stride 1). */
void loco_conv2d_weight_grad(loco_context *ctx, const float *x, const float *g,
                             float *out, int64_t B, int64_t Ci, int64_t H,
                             int64_t W, int64_t Co, int64_t KH, int64_t KW,
                             int64_t PH, int64_t PW);
void loco_conv_transpose2d_weight_grad(loco_context *ctx, const float *x,
                                       const float *g, float *out, int64_t B,
                                       int64_t Ci, int64_t H, int64_t W,
                                       int64_t Co, int64_t KH, int64_t KW,
                                       int64_t PH, int64_t PW);
void loco_conv1d_weight_grad(loco_context *ctx, const float *x, const float *g,
                             float *out, int64_t R, int64_t L, int64_t Ci,
                             int64_t Co, int64_t K);
void loco_conv_transpose1d_weight_grad(loco_context *ctx, const float *x,
                                       const float *g, float *out, int64_t R,
                                       int64_t L, int64_t Ci, int64_t Co,
                                       int64_t K);
/* x [M, K], g [M, N] -> out [N, K] = g^T x. */
void loco_linear_weight_grad(loco_context *ctx, const float *x, const float *g,
                             float *out, int64_t M, int64_t K, int64_t N);
void loco_group_norm_backward(loco_context *ctx, const float *x,
                              const float *gamma, const float *g, float *dx,
                              float *dgamma, float *dbeta, int64_t B, int64_t C,
                              int64_t S, int64_t groups, double eps);
void loco_rms_group_norm_backward(loco_context *ctx, const float *x,
                                  const float *gamma, const float *g, float *dx,
                                  float *dgamma, int64_t rows, int64_t C,
                                  int64_t groups, double eps);
/* y: the softmax result, viewed as [outer, n, inner]. */
void loco_softmax_backward(loco_context *ctx, const float *y, const float *g,
                           float *out, int64_t outer, int64_t n, int64_t inner);
void loco_silu_backward(loco_context *ctx, const float *x, const float *g,
                        float *out, int64_t n);
/* out: [rows, 2 * hidden], the cotangent of loco_swiglu's input x given g
 * ([rows, hidden]); out may be x. */
void loco_swiglu_backward(loco_context *ctx, const float *x, const float *g,
                          float *out, int64_t rows, int64_t hidden);
/* out (shape `shape`) = x repeated along the dims whose mask[i] is set. */
void loco_broadcast(loco_context *ctx, const float *x, float *out, int64_t rank,
                    const int64_t *shape, const int64_t *mask);
void loco_si_sdr_backward(loco_context *ctx, const float *e, const float *t,
                          const float *g, float *out, int64_t B, int64_t N,
                          double eps);
void loco_l1_loss_backward(loco_context *ctx, const float *e, const float *t,
                           const float *g, float *out, int64_t n);
void loco_mse_loss_backward(loco_context *ctx, const float *e, const float *t,
                            const float *g, float *out, int64_t n);
void loco_spectral_l1_backward(loco_context *ctx, const float *E,
                               const float *T, const float *g, float *out,
                               int64_t B, int64_t frames, int64_t F);
void loco_fill(loco_context *ctx, float *out, int64_t n, double value);
/* out[i] = value times the context's loss scale: the seed of a loss-scaled
 * backward pass. */
void loco_fill_loss_scaled(loco_context *ctx, float *out, int64_t n,
                           double value);

/*--- Fused attention
 * ---------------------------------------------------------*/

/* q [batch, Lq, d], k [batch, Lk, d], v [batch, Lk, dv] -> out [batch, Lq, dv]
 * = dropout(softmax(scale q k^T)) v and lse [batch, Lq]. Dropout (p > 0)
 * draws from `stream` with the index of the [batch, Lq, Lk] probability
 * tensor plus `index_offset`, as loco_dropout on that tensor would; stream
 * < 0 means none. */
void loco_flash_attention(loco_context *ctx, const float *q, const float *k,
                          const float *v, float *out, float *lse, int64_t batch,
                          int64_t Lq, int64_t Lk, int64_t d, int64_t dv,
                          double scale, double p, int64_t stream,
                          int64_t index_offset);
/* Gradients of q, k, v given out, lse and the cotangent dout. */
void loco_flash_attention_backward(
    loco_context *ctx, const float *q, const float *k, const float *v,
    const float *out, const float *lse, const float *dout, float *dq, float *dk,
    float *dvalue, int64_t batch, int64_t Lq, int64_t Lk, int64_t d, int64_t dv,
    double scale, double p, int64_t stream, int64_t index_offset);

/*--- Reduced precision (loco-autocast)
 * ---------------------------------------*/

/* Element types, as train.so's debug hook reports them. */
#define LOCO_DTYPE_F32 0
#define LOCO_DTYPE_BF16 1
#define LOCO_DTYPE_F16 2

/* One bf16 or f16 element; the kernel's suffix says which. */
typedef uint16_t loco_half;

/* Every kernel in this list exists as loco_<kernel>_bf16 and
 * loco_<kernel>_f16, with the f32 kernel's arguments and semantics: its
 * tensors are stored in that type (the attention's log-sum-exp stays float)
 * and it computes in fp32, rounding each result to nearest even once. The
 * casts convert between float and the suffix's type (round to nearest even;
 * exact upwards). loco_dropout_add_f32_<S> adds the dropout of a reduced x,
 * rounded to it and widened, to an f32 r into an f32 out (out may be r).
 * The verifiers of the loco dialect allow reduced types on exactly the ops
 * these kernels implement. */
#define LOCO_DECLARE_HALF_KERNELS(S)                                           \
  void loco_cast_f32_##S(loco_context *ctx, const float *x, loco_half *out,    \
                         int64_t n);                                           \
  void loco_cast_##S##_f32(loco_context *ctx, const loco_half *x, float *out,  \
                           int64_t n);                                         \
  void loco_conv2d_##S(                                                        \
      loco_context *ctx, const loco_half *x, const loco_half *w,               \
      const loco_half *b, loco_half *out, int64_t B, int64_t Ci, int64_t H,    \
      int64_t W, int64_t Co, int64_t KH, int64_t KW, int64_t PH, int64_t PW);  \
  void loco_conv_transpose2d_##S(                                              \
      loco_context *ctx, const loco_half *x, const loco_half *w,               \
      const loco_half *b, loco_half *out, int64_t B, int64_t Ci, int64_t H,    \
      int64_t W, int64_t Co, int64_t KH, int64_t KW, int64_t PH, int64_t PW);  \
  void loco_conv1d_##S(loco_context *ctx, const loco_half *x,                  \
                       const loco_half *w, const loco_half *b, loco_half *out, \
                       int64_t R, int64_t L, int64_t Ci, int64_t Co,           \
                       int64_t K, int64_t stride);                             \
  void loco_conv_transpose1d_##S(                                              \
      loco_context *ctx, const loco_half *x, const loco_half *w,               \
      const loco_half *b, loco_half *out, int64_t R, int64_t L, int64_t Ci,    \
      int64_t Co, int64_t K, int64_t stride);                                  \
  void loco_linear_##S(loco_context *ctx, const loco_half *x,                  \
                       const loco_half *w, loco_half *out, int64_t M,          \
                       int64_t K, int64_t N);                                  \
  void loco_batch_matmul_##S(loco_context *ctx, const loco_half *a,            \
                             const loco_half *b, loco_half *out,               \
                             int64_t batch, int64_t M, int64_t K, int64_t N,   \
                             int64_t transpose_a, int64_t transpose_b);        \
  void loco_dropout_##S(loco_context *ctx, const loco_half *x, loco_half *out, \
                        int64_t n, double p, int64_t stream,                   \
                        int64_t index_offset);                                 \
  void loco_dropout_add_##S(loco_context *ctx, const loco_half *r,             \
                            const loco_half *x, loco_half *out, int64_t n,     \
                            double p, int64_t stream, int64_t index_offset);   \
  void loco_dropout_add_f32_##S(                                               \
      loco_context *ctx, const float *r, const loco_half *x, float *out,       \
      int64_t n, double p, int64_t stream, int64_t index_offset);              \
  void loco_add_##S(loco_context *ctx, const loco_half *a, const loco_half *b, \
                    loco_half *out, int64_t n);                                \
  void loco_sub_##S(loco_context *ctx, const loco_half *a, const loco_half *b, \
                    loco_half *out, int64_t n);                                \
  void loco_mul_##S(loco_context *ctx, const loco_half *a, const loco_half *b, \
                    loco_half *out, int64_t n);                                \
  void loco_div_##S(loco_context *ctx, const loco_half *a, const loco_half *b, \
                    loco_half *out, int64_t n);                                \
  void loco_silu_##S(loco_context *ctx, const loco_half *x, loco_half *out,    \
                     int64_t n);                                               \
  void loco_swiglu_##S(loco_context *ctx, const loco_half *x, loco_half *out,  \
                       int64_t rows, int64_t hidden);                          \
  void loco_scale_##S(loco_context *ctx, const loco_half *x, loco_half *out,   \
                      int64_t n, double factor);                               \
  void loco_copy_##S(loco_context *ctx, const loco_half *x, loco_half *out,    \
                     int64_t n);                                               \
  void loco_transpose_##S(loco_context *ctx, const loco_half *x,               \
                          loco_half *out, int64_t rank, const int64_t *shape,  \
                          const int64_t *perm);                                \
  void loco_slice_##S(loco_context *ctx, const loco_half *x, loco_half *out,   \
                      int64_t outer, int64_t dim, int64_t inner,               \
                      int64_t start, int64_t size);                            \
  void loco_pad_##S(loco_context *ctx, const loco_half *x, loco_half *out,     \
                    int64_t rank, const int64_t *shape, const int64_t *low,    \
                    const int64_t *high);                                      \
  void loco_reduce_##S(loco_context *ctx, const loco_half *x, loco_half *out,  \
                       int64_t rank, const int64_t *shape,                     \
                       const int64_t *reduce, int64_t mean);                   \
  void loco_broadcast_##S(loco_context *ctx, const loco_half *x,               \
                          loco_half *out, int64_t rank, const int64_t *shape,  \
                          const int64_t *mask);                                \
  void loco_fill_##S(loco_context *ctx, loco_half *out, int64_t n,             \
                     double value);                                            \
  void loco_silu_backward_##S(loco_context *ctx, const loco_half *x,           \
                              const loco_half *g, loco_half *out, int64_t n);  \
  void loco_swiglu_backward_##S(loco_context *ctx, const loco_half *x,         \
                                const loco_half *g, loco_half *out,            \
                                int64_t rows, int64_t hidden);                 \
  void loco_conv2d_weight_grad_##S(                                            \
      loco_context *ctx, const loco_half *x, const loco_half *g,               \
      loco_half *out, int64_t B, int64_t Ci, int64_t H, int64_t W, int64_t Co, \
      int64_t KH, int64_t KW, int64_t PH, int64_t PW);                         \
  void loco_conv_transpose2d_weight_grad_##S(                                  \
      loco_context *ctx, const loco_half *x, const loco_half *g,               \
      loco_half *out, int64_t B, int64_t Ci, int64_t H, int64_t W, int64_t Co, \
      int64_t KH, int64_t KW, int64_t PH, int64_t PW);                         \
  void loco_conv1d_weight_grad_##S(loco_context *ctx, const loco_half *x,      \
                                   const loco_half *g, loco_half *out,         \
                                   int64_t R, int64_t L, int64_t Ci,           \
                                   int64_t Co, int64_t K);                     \
  void loco_conv_transpose1d_weight_grad_##S(                                  \
      loco_context *ctx, const loco_half *x, const loco_half *g,               \
      loco_half *out, int64_t R, int64_t L, int64_t Ci, int64_t Co,            \
      int64_t K);                                                              \
  void loco_linear_weight_grad_##S(loco_context *ctx, const loco_half *x,      \
                                   const loco_half *g, loco_half *out,         \
                                   int64_t M, int64_t K, int64_t N);           \
  void loco_flash_attention_##S(                                               \
      loco_context *ctx, const loco_half *q, const loco_half *k,               \
      const loco_half *v, loco_half *out, float *lse, int64_t batch,           \
      int64_t Lq, int64_t Lk, int64_t d, int64_t dv, double scale, double p,   \
      int64_t stream, int64_t index_offset);                                   \
  void loco_flash_attention_backward_##S(                                      \
      loco_context *ctx, const loco_half *q, const loco_half *k,               \
      const loco_half *v, const loco_half *out, const float *lse,              \
      const loco_half *dout, loco_half *dq, loco_half *dk, loco_half *dvalue,  \
      int64_t batch, int64_t Lq, int64_t Lk, int64_t d, int64_t dv,            \
      double scale, double p, int64_t stream, int64_t index_offset);

LOCO_DECLARE_HALF_KERNELS(bf16)
LOCO_DECLARE_HALF_KERNELS(f16)

/*--- Optimizer step: global-norm clipping and AdamW ------------------------*/

/* Scalars the optimizer step keeps in the arena. */
typedef struct loco_optimizer_scratch {
  double sum_squares; /* of every gradient accumulator */
  float grad_norm;    /* before clipping */
  float clip_coef;    /* min(max_norm / (grad_norm + 1e-6), 1) */
  /* Elements whose update (weight or moment) would not be finite, counted
   * by loco_adamw_check over every parameter before any is updated. */
  int64_t nonfinite_updates;
} loco_optimizer_scratch;

void loco_grad_norm_begin(loco_context *ctx, loco_optimizer_scratch *scratch);
void loco_grad_norm_accumulate(loco_context *ctx, const float *g, int64_t n,
                               loco_optimizer_scratch *scratch);
void loco_grad_norm_finish(loco_context *ctx, loco_optimizer_scratch *scratch,
                           double max_norm);
/* Counts into scratch->nonfinite_updates the elements of p whose AdamW
 * update (loco_adamw's, same arguments) would make p, m or v non-finite;
 * writes nothing else. The optimizer step calls it for every parameter
 * before the first loco_adamw. */
void loco_adamw_check(loco_context *ctx, const float *p, const float *g,
                      const float *m, const float *v, int64_t n,
                      loco_optimizer_scratch *scratch, double beta1,
                      double beta2, double eps, double weight_decay);
/* One AdamW step of torch 1.13 (decoupled weight decay, bias correction) on
 * p with the clipped gradient clip_coef * g; zeroes g (the accumulator) for
 * the next optimizer step. The step and lr come from the context. When the
 * gradient norm is not finite (a NaN or Inf anywhere in the gradients) or
 * loco_adamw_check counted a non-finite update anywhere, the whole step is
 * skipped: p, m and v keep their values, and g is still zeroed. */
void loco_adamw(loco_context *ctx, float *p, float *g, float *m, float *v,
                int64_t n, const loco_optimizer_scratch *scratch, double beta1,
                double beta2, double eps, double weight_decay);

#ifdef __cplusplus
}
#endif

#endif /* LOCO_RUNTIME_ABI_API_H */
