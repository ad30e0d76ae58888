//===- MemoryReport.cpp - What the arena holds, readably ------------------===//
//
// This file implements the memory report, its JSON and the schedule trace.
//
//===----------------------------------------------------------------------===//

#include "passes/analysis/MemoryReport.h"
#include "passes/analysis/BufferLiveness.h"

#include "dialect/LocoOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace mlir;
using namespace mlir::loco;

std::string mlir::loco::formatBytes(int64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024.0 && unit < 4) {
    value /= 1024.0;
    ++unit;
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::format(unit == 0 ? "%.0f %s" : "%.2f %s", value, units[unit]);
  return text;
}

FailureOr<int64_t> mlir::loco::parseByteSize(llvm::StringRef text) {
  text = text.trim();
  size_t split = text.find_first_not_of("0123456789.");
  llvm::StringRef number = text.take_front(split),
                  unit = text.drop_front(split == llvm::StringRef::npos
                                             ? text.size()
                                             : split)
                             .trim();
  double value;
  if (number.empty() || number.getAsDouble(value) || value < 0)
    return failure();
  static const std::pair<const char *, double> units[] = {
      {"", 1},
      {"B", 1},
      {"KiB", 1024.0},
      {"MiB", 1048576.0},
      {"GiB", 1073741824.0},
      {"TiB", 1099511627776.0},
      {"KB", 1e3},
      {"MB", 1e6},
      {"GB", 1e9},
      {"TB", 1e12}};
  // At most 2^62 bytes (4 EiB): sizes beyond it would wrap in the int64
  // arithmetic of the budget search.
  constexpr double kLimit = 4611686018427387904.0;
  for (auto [name, scale] : units)
    if (unit.equals_insensitive(name) && (unit == name || unit.size() > 1)) {
      double bytes = value * scale;
      if (!(bytes <= kLimit))
        return failure();
      return static_cast<int64_t>(bytes);
    }
  return failure();
}

std::pair<std::string, int64_t> MemoryReport::dominant() const {
  auto it = std::max_element(
      breakdown.begin(), breakdown.end(),
      [](const auto &a, const auto &b) { return a.second < b.second; });
  return it == breakdown.end() ? std::pair<std::string, int64_t>{"", 0} : *it;
}

std::pair<std::string, std::string> mlir::loco::describeLocation(Location loc) {
  std::string name, where;
  loc->walk([&](Location inner) {
    if (auto named = dyn_cast<NameLoc>(inner); named && name.empty())
      name = named.getName().str();
    if (auto file = dyn_cast<FileLineColLoc>(inner); file && where.empty())
      where = (file.getFilename().str() + ":" + std::to_string(file.getLine()) +
               ":" + std::to_string(file.getColumn()));
    return WalkResult::advance();
  });
  return {name, where};
}

static int64_t attrInt(DictionaryAttr dict, StringRef key) {
  auto value = dict.getAs<IntegerAttr>(key);
  return value ? value.getInt() : 0;
}

