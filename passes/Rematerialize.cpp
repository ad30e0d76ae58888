//===- Rematerialize.cpp - Recompute forward values in the backward -------===//
//
// This file implements `loco-rematerialize`, which runs after autodiff and
// `loco-chunk-rows`: the backward pass reads forward values (activations
// saved for backward); the pass decides which stay alive from the forward
// pass (checkpoints) and rebuilds the others just before the backward op
// that reads them, from the checkpoints, by cloning their forward ops.
//
// Values inside a row chunk are rebuilt one chunk at a time (the chunk's
// rows of the region input are sliced again), so the backward of a region
// holds one chunk's activations; with `keep-expensive`, the outputs of
// contractions (linear layers, convolutions, attention) stay and only the
// cheap ops between them (norms, gates, RoPE, element-wise, data movement)
// are rebuilt; with `keep-narrow`, only the contraction results about as
// large as their chunk of the region input stay (attention outputs,
// projections back to the embedding), whose recomputation costs the most
// per byte kept. Values between regions (the residual stream at path
// boundaries) are checkpoints at every `checkpoint-every`-th region and
// rebuilt, once per segment of regions, otherwise. With bf16-checkpoints,
// f32 checkpointed region inputs are kept as bf16 copies and widened back
// one chunk at a time.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/LocoOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/MapVector.h"

