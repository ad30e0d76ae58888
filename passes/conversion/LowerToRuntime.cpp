//===- LowerToRuntime.cpp - loco ops to runtime calls on one arena --------===//
//
// This file implements `loco-lower-to-runtime`: the lowering of each op to a
// call of its runtime kernel in the LLVM dialect, on the arena offsets that
// loco-plan-memory annotated, the entry points, and the embedded manifest.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/LocoOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "passes/analysis/BufferLiveness.h"
#include "passes/analysis/MemoryReport.h"
#include "runtime/abi/Workspace.h"
#include "runtime/abi/api.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <map>
#include <optional>

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOLOWERTORUNTIMEPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {

llvm::json::Array shapeJson(Value value) {
  llvm::json::Array shape;
  for (int64_t dim : cast<RankedTensorType>(value.getType()).getShape())
    shape.push_back(dim);
  return shape;
}

/// The runtime's name of an element type: f32, bf16 or f16.
StringRef elementName(Type type) {
  if (type.isBF16())
    return "bf16";
  if (type.isF16())
    return "f16";
  return "f32";
}

/// The ABI's code of `value`'s element type (LOCO_DTYPE_*).
int64_t elementCode(Value value) {
  Type type = cast<RankedTensorType>(value.getType()).getElementType();
  return type.isBF16()  ? LOCO_DTYPE_BF16
         : type.isF16() ? LOCO_DTYPE_F16
                        : LOCO_DTYPE_F32;
}

/// The element type a runtime call's kernel variant is named for: its first
/// operand's (its first result's when it has none). Every other tensor of
/// the call shares it, except a cast's result and the f32 log-sum-exp of
/// the attention kernels.
Type storageType(Operation *op) {
  Value first = op->getNumOperands() ? op->getOperand(0) : op->getResult(0);
  return cast<RankedTensorType>(first.getType()).getElementType();
}

/// Whether `value` of `op` may differ from the op's storage type.
bool mayDiffer(Operation *op, Value value) {
  if (isa<CastOp>(op))
    return true;
  if (auto flash = dyn_cast<FlashAttentionOp>(op))
    return value == flash.getLse();
  if (auto grad = dyn_cast<FlashAttentionGradOp>(op))
    return value == grad.getLse();
  if (auto dropoutAdd = dyn_cast<DropoutAddOp>(op))
    return value == dropoutAdd.getInput();
  return false;
}

/// The kernel of `op`: `loco_linear` in f32, `loco_linear_bf16` on bf16
/// tensors, `loco_cast_f32_bf16` for a cast, `loco_dropout_add_f32_bf16`
/// for a bf16 input under an f32 residual.
std::string kernelName(Operation *op, StringRef base) {
  if (auto dropoutAdd = dyn_cast<DropoutAddOp>(op)) {
    Type input = dropoutAdd.getInput().getType().getElementType();
    if (input != storageType(op))
      return (base + "_" + elementName(storageType(op)) + "_" +
              elementName(input))
          .str();
  }
  if (auto castOp = dyn_cast<CastOp>(op))
    return (base + "_" +
            elementName(castOp.getInput().getType().getElementType()) + "_" +
            elementName(castOp.getResult().getType().getElementType()))
        .str();
  Type storage = storageType(op);
  if (storage.isF32())
    return base.str();
  return (base + "_" + elementName(storage)).str();
}

/// The planned offsets of `func` (from loco-plan-memory's annotations).
struct ArenaPlan {
  llvm::DenseMap<Value, int64_t> offsets;
};

ArenaPlan readPlan(func::FuncOp func) {
  ArenaPlan plan;
  for (BlockArgument arg : func.getArguments())
    plan.offsets[arg] = plannedOffset(func, arg);
  for (Operation &op : func.getBody().front().without_terminator())
    for (Value result : op.getResults())
      plan.offsets[result] = plannedOffset(func, result);
  return plan;
}

/// The fixed regions loco-plan-memory laid out.
struct FixedLayout {
  SmallVector<int64_t> argOffsets;
  /// Argument index -> {accumulator, m, v} offsets.
  std::map<unsigned, std::array<int64_t, 3>> optimizer;
  int64_t scratch = -1, workspaceOffset = 0, workspaceBytes = 0;
};

FixedLayout readLayout(func::FuncOp func, DictionaryAttr memory) {
  FixedLayout layout;
  for (BlockArgument arg : func.getArguments()) {
    unsigned i = arg.getArgNumber();
    layout.argOffsets.push_back(plannedOffset(func, arg));
    if (auto grad = func.getArgAttrOfType<IntegerAttr>(i, "loco.grad_offset"))
      layout.optimizer[i] = {
          grad.getInt(),
          func.getArgAttrOfType<IntegerAttr>(i, "loco.m_offset").getInt(),
          func.getArgAttrOfType<IntegerAttr>(i, "loco.v_offset").getInt()};
  }
  layout.scratch = memory.getAs<IntegerAttr>("scratch_offset").getInt();
  layout.workspaceOffset =
      memory.getAs<IntegerAttr>("workspace_offset").getInt();
  layout.workspaceBytes = memory.getAs<IntegerAttr>("workspace_bytes").getInt();
  return layout;
}

/// `name` of parameter argument `index`, or null.
StringAttr paramName(func::FuncOp func, unsigned index) {
  return func.getArgAttrOfType<StringAttr>(index, "loco.param");
}

struct LowerToRuntimePass
    : public mlir::loco::impl::LocoLowerToRuntimePassBase<LowerToRuntimePass> {
  using LocoLowerToRuntimePassBase::LocoLowerToRuntimePassBase;

  void runOnOperation() override;

private:
  /// The declaration of runtime function `name` for the given arguments.
  LLVM::LLVMFuncOp getOrDeclare(OpBuilder &builder, StringRef name,
                                ValueRange args);
  /// A pointer to a constant global array holding `values`.
  Value constantArray(OpBuilder &builder, Location loc,
                      ArrayRef<int64_t> values);
  /// Starts `llvm.func @symbol(%ctx, %arena)` and returns its entry block.
  Block *beginEntry(OpBuilder &builder, Location loc, StringRef symbol);
  Value pointer(OpBuilder &builder, Location loc, int64_t offset);
  Value i64(OpBuilder &builder, Location loc, int64_t value);
  Value f64(OpBuilder &builder, Location loc, double value);
  void call(OpBuilder &builder, Location loc, StringRef name,
            ArrayRef<Value> args);
  /// A random op's first element index: `rng.offset + replica *
  /// rng.extent`, with the replica (loco_context_rng_replica) read at run
  /// time, so that data-parallel ranks draw their samples' masks.
  Value rngIndexOffset(OpBuilder &builder, Location loc, RngKeyAttr rng);
  /// Lowers the ops of `func`; with `layout.optimizer`, adds every returned
  /// `grad:<param>` into that parameter's accumulator.
  void emitEntry(OpBuilder &builder, func::FuncOp func, const ArenaPlan &plan,
                 const FixedLayout &layout, StringRef symbol);
  void emitOptimizer(OpBuilder &builder, func::FuncOp func,
                     const FixedLayout &layout);
  llvm::json::Object outputsJson(func::FuncOp func, const ArenaPlan &plan,
                                 StringRef symbol);
  std::string manifest(func::FuncOp train, const FixedLayout &layout,
                       DictionaryAttr memory, llvm::json::Object entryPoints);
  /// After op `index` of the entry being built: `__loco_debug_op(ctx,
  /// index, result, bytes)` for each result, which calls the function in
  /// the exported `loco_debug_hook` when one is set (locorun
  /// --debug-nonfinite); the op's description goes to the manifest.
  /// `results` defaults to the op's; a split or concat hooks each piece's
  /// copy (one hook per kernel call).
  void emitDebugHook(OpBuilder &builder, Operation &op, StringRef symbol,
                     const ArenaPlan &plan,
                     std::optional<ValueRange> results = std::nullopt);
  /// The hook after one kernel call of entry `symbol`: `text` describes it,
  /// `flops` and `bytesMoved` its cost (locorun --profile), and each of
  /// `results` (arena offset, bytes, element code) is reported.
  void emitHook(OpBuilder &builder, Location loc, StringRef symbol,
                const std::string &text, int64_t flops, int64_t bytesMoved,
                ArrayRef<std::array<int64_t, 3>> results);
  LLVM::LLVMFuncOp getOrDefineDebugOp(OpBuilder &builder);
  /// Per entry symbol, each kernel call's index into `debugNames`, and its
  /// [flops, bytes moved].
  std::map<std::string, llvm::json::Array> debugOps;
  std::map<std::string, llvm::json::Array> debugCosts;
  llvm::StringMap<int64_t> debugNameIndex;
  llvm::json::Array debugNames;

  ModuleOp module;
  /// Declarations and constants go before the function being built.
  Operation *insertionAnchor = nullptr;
  Value context, arena;
  std::map<std::vector<int64_t>, LLVM::GlobalOp> arrays;
};

LLVM::LLVMFuncOp LowerToRuntimePass::getOrDeclare(OpBuilder &builder,
                                                  StringRef name,
                                                  ValueRange args) {
  if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return existing;
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(insertionAnchor);
  auto type = LLVM::LLVMFunctionType::get(
      LLVM::LLVMVoidType::get(&getContext()), llvm::to_vector(args.getTypes()));
  return builder.create<LLVM::LLVMFuncOp>(module.getLoc(), name, type);
}

Value LowerToRuntimePass::constantArray(OpBuilder &builder, Location loc,
                                        ArrayRef<int64_t> values) {
  auto i64Type = builder.getI64Type();
  LLVM::GlobalOp &global = arrays[values.vec()];
  if (!global) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPoint(insertionAnchor);
    auto data = DenseIntElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(values.size())}, i64Type),
        values);
    global = builder.create<LLVM::GlobalOp>(
        loc, LLVM::LLVMArrayType::get(i64Type, values.size()),
        /*isConstant=*/true, LLVM::Linkage::Internal,
        "__loco_array_" + std::to_string(arrays.size()), data);
  }
  return builder.create<LLVM::AddressOfOp>(loc, global);
}