FailureOr<MemoryReport> mlir::loco::buildMemoryReport(ModuleOp module) {
  auto memory = module->getAttrOfType<DictionaryAttr>("loco.memory");
  SmallVector<func::FuncOp> steps = stepFunctions(module);
  if (!memory || steps.empty())
    return module.emitError("expects a module planned by loco-plan-memory");
  // The training step, or the separation step of an inference module.
  func::FuncOp train = steps.front();
  MemoryReport report;
  report.step = train.getSymName().str();
  report.arenaBytes = attrInt(memory, "arena_bytes");
  report.lowerBoundBytes = attrInt(memory, "lower_bound_bytes");
  report.workspaceBytes = attrInt(memory, "workspace_bytes");

  int64_t params = 0, inputs = 0, grads = 0, moments = 0;
  for (BlockArgument arg : train.getArguments()) {
    int64_t bytes = alignBufferBytes(tensorBytes(arg));
    unsigned i = arg.getArgNumber();
    if (train.getArgAttr(i, "loco.param"))
      params += bytes;
    else
      inputs += bytes;
    if (train.getArgAttr(i, "loco.grad_offset")) {
      grads += bytes;
      moments += 2 * bytes;
    }
  }
  int64_t scratch =
      attrInt(memory, "scratch_offset") >= 0 ? alignBufferBytes(16) : 0;

  // Activations at the training step's peak: saved for backward (made by a
  // forward op, read by a backward op) or temporary.
  BufferLiveness liveness(train);
  std::vector<int64_t> live = liveness.liveBytes();
  int64_t peak =
      live.empty() ? 0
                   : std::max_element(live.begin(), live.end()) - live.begin();
  llvm::DenseMap<Operation *, int64_t> position;
  int64_t index = 0;
  for (Operation &op : train.getBody().front())
    position[&op] = index++;
  SmallVector<int64_t> lastBackward(liveness.buffers().size(), -1);
  // Recomputation clones run in the backward part: the checkpoints they
  // read are saved for backward too.
  for (Operation &op : train.getBody().front())
    if (op.hasAttr("loco.backward") || op.hasAttr("loco.recompute"))
      for (Value operand : op.getOperands())
        if (int64_t buffer = liveness.bufferOf(operand); buffer >= 0)
          lastBackward[buffer] = position[&op];
  int64_t saved = 0, temporary = 0;
  std::map<std::string, int64_t> byType;
  for (auto [i, buffer] : llvm::enumerate(liveness.buffers())) {
    if (buffer.first > peak || buffer.last < peak)
      continue;
    Type element =
        cast<RankedTensorType>(buffer.value.getType()).getElementType();
    std::string typeName;
    llvm::raw_string_ostream(typeName) << element;
    byType[typeName] += buffer.bytes;
    Operation *producer = buffer.value.getDefiningOp();
    // Recomputed values are temporaries of the backward pass.
    bool forward = producer && !producer->hasAttr("loco.backward") &&
                   !producer->hasAttr("loco.recompute");
    (forward && lastBackward[i] >= peak ? saved : temporary) += buffer.bytes;
  }
  report.activationsByType.assign(byType.begin(), byType.end());
  int64_t accounted = params + inputs + grads + moments + scratch +
                      report.workspaceBytes + saved + temporary;
  report.breakdown = {
      {"parameters", params},
      {"inputs", inputs},
      {"gradients", grads},
      {"optimizer", moments + scratch},
      {"workspace", report.workspaceBytes},
      {"activations_saved_for_backward", saved},
      {"temporaries", temporary},
      {"fragmentation", std::max<int64_t>(0, report.arenaBytes - accounted)}};

  // The largest buffers of either step.
  for (func::FuncOp func : steps) {
    std::string step = func.getSymName().drop_back(strlen("_step")).str();
    BufferLiveness buffers(func);
    for (const LiveBuffer &buffer : buffers.buffers()) {
      Operation *producer = buffer.value.getDefiningOp();
      auto [name, where] = describeLocation(producer->getLoc());
      report.largest.push_back({buffer.bytes,
                                producer->getName().getStringRef().str(), name,
                                where, step});
    }
  }
  std::stable_sort(
      report.largest.begin(), report.largest.end(),
      [](const auto &a, const auto &b) { return a.bytes > b.bytes; });
  if (report.largest.size() > 10)
    report.largest.resize(10);

  MemoryReport::Decisions &decisions = report.decisions;
  if (auto model = module->getAttrOfType<DictionaryAttr>("loco.model"))
    decisions.microBatch = decisions.configBatch = attrInt(model, "batch_size");
  if (auto micro =
          module->getAttrOfType<DictionaryAttr>("loco.micro_batching")) {
    decisions.configBatch = attrInt(micro, "config_batch_size");
    decisions.microBatch = attrInt(micro, "micro_batch");
    decisions.microBatches = attrInt(micro, "micro_batches");
  }
  if (auto regions = module->getAttrOfType<ArrayAttr>("loco.row_chunks"))
    for (auto region : regions.getAsRange<DictionaryAttr>())
      decisions.regions.push_back(
          {attrInt(region, "rows"), attrInt(region, "chunks")});
  if (auto remat = module->getAttrOfType<DictionaryAttr>("loco.remat")) {
    decisions.checkpointEvery = attrInt(remat, "checkpoint_every");
    decisions.checkpointPhase = attrInt(remat, "checkpoint_phase");
    if (auto keep = remat.getAs<BoolAttr>("keep_expensive"))
      decisions.keepExpensive = keep.getValue();
    if (auto keep = remat.getAs<BoolAttr>("keep_narrow"))
      decisions.keepNarrow = keep.getValue();
    if (auto keep = remat.getAs<BoolAttr>("keep_segment"))
      decisions.keepSegment = keep.getValue();
    if (auto rebuild = remat.getAs<BoolAttr>("rebuild_prologue"))
      decisions.rebuildPrologue = rebuild.getValue();
    decisions.extraCheckpoints = attrInt(remat, "extra_checkpoints");
    decisions.keptRegions = attrInt(remat, "kept_regions");
    decisions.bf16Checkpoints = attrInt(remat, "bf16_checkpoints");
    decisions.recomputedOps = attrInt(remat, "recomputed_ops");
    decisions.recomputeFlops = attrInt(remat, "recompute_flops");
    decisions.stepFlops = attrInt(remat, "step_flops");
    decisions.recomputeBytes = attrInt(remat, "recompute_bytes");
    decisions.stepBytes = attrInt(remat, "step_bytes");
  }
  if (auto kinds = module->getAttrOfType<DictionaryAttr>("loco.remat_ops")) {
    for (NamedAttribute kind : kinds) {
      auto cost = dyn_cast<DenseI64ArrayAttr>(kind.getValue());
      if (cost && cost.size() == 2)
        decisions.recomputedKinds.emplace_back(kind.getName().str(), cost[0],
                                               cost[1]);
    }
    std::stable_sort(decisions.recomputedKinds.begin(),
                     decisions.recomputedKinds.end(),
                     [](const auto &a, const auto &b) {
                       return std::get<2>(a) > std::get<2>(b);
                     });
  }
  return report;
}

