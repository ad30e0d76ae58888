//===- MemoryReport.h - What the arena holds, readably ----------*- C++ -*-===//
//
// This file declares the memory report of a planned module (after
// loco-plan-memory): arena size against the live-bytes lower bound, a
// breakdown (parameters, inputs, gradients, optimizer state, workspace,
// activations saved for backward and temporaries at the training step's
// peak, fragmentation), the largest buffers with the op and config location
// that made them; as text, as JSON, and as a Chrome-trace / Perfetto
// timeline of the schedule with a live-bytes counter.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_PASSES_ANALYSIS_MEMORYREPORT_H
#define LOCO_PASSES_ANALYSIS_MEMORYREPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace mlir::loco {

struct MemoryReport {
  /// The planned step: train_step, or separate_step (inference).
  std::string step = "train_step";
  int64_t arenaBytes = 0, lowerBoundBytes = 0, workspaceBytes = 0;
  /// Beside a training plan: the arena of the same model's inference step
  /// (`lococ --mode separate` at the micro-batch), when lococ planned it.
  struct Inference {
    int64_t arenaBytes = 0, segments = 0;
  };
  std::optional<Inference> inference;
  /// The target's fixed device workspace beside the arena (cuda: library
  /// work areas and reduction partials; 0 on the cpu).
  std::string target = "cpu";
  int64_t deviceFixedBytes = 0;
  /// (name, bytes) in display order; they add up to the arena.
  std::vector<std::pair<std::string, int64_t>> breakdown;
  /// The activations live at the training step's peak (saved and
  /// temporary), by element type: f32, bf16, f16 (mixed precision).
  std::vector<std::pair<std::string, int64_t>> activationsByType;
  struct Buffer {
    int64_t bytes;
    std::string op, name, location, step;
  };
  std::vector<Buffer> largest;

  /// What the budget fit chose (loco-chunk-rows, loco-rematerialize and the
  /// micro-batch choice) and what it costs in recomputation.
  struct Decisions {
    int64_t configBatch = 0, microBatch = 0, microBatches = 1;
    /// (rows, chunks) per row-independent region.
    std::vector<std::pair<int64_t, int64_t>> regions;
    int64_t checkpointEvery = 0, checkpointPhase = 0, recomputedOps = 0;
    bool keepExpensive = false, keepNarrow = false, keepSegment = true,
         rebuildPrologue = false;
    int64_t extraCheckpoints = 0;
    /// Regions (the last ones) that recompute nothing.
    int64_t keptRegions = 0;
    /// f32 checkpoints kept as bf16 copies (loco-rematerialize).
    int64_t bf16Checkpoints = 0;
    int64_t recomputeFlops = 0, stepFlops = 0;
    int64_t recomputeBytes = 0, stepBytes = 0;
    /// What was recomputed: (op name, count, flops), most flops first.
    std::vector<std::tuple<std::string, int64_t, int64_t>> recomputedKinds;
    /// Total step flops over those of the same step without recomputation.
    double recomputeFlopsRatio() const {
      int64_t base = stepFlops - recomputeFlops;
      return base > 0 ? double(stepFlops) / base : 1.0;
    }
  } decisions;

  double ratio() const {
    return lowerBoundBytes ? double(arenaBytes) / lowerBoundBytes : 1.0;
  }
  /// The breakdown entry that dominates (for budget messages).
  std::pair<std::string, int64_t> dominant() const;
};

/// Builds the report of `module`, which loco-plan-memory has annotated.
FailureOr<MemoryReport> buildMemoryReport(ModuleOp module);
void printMemoryReport(const MemoryReport &report, llvm::raw_ostream &os);
llvm::json::Value memoryReportJson(const MemoryReport &report);
/// A Chrome trace of both steps' schedules: one slice per kernel (duration:
/// the cost model's estimate, 1 us per 1000 flops, at least 1 us) and a
/// counter track of the live activation bytes.
llvm::json::Value memoryTraceJson(ModuleOp module);

/// The module path (its NameLoc, e.g. "blocks.0.freq_path.attn") and the
/// config's `file:line:col` of an op's location; either may be empty.
std::pair<std::string, std::string> describeLocation(Location loc);

/// "1.50 GiB" and the like.
std::string formatBytes(int64_t bytes);
/// Parses "24GiB", "512 MiB", "1.5GB", "1000000" (bytes) up to 2^62 bytes;
/// fails on anything else.
FailureOr<int64_t> parseByteSize(llvm::StringRef text);

} // namespace mlir::loco

#endif // LOCO_PASSES_ANALYSIS_MEMORYREPORT_H