Block *LowerToRuntimePass::beginEntry(OpBuilder &builder, Location loc,
                                      StringRef symbol) {
  MLIRContext *ctx = &getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  builder.setInsertionPointToEnd(module.getBody());
  auto type =
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr, ptr});
  auto entry = builder.create<LLVM::LLVMFuncOp>(loc, symbol, type);
  Block *block = entry.addEntryBlock(builder);
  builder.setInsertionPointToStart(block);
  context = block->getArgument(0);
  arena = block->getArgument(1);
  return block;
}

Value LowerToRuntimePass::i64(OpBuilder &builder, Location loc, int64_t value) {
  return builder.create<LLVM::ConstantOp>(loc, builder.getI64Type(),
                                          builder.getI64IntegerAttr(value));
}

Value LowerToRuntimePass::f64(OpBuilder &builder, Location loc, double value) {
  return builder.create<LLVM::ConstantOp>(loc, builder.getF64Type(),
                                          builder.getF64FloatAttr(value));
}

Value LowerToRuntimePass::pointer(OpBuilder &builder, Location loc,
                                  int64_t offset) {
  return builder.create<LLVM::GEPOp>(
      loc, LLVM::LLVMPointerType::get(&getContext()), builder.getI8Type(),
      arena, ArrayRef<LLVM::GEPArg>{i64(builder, loc, offset)});
}