static void printLargest(const MemoryReport &report, llvm::raw_ostream &os);

void mlir::loco::printMemoryReport(const MemoryReport &report,
                                   llvm::raw_ostream &os) {
  os << "memory plan (" << report.step << "):\n";
  os << "  arena            " << formatBytes(report.arenaBytes) << " ("
     << report.arenaBytes << " bytes)\n";
  os << "  lower bound      " << formatBytes(report.lowerBoundBytes)
     << " (fixed regions + the largest live activation bytes)\n";
  os << llvm::format("  arena / bound    %.4f\n", report.ratio());
  if (report.deviceFixedBytes)
    os << "  device total     "
       << formatBytes(report.arenaBytes + report.deviceFixedBytes) << " ("
       << report.arenaBytes + report.deviceFixedBytes << " bytes: the arena + "
       << report.target << "'s fixed workspace of "
       << formatBytes(report.deviceFixedBytes) << ")\n";
  os << "  breakdown:\n";
  for (const auto &[name, bytes] : report.breakdown)
    os << "    " << llvm::left_justify(name, 32)
       << llvm::right_justify(formatBytes(bytes), 12)
       << llvm::format("  %5.1f%%\n",
                       100.0 * bytes / std::max<int64_t>(1, report.arenaBytes));
  os << "  activations at the peak by element type:";
  for (const auto &[type, bytes] : report.activationsByType)
    os << "  " << type << " " << formatBytes(bytes);
  os << "\n";
  const MemoryReport::Decisions &decisions = report.decisions;
  if (report.inference)
    os << "  inference plan   " << formatBytes(report.inference->arenaBytes)
       << " (" << report.inference->arenaBytes
       << " bytes: lococ --mode separate, " << report.inference->segments
       << " segment(s) per step, forward only)\n";
  os << "  decisions:\n";
  bool inference = report.step == "separate_step";
  if (inference)
    os << "    segments         " << decisions.microBatch
       << " per step (forward only)";
  else
    os << "    micro-batch      " << decisions.microBatch << " of "
       << decisions.configBatch;
  if (!inference && decisions.microBatches > 1)
    os << " (" << decisions.microBatches
       << " micro-steps accumulate into each optimizer step)";
  os << "\n";
  int64_t chunked = 0, minRows = 0, maxRows = 0, minChunks = 0, maxChunks = 0;
  for (auto [rows, chunks] : decisions.regions) {
    chunked += chunks > 1;
    minRows = minRows ? std::min(minRows, rows) : rows;
    maxRows = std::max(maxRows, rows);
    minChunks = minChunks ? std::min(minChunks, chunks) : chunks;
    maxChunks = std::max(maxChunks, chunks);
  }
  os << "    row chunks       " << decisions.regions.size() << " regions ("
     << minRows << ".." << maxRows << " rows), " << chunked << " chunked, "
     << minChunks << ".." << maxChunks << " chunks each\n";
  if (inference)
    return printLargest(report, os);
  os << "    recomputation    ";
  if (decisions.checkpointEvery == 0)
    os << "none (every activation the backward reads is kept)\n";
  else
    os << (decisions.keepExpensive ? "cheap ops only, "
           : decisions.keepNarrow  ? "narrow contraction results kept, "
                                   : "")
       << "checkpoints every " << decisions.checkpointEvery << " region(s)"
       << (decisions.checkpointEvery > 1
               ? " from region " + std::to_string(decisions.checkpointPhase)
               : std::string())
       << (decisions.checkpointEvery > 1 && !decisions.keepSegment
               ? ", each path input rebuilt from its checkpoint"
               : "")
       << (decisions.checkpointEvery > 1 && decisions.extraCheckpoints
               ? ", " + std::to_string(decisions.extraCheckpoints) +
                     " more checkpoints"
               : std::string())
       << (decisions.keptRegions
               ? ", the last " + std::to_string(decisions.keptRegions) +
                     " region(s) kept whole (their activations fit the "
                     "budget)"
               : std::string())
       << (decisions.checkpointEvery >= 1 && decisions.rebuildPrologue
               ? ", encoder recomputed"
               : "")
       << (decisions.bf16Checkpoints
               ? ", " + std::to_string(decisions.bf16Checkpoints) +
                     " f32 checkpoints stored in bf16"
               : std::string())
       << "; " << decisions.recomputedOps << " ops recomputed\n";
  if (!decisions.recomputedKinds.empty()) {
    os << "    recomputed       ";
    size_t shown = 0;
    for (const auto &[name, count, flops] : decisions.recomputedKinds) {
      if (shown++ == 5) {
        os << ", ...";
        break;
      }
      os << (shown > 1 ? ", " : "") << count << " " << name
         << llvm::format(" (%.0f%%)",
                         100.0 * flops /
                             std::max<int64_t>(1, decisions.recomputeFlops));
    }
    os << "\n";
  }
  os << llvm::format(
      "    recompute_flops_ratio %.3f (%.3g of %.3g flops "
      "recomputed; %.3g of %.3g bytes moved)\n",
      decisions.recomputeFlopsRatio(), double(decisions.recomputeFlops),
      double(decisions.stepFlops), double(decisions.recomputeBytes),
      double(decisions.stepBytes));
  printLargest(report, os);
}

