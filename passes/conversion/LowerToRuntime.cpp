//===- LowerToRuntime.cpp - loco ops to runtime calls on one arena --------===//
//
// This file implements `loco-lower-to-runtime`: a simple arena plan (fixed
// regions for parameters and inputs, first-fit reuse for everything else,
// views aliasing their operand) and the lowering of each op to a call of its
// runtime kernel in the LLVM dialect, plus the embedded manifest. The real
// memory planner (best fit by size, exact lower bound) replaces the plan
// here in its own pass.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "dialect/LocoOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "runtime/api.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/JSON.h"

#include <map>

namespace mlir::loco {
#define GEN_PASS_DEF_LOCOLOWERTORUNTIMEPASS
#include "passes/Passes.h.inc"
} // namespace mlir::loco

using namespace mlir;
using namespace mlir::loco;

namespace {

constexpr int64_t kAlignment = 256;

int64_t alignTo(int64_t bytes) {
  return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

int64_t bytesOf(Value value) {
  auto type = cast<RankedTensorType>(value.getType());
  return type.getNumElements() * type.getElementTypeBitWidth() / 8;
}

/// First-fit placement of buffers in [base, infinity) with explicit frees.
class FirstFitArena {
public:
  explicit FirstFitArena(int64_t base) : end(base) { free[base] = -1; }

  int64_t allocate(int64_t bytes) {
    bytes = alignTo(std::max<int64_t>(bytes, 1));
    for (auto it = free.begin(); it != free.end(); ++it) {
      int64_t size = it->second < 0 ? -1 : it->second;
      if (size >= 0 && size < bytes)
        continue;
      int64_t offset = it->first;
      free.erase(it);
      if (size > bytes)
        free[offset + bytes] = size - bytes;
      else if (size < 0)
        free[offset + bytes] = -1; // the open-ended tail
      end = std::max(end, offset + bytes);
      return offset;
    }
    llvm_unreachable("the tail block is always free");
  }

  void release(int64_t offset, int64_t bytes) {
    bytes = alignTo(std::max<int64_t>(bytes, 1));
    auto [it, inserted] = free.emplace(offset, bytes);
    (void)inserted;
    // Merge with the following and preceding free blocks.
    auto next = std::next(it);
    if (next != free.end() && offset + bytes == next->first) {
      it->second = next->second < 0 ? -1 : bytes + next->second;
      free.erase(next);
    }
    if (it != free.begin()) {
      auto prev = std::prev(it);
      if (prev->second >= 0 && prev->first + prev->second == offset) {
        prev->second = it->second < 0 ? -1 : prev->second + it->second;
        free.erase(it);
      }
    }
  }

  int64_t size() const { return end; }

private:
  /// offset -> size of free block (-1: free up to infinity).
  std::map<int64_t, int64_t> free;
  int64_t end;
};

struct ArenaPlan {
  llvm::DenseMap<Value, int64_t> offsets;
  int64_t bytes = 0;
};

/// Places every tensor of `func`: arguments first, then op results by
/// first fit, releasing a buffer after the last op that reads it (through
/// views). Returned values are never released.
ArenaPlan planArena(func::FuncOp func) {
  ArenaPlan plan;
  int64_t cursor = 0;
  for (BlockArgument arg : func.getArguments()) {
    plan.offsets[arg] = cursor;
    cursor += alignTo(bytesOf(arg));
  }

  // The buffer (non-view value) behind each value, and its last reader.
  llvm::DenseMap<Value, Value> root;
  llvm::DenseMap<Value, Operation *> lastUse;
  Block &body = func.getBody().front();
  for (BlockArgument arg : func.getArguments())
    root[arg] = arg;
  for (Operation &op : body) {
    for (Value operand : op.getOperands())
      lastUse[root.lookup(operand)] = &op;
    auto call = dyn_cast<RuntimeCallOpInterface>(op);
    for (Value result : op.getResults())
      root[result] = call && call.getRuntimeFunction().empty()
                         ? root.lookup(op.getOperand(0))
                         : result;
  }

  FirstFitArena arena(cursor);
  for (Operation &op : body) {
    auto call = dyn_cast<RuntimeCallOpInterface>(op);
    if (!call)
      continue;
    Value result = op.getResult(0);
    if (call.getRuntimeFunction().empty())
      plan.offsets[result] = plan.offsets.lookup(op.getOperand(0));
    else
      plan.offsets[result] = arena.allocate(bytesOf(result));
    // Release buffers whose last reader is this op (never arguments or
    // what the function returns, whose last reader is the terminator).
    SmallPtrSet<Value, 4> released;
    for (Value operand : op.getOperands()) {
      Value buffer = root.lookup(operand);
      if (isa<BlockArgument>(buffer) || lastUse.lookup(buffer) != &op ||
          !released.insert(buffer).second)
        continue;
      arena.release(plan.offsets.lookup(buffer), bytesOf(buffer));
    }
  }
  plan.bytes = arena.size();
  return plan;
}

llvm::json::Array shapeJson(Value value) {
  llvm::json::Array shape;
  for (int64_t dim : cast<RankedTensorType>(value.getType()).getShape())
    shape.push_back(dim);
  return shape;
}

struct LowerToRuntimePass
    : public loco::impl::LocoLowerToRuntimePassBase<LowerToRuntimePass> {
  using LocoLowerToRuntimePassBase::LocoLowerToRuntimePassBase;

  void runOnOperation() override;

private:
  /// The declaration of runtime function `name` for the given arguments.
  LLVM::LLVMFuncOp getOrDeclare(OpBuilder &builder, StringRef name,
                                ValueRange args);
  /// A pointer to a constant global array holding `values`.
  Value constantArray(OpBuilder &builder, Location loc,
                      ArrayRef<int64_t> values);
  std::string manifest(func::FuncOp func, const ArenaPlan &plan);

  ModuleOp module;
  /// Declarations and constants go before the function being built.
  Operation *insertionAnchor = nullptr;
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
      LLVM::LLVMVoidType::get(&getContext()),
      llvm::to_vector(args.getTypes()));
  return builder.create<LLVM::LLVMFuncOp>(module.getLoc(), name, type);
}

Value LowerToRuntimePass::constantArray(OpBuilder &builder, Location loc,
                                        ArrayRef<int64_t> values) {
  auto i64 = builder.getI64Type();
  LLVM::GlobalOp &global = arrays[values.vec()];
  if (!global) {
    OpBuilder::InsertionGuard guard(builder);
    builder.setInsertionPoint(insertionAnchor);
    auto data = DenseIntElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(values.size())}, i64),
        values);
    global = builder.create<LLVM::GlobalOp>(
        loc, LLVM::LLVMArrayType::get(i64, values.size()), /*isConstant=*/true,
        LLVM::Linkage::Internal, "__loco_array_" + std::to_string(arrays.size()),
        data);
  }
  return builder.create<LLVM::AddressOfOp>(loc, global);
}