void LowerToRuntimePass::call(OpBuilder &builder, Location loc, StringRef name,
                              ArrayRef<Value> args) {
  builder.create<LLVM::CallOp>(loc, getOrDeclare(builder, name, args), args);
  ++numCalls;
}

Value LowerToRuntimePass::rngIndexOffset(OpBuilder &builder, Location loc,
                                         RngKeyAttr rng) {
  constexpr StringLiteral kReplica = "loco_context_rng_replica";
  auto replicaFn = module.lookupSymbol<LLVM::LLVMFuncOp>(kReplica);
  if (!replicaFn) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPoint(insertionAnchor);
    replicaFn = builder.create<LLVM::LLVMFuncOp>(
        module.getLoc(), kReplica,
        LLVM::LLVMFunctionType::get(builder.getI64Type(), {context.getType()}));
  }
  Value replica =
      builder.create<LLVM::CallOp>(loc, replicaFn, ValueRange{context})
          .getResult();
  Value scaled = builder.create<LLVM::MulOp>(
      loc, replica, i64(builder, loc, rng.getExtent()));
  return builder.create<LLVM::AddOp>(loc, scaled,
                                     i64(builder, loc, rng.getOffset()));
}

LLVM::LLVMFuncOp LowerToRuntimePass::getOrDefineDebugOp(OpBuilder &builder) {
  if (auto existing = module.lookupSymbol<LLVM::LLVMFuncOp>("__loco_debug_op"))
    return existing;
  MLIRContext *ctx = &getContext();
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPoint(insertionAnchor);
  Location loc = module.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64Type = builder.getI64Type();
  auto type = LLVM::LLVMFunctionType::get(
      LLVM::LLVMVoidType::get(ctx), {ptr, i64Type, ptr, i64Type, i64Type});
  // The hook: a function pointer, null unless the runner sets it.
  auto hook = builder.create<LLVM::GlobalOp>(
      loc, ptr, /*isConstant=*/false, LLVM::Linkage::External,
      LOCO_ARTIFACT_DEBUG_HOOK, Attribute());
  {
    Block *init = builder.createBlock(&hook.getInitializerRegion());
    builder.setInsertionPointToStart(init);
    builder.create<LLVM::ReturnOp>(
        loc, builder.create<LLVM::ZeroOp>(loc, ptr).getResult());
  }
  builder.setInsertionPoint(insertionAnchor);
  auto func = builder.create<LLVM::LLVMFuncOp>(loc, "__loco_debug_op", type);
  func.setLinkage(LLVM::Linkage::Internal);
  Block *entry = func.addEntryBlock(builder);
  Block *callHook = builder.createBlock(&func.getBody());
  Block *done = builder.createBlock(&func.getBody());
  builder.setInsertionPointToStart(entry);
  Value address = builder.create<LLVM::AddressOfOp>(loc, hook);
  Value function = builder.create<LLVM::LoadOp>(loc, ptr, address);
  Value null = builder.create<LLVM::ZeroOp>(loc, ptr);
  Value unset = builder.create<LLVM::ICmpOp>(loc, LLVM::ICmpPredicate::eq,
                                             function, null);
  builder.create<LLVM::CondBrOp>(loc, unset, done, callHook);
  builder.setInsertionPointToStart(callHook);
  SmallVector<Value> args{function};
  llvm::append_range(args, entry->getArguments());
  builder.create<LLVM::CallOp>(loc, type, args);
  builder.create<LLVM::BrOp>(loc, ValueRange{}, done);
  builder.setInsertionPointToStart(done);
  builder.create<LLVM::ReturnOp>(loc, ValueRange{});
  return func;
}

