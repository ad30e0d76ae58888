//===- ChunkRows.cpp - Run row-independent regions chunk by chunk ---------===//
//
// This file implements `loco-chunk-rows`. A Locoformer path flattens (batch,
// frames) or (batch, bins) into rows and then never mixes them: every op up
// to the reshape that unflattens them is row-independent
// (RowIndependentOpInterface). The pass finds these regions, splits their
// input into row chunks with `loco.split`, runs a copy of the region per
// chunk, and stacks the outputs with `loco.concat`. Before autodiff this is
// an identity of values; its point is that each chunk's ops, and later their
// gradients and recomputation, touch one chunk's worth of memory.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/LocoOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOCHUNKROWSPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {

ArrayRef<int64_t> shapeOf(Value value) {
  return cast<RankedTensorType>(value.getType()).getShape();
}

int64_t product(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// A maximal set of row-independent ops fed by one row-flattening reshape.
/// `rowDim` gives, for every value of the region, the dimension that holds
/// the region's rows.
struct Region {
  ReshapeOp seed;
  int64_t rows = 0;
  SmallVector<Operation *> ops;
  llvm::DenseMap<Value, unsigned> rowDim;
  llvm::SetVector<Value> outputs;
};

/// The row dim of `op`'s results when its row operands carry rows at `dim`,
/// or nullopt when the op is not row-independent along it.
std::optional<unsigned> resultRowDim(Operation *op, unsigned dim) {
  if (auto reshape = dyn_cast<ReshapeOp>(op)) {
    // The row dim survives when some result dim has the same size and the
    // same number of elements before it.
    ArrayRef<int64_t> in = shapeOf(reshape.getInput());
    ArrayRef<int64_t> out = shapeOf(reshape.getResult());
    int64_t before = product(in.take_front(dim));
    for (unsigned q = 0; q < out.size(); ++q)
      if (out[q] == in[dim] && product(out.take_front(q)) == before)
        return q;
    return std::nullopt;
  }
  if (auto transpose = dyn_cast<TransposeOp>(op)) {
    for (auto [q, from] : llvm::enumerate(transpose.getPermutation()))
      if (from == static_cast<int64_t>(dim))
        return q;
    return std::nullopt;
  }
  if (auto slice = dyn_cast<SliceOp>(op))
    return slice.getDim() != dim ? std::optional<unsigned>(dim) : std::nullopt;
  if (auto pad = dyn_cast<PadOp>(op))
    return pad.getLow()[dim] == 0 && pad.getHigh()[dim] == 0
               ? std::optional<unsigned>(dim)
               : std::nullopt;
  auto rowOp = dyn_cast<RowIndependentOpInterface>(op);
  if (!rowOp || isa<SplitOp, ConcatOp, ReduceSumOp, ReduceMeanOp>(op) ||
      dim >= rowOp.getNumRowDims())
    return std::nullopt;
  // A chunk of a random op draws at an index offset, which needs its rows
  // to be the outermost dim with elements (nothing but 1s before them).
  if (isa<DropoutOp, DropoutAddOp>(op) &&
      product(shapeOf(op->getOperand(0)).take_front(dim)) != 1)
    return std::nullopt;
  if (auto flash = dyn_cast<FlashAttentionOp>(op))
    if (product(shapeOf(flash.getQuery()).take_front(dim)) != 1)
      return std::nullopt;
  return dim;
}

/// Grows the region of `seed` forward through the block.
Region growRegion(ReshapeOp seed, const llvm::DenseSet<Operation *> &taken) {
  Region region;
  region.seed = seed;
  region.rows = shapeOf(seed.getResult())[0];
  region.rowDim[seed.getResult()] = 0;
  for (Operation *op = seed->getNextNode();
       op && !op->hasTrait<OpTrait::IsTerminator>(); op = op->getNextNode()) {
    if (taken.contains(op))
      continue;
    std::optional<unsigned> dim;
    bool joins = true, touches = false;
    auto rowOp = dyn_cast<RowIndependentOpInterface>(op);
    for (OpOperand &operand : op->getOpOperands()) {
      auto it = region.rowDim.find(operand.get());
      if (it == region.rowDim.end()) {
        // A value from outside must be used whole by every chunk and exist
        // before the region starts (the chunks are built at the seed).
        Operation *def = operand.get().getDefiningOp();
        joins &= rowOp &&
                 rowOp.isBroadcastOperand(operand.getOperandNumber()) &&
                 (!def || def->isBeforeInBlock(seed));
        continue;
      }
      touches = true;
      // Data movement follows the row dim wherever it goes (resultRowDim);
      // other ops must take this operand row by row.
      if (!isa<ReshapeOp, TransposeOp, SliceOp, PadOp>(op))
        joins &= rowOp && !rowOp.isBroadcastOperand(operand.getOperandNumber());
      joins &= !dim || *dim == it->second;
      dim = it->second;
    }
    if (!touches)
      continue;
    std::optional<unsigned> out = joins ? resultRowDim(op, *dim) : std::nullopt;
    if (!out)
      continue;
    region.ops.push_back(op);
    // Every result keeps the rows at the same dim (attention's log-sum-exp
    // drops trailing dims only).
    for (Value result : op->getResults())
      region.rowDim[result] = *out;
  }
  // Outputs: region values read outside the region. They are stacked along
  // dim 0, so an op whose output has its rows elsewhere leaves the region,
  // with every region op that depends on it (with a batch of 1, the rows
  // survive the path's unflattening reshape and the growth runs on).
  llvm::DenseSet<Operation *> inRegion(region.ops.begin(), region.ops.end());
  for (bool changed = true; changed;) {
    changed = false;
    region.outputs.clear();
    for (Operation *op : region.ops)
      for (Value result : op->getResults())
        for (Operation *user : result.getUsers())
          if (!inRegion.contains(user))
            region.outputs.insert(result);
    for (Value output : region.outputs) {
      if (region.rowDim.lookup(output) == 0)
        continue;
      llvm::SmallVector<Operation *> worklist{output.getDefiningOp()};
      while (!worklist.empty()) {
        Operation *op = worklist.pop_back_val();
        if (!inRegion.erase(op))
          continue;
        for (Operation *user : op->getUsers())
          worklist.push_back(user);
      }
      changed = true;
      break;
    }
    llvm::erase_if(region.ops,
                   [&](Operation *op) { return !inRegion.contains(op); });
  }
  return region;
}

/// `value`'s type with `rows` rows at `dim`.
RankedTensorType withRows(Value value, unsigned dim, int64_t rows) {
  auto type = cast<RankedTensorType>(value.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = rows;
  return RankedTensorType::get(shape, type.getElementType());
}

struct ChunkRowsPass : public loco::impl::LocoChunkRowsPassBase<ChunkRowsPass> {
  using LocoChunkRowsPassBase::LocoChunkRowsPassBase;
  void runOnOperation() override;

  /// The chunks `region` is split into (1 when only recording).
  int64_t chunkCount(const Region &region) const {
    return std::min<int64_t>(std::max<int64_t>(chunks, 1), region.rows);
  }
  void chunk(Region &region, int64_t id);
};

void ChunkRowsPass::chunk(Region &region, int64_t id) {
  int64_t count = chunkCount(region);
  SmallVector<int64_t> sizes;
  for (int64_t c = 0; c < count; ++c)
    sizes.push_back(region.rows / count + (c < region.rows % count ? 1 : 0));

  OpBuilder builder(region.seed->getContext());
  builder.setInsertionPointAfter(region.seed);
  Location loc = region.seed.getLoc();
  auto split = builder.create<SplitOp>(loc, region.seed.getResult(),
                                       builder.getDenseI64ArrayAttr(sizes));
  split->setAttr("loco.region", builder.getI64IntegerAttr(id));

  llvm::DenseMap<Value, SmallVector<Value>> pieces;
  int64_t start = 0;
  for (int64_t c = 0; c < count; ++c) {
    IRMapping mapping;
    mapping.map(region.seed.getResult(), split.getResult(c));
    for (Operation *op : region.ops) {
      Operation *clone = builder.clone(*op, mapping);
      for (Value result : clone->getResults())
        result.setType(withRows(result,
                                region.rowDim.lookup(op->getResult(
                                    cast<OpResult>(result).getResultNumber())),
                                sizes[c]));
      // Random ops draw at their chunk's place in the whole op, whose
      // element count (`whole`) the key keeps for data parallelism.
      auto offsetRng = [&](RngKeyAttr rng, int64_t perRow, int64_t whole) {
        return RngKeyAttr::get(rng.getContext(), rng.getStream(),
                               rng.getOffset() + start * perRow,
                               rng.getExtent() ? rng.getExtent() : whole);
      };
      auto offsetElementwise = [&](RngKeyAttr rng) {
        ArrayRef<int64_t> shape = shapeOf(op->getOperand(0));
        unsigned dim = region.rowDim.lookup(op->getResult(0));
        return offsetRng(rng, product(shape.drop_front(dim + 1)),
                         product(shape));
      };
      if (auto dropout = dyn_cast<DropoutOp>(clone)) {
        dropout.setRngAttr(offsetElementwise(dropout.getRng()));
      } else if (auto dropoutAdd = dyn_cast<DropoutAddOp>(clone)) {
        dropoutAdd.setRngAttr(offsetElementwise(dropoutAdd.getRng()));
      } else if (auto flash = dyn_cast<FlashAttentionOp>(clone)) {
        if (RngKeyAttr rng = flash.getRngAttr()) {
          auto original = cast<FlashAttentionOp>(op);
          ArrayRef<int64_t> q = shapeOf(original.getQuery());
          ArrayRef<int64_t> k = shapeOf(original.getKey());
          unsigned dim = region.rowDim.lookup(original.getResult());
          int64_t probabilities = q[q.size() - 2] * k[k.size() - 2];
          int64_t perRow =
              product(q.slice(dim + 1, q.size() - dim - 3)) * probabilities;
          flash.setRngAttr(
              offsetRng(rng, perRow, product(q.drop_back(2)) * probabilities));
        }
      }
      clone->setAttr("loco.chunk", builder.getDenseI64ArrayAttr({id, c}));
    }
    for (Value output : region.outputs)
      pieces[output].push_back(mapping.lookup(output));
    start += sizes[c];
  }
  for (Value output : region.outputs) {
    auto concat = builder.create<ConcatOp>(output.getLoc(), pieces[output]);
    concat->setAttr("loco.region", builder.getI64IntegerAttr(id));
    output.replaceAllUsesWith(concat.getResult());
  }
  for (Operation *op : llvm::reverse(region.ops))
    op->erase();
}

void ChunkRowsPass::runOnOperation() {
  ModuleOp module = getOperation();
  Builder builder(module.getContext());
  SmallVector<Attribute> decisions;
  int64_t id = 0;
  module.walk([&](func::FuncOp func) {
    if (func.getBody().empty())
      return;
    llvm::DenseSet<Operation *> taken;
    SmallVector<Region> regions;
    for (Operation &op : func.getBody().front()) {
      auto reshape = dyn_cast<ReshapeOp>(&op);
      if (!reshape || taken.contains(&op))
        continue;
      // A seed merges leading dims into rows: [a, b, ...rest] -> [a*b,
      // ...rest].
      ArrayRef<int64_t> in = shapeOf(reshape.getInput());
      ArrayRef<int64_t> out = shapeOf(reshape.getResult());
      if (out.empty() || in.size() < 2 || out.size() + 1 != in.size() ||
          out[0] != in[0] * in[1] || out.drop_front() != in.drop_front(2))
        continue;
      Region region = growRegion(reshape, taken);
      // growRegion leaves only outputs with leading rows; small regions are
      // not worth their split and concat.
      if (region.ops.size() < static_cast<size_t>(minOps))
        continue;
      taken.insert(region.ops.begin(), region.ops.end());
      regions.push_back(std::move(region));
    }
    for (Region &region : regions) {
      decisions.push_back(builder.getDictionaryAttr({
          builder.getNamedAttr("region", builder.getI64IntegerAttr(id)),
          builder.getNamedAttr("rows", builder.getI64IntegerAttr(region.rows)),
          builder.getNamedAttr("chunks",
                               builder.getI64IntegerAttr(chunkCount(region))),
          builder.getNamedAttr("ops",
                               builder.getI64IntegerAttr(region.ops.size())),
      }));
      ++numRegions;
      if (chunks > 0) {
        chunk(region, id);
        ++numChunked;
      }
      ++id;
    }
  });
  module->setAttr("loco.row_chunks", builder.getArrayAttr(decisions));
}

} // namespace