#include <set>

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOREMATERIALIZEPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {

using ChunkKey = std::pair<int64_t, int64_t>;
using Memo = llvm::DenseMap<Value, Value>;

/// `loco.chunk = array<i64: region, chunk>` of an op, if any.
std::optional<ChunkKey> chunkOf(Operation *op) {
  auto attr = op ? op->getAttrOfType<DenseI64ArrayAttr>("loco.chunk") : nullptr;
  if (!attr || attr.size() != 2)
    return std::nullopt;
  return ChunkKey{attr[0], attr[1]};
}

int64_t regionOf(Operation *op) {
  auto attr = op ? op->getAttrOfType<IntegerAttr>("loco.region") : nullptr;
  return attr ? attr.getInt() : -1;
}

/// The row chunk a value belongs to: that of its op, or for a piece of a
/// region's split, (region, piece).
std::optional<ChunkKey> chunkKeyOf(Value value) {
  Operation *def = value.getDefiningOp();
  if (auto split = dyn_cast_or_null<SplitOp>(def);
      split && regionOf(split) >= 0)
    return ChunkKey{regionOf(split), cast<OpResult>(value).getResultNumber()};
  return chunkOf(def);
}

int64_t flopsOf(Operation *op) {
  auto cost = dyn_cast<RecomputeCostOpInterface>(op);
  return cost ? cost.getFlops() : 0;
}

int64_t bytesOf(Operation *op) {
  auto cost = dyn_cast<RecomputeCostOpInterface>(op);
  return cost ? cost.getBytesMoved() : 0;
}

/// Contractions cost tens to thousands of flops per result element; norms,
/// gates, RoPE, dropout and element-wise ops at most a dozen, data movement
/// none.
constexpr int64_t kExpensiveFlopsPerElement = 16;

/// A narrow contraction result is at most this many times its chunk's piece
/// of the region input: the attention output (with its row statistics) and
/// the projections back to the embedding (with a convolution's halo) are
/// about 1x; the query/key/value projection is 3x and the SwiGLU
/// convolution's hidden layer 2 x the FFN expansion (8x in the configs).
constexpr int64_t kNarrowFactor = 2;

bool isExpensive(Operation *op) {
  int64_t elements = 0;
  for (Type type : op->getResultTypes())
    if (auto tensor = dyn_cast<RankedTensorType>(type))
      elements += tensor.getNumElements();
  return flopsOf(op) >=
         kExpensiveFlopsPerElement * std::max<int64_t>(1, elements);
}

class Rematerializer {
public:
  Rematerializer(func::FuncOp func, int64_t every, int64_t phase, int64_t extra,
                 int64_t keptRegions, bool keepExpensive, bool keepNarrow,
                 bool keepSegment, bool rebuildPrologue)
      : every(every), keepExpensive(keepExpensive), keepNarrow(keepNarrow),
        keepSegment(keepSegment), rebuildPrologue(rebuildPrologue) {
    classify(func);
    firstKept = static_cast<int64_t>(splits.size()) - keptRegions;
    // Checkpointed regions: phase, phase + every, ...; then `extra` more,
    // the earliest of the others after region 0 (whose input only the
    // prologue rebuilds, which is cheap).
    int64_t regions = splits.size();
    for (int64_t r = phase; r < regions; r += std::max<int64_t>(1, every))
      checkpoints.insert(r);
    for (int64_t r = 1; r < regions && extra > 0; ++r)
      if (checkpoints.insert(r).second)
        --extra;
  }

  /// Keeps each f32 checkpointed region input that the backward reads only
  /// through rebuilt ops as a bf16 copy made in the forward pass; returns
  /// how many.
  int64_t compressCheckpoints();

  /// Rebuilds every non-checkpoint forward operand of the backward ops.
  void run(func::FuncOp func);

private:
  /// Records each forward value's region cursor and the extent of the
  /// chunked part of the step.
  void classify(func::FuncOp func);
  bool isCheckpoint(Value value) const;
  /// Whether a chunk's op is a contraction whose every result has at most
  /// kNarrowFactor times the elements of the chunk's piece of the region
  /// input.
  bool isNarrowContraction(Operation *op, ChunkKey key) const;
  /// Where the rebuilt copies of chunk `key`'s values (or, without a key,
  /// of the segment's) are remembered.
  Memo &memoFor(std::optional<ChunkKey> key,
                std::map<ChunkKey, Memo> &otherChunks) {
    return !key ? segmentMemo
                : (currentChunk == key ? chunkMemo : otherChunks[*key]);
  }
  /// The value's rebuilt copy before `user`, built on demand.
  Value rebuild(Value value, Operation *user,
                std::map<ChunkKey, Memo> &otherChunks);
  /// `value` widened from its bf16 copy before `user`, marked recomputed.
  Value widen(Value value, Value low, Operation *user);
  Operation *cloneBefore(Operation *op, Operation *user,
                         std::map<ChunkKey, Memo> &otherChunks);

  int64_t every;
  bool keepExpensive, keepNarrow, keepSegment, rebuildPrologue;
  /// Regions from this one on recompute nothing (keep-regions).
  int64_t firstKept = 0;
  /// Regions whose input is a checkpoint (with every > 1).
  std::set<int64_t> checkpoints;
  /// The segment of region `r`: the checkpointed region it starts at (-1
  /// for regions before the first checkpoint).
  int64_t segmentOf(int64_t region) const {
    if (every <= 1)
      return region;
    auto next = checkpoints.upper_bound(region);
    return next == checkpoints.begin() ? -1 : *std::prev(next);
  }
  /// Forward ops and their places in the forward order (fixed: clones go
  /// into the backward part), so that no query reorders the block.
  llvm::DenseMap<Operation *, int64_t> forward;
  /// Forward ops that read the step's data inputs, directly or not. Only
  /// they are activations; what is made of parameters alone (the weights'
  /// low-precision copies, RoPE tables) is as small as the parameters and
  /// read by every chunk, so it is kept.
  llvm::DenseSet<Operation *> fromData;
  /// The region whose split most recently precedes a forward op (-1: none).
  llvm::DenseMap<Operation *, int64_t> cursor;
  /// Inputs of regions (the operands of their splits).
  llvm::DenseMap<Value, int64_t> regionInputs;
  /// The chunk sizes of each region's split, for slicing a chunk again.
  llvm::DenseMap<int64_t, SplitOp> splits;
  /// Checkpointed region inputs kept as bf16 copies: f32 value -> copy.
  llvm::DenseMap<Value, Value> lowCopies;
  Operation *firstSplit = nullptr, *lastConcat = nullptr;

  // Memos: rebuilt values of the chunk the backward is in, and of the
  // segment (values between regions).
  Memo chunkMemo, segmentMemo;
  std::optional<ChunkKey> currentChunk;
  int64_t currentSegment = -1;
};

void Rematerializer::classify(func::FuncOp func) {
  int64_t last = -1;
  auto isData = [&](Value value) {
    if (auto arg = dyn_cast<BlockArgument>(value))
      return bool(func.getArgAttr(arg.getArgNumber(), "loco.input"));
    return fromData.contains(value.getDefiningOp());
  };
  for (Operation &op : func.getBody().front().without_terminator()) {
    if (op.hasAttr("loco.backward"))
      continue;
    forward[&op] = forward.size();
    if (llvm::any_of(op.getOperands(), isData))
      fromData.insert(&op);
    if (auto split = dyn_cast<SplitOp>(op); split && regionOf(split) >= 0) {
      last = regionOf(split);
      splits[last] = split;
      regionInputs[split.getInput()] = last;
      if (!firstSplit)
        firstSplit = &op;
    }
    if (isa<ConcatOp>(op) && regionOf(&op) >= 0)
      lastConcat = &op;
    cursor[&op] = last;
  }
}

bool Rematerializer::isCheckpoint(Value value) const {
  Operation *def = value.getDefiningOp();
  if (!def || !forward.contains(def))
    return true;
  if (std::optional<ChunkKey> key = chunkOf(def))
    return key->first >= firstKept || (keepExpensive && isExpensive(def)) ||
           (keepNarrow && isNarrowContraction(def, *key));
  if (std::optional<ChunkKey> key = chunkKeyOf(value)) // A split's piece.
    return key->first >= firstKept;
  // Outside the chunked part (encoder, decoder, losses): kept, but for the
  // prologue before the first region with rebuild-prologue.
  int64_t place = forward.lookup(def);
  if (!firstSplit || place >= forward.lookup(lastConcat))
    return true;
  if (place < forward.lookup(firstSplit))
    return !rebuildPrologue || !fromData.contains(def) ||
           (regionInputs.contains(value) &&
            checkpoints.count(regionInputs.lookup(value)));
  if (every <= 1)
    return true;
  auto input = regionInputs.find(value);
  return input != regionInputs.end() && checkpoints.count(input->second);
}

bool Rematerializer::isNarrowContraction(Operation *op, ChunkKey key) const {
  SplitOp split = splits.lookup(key.first);
  if (!split || key.second >= int64_t(split->getNumResults()) ||
      !isExpensive(op))
    return false;
  int64_t piece = cast<RankedTensorType>(split->getResult(key.second).getType())
                      .getNumElements();
  return llvm::all_of(op->getResultTypes(), [&](Type type) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    return tensor && tensor.getNumElements() <= kNarrowFactor * piece;
  });
}

