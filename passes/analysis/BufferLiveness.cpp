//===- BufferLiveness.cpp - Buffers and their live ranges -----------------===//
//
// This file implements BufferLiveness and the greedy-by-size placement.
//
//===----------------------------------------------------------------------===//

#include "passes/analysis/BufferLiveness.h"

#include "dialect/LocoOps.h"

#include <algorithm>
#include <numeric>

using namespace mlir;
using namespace mlir::loco;

int64_t mlir::loco::alignBufferBytes(int64_t bytes) {
  return (std::max<int64_t>(bytes, 1) + kBufferAlignment - 1) /
         kBufferAlignment * kBufferAlignment;
}

int64_t mlir::loco::tensorBytes(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return type.getNumElements() * type.getElementTypeBitWidth() / 8;
}

static bool isView(Operation *op) {
  auto call = dyn_cast<RuntimeCallOpInterface>(op);
  return call && call.getRuntimeFunction().empty();
}

BufferLiveness::BufferLiveness(func::FuncOp func) {
  Block &body = func.getBody().front();
  llvm::DenseMap<Operation *, int64_t> position;
  for (Operation &op : body)
    position[&op] = positions++;

  // Pass 1: the last position at which the memory behind a value is read,
  // following views (a view's readers read its operand's memory).
  llvm::DenseMap<Value, Value> viewRoot;
  for (BlockArgument arg : func.getArguments())
    viewRoot[arg] = arg;
  for (Operation &op : body)
    for (Value result : op.getResults())
      viewRoot[result] =
          isView(&op) ? viewRoot.lookup(op.getOperand(0)) : result;
  llvm::DenseMap<Value, int64_t> lastRead;
  for (Operation &op : body)
    for (Value operand : op.getOperands()) {
      int64_t &last = lastRead[viewRoot.lookup(operand)];
      last = std::max(last, position[&op]);
    }

  // Pass 2: buffers, with in-place reuse of operands that die at their op.
  for (Operation &op : body) {
    if (op.hasTrait<OpTrait::IsTerminator>())
      continue;
    int64_t here = position[&op];
    if (isView(&op)) {
      owner[op.getResult(0)] = bufferOf(op.getOperand(0));
      continue;
    }
    auto call = dyn_cast<RuntimeCallOpInterface>(op);
    llvm::SmallDenseSet<int64_t> reused;
    for (Value result : op.getResults()) {
      int64_t chosen = -1;
      for (auto [index, operand] : llvm::enumerate(op.getOperands())) {
        int64_t buffer = bufferOf(operand);
        if (!call || buffer < 0 || !call.allowsInPlace(index) ||
            reused.contains(buffer) ||
            lastRead.lookup(viewRoot.lookup(operand)) != here ||
            liveBuffers[buffer].bytes !=
                alignBufferBytes(tensorBytes(result)) ||
            tensorBytes(operand) != tensorBytes(result))
          continue;
        chosen = buffer;
        break;
      }
      if (chosen >= 0) {
        reused.insert(chosen);
        owner[result] = chosen;
        ++inPlace;
        continue;
      }
      owner[result] = liveBuffers.size();
      liveBuffers.push_back(
          {result, alignBufferBytes(tensorBytes(result)), here, here, -1});
    }
  }

  // Pass 3: live ranges over every value each buffer holds.
  for (Operation &op : body)
    for (Value operand : op.getOperands()) {
      int64_t buffer = bufferOf(operand);
      if (buffer >= 0)
        liveBuffers[buffer].last =
            std::max(liveBuffers[buffer].last, position[&op]);
    }
}

int64_t BufferLiveness::bufferOf(Value value) const {
  auto it = owner.find(value);
  return it == owner.end() ? -1 : it->second;
}

std::vector<int64_t> BufferLiveness::liveBytes() const {
  std::vector<int64_t> delta(positions + 1, 0);
  for (const LiveBuffer &buffer : liveBuffers) {
    delta[buffer.first] += buffer.bytes;
    delta[buffer.last + 1] -= buffer.bytes;
  }
  std::vector<int64_t> live(positions, 0);
  int64_t running = 0;
  for (int64_t p = 0; p < positions; ++p)
    live[p] = running += delta[p];
  return live;
}

int64_t BufferLiveness::maxLiveBytes() const {
  std::vector<int64_t> live = liveBytes();
  return live.empty() ? 0 : *std::max_element(live.begin(), live.end());
}

int64_t mlir::loco::placeBuffersBySize(std::vector<LiveBuffer> &buffers) {
  std::vector<size_t> order(buffers.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return buffers[a].bytes > buffers[b].bytes;
  });
  // Placed buffers are indexed by the time buckets their live range spans,
  // so that finding those that overlap a buffer in time costs the buffers
  // near it, not all of them (steps with row chunks have 10^5 buffers).
  constexpr int64_t kBucket = 64;
  int64_t horizon = 0;
  for (const LiveBuffer &buffer : buffers)
    horizon = std::max(horizon, buffer.last);
  std::vector<std::vector<size_t>> buckets(horizon / kBucket + 1);
  std::vector<size_t> seen(buffers.size(), 0);
  size_t stamp = 0;
  int64_t size = 0;
  std::vector<const LiveBuffer *> overlapping;
  for (size_t index : order) {
    LiveBuffer &buffer = buffers[index];
    overlapping.clear();
    ++stamp;
    for (int64_t b = buffer.first / kBucket; b <= buffer.last / kBucket; ++b)
      for (size_t other : buckets[b]) {
        if (seen[other] == stamp)
          continue;
        seen[other] = stamp;
        const LiveBuffer &o = buffers[other];
        if (o.first <= buffer.last && buffer.first <= o.last)
          overlapping.push_back(&o);
      }
    std::sort(overlapping.begin(), overlapping.end(),
              [](const LiveBuffer *a, const LiveBuffer *b) {
                return a->offset < b->offset;
              });
    int64_t best = -1, bestGap = INT64_MAX, end = 0;
    for (const LiveBuffer *o : overlapping) {
      int64_t gap = o->offset - end;
      if (gap >= buffer.bytes && gap < bestGap) {
        best = end;
        bestGap = gap;
      }
      end = std::max(end, o->offset + o->bytes);
    }
    buffer.offset = best >= 0 ? best : end;
    size = std::max(size, buffer.offset + buffer.bytes);
    for (int64_t b = buffer.first / kBucket; b <= buffer.last / kBucket; ++b)
      buckets[b].push_back(index);
  }
  return size;
}

SmallVector<func::FuncOp> mlir::loco::stepFunctions(ModuleOp module) {
  SmallVector<func::FuncOp> steps;
  for (StringRef name : {"train_step", "eval_step", "separate_step"})
    if (auto func = module.lookupSymbol<func::FuncOp>(name))
      steps.push_back(func);
  return steps;
}

int64_t mlir::loco::plannedOffset(func::FuncOp func, Value value) {
  if (auto arg = dyn_cast<BlockArgument>(value))
    return func.getArgAttrOfType<IntegerAttr>(arg.getArgNumber(), "loco.offset")
        .getInt();
  auto result = cast<OpResult>(value);
  return result.getOwner()->getAttrOfType<DenseI64ArrayAttr>(
      "loco.offsets")[result.getResultNumber()];
}
