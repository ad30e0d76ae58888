//===- Blas.cpp - cuBLASLt's matmul through OpenBLAS ----------------------===//
//
// This file implements Blas.h. Every call checks what cuBLASLt documents;
// a refusal's reason is kept and added to cublasLtGetStatusString's text,
// so that the backend's error says what was wrong. The product itself:
// op(A) and op(B) widened to fp32 with the compute type's input rounding
// (TF32, BF16, FP16 round to nearest even; 16-bit storage is exact), one
// OpenBLAS sgemm per batch entry, then D = alpha AB + beta C rounded to
// D's type (C is not read when beta is 0, as cuBLASLt documents).
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/emu/Blas.h"
#include "runtime/cuda/emu/Emulator.h"
#include "runtime/cuda/emu/Half.h"

#include <cblas.h>

#include <string>
#include <vector>

using namespace loco::emu;

namespace loco::emu {
struct BlasHandle {};
struct MatmulDesc {
  cublasComputeType_t compute;
  cudaDataType_t scale;
  int32_t transa = CUBLAS_OP_N, transb = CUBLAS_OP_N;
};
struct MatrixLayout {
  cudaDataType_t type;
  uint64_t rows, cols;
  int64_t ld;
  int32_t batch = 1;
  int64_t stride = 0;
};
struct MatmulPreference {
  uint64_t workspace = 0;
  uint32_t align[4] = {256, 256, 256, 256}; // A, B, C, D
};
} // namespace loco::emu

namespace {

thread_local std::string detail;

cublasStatus_t refuse(cublasStatus_t status, std::string why) {
  detail = std::move(why);
  return status;
}

size_t elementBytes(cudaDataType_t type) { return type == CUDA_R_32F ? 4 : 2; }

template <typename T>
cublasStatus_t setValue(T &field, const void *buf, size_t size,
                        const char *attribute) {
  if (!buf || size != sizeof(T))
    return refuse(CUBLAS_STATUS_INVALID_VALUE,
                  std::string(attribute) + " takes " +
                      std::to_string(sizeof(T)) + " bytes, not " +
                      std::to_string(size));
  std::memcpy(&field, buf, sizeof(T));
  return CUBLAS_STATUS_SUCCESS;
}

/// The checks of a (desc, A, B, C, D) problem that cuBLASLt makes before it
/// looks for an algorithm.
cublasStatus_t checkProblem(const MatmulDesc *desc, const MatrixLayout *a,
                            const MatrixLayout *b, const MatrixLayout *c,
                            const MatrixLayout *d) {
  if (!desc || !a || !b || !c || !d)
    return refuse(CUBLAS_STATUS_INVALID_VALUE, "a null descriptor or layout");
  if (desc->scale != CUDA_R_32F)
    return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "the scale type is not fp32");
  // cuBLASLt's table for CUBLAS_COMPUTE_32F: A and B of one type, C and D
  // of one type, which is A's or fp32.
  if (a->type != b->type || c->type != d->type ||
      (c->type != a->type && c->type != CUDA_R_32F))
    return refuse(CUBLAS_STATUS_NOT_SUPPORTED,
                  "A and B, or C and D, differ in type, or C is neither A's "
                  "type nor fp32");
  if (a->type != CUDA_R_32F && desc->compute != CUBLAS_COMPUTE_32F)
    return refuse(CUBLAS_STATUS_NOT_SUPPORTED,
                  "16-bit operands take CUBLAS_COMPUTE_32F");
  uint64_t m = desc->transa == CUBLAS_OP_T ? a->cols : a->rows;
  uint64_t k = desc->transa == CUBLAS_OP_T ? a->rows : a->cols;
  uint64_t kb = desc->transb == CUBLAS_OP_T ? b->cols : b->rows;
  uint64_t n = desc->transb == CUBLAS_OP_T ? b->rows : b->cols;
  if (k != kb || c->rows != m || c->cols != n || d->rows != m || d->cols != n)
    return refuse(CUBLAS_STATUS_INVALID_VALUE,
                  "op(A) is " + std::to_string(m) + "x" + std::to_string(k) +
                      ", op(B) " + std::to_string(kb) + "x" +
                      std::to_string(n) + ", C " + std::to_string(c->rows) +
                      "x" + std::to_string(c->cols));
  for (const MatrixLayout *l : {a, b, c, d}) {
    if (l->ld < 1 || static_cast<uint64_t>(l->ld) < l->rows)
      return refuse(CUBLAS_STATUS_INVALID_VALUE,
                    "a leading dimension of " + std::to_string(l->ld) +
                        " is below the matrix's " + std::to_string(l->rows) +
                        " rows (column-major)");
    if (l->batch != a->batch)
      return refuse(CUBLAS_STATUS_INVALID_VALUE,
                    "the batch counts of A, B, C and D differ");
  }
  if (a->batch < 1)
    return refuse(CUBLAS_STATUS_INVALID_VALUE, "a batch count below 1");
  // The emulation's sgemm takes int dimensions.
  for (uint64_t dim : {m, n, k})
    if (dim > uint64_t(INT32_MAX))
      return refuse(CUBLAS_STATUS_NOT_SUPPORTED,
                    "a dimension above 2^31 - 1 (the emulation's sgemm)");
  return CUBLAS_STATUS_SUCCESS;
}

