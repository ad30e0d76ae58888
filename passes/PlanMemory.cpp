//===- PlanMemory.cpp - Static offsets in one arena -----------------------===//
//
// This file implements `loco-plan-memory`: the fixed regions, the
// schedule tweak, and the placement of every buffer, recorded as
// attributes that the lowering and the memory report read.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/analysis/BufferLiveness.h"

#include "dialect/LocoOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "runtime/abi/api.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOPLANMEMORYPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {

int64_t argBytes(Value value) { return alignBufferBytes(tensorBytes(value)); }

/// Sinks each pure op whose operands are all read again later to just before
/// its first user: its result lives shorter and no operand lives longer.
int64_t sinkToFirstUse(func::FuncOp func) {
  Block &body = func.getBody().front();
  // Our own order keys, with gaps, so that moving an op does not make the
  // next order query renumber the block (Operation::isBeforeInBlock would:
  // quadratic for steps with 10^5 ops).
  constexpr int64_t kGap = int64_t(1) << 24;
  llvm::DenseMap<Operation *, int64_t> key;
  auto renumber = [&] {
    int64_t next = 0;
    for (Operation &op : body)
      key[&op] = (next += kGap);
  };
  renumber();
  auto before = [&](Operation *a, Operation *b) { return key[a] < key[b]; };
  int64_t moved = 0;
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops)) {
    if (!isPure(op) || op->use_empty())
      continue;
    Operation *firstUser = nullptr;
    for (Operation *user : op->getUsers())
      if (!firstUser || before(user, firstUser))
        firstUser = user;
    if (firstUser == op->getNextNode())
      continue;
    bool extendsOperand = llvm::any_of(op->getOperands(), [&](Value operand) {
      return llvm::none_of(operand.getUsers(), [&](Operation *user) {
        return user != op && before(firstUser, user);
      });
    });
    if (extendsOperand)
      continue;
    op->moveBefore(firstUser);
    Operation *previous = op->getPrevNode();
    int64_t low = previous ? key[previous] : 0;
    if (key[firstUser] - low < 2)
      renumber();
    else
      key[op] = low + (key[firstUser] - low) / 2;
    ++moved;
  }
  return moved;
}

} // namespace

namespace {

struct PlanMemoryPass
    : public loco::impl::LocoPlanMemoryPassBase<PlanMemoryPass> {
  void runOnOperation() override;
};

void PlanMemoryPass::runOnOperation() {
  ModuleOp module = getOperation();
  // The training step (with its forward form, @eval_step), or the
  // separation step of `lococ --mode separate` alone. The first step's
  // arguments are the fixed region; the others' are a prefix of them
  // (parameters, then the mixture).
  SmallVector<func::FuncOp> steps = stepFunctions(module);
  if (steps.empty()) {
    module.emitError(
        "expects a func.func @train_step or @separate_step to plan");
    return signalPassFailure();
  }
  func::FuncOp train = steps.front();
  Builder b(&getContext());

  // Fixed regions: arguments, then optimizer state, then scratch scalars.
  // Every sum is checked: the frontend bounds each tensor at 2^40 elements,
  // but a plan that still wrapped would hand the runtime a negative arena.
  int64_t cursor = 0;
  bool overflow = false;
  auto advance = [&](int64_t &offset, int64_t bytes) {
    overflow |= bytes < 0 || llvm::AddOverflow(offset, bytes, offset);
  };
  for (BlockArgument arg : train.getArguments()) {
    for (func::FuncOp func : steps)
      if (arg.getArgNumber() < func.getNumArguments())
        func.setArgAttr(arg.getArgNumber(), "loco.offset",
                        b.getI64IntegerAttr(cursor));
    advance(cursor, argBytes(arg));
  }
  bool hasGradients = false;
  for (unsigned i = 0; i < train.getNumResults(); ++i)
    if (auto name = train.getResultAttrOfType<StringAttr>(i, "loco.name"))
      hasGradients |= name.getValue().starts_with("grad:");
  int64_t scratch = -1;
  if (hasGradients) {
    // Slot by slot: the gradient accumulators form one region, which data
    // parallelism all-reduces in a few large buckets.
    for (StringRef slot :
         {"loco.grad_offset", "loco.m_offset", "loco.v_offset"})
      for (BlockArgument arg : train.getArguments()) {
        if (!train.getArgAttr(arg.getArgNumber(), "loco.param"))
          continue;
        train.setArgAttr(arg.getArgNumber(), slot, b.getI64IntegerAttr(cursor));
        advance(cursor, argBytes(arg));
      }
    scratch = cursor;
    advance(cursor, alignBufferBytes(sizeof(loco_optimizer_scratch)));
  }

  // The kernels' workspace: the largest any op of either step needs.
  int64_t workspaceBytes = 0;
  for (func::FuncOp func : steps)
    func.walk([&](RuntimeCallOpInterface op) {
      workspaceBytes = std::max(workspaceBytes, op.getWorkspaceBytes());
    });
  workspaceBytes = workspaceBytes ? alignBufferBytes(workspaceBytes) : 0;
  int64_t workspaceOffset = cursor;
  advance(cursor, workspaceBytes);
  int64_t activationBase = cursor;

  // Activations and temporaries of each step, from the activation base.
  int64_t activationBytes = 0, maxLive = 0;
  for (func::FuncOp func : steps) {
    numSunk += sinkToFirstUse(func);
    BufferLiveness liveness(func);
    numInPlace += liveness.numInPlace();
    std::vector<LiveBuffer> &buffers = liveness.buffers();
    activationBytes = std::max(activationBytes, placeBuffersBySize(buffers));
    maxLive = std::max(maxLive, liveness.maxLiveBytes());
    for (Operation &op : func.getBody().front().without_terminator()) {
      SmallVector<int64_t> offsets;
      for (Value result : op.getResults()) {
        int64_t buffer = liveness.bufferOf(result);
        // Views of arguments have no buffer: they sit where the argument is.
        offsets.push_back(buffer >= 0 ? activationBase + buffers[buffer].offset
                                      : plannedOffset(func, op.getOperand(0)));
      }
      op.setAttr("loco.offsets", b.getDenseI64ArrayAttr(offsets));
    }
  }

  int64_t arena = activationBase;
  advance(arena, activationBytes);
  if (overflow || arena > (int64_t(1) << 62)) {
    train.emitError("the arena plan exceeds 2^62 bytes; the config's sizes "
                    "are too large to plan");
    return signalPassFailure();
  }
  arenaBytes = arena;
  module->setAttr(
      "loco.memory",
      b.getDictionaryAttr({
          b.getNamedAttr("arena_bytes", b.getI64IntegerAttr(arena)),
          b.getNamedAttr("lower_bound_bytes",
                         b.getI64IntegerAttr(activationBase + maxLive)),
          b.getNamedAttr("workspace_offset",
                         b.getI64IntegerAttr(workspaceOffset)),
          b.getNamedAttr("workspace_bytes",
                         b.getI64IntegerAttr(workspaceBytes)),
          b.getNamedAttr("scratch_offset", b.getI64IntegerAttr(scratch)),
          b.getNamedAttr("activation_base",
                         b.getI64IntegerAttr(activationBase)),
      }));
}

} // namespace