static void printLargest(const MemoryReport &report, llvm::raw_ostream &os) {
  os << "  largest buffers:\n";
  for (const MemoryReport::Buffer &buffer : report.largest)
    os << "    " << llvm::right_justify(formatBytes(buffer.bytes), 12) << "  "
       << buffer.step << "  " << llvm::left_justify(buffer.op, 28) << " "
       << buffer.name << (buffer.location.empty() ? "" : " at ")
       << buffer.location << "\n";
}

llvm::json::Value mlir::loco::memoryReportJson(const MemoryReport &report) {
  llvm::json::Object breakdown;
  for (const auto &[name, bytes] : report.breakdown)
    breakdown[name] = bytes;
  llvm::json::Array largest;
  for (const MemoryReport::Buffer &buffer : report.largest)
    largest.push_back(llvm::json::Object{{"bytes", buffer.bytes},
                                         {"op", buffer.op},
                                         {"name", buffer.name},
                                         {"location", buffer.location},
                                         {"step", buffer.step}});
  const MemoryReport::Decisions &decisions = report.decisions;
  llvm::json::Array regions;
  for (auto [rows, chunks] : decisions.regions)
    regions.push_back(llvm::json::Object{{"rows", rows}, {"chunks", chunks}});
  llvm::json::Object choice{
      {"config_batch_size", decisions.configBatch},
      {"micro_batch", decisions.microBatch},
      {"micro_batches", decisions.microBatches},
      {"row_chunks", std::move(regions)},
      {"checkpoint_every_regions", decisions.checkpointEvery},
      {"checkpoint_phase", decisions.checkpointPhase},
      {"keep_segment", decisions.keepSegment},
      {"extra_checkpoints", decisions.extraCheckpoints},
      {"kept_regions", decisions.keptRegions},
      {"rebuild_prologue", decisions.rebuildPrologue},
      {"bf16_checkpoints", decisions.bf16Checkpoints},
      {"recompute_cheap_only", decisions.keepExpensive},
      {"keep_narrow_results", decisions.keepNarrow},
      {"recomputed_ops", decisions.recomputedOps},
      {"recomputed_by_op",
       [&] {
         llvm::json::Object kinds;
         for (const auto &[name, count, flops] : decisions.recomputedKinds)
           kinds[name] = llvm::json::Object{{"count", count}, {"flops", flops}};
         return kinds;
       }()},
      {"recompute_flops", decisions.recomputeFlops},
      {"step_flops", decisions.stepFlops},
      {"recompute_bytes", decisions.recomputeBytes},
      {"step_bytes", decisions.stepBytes}};
  llvm::json::Value inference = nullptr;
  if (report.inference)
    inference =
        llvm::json::Object{{"arena_bytes", report.inference->arenaBytes},
                           {"segments", report.inference->segments}};
  return llvm::json::Object{
      {"step", report.step},
      {"arena_bytes", report.arenaBytes},
      {"inference", std::move(inference)},
      {"target", report.target},
      {"device_fixed_bytes", report.deviceFixedBytes},
      {"device_total_bytes", report.arenaBytes + report.deviceFixedBytes},
      {"recompute_flops_ratio", decisions.recomputeFlopsRatio()},
      {"decisions", std::move(choice)},
      {"workspace_bytes", report.workspaceBytes},
      {"lower_bound_bytes", report.lowerBoundBytes},
      {"ratio", report.ratio()},
      {"breakdown", std::move(breakdown)},
      {"activations_by_element_type",
       [&] {
         llvm::json::Object types;
         for (const auto &[type, bytes] : report.activationsByType)
           types[type] = bytes;
         return types;
       }()},
      {"largest", std::move(largest)}};
}