/// The bytes from a matrix's first element to past its last.
uint64_t extentBytes(const MatrixLayout *l) {
  if (l->rows == 0 || l->cols == 0)
    return 0;
  uint64_t elements = uint64_t(l->batch - 1) * l->stride +
                      (l->cols - 1) * uint64_t(l->ld) + l->rows;
  return elements * elementBytes(l->type);
}

float roundInput(float v, cublasComputeType_t compute) {
  switch (compute) {
  case CUBLAS_COMPUTE_32F_FAST_TF32: {
    if (!std::isfinite(v))
      return v;
    uint32_t u;
    std::memcpy(&u, &v, sizeof(u));
    u += 0xfffu + ((u >> 13) & 1u);
    u &= 0xffffe000u;
    std::memcpy(&v, &u, sizeof(v));
    return v;
  }
  case CUBLAS_COMPUTE_32F_FAST_16BF:
    return __bfloat162float(__float2bfloat16_rn(v));
  case CUBLAS_COMPUTE_32F_FAST_16F:
    return __half2float(__float2half_rn(v));
  default:
    return v;
  }
}

float load(const void *base, cudaDataType_t type, uint64_t index) {
  if (type == CUDA_R_32F)
    return static_cast<const float *>(base)[index];
  unsigned short bits = static_cast<const unsigned short *>(base)[index];
  return type == CUDA_R_16BF ? __bfloat162float(__ushort_as_bfloat16(bits))
                             : __half2float(__ushort_as_half(bits));
}

void store(void *base, cudaDataType_t type, uint64_t index, float value) {
  if (type == CUDA_R_32F) {
    static_cast<float *>(base)[index] = value;
    return;
  }
  static_cast<unsigned short *>(base)[index] =
      type == CUDA_R_16BF ? __bfloat16_as_ushort(__float2bfloat16_rn(value))
                          : __half_as_ushort(__float2half_rn(value));
}

/// op(X) of batch entry `batch` as a dense column-major rows x cols fp32
/// matrix, rounded for `compute`.
std::vector<float> gather(const void *x, const MatrixLayout *l, bool trans,
                          int64_t batch, cublasComputeType_t compute) {
  uint64_t rows = trans ? l->cols : l->rows, cols = trans ? l->rows : l->cols;
  std::vector<float> out(rows * cols);
  uint64_t first = uint64_t(batch) * l->stride;
  for (uint64_t j = 0; j < cols; ++j)
    for (uint64_t i = 0; i < rows; ++i) {
      uint64_t r = trans ? j : i, c = trans ? i : j;
      out[j * rows + i] =
          roundInput(load(x, l->type, first + c * l->ld + r), compute);
    }
  return out;
}

} // namespace