int64_t Rematerializer::compressCheckpoints() {
  int64_t compressed = 0;
  // Region order, so that the IR (and the lit test) is deterministic.
  for (int64_t region = 0, e = splits.size(); region < e; ++region) {
    SplitOp split = splits.lookup(region);
    Value input = split ? split.getInput() : Value();
    auto type = input ? dyn_cast<RankedTensorType>(input.getType()) : nullptr;
    if (!type || !type.getElementType().isF32() || !isCheckpoint(input) ||
        lowCopies.contains(input))
      continue;
    // A backward op that reads the f32 value itself would keep it alive
    // beside its copy: such inputs stay f32.
    if (llvm::any_of(input.getUsers(), [](Operation *user) {
          return user->hasAttr("loco.backward");
        }))
      continue;
    OpBuilder builder(split);
    auto cast = builder.create<CastOp>(
        split.getLoc(),
        RankedTensorType::get(type.getShape(), builder.getBF16Type()), input);
    cast->setAttr("loco.checkpoint", builder.getUnitAttr());
    lowCopies[input] = cast.getResult();
    ++compressed;
  }
  return compressed;
}

Value Rematerializer::widen(Value value, Value low, Operation *user) {
  OpBuilder builder(user);
  auto cast = builder.create<CastOp>(value.getLoc(), value.getType(), low);
  cast->setAttr("loco.recompute", builder.getUnitAttr());
  return cast.getResult();
}