llvm::json::Value mlir::loco::memoryTraceJson(ModuleOp module) {
  llvm::json::Array events;
  int pid = 1;
  for (func::FuncOp func : stepFunctions(module)) {
    StringRef step = func.getSymName();
    events.push_back(
        llvm::json::Object{{"name", "process_name"},
                           {"ph", "M"},
                           {"pid", pid},
                           {"args", llvm::json::Object{{"name", step}}}});
    BufferLiveness liveness(func);
    std::vector<int64_t> live = liveness.liveBytes();
    int64_t time = 0, index = 0;
    for (Operation &op : func.getBody().front()) {
      int64_t flops = 0, bytes = 0;
      if (auto cost = dyn_cast<RecomputeCostOpInterface>(op)) {
        flops = cost.getFlops();
        bytes = cost.getBytesMoved();
      }
      int64_t duration = std::max<int64_t>(1, flops / 1000);
      auto [name, where] = describeLocation(op.getLoc());
      events.push_back(llvm::json::Object{
          {"name", op.getName().getStringRef()},
          {"cat", op.hasAttr("loco.backward") ? "backward" : "forward"},
          {"ph", "X"},
          {"ts", time},
          {"dur", duration},
          {"pid", pid},
          {"tid", 1},
          {"args", llvm::json::Object{{"module", name},
                                      {"location", where},
                                      {"flops", flops},
                                      {"bytes_moved", bytes}}}});
      events.push_back(llvm::json::Object{
          {"name", "live activation bytes"},
          {"ph", "C"},
          {"ts", time},
          {"pid", pid},
          {"args", llvm::json::Object{{"bytes", live[index]}}}});
      time += duration;
      ++index;
    }
    ++pid;
  }
  return llvm::json::Object{{"traceEvents", std::move(events)},
                            {"displayTimeUnit", "ms"}};
}