const char *cublasLtGetStatusName(cublasStatus_t status) {
  switch (status) {
  case CUBLAS_STATUS_SUCCESS:
    return "CUBLAS_STATUS_SUCCESS";
  case CUBLAS_STATUS_NOT_INITIALIZED:
    return "CUBLAS_STATUS_NOT_INITIALIZED";
  case CUBLAS_STATUS_ALLOC_FAILED:
    return "CUBLAS_STATUS_ALLOC_FAILED";
  case CUBLAS_STATUS_INVALID_VALUE:
    return "CUBLAS_STATUS_INVALID_VALUE";
  case CUBLAS_STATUS_EXECUTION_FAILED:
    return "CUBLAS_STATUS_EXECUTION_FAILED";
  case CUBLAS_STATUS_NOT_SUPPORTED:
    return "CUBLAS_STATUS_NOT_SUPPORTED";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char *cublasLtGetStatusString(cublasStatus_t status) {
  static thread_local std::string text;
  text = status == CUBLAS_STATUS_SUCCESS ? "success"
         : status == CUBLAS_STATUS_NOT_SUPPORTED
             ? "the functionality requested is not supported"
             : "an invalid value was used as an argument";
  if (status != CUBLAS_STATUS_SUCCESS && !detail.empty())
    text += "; emulation: " + detail;
  return text.c_str();
}

cublasStatus_t cublasLtCreate(cublasLtHandle_t *handle) {
  // The emulator runs kernels on the launching thread: OpenBLAS's idle
  // worker would spin in sched_yield beside it for the whole run (12% of
  // an emulated step's time on two vCPUs) to save little on the products.
  openblas_set_num_threads(1);
  *handle = new BlasHandle();
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *desc,
                                        cublasComputeType_t compute,
                                        cudaDataType_t scale) {
  switch (compute) {
  case CUBLAS_COMPUTE_32F:
  case CUBLAS_COMPUTE_32F_FAST_TF32:
  case CUBLAS_COMPUTE_32F_FAST_16BF:
  case CUBLAS_COMPUTE_32F_FAST_16F:
    break;
  default:
    return refuse(CUBLAS_STATUS_INVALID_VALUE, "an unknown compute type");
  }
  *desc = new MatmulDesc{compute, scale};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  delete desc;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t
cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                               cublasLtMatmulDescAttributes_t attr,
                               const void *buf, size_t size) {
  int32_t *field = attr == CUBLASLT_MATMUL_DESC_TRANSA   ? &desc->transa
                   : attr == CUBLASLT_MATMUL_DESC_TRANSB ? &desc->transb
                                                         : nullptr;
  if (!field)
    return refuse(CUBLAS_STATUS_NOT_SUPPORTED,
                  "a matmul descriptor attribute the emulation lacks");
  cublasStatus_t status = setValue(*field, buf, size, "TRANSA/TRANSB");
  if (status == CUBLAS_STATUS_SUCCESS && *field != CUBLAS_OP_N &&
      *field != CUBLAS_OP_T)
    return refuse(CUBLAS_STATUS_INVALID_VALUE, "an operation other than N/T");
  return status;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *layout,
                                          cudaDataType_t type, uint64_t rows,
                                          uint64_t cols, int64_t ld) {
  if (type != CUDA_R_32F && type != CUDA_R_16BF && type != CUDA_R_16F)
    return refuse(CUBLAS_STATUS_NOT_SUPPORTED, "an element type the "
                                               "emulation lacks");
  *layout = new MatrixLayout{type, rows, cols, ld};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  delete layout;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t
cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t layout,
                                 cublasLtMatrixLayoutAttribute_t attr,
                                 const void *buf, size_t size) {
  if (attr == CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT)
    return setValue(layout->batch, buf, size, "BATCH_COUNT");
  if (attr == CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET)
    return setValue(layout->stride, buf, size, "STRIDED_BATCH_OFFSET");
  return refuse(CUBLAS_STATUS_NOT_SUPPORTED,
                "a layout attribute the emulation lacks");
}

cublasStatus_t
cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref) {
  *pref = new MatmulPreference();
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t
cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  delete pref;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t
cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                     cublasLtMatmulPreferenceAttributes_t attr,
                                     const void *buf, size_t size) {
  switch (attr) {
  case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES:
    return setValue(pref->workspace, buf, size, "MAX_WORKSPACE_BYTES");
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES:
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES:
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES:
  case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES:
    return setValue(
        pref->align[attr - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES], buf,
        size, "MIN_ALIGNMENT");
  }
  return refuse(CUBLAS_STATUS_NOT_SUPPORTED,
                "a preference attribute the emulation lacks");
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
    cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
    cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
    cublasLtMatmulPreference_t pref, int requested,
    cublasLtMatmulHeuristicResult_t *results, int *returned) {
  if (!handle || !pref || requested < 1 || !results || !returned)
    return refuse(CUBLAS_STATUS_INVALID_VALUE, "a bad heuristic request");
  if (cublasStatus_t status = checkProblem(desc, a, b, c, d))
    return status;
  // The algorithm relies on the alignment promised, up to 16 bytes (the
  // widest vector loads), and never below one element.
  results[0] = cublasLtMatmulHeuristicResult_t{};
  for (int i = 0; i < 4; ++i)
    results[0].algo.data[i] = std::max<uint64_t>(
        elementBytes(a->type), std::min<uint64_t>(pref->align[i], 16));
  results[0].workspaceSize = 0;
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].wavesCount = 1.0f;
  *returned = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t
cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
               const void *alpha, const void *A, cublasLtMatrixLayout_t a,
               const void *B, cublasLtMatrixLayout_t b, const void *beta,
               const void *C, cublasLtMatrixLayout_t c, void *D,
               cublasLtMatrixLayout_t d, const cublasLtMatmulAlgo_t *algo,
               void *workspace, size_t workspaceBytes, cudaStream_t stream) {
  if (!handle || !algo || !alpha || !beta)
    return refuse(CUBLAS_STATUS_INVALID_VALUE, "a null handle or algorithm");
  if (cublasStatus_t status = checkProblem(desc, a, b, c, d))
    return status;
  float scaleA = *static_cast<const float *>(alpha);
  float scaleC = *static_cast<const float *>(beta);
  const void *pointers[4] = {A, B, C, D};
  const MatrixLayout *layouts[4] = {a, b, c, d};
  const char *names[4] = {"A", "B", "C", "D"};
  for (int i = 0; i < 4; ++i) {
    uint64_t need = algo->data[i];
    uint64_t bits = reinterpret_cast<uint64_t>(pointers[i]);
    if (layouts[i]->batch > 1)
      bits |= uint64_t(layouts[i]->stride) * elementBytes(layouts[i]->type);
    if (bits % need != 0)
      return refuse(CUBLAS_STATUS_INVALID_VALUE,
                    std::string(names[i]) + " (or its batch stride) is not " +
                        std::to_string(need) +
                        "-byte aligned, as the heuristic was promised");
    if (i == 2 && scaleC == 0.0f)
      continue; // C is not read
    requireDeviceRange("cublasLtMatmul", std::string("matrix ") + names[i],
                       pointers[i], extentBytes(layouts[i]));
  }
  if (workspaceBytes > 0)
    requireDeviceRange("cublasLtMatmul", "the workspace", workspace,
                       workspaceBytes);
  MatmulDesc op = *desc;
  MatrixLayout la = *a, lb = *b, lc = *c, ld = *d;
  bool ok = submit(stream, [=]() {
    if (dryRun())
      return;
    setActivity("cublasLtMatmul");
    uint64_t m = ld.rows, n = ld.cols;
    uint64_t k = op.transa == CUBLAS_OP_T ? la.rows : la.cols;
    std::vector<float> product(m * n);
    for (int32_t batch = 0; batch < ld.batch; ++batch) {
      std::vector<float> x =
          gather(A, &la, op.transa == CUBLAS_OP_T, batch, op.compute);
      std::vector<float> y =
          gather(B, &lb, op.transb == CUBLAS_OP_T, batch, op.compute);
      if (k > 0)
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f,
                    x.data(), m, y.data(), k, 0.0f, product.data(), m);
      else
        std::fill(product.begin(), product.end(), 0.0f);
      for (uint64_t j = 0; j < n; ++j)
        for (uint64_t i = 0; i < m; ++i) {
          float value = scaleA * product[j * m + i];
          if (scaleC != 0.0f)
            value += scaleC * load(C, lc.type,
                                   uint64_t(batch) * lc.stride + j * lc.ld + i);
          store(D, ld.type, uint64_t(batch) * ld.stride + j * ld.ld + i, value);
        }
    }
    setActivity(nullptr);
  });
  if (!ok)
    return refuse(CUBLAS_STATUS_EXECUTION_FAILED,
                  "the stream's capture was invalidated");
  return CUBLAS_STATUS_SUCCESS;
}