void LowerToRuntimePass::emitDebugHook(OpBuilder &builder, Operation &op,
                                       StringRef symbol, const ArenaPlan &plan,
                                       std::optional<ValueRange> results) {
  auto [path, where] = describeLocation(op.getLoc());
  std::string text = op.getName().getStringRef().str();
  if (!path.empty())
    text += " in " + path;
  if (!where.empty())
    text += " (" + where + ")";
  int64_t flops = 0, bytesMoved = 0;
  if (auto cost = dyn_cast<RecomputeCostOpInterface>(op)) {
    flops = cost.getFlops();
    bytesMoved = cost.getBytesMoved();
  }
  ValueRange hooked = results ? *results : ValueRange(op.getResults());
  // A piece of a split or concat: its share of the op's cost.
  if (results && op.getNumResults() > 0) {
    int64_t whole = 0, part = 0;
    for (Value result : op.getResults())
      whole += tensorBytes(result);
    for (Value result : hooked)
      part += tensorBytes(result);
    if (whole > 0)
      bytesMoved = bytesMoved * part / whole;
  }
  SmallVector<std::array<int64_t, 3>> reported;
  for (Value result : hooked)
    reported.push_back({plan.offsets.lookup(result), tensorBytes(result),
                        elementCode(result)});
  emitHook(builder, op.getLoc(), symbol, text, flops, bytesMoved, reported);
}

void LowerToRuntimePass::emitHook(OpBuilder &builder, Location loc,
                                  StringRef symbol, const std::string &text,
                                  int64_t flops, int64_t bytesMoved,
                                  ArrayRef<std::array<int64_t, 3>> results) {
  auto [it, fresh] = debugNameIndex.try_emplace(text, debugNames.size());
  if (fresh)
    debugNames.push_back(text);
  llvm::json::Array &ops = debugOps[symbol.str()];
  int64_t index = static_cast<int64_t>(ops.size());
  ops.push_back(it->second);
  debugCosts[symbol.str()].push_back(llvm::json::Array{flops, bytesMoved});
  LLVM::LLVMFuncOp debugOp = getOrDefineDebugOp(builder);
  // A call without results still reports once (0 bytes): every kernel call
  // is seen.
  std::array<int64_t, 3> none{0, 0, LOCO_DTYPE_F32};
  for (const auto &[offset, bytes, code] :
       results.empty() ? ArrayRef<std::array<int64_t, 3>>(none) : results)
    builder.create<LLVM::CallOp>(loc, debugOp,
                                 ValueRange{context, i64(builder, loc, index),
                                            pointer(builder, loc, offset),
                                            i64(builder, loc, bytes),
                                            i64(builder, loc, code)});
}

