//===- CheckTargetLimits.cpp - Refuse calls a backend's kernels refuse ----===//
//
// This file implements `loco-check-target-limits`: every runtime call of a
// planned step is checked against the fixed limits of the target backend's
// kernels (runtime/abi/CudaLimits.h for cuda, the very checks the kernels
// run), so that a plan the runtime would refuse at its first step is refused
// at compile time, naming the kernel, the limit and the config keys that set
// the shape.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/LocoOps.h"
#include "runtime/abi/CudaLimits.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"

#include <map>
#include <string>
#include <vector>

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOCHECKTARGETLIMITSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {
/// The call's scalars as the lowering passes them (an rng key's offset is
/// its offset here; no limit reads one).
::loco::cuda_limits::CallScalars callScalars(RuntimeCallOpInterface call) {
  SmallVector<Attribute> attrs;
  call.getRuntimeScalars(attrs);
  ::loco::cuda_limits::CallScalars scalars(attrs.size());
  for (auto [attr, scalar] : llvm::zip(attrs, scalars)) {
    if (auto integer = dyn_cast<IntegerAttr>(attr))
      scalar.integer = integer.getInt();
    else if (auto real = dyn_cast<FloatAttr>(attr))
      scalar.real = real.getValueAsDouble();
    else if (auto rng = dyn_cast<RngKeyAttr>(attr))
      scalar.integer = static_cast<int64_t>(rng.getOffset());
    else if (auto array = dyn_cast<DenseI64ArrayAttr>(attr))
      scalar.array.assign(array.asArrayRef().begin(), array.asArrayRef().end());
  }
  return scalars;
}

struct CheckTargetLimitsPass
    : public mlir::loco::impl::LocoCheckTargetLimitsPassBase<
          CheckTargetLimitsPass> {
  using LocoCheckTargetLimitsPassBase::LocoCheckTargetLimitsPassBase;

  void runOnOperation() override {
    // Only the CUDA kernels have fixed limits a shape can exceed; the CPU
    // backend's scratch is planned per call.
    if (target != "cuda")
      return;
    // One error per distinct reason, at its first call: a step repeats
    // each kernel once per layer, path and chunk.
    struct Failure {
      std::string message;
      Location loc;
      int64_t calls;
    };
    std::vector<Failure> failures;
    std::map<std::string, size_t> byMessage;
    getOperation()->walk([&](RuntimeCallOpInterface call) {
      StringRef function = call.getRuntimeFunction();
      if (function.empty())
        return;
      ++numChecked;
      for (const std::string &why :
           ::loco::cuda_limits::checkCall(function.str(), callScalars(call))) {
        std::string message = function.str() + ": " + why;
        auto [it, added] = byMessage.try_emplace(message, failures.size());
        if (added)
          failures.push_back({message, call->getLoc(), 1});
        else
          ++failures[it->second].calls;
      }
    });
    for (const Failure &failure : failures) {
      InFlightDiagnostic error = mlir::emitError(failure.loc)
                                 << "target cuda cannot run this step: "
                                 << failure.message;
      if (failure.calls > 1)
        error << " (and " << failure.calls - 1 << " more call"
              << (failure.calls > 2 ? "s" : "") << " like it)";
    }
    if (!failures.empty())
      signalPassFailure();
  }
};
} // namespace
