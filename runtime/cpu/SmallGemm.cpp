//===- SmallGemm.cpp - JIT small matrix products (libxsmm) ----------------===//
//
// libxsmm (libxsmm-dev, linked statically: Debian ships no shared library)
// generates the kernels; its dispatch is thread-safe and, for a shape it has
// made before, a lookup in its code registry.
//
//===----------------------------------------------------------------------===//

#include "runtime/cpu/SmallGemm.h"

#include <libxsmm.h>

#include <cstdlib>
#include <cstring>

using namespace loco::cpu;

namespace {
bool loopOnly() {
  static const bool loop = [] {
    const char *forced = std::getenv("LOCO_SMALL_GEMM");
    return forced && std::strcmp(forced, "loop") == 0;
  }();
  return loop;
}
} // namespace

SmallGemm::SmallGemm(int m, int n, int k, int lda, int ldb, int ldc,
                     bool accumulate)
    : m(m), n(n), k(k), lda(lda), ldb(ldb), ldc(ldc), accumulate(accumulate) {
  if (loopOnly() || m <= 0 || n <= 0 || k <= 0)
    return;
  float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
  int flags = LIBXSMM_GEMM_FLAG_NONE;
  libxsmm_smmfunction fn = libxsmm_smmdispatch(m, n, k, &lda, &ldb, &ldc,
                                               &alpha, &beta, &flags, nullptr);
  kernel = reinterpret_cast<Kernel>(fn);
}

void SmallGemm::operator()(const float *a, const float *b, float *c) const {
  if (kernel) {
    reinterpret_cast<libxsmm_smmfunction>(kernel)(a, b, c);
    return;
  }
  for (int j = 0; j < n; ++j) {
    float *cj = c + int64_t(j) * ldc;
    if (!accumulate)
      std::memset(cj, 0, sizeof(float) * m);
    for (int p = 0; p < k; ++p) {
      float bpj = b[int64_t(j) * ldb + p];
      const float *ap = a + int64_t(p) * lda;
      for (int i = 0; i < m; ++i)
        cj[i] += ap[i] * bpj;
    }
  }
}