void LowerToRuntimePass::emitEntry(OpBuilder &builder, func::FuncOp func,
                                   const ArenaPlan &plan,
                                   const FixedLayout &layout,
                                   StringRef symbol) {
  // Long steps (row chunks and recomputation make 10^5 calls) go into
  // internal functions of at most kCallsPerPart ops, which the entry calls
  // in order: LLVM's code generation is superlinear in a block's size.
  constexpr int64_t kCallsPerPart = 4096;
  Block *entry = beginEntry(builder, func.getLoc(), symbol);
  Block &body = func.getBody().front();
  bool split =
      static_cast<int64_t>(body.getOperations().size()) > kCallsPerPart;
  int64_t parts = 0, inPart = 0;
  auto startPart = [&] {
    Value entryContext = entry->getArgument(0),
          entryArena = entry->getArgument(1);
    OpBuilder::InsertionGuard guard(builder);
    Block *part = beginEntry(builder, func.getLoc(),
                             (symbol + ".part" + llvm::Twine(parts++)).str());
    auto partFunc = cast<LLVM::LLVMFuncOp>(part->getParentOp());
    partFunc.setLinkage(LLVM::Linkage::Internal);
    OpBuilder atEntry = OpBuilder::atBlockEnd(entry);
    atEntry.create<LLVM::CallOp>(func.getLoc(), partFunc,
                                 ValueRange{entryContext, entryArena});
    return part;
  };
  auto finishPart = [&] {
    builder.create<LLVM::ReturnOp>(func.getLoc(), ValueRange{});
  };
  if (split) {
    builder.setInsertionPointToStart(startPart());
  }
  for (Operation &op : body.without_terminator()) {
    auto callOp = cast<RuntimeCallOpInterface>(op);
    StringRef base = callOp.getRuntimeFunction();
    if (base.empty())
      continue;
    std::string name = kernelName(&op, base);
    if (split && ++inPart > kCallsPerPart) {
      finishPart();
      builder.setInsertionPointToStart(startPart());
      inPart = 1;
    }
    Location loc = op.getLoc();
    if (isa<SplitOp, ConcatOp>(op)) {
      // Pieces of the leading dim are contiguous: one copy per piece, at
      // the piece's byte offset in the whole.
      bool split = isa<SplitOp>(op);
      Value whole = split ? op.getOperand(0) : op.getResult(0);
      int64_t byteOffset = plan.offsets.lookup(whole);
      for (Value piece :
           split ? ValueRange(op.getResults()) : ValueRange(op.getOperands())) {
        int64_t count =
            cast<RankedTensorType>(piece.getType()).getNumElements();
        Value part = pointer(builder, loc, byteOffset),
              own = pointer(builder, loc, plan.offsets.lookup(piece));
        call(builder, loc, name,
             {context, split ? part : own, split ? own : part,
              i64(builder, loc, count)});
        emitDebugHook(builder, op, symbol, plan, ValueRange(piece));
        byteOffset += tensorBytes(piece);
      }
      continue;
    }
    SmallVector<Value> args{context};
    for (Value operand : op.getOperands())
      args.push_back(pointer(builder, loc, plan.offsets.lookup(operand)));
    for (Value result : op.getResults())
      args.push_back(pointer(builder, loc, plan.offsets.lookup(result)));
    SmallVector<Attribute> scalars;
    callOp.getRuntimeScalars(scalars);
    for (Attribute scalar : scalars) {
      if (auto integer = dyn_cast<IntegerAttr>(scalar))
        args.push_back(i64(builder, loc, integer.getInt()));
      else if (auto real = dyn_cast<FloatAttr>(scalar))
        args.push_back(f64(builder, loc, real.getValueAsDouble()));
      else if (auto rng = dyn_cast<RngKeyAttr>(scalar))
        args.push_back(rngIndexOffset(builder, loc, rng));
      else
        args.push_back(constantArray(
            builder, loc, cast<DenseI64ArrayAttr>(scalar).asArrayRef()));
    }
    call(builder, loc, name, args);
    emitDebugHook(builder, op, symbol, plan);
  }
  // Gradients accumulate into their parameter's accumulator.
  auto terminator =
      cast<func::ReturnOp>(func.getBody().front().getTerminator());
  std::map<std::string, unsigned> paramIndex;
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    if (StringAttr name = paramName(func, i))
      paramIndex[name.str()] = i;
  for (auto [index, value] : llvm::enumerate(terminator.getOperands())) {
    auto name = func.getResultAttrOfType<StringAttr>(index, "loco.name");
    if (!name || !name.getValue().starts_with("grad:") ||
        layout.optimizer.empty())
      continue;
    unsigned arg = paramIndex.at(name.getValue().drop_front(5).str());
    Location loc = value.getLoc();
    Value accumulator = pointer(builder, loc, layout.optimizer.at(arg)[0]);
    int64_t count = cast<RankedTensorType>(value.getType()).getNumElements();
    call(builder, loc, "loco_add",
         {context, accumulator,
          pointer(builder, loc, plan.offsets.lookup(value)), accumulator,
          i64(builder, loc, count)});
    emitHook(builder, loc, symbol,
             "loco_add in " + name.getValue().str() + " (accumulate)", count,
             12 * count,
             {{layout.optimizer.at(arg)[0], 4 * count, LOCO_DTYPE_F32}});
  }
  finishPart();
  if (split) {
    builder.setInsertionPointToEnd(entry);
    finishPart();
  }
}

