//===- BufferLiveness.h - Buffers and their live ranges ---------*- C++ -*-===//
//
// This file declares BufferLiveness, the analysis the memory planner and the
// memory report build on: the buffers one function of the step needs in its
// current schedule, after views (which alias their operand) and in-place
// reuse (an element-wise result written over an operand that dies there),
// each with the schedule positions of its definition and last read; and the
// bytes live at every position, whose maximum bounds any placement from
// below. It computes; it does not rewrite.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_PASSES_ANALYSIS_BUFFERLIVENESS_H
#define LOCO_PASSES_ANALYSIS_BUFFERLIVENESS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"

#include <vector>

namespace mlir::loco {

/// Placement granularity: every buffer starts on a 256-byte boundary, as
/// GPU allocators and vector loads want.
constexpr int64_t kBufferAlignment = 256;
int64_t alignBufferBytes(int64_t bytes);
/// Bytes of a ranked tensor value, unaligned.
int64_t tensorBytes(Value value);

/// The step functions of `module` that share its arena, the one whose
/// arguments make the fixed region first: @train_step (then @eval_step) of a
/// training module, or @separate_step alone (`lococ --mode separate`).
SmallVector<func::FuncOp> stepFunctions(ModuleOp module);

/// The arena offset `loco-plan-memory` gave `value` of `func`.
int64_t plannedOffset(func::FuncOp func, Value value);

struct LiveBuffer {
  Value value;       ///< the result that defines it
  int64_t bytes = 0; ///< aligned size
  int64_t first = 0; ///< position of the defining op
  int64_t last =
      0; ///< position of the last reader (the terminator for results)
  int64_t offset = -1; ///< placement, relative to the activation region
};

class BufferLiveness {
public:
  /// Positions are the indices of the ops in `func`'s body.
  explicit BufferLiveness(func::FuncOp func);

  /// The buffer holding `value`, or -1 for function arguments.
  int64_t bufferOf(Value value) const;
  const std::vector<LiveBuffer> &buffers() const { return liveBuffers; }
  std::vector<LiveBuffer> &buffers() { return liveBuffers; }
  int64_t numPositions() const { return positions; }
  /// Bytes live at each position.
  std::vector<int64_t> liveBytes() const;
  /// The maximum of liveBytes(): no placement of these buffers is smaller.
  int64_t maxLiveBytes() const;
  /// How many results were placed over a dying operand.
  int64_t numInPlace() const { return inPlace; }

private:
  std::vector<LiveBuffer> liveBuffers;
  llvm::DenseMap<Value, int64_t> owner;
  int64_t positions = 0, inPlace = 0;
};

/// Places `buffers` greedily by size, largest first, each at the smallest
/// gap between the buffers already placed whose live ranges overlap its own
/// (best fit; TFLite's and XLA's heap simulators do the same). Returns the
/// size of the region they occupy.
int64_t placeBuffersBySize(std::vector<LiveBuffer> &buffers);

} // namespace mlir::loco

#endif // LOCO_PASSES_ANALYSIS_BUFFERLIVENESS_H