Operation *Rematerializer::cloneBefore(Operation *op, Operation *user,
                                       std::map<ChunkKey, Memo> &otherChunks) {
  SmallVector<Value> operands;
  for (Value operand : op->getOperands())
    operands.push_back(rebuild(operand, user, otherChunks));
  OpBuilder builder(user);
  Operation *clone = builder.clone(*op);
  clone->setOperands(operands);
  clone->setAttr("loco.recompute", builder.getUnitAttr());
  return clone;
}

Value Rematerializer::rebuild(Value value, Operation *user,
                              std::map<ChunkKey, Memo> &otherChunks) {
  if (isCheckpoint(value)) {
    Value low = lowCopies.lookup(value);
    if (!low)
      return value;
    // A whole checkpoint read by a rebuilt op: widened once per segment.
    Value &known = segmentMemo[value];
    if (!known)
      known = widen(value, low, user);
    return known;
  }
  Operation *def = value.getDefiningOp();
  Memo &memo = memoFor(chunkKeyOf(value), otherChunks);
  if (Value known = memo.lookup(value))
    return known;

  // A chunk input: slice the chunk's rows out of the region input again
  // rather than repeating the whole split.
  if (auto split = dyn_cast<SplitOp>(def)) {
    unsigned index = cast<OpResult>(value).getResultNumber();
    int64_t start = 0;
    for (unsigned i = 0; i < index; ++i)
      start += split.getSizes()[i];
    // From a bf16 checkpoint, the chunk's rows are sliced out of the copy
    // and only they are widened.
    Value low = lowCopies.lookup(split.getInput());
    Value input = low ? low : rebuild(split.getInput(), user, otherChunks);
    OpBuilder builder(user);
    auto slice = builder.create<SliceOp>(
        split.getLoc(), input, builder.getI64IntegerAttr(0),
        builder.getI64IntegerAttr(start),
        builder.getI64IntegerAttr(split.getSizes()[index]));
    slice->setAttr("loco.recompute", builder.getUnitAttr());
    Value piece = slice.getResult();
    if (low) {
      auto chunkType = cast<RankedTensorType>(piece.getType())
                           .clone(getElementTypeOrSelf(value.getType()));
      auto wide = builder.create<CastOp>(split.getLoc(), chunkType, piece);
      wide->setAttr("loco.recompute", builder.getUnitAttr());
      piece = wide.getResult();
    }
    memo[value] = piece;
    return piece;
  }

  Operation *clone = cloneBefore(def, user, otherChunks);
  for (auto [original, copy] :
       llvm::zip(def->getResults(), clone->getResults()))
    memo[original] = copy;
  return memo.lookup(value);
}

void Rematerializer::run(func::FuncOp func) {
  SmallVector<Operation *> backward;
  for (Operation &op : func.getBody().front())
    if (op.hasAttr("loco.backward"))
      backward.push_back(&op);
  for (Operation *op : backward) {
    for (OpOperand &operand : op->getOpOperands()) {
      Value value = operand.get();
      if (isCheckpoint(value))
        continue;
      // Entering another chunk or segment forgets what was rebuilt for the
      // previous one, so that its values die there.
      std::optional<ChunkKey> key = chunkKeyOf(value);
      int64_t region = key ? key->first : cursor.lookup(value.getDefiningOp());
      // Without keep-segment, what was rebuilt between regions is forgotten
      // at every region: the next region rebuilds its input from the
      // checkpoint again (quadratic in the segment, constant memory).
      int64_t segment = keepSegment ? segmentOf(region) : region;
      if (segment != currentSegment) {
        segmentMemo.clear();
        chunkMemo.clear();
        currentChunk.reset();
        currentSegment = segment;
      }
      if (key != currentChunk) {
        chunkMemo.clear();
        currentChunk = key;
      }
      std::map<ChunkKey, Memo> otherChunks;
      operand.set(rebuild(value, op, otherChunks));
    }
  }
}