void LowerToRuntimePass::emitOptimizer(OpBuilder &builder, func::FuncOp func,
                                       const FixedLayout &layout) {
  Location loc = func.getLoc();
  auto training = module->getAttrOfType<DictionaryAttr>("loco.training");
  auto hyper = [&](StringRef key, double fallback) {
    if (training)
      if (auto value = training.getAs<FloatAttr>(key))
        return value.getValueAsDouble();
    return fallback;
  };
  StringRef symbol = LOCO_ARTIFACT_OPTIMIZER_STEP;
  beginEntry(builder, loc, symbol);
  Value scratch = pointer(builder, loc, layout.scratch);
  // Every kernel call reports to the hook (locorun --profile), with its
  // parameter and cost.
  auto count = [&](unsigned arg) {
    return cast<RankedTensorType>(func.getArgument(arg).getType())
        .getNumElements();
  };
  auto named = [&](StringRef kernel, unsigned arg) {
    StringAttr name = paramName(func, arg);
    return (kernel + " in " + (name ? name.getValue() : StringRef("?"))).str();
  };
  call(builder, loc, "loco_grad_norm_begin", {context, scratch});
  emitHook(builder, loc, symbol, "loco_grad_norm_begin", 0, 0, {});
  for (auto &[arg, slots] : layout.optimizer) {
    call(builder, loc, "loco_grad_norm_accumulate",
         {context, pointer(builder, loc, slots[0]),
          i64(builder, loc, count(arg)), scratch});
    emitHook(builder, loc, symbol, named("loco_grad_norm_accumulate", arg),
             2 * count(arg), 4 * count(arg), {});
  }
  call(builder, loc, "loco_grad_norm_finish",
       {context, scratch, f64(builder, loc, hyper("gradient_clip", 5.0))});
  emitHook(builder, loc, symbol, "loco_grad_norm_finish", 0, 0, {});
  // Every update is checked before any is applied: a step that would make
  // a weight or moment non-finite anywhere is skipped whole.
  for (StringRef kernel : {"loco_adamw_check", "loco_adamw"})
    for (auto &[arg, slots] : layout.optimizer) {
      call(builder, loc, kernel,
           {context, pointer(builder, loc, layout.argOffsets[arg]),
            pointer(builder, loc, slots[0]), pointer(builder, loc, slots[1]),
            pointer(builder, loc, slots[2]), i64(builder, loc, count(arg)),
            scratch, f64(builder, loc, hyper("beta1", 0.9)),
            f64(builder, loc, hyper("beta2", 0.999)),
            f64(builder, loc, hyper("eps", 1e-8)),
            f64(builder, loc, hyper("weight_decay", 0.01))});
      // AdamW reads the weight, gradient and both moments, and writes all
      // four (the check reads them); about 15 flops per element.
      bool update = kernel == "loco_adamw";
      emitHook(builder, loc, symbol, named(kernel, arg), 15 * count(arg),
               (update ? 32 : 16) * count(arg),
               {{layout.argOffsets[arg], 4 * count(arg), LOCO_DTYPE_F32}});
    }
  builder.create<LLVM::ReturnOp>(loc, ValueRange{});
}

llvm::json::Object LowerToRuntimePass::outputsJson(func::FuncOp func,
                                                   const ArenaPlan &plan,
                                                   StringRef symbol) {
  llvm::json::Array outputs;
  auto terminator =
      cast<func::ReturnOp>(func.getBody().front().getTerminator());
  for (auto [index, value] : llvm::enumerate(terminator.getOperands())) {
    auto name = func.getResultAttrOfType<StringAttr>(index, "loco.name");
    if (name && name.getValue().starts_with("grad:"))
      continue;
    outputs.push_back(llvm::json::Object{
        {"name", name ? name.str() : "result" + std::to_string(index)},
        {"shape", shapeJson(value)},
        {"offset", plan.offsets.lookup(value)},
        {"bytes", tensorBytes(value)}});
  }
  return llvm::json::Object{{"symbol", symbol.str()},
                            {"outputs", std::move(outputs)}};
}