std::string LowerToRuntimePass::manifest(func::FuncOp func,
                                         const ArenaPlan &plan) {
  llvm::json::Array params, inputs, outputs, buffers;
  for (BlockArgument arg : func.getArguments()) {
    llvm::json::Object entry{{"shape", shapeJson(arg)},
                             {"offset", plan.offsets.lookup(arg)},
                             {"bytes", bytesOf(arg)}};
    if (auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                      "loco.param")) {
      entry["name"] = name.str();
      if (auto init = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                        "loco.init"))
        entry["init"] = init.str();
      params.push_back(std::move(entry));
    } else if (auto input = func.getArgAttrOfType<StringAttr>(
                   arg.getArgNumber(), "loco.input")) {
      entry["name"] = input.str();
      inputs.push_back(std::move(entry));
    }
  }
  auto terminator = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  for (auto [index, value] : llvm::enumerate(terminator.getOperands())) {
    auto name = func.getResultAttrOfType<StringAttr>(index, "loco.name");
    outputs.push_back(llvm::json::Object{
        {"name", name ? name.str() : "result" + std::to_string(index)},
        {"shape", shapeJson(value)},
        {"offset", plan.offsets.lookup(value)},
        {"bytes", bytesOf(value)}});
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
      {"abi_version", LOCO_ABI_VERSION},
      {"target", target},
      {"precision", "f32"},
      {"arena_bytes", plan.bytes},
      {"alignment", kAlignment},
      {"entry_points", llvm::json::Object{{"forward", "loco_forward"}}},
      {"parameters", std::move(params)},
      {"buffers", std::move(buffers)},
      {"inputs", std::move(inputs)},
      {"outputs", std::move(outputs)}};
  if (auto config = module->getAttrOfType<StringAttr>("loco.config"))
    root["config"] = config.str();
  if (auto model = module->getAttrOfType<DictionaryAttr>("loco.model")) {
    llvm::json::Object modelJson;
    for (NamedAttribute entry : model)
      if (auto i = dyn_cast<IntegerAttr>(entry.getValue()))
        modelJson[entry.getName().str()] = i.getInt();
    root["model"] = std::move(modelJson);
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(root));
  return text;
}