struct RematerializePass
    : public loco::impl::LocoRematerializePassBase<RematerializePass> {
  using LocoRematerializePassBase::LocoRematerializePassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>("train_step");
    if (!func) {
      module.emitError("expects a func.func @train_step");
      return signalPassFailure();
    }
    Builder builder(module.getContext());
    int64_t compressed = 0;
    if (checkpointEvery > 0) {
      Rematerializer remat(func, checkpointEvery,
                           checkpointPhase %
                               std::max<int64_t>(1, checkpointEvery),
                           extraCheckpoints, keepRegions, keepExpensive,
                           keepNarrow, keepSegment, rebuildPrologue);
      if (bf16Checkpoints)
        compressed = remat.compressCheckpoints();
      remat.run(func);
    }
    // The step's cost, and what was recomputed (marked loco.recompute), in
    // all and by op kind (count, flops).
    int64_t stepFlops = 0, stepBytes = 0, recomputed = 0, recomputeFlops = 0,
            recomputeBytes = 0;
    llvm::MapVector<StringRef, std::pair<int64_t, int64_t>> byKind;
    for (Operation &op : func.getBody().front()) {
      stepFlops += flopsOf(&op);
      stepBytes += bytesOf(&op);
      if (op.hasAttr("loco.recompute")) {
        ++recomputed;
        recomputeFlops += flopsOf(&op);
        recomputeBytes += bytesOf(&op);
        auto &[count, flops] = byKind[op.getName().getStringRef()];
        ++count;
        flops += flopsOf(&op);
      }
    }
    SmallVector<NamedAttribute> kinds;
    for (auto &[name, cost] : byKind)
      kinds.push_back(builder.getNamedAttr(
          name, builder.getDenseI64ArrayAttr({cost.first, cost.second})));
    module->setAttr("loco.remat_ops", builder.getDictionaryAttr(kinds));
    numRecomputed = recomputed;
    module->setAttr(
        "loco.remat",
        builder.getDictionaryAttr({
            builder.getNamedAttr("checkpoint_every",
                                 builder.getI64IntegerAttr(checkpointEvery)),
            builder.getNamedAttr("checkpoint_phase",
                                 builder.getI64IntegerAttr(checkpointPhase)),
            builder.getNamedAttr(
                "keep_expensive",
                builder.getBoolAttr(keepExpensive && checkpointEvery > 0)),
            builder.getNamedAttr(
                "keep_narrow",
                builder.getBoolAttr(keepNarrow && checkpointEvery > 0)),
            builder.getNamedAttr("keep_segment",
                                 builder.getBoolAttr(keepSegment)),
            builder.getNamedAttr("extra_checkpoints",
                                 builder.getI64IntegerAttr(extraCheckpoints)),
            builder.getNamedAttr("kept_regions",
                                 builder.getI64IntegerAttr(
                                     checkpointEvery > 0 ? keepRegions : 0)),
            builder.getNamedAttr("rebuild_prologue",
                                 builder.getBoolAttr(rebuildPrologue)),
            builder.getNamedAttr("bf16_checkpoints",
                                 builder.getI64IntegerAttr(compressed)),
            builder.getNamedAttr("recomputed_ops",
                                 builder.getI64IntegerAttr(recomputed)),
            builder.getNamedAttr("recompute_flops",
                                 builder.getI64IntegerAttr(recomputeFlops)),
            builder.getNamedAttr("step_flops",
                                 builder.getI64IntegerAttr(stepFlops)),
            builder.getNamedAttr("recompute_bytes",
                                 builder.getI64IntegerAttr(recomputeBytes)),
            builder.getNamedAttr("step_bytes",
                                 builder.getI64IntegerAttr(stepBytes)),
        }));
  }
};

} // namespace