/// "f32", or the reduced type the step stores activations in ("bf16").
static std::string precision(func::FuncOp func) {
  std::string found = "f32";
  func.walk([&](CastOp cast) {
    for (Type type : {cast.getInput().getType().getElementType(),
                      cast.getResult().getType().getElementType()})
      if (!type.isF32())
        found = elementName(type).str();
  });
  return found;
}

std::string LowerToRuntimePass::manifest(func::FuncOp train,
                                         const FixedLayout &layout,
                                         DictionaryAttr memory,
                                         llvm::json::Object entryPoints) {
  llvm::json::Array params, inputs, buffers;
  for (BlockArgument arg : train.getArguments()) {
    unsigned index = arg.getArgNumber();
    llvm::json::Object entry{{"shape", shapeJson(arg)},
                             {"offset", layout.argOffsets[index]},
                             {"bytes", tensorBytes(arg)}};
    if (StringAttr name = paramName(train, index)) {
      entry["name"] = name.str();
      if (auto init = train.getArgAttrOfType<StringAttr>(index, "loco.init"))
        entry["init"] = init.str();
      auto slots = layout.optimizer.find(index);
      if (slots != layout.optimizer.end()) {
        entry["grad_offset"] = slots->second[0];
        entry["m_offset"] = slots->second[1];
        entry["v_offset"] = slots->second[2];
      }
      params.push_back(std::move(entry));
    } else if (auto input =
                   train.getArgAttrOfType<StringAttr>(index, "loco.input")) {
      entry["name"] = input.str();
      inputs.push_back(std::move(entry));
    }
  }
  if (auto dict = module->getAttrOfType<DictionaryAttr>("loco.buffers")) {
    for (NamedAttribute buffer : dict) {
      auto values = cast<DenseElementsAttr>(buffer.getValue());
      llvm::json::Array data, shape;
      for (float v : values.getValues<float>())
        data.push_back(static_cast<double>(v));
      for (int64_t dim : values.getType().getShape())
        shape.push_back(dim);
      buffers.push_back(llvm::json::Object{{"name", buffer.getName().str()},
                                           {"shape", std::move(shape)},
                                           {"values", std::move(data)}});
    }
  }
  llvm::json::Object root{
      {"format", "lococ-train-so"},
      // What the artifact runs: "train" (train, eval and optimizer entry
      // points) or "separate" (inference only: parameters and the
      // forward-only plan, `lococ --mode separate`).
      {"mode", train.getSymName() == "separate_step" ? "separate" : "train"},
      {"abi_version", LOCO_ABI_VERSION},
      {"target", target},
      {"precision", precision(train)},
      {"arena_bytes", memory.getAs<IntegerAttr>("arena_bytes").getInt()},
      {"lower_bound_bytes",
       memory.getAs<IntegerAttr>("lower_bound_bytes").getInt()},
      {"workspace_offset", layout.workspaceOffset},
      {"workspace_bytes", layout.workspaceBytes},
      {"device_fixed_bytes", ::loco::workspace::fixedDeviceBytes(target)},
      {"alignment", kBufferAlignment},
      {"entry_points", std::move(entryPoints)},
      {"parameters", std::move(params)},
      {"buffers", std::move(buffers)},
      {"inputs", std::move(inputs)}};
  if (auto config = module->getAttrOfType<StringAttr>("loco.config"))
    root["config"] = config.str();
  // What `loco_debug_hook` reports: per entry point, op index -> an index
  // into the table of op descriptions (name, module path, config line).
  // And each call's [flops, bytes moved] (locorun --profile).
  llvm::json::Object ops, costs;
  for (auto &[symbol, indices] : debugOps)
    ops[symbol] = std::move(indices);
  for (auto &[symbol, cost] : debugCosts)
    costs[symbol] = std::move(cost);
  root["debug"] = llvm::json::Object{{"ops", std::move(ops)},
                                     {"costs", std::move(costs)},
                                     {"names", std::move(debugNames)}};
  root["schema"] = LOCO_MANIFEST_SCHEMA;
  // Plain integer, float and string entries of the model and training
  // dictionaries, and of the memory-for-compute choices (micro-batching,
  // recomputation) when lococ made them.
  for (StringRef key : {"model", "training", "loss", "dataset", "hardware",
                        "micro_batching", "remat"}) {
    auto dict = module->getAttrOfType<DictionaryAttr>(("loco." + key).str());
    if (!dict)
      continue;
    llvm::json::Object json;
    for (NamedAttribute entry : dict) {
      if (auto b = dyn_cast<BoolAttr>(entry.getValue()))
        json[entry.getName().str()] = b.getValue();
      else if (auto i = dyn_cast<IntegerAttr>(entry.getValue()))
        json[entry.getName().str()] = i.getInt();
      else if (auto f = dyn_cast<FloatAttr>(entry.getValue()))
        json[entry.getName().str()] = f.getValueAsDouble();
      else if (auto str = dyn_cast<StringAttr>(entry.getValue()))
        json[entry.getName().str()] = str.str();
    }
    root[key] = std::move(json);
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(root));
  return text;
}