void LowerToRuntimePass::runOnOperation() {
  module = getOperation();
  auto func = module.lookupSymbol<func::FuncOp>("train_step");
  if (!func) {
    module.emitError("expects a func.func @train_step to lower");
    return signalPassFailure();
  }
  if (target != "cpu") {
    module.emitError() << "unknown target '" << target
                       << "'; this build supports: cpu";
    return signalPassFailure();
  }
  for (Operation &op : func.getBody().front().without_terminator()) {
    if (!isa<RuntimeCallOpInterface>(op)) {
      op.emitOpError("has no runtime kernel");
      return signalPassFailure();
    }
    for (Value operand : op.getOperands())
      if (!cast<RankedTensorType>(operand.getType()).getElementType().isF32()) {
        op.emitOpError("the runtime supports f32 tensors only so far");
        return signalPassFailure();
      }
  }

  ArenaPlan plan = planArena(func);
  arenaBytes = plan.bytes;
  MLIRContext *ctx = &getContext();
  OpBuilder builder(ctx);
  Location loc = func.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = builder.getI64Type();
  auto i8 = builder.getI8Type();

  // The manifest and the ABI version, exported for locorun.
  builder.setInsertionPointToEnd(module.getBody());
  std::string json = manifest(func, plan);
  json.push_back('\0');
  builder.create<LLVM::GlobalOp>(
      loc, LLVM::LLVMArrayType::get(i8, json.size()), /*isConstant=*/true,
      LLVM::Linkage::External, "loco_manifest", builder.getStringAttr(json));
  builder.create<LLVM::GlobalOp>(
      loc, builder.getI32Type(), /*isConstant=*/true, LLVM::Linkage::External,
      "loco_abi_version", builder.getI32IntegerAttr(LOCO_ABI_VERSION));

  auto forwardType =
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr, ptr});
  auto forward =
      builder.create<LLVM::LLVMFuncOp>(loc, "loco_forward", forwardType);
  insertionAnchor = forward;
  Block *entry = forward.addEntryBlock(builder);
  builder.setInsertionPointToStart(entry);
  Value context = entry->getArgument(0), arena = entry->getArgument(1);

  auto pointerTo = [&](Location opLoc, Value value) -> Value {
    Value offset = builder.create<LLVM::ConstantOp>(
        opLoc, i64, builder.getI64IntegerAttr(plan.offsets.lookup(value)));
    return builder.create<LLVM::GEPOp>(opLoc, ptr, i8, arena,
                                       ArrayRef<LLVM::GEPArg>{offset});
  };

  for (Operation &op : func.getBody().front().without_terminator()) {
    auto call = cast<RuntimeCallOpInterface>(op);
    StringRef name = call.getRuntimeFunction();
    if (name.empty())
      continue;
    Location opLoc = op.getLoc();
    SmallVector<Value> args{context};
    for (Value operand : op.getOperands())
      args.push_back(pointerTo(opLoc, operand));
    for (Value result : op.getResults())
      args.push_back(pointerTo(opLoc, result));
    SmallVector<Attribute> scalars;
    call.getRuntimeScalars(scalars);
    for (Attribute scalar : scalars) {
      if (auto integer = dyn_cast<IntegerAttr>(scalar))
        args.push_back(builder.create<LLVM::ConstantOp>(opLoc, i64, integer));
      else if (auto real = dyn_cast<FloatAttr>(scalar))
        args.push_back(builder.create<LLVM::ConstantOp>(
            opLoc, builder.getF64Type(), real));
      else
        args.push_back(constantArray(builder, opLoc,
                                     cast<DenseI64ArrayAttr>(scalar).asArrayRef()));
    }
    builder.create<LLVM::CallOp>(opLoc, getOrDeclare(builder, name, args), args);
    ++numCalls;
  }
  builder.create<LLVM::ReturnOp>(loc, ValueRange{});
  func.erase();
}

} // namespace