void LowerToRuntimePass::runOnOperation() {
  module = getOperation();
  SmallVector<func::FuncOp> steps = stepFunctions(module);
  if (steps.empty()) {
    module.emitError(
        "expects a func.func @train_step or @separate_step to lower");
    return signalPassFailure();
  }
  // The first step's arguments are the fixed region (PlanMemory).
  func::FuncOp train = steps.front();
  if (target != "cpu" && target != "cuda") {
    module.emitError() << "unknown target '" << target
                       << "'; the targets are cpu and cuda";
    return signalPassFailure();
  }
  for (func::FuncOp func : steps) {
    for (Operation &op : func.getBody().front().without_terminator()) {
      if (!isa<RuntimeCallOpInterface>(op)) {
        op.emitOpError("has no runtime kernel");
        return signalPassFailure();
      }
      // A kernel variant takes one element type (plus the exceptions of
      // mayDiffer). The verifiers already refuse mixed operands and allow
      // reduced types only where a kernel exists; this keeps the lowering
      // from naming a kernel that does not exist should one of them miss.
      if (op.getNumOperands() + op.getNumResults() == 0)
        continue;
      Type storage = storageType(&op);
      SmallVector<Value> values(op.getOperands());
      llvm::append_range(values, op.getResults());
      for (Value value : values)
        if (!mayDiffer(&op, value) &&
            cast<RankedTensorType>(value.getType()).getElementType() !=
                storage) {
          op.emitOpError("mixes element types ")
              << storage << " and " << value.getType()
              << "; each runtime kernel takes one (loco-autocast inserts the "
                 "casts)";
          return signalPassFailure();
        }
    }
  }

  auto memory = module->getAttrOfType<DictionaryAttr>("loco.memory");
  if (!memory) {
    module.emitError(
        "expects the arena plan of loco-plan-memory (run it first)");
    return signalPassFailure();
  }
  FixedLayout layout = readLayout(train, memory);
  bool hasGradients = !layout.optimizer.empty();
  arenaBytes = memory.getAs<IntegerAttr>("arena_bytes").getInt();

  OpBuilder builder(&getContext());
  Location loc = train.getLoc();
  builder.setInsertionPointToEnd(module.getBody());
  auto anchor = builder.create<LLVM::GlobalOp>(
      loc, builder.getI32Type(), /*isConstant=*/true, LLVM::Linkage::External,
      LOCO_ARTIFACT_ABI_VERSION, builder.getI32IntegerAttr(LOCO_ABI_VERSION));
  insertionAnchor = anchor;

  // Entry point "train" is `loco_train_step`, and so on.
  llvm::json::Object entryPoints;
  for (func::FuncOp func : steps) {
    StringRef name = func.getSymName();
    std::string symbol = ("loco_" + name).str();
    ArenaPlan plan = readPlan(func);
    entryPoints[name.drop_back(strlen("_step"))] =
        outputsJson(func, plan, symbol);
    emitEntry(builder, func, plan, layout, symbol);
  }
  if (hasGradients) {
    entryPoints["optimizer"] =
        llvm::json::Object{{"symbol", LOCO_ARTIFACT_OPTIMIZER_STEP},
                           {"scratch_offset", layout.scratch}};
    emitOptimizer(builder, train, layout);
  }

  std::string json = manifest(train, layout, memory, std::move(entryPoints));
  json.push_back('\0');
  builder.setInsertionPoint(anchor);
  builder.create<LLVM::GlobalOp>(
      loc, LLVM::LLVMArrayType::get(builder.getI8Type(), json.size()),
      /*isConstant=*/true, LLVM::Linkage::External, LOCO_ARTIFACT_MANIFEST,
      builder.getStringAttr(json));
  for (func::FuncOp func : steps)
    func.erase();
}

} // namespace
