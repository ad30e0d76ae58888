//===- loco-budget-gap.cpp - The budget search against the exact optimum --===//
//
// A test-only tool that measures the optimality gap of lococ's budget
// search (frontend/compile/FitBudget.cpp). The search walks its tiers in
// order of recomputation and stops at the first plan that fits; this tool
// plans every choice the search decides among (budgetSearchSpace: micro-
// batch, tier, phase, row chunks, extra checkpoints) once, and for each
// budget takes the fitting plan with the fewest flops: the exact optimum at
// the search's granularity, found by exhaustion. It prints both per budget
// and fails (exit 1) when the search's recomputed flops exceed the
// optimum's by more than --max-gap percent.
//
//   loco-budget-gap CONFIG [--set key=value]... [--target cpu|cuda]
//                   [--budget 50%|SIZE|floor]... [--max-gap PERCENT]
//                   [--list]
//
// --list prints every planned choice with its arena and flops.
// A budget in percent is of the unconstrained plan's arena (the config's
// batch, no recomputation, no chunks); `floor` is the smallest arena of any
// choice. On cuda, budgets are of the arena (the backend's fixed workspace
// is not counted, as lococ subtracts it before its search). The optimum is
// the choice with the fewest recomputed flops (per config batch) that
// fits. Exit status: 0; 1 when the search is outside --max-gap or misses a
// budget that a plan fits; 2 for bad arguments, a config error or a
// failed compile.
//
//===----------------------------------------------------------------------===//

#include "dialect/LocoDialect.h"
#include "frontend/ModelSpec.h"
#include "frontend/ReadModelSpec.h"
#include "frontend/compile/FitBudget.h"
#include "passes/Passes.h"
#include "passes/analysis/MemoryReport.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

using namespace mlir;
using namespace mlir::loco;

namespace {

struct Args {
  std::string config, target = "cpu";
  std::vector<std::string> overrides, budgets;
  double maxGap = -1;
  bool list = false;
};

int usage(const char *message) {
  llvm::errs() << "loco-budget-gap: " << message
               << "\nusage: loco-budget-gap CONFIG [--set key=value]... "
                  "[--target cpu|cuda] [--budget 50%|SIZE|floor]... "
                  "[--max-gap PERCENT] [--list]\n";
  return 2;
}

std::string describe(const StepChoice &c) {
  const LocoRematChoice &r = c.remat;
  std::string text = "micro " + std::to_string(c.microBatch) + ", chunks " +
                     std::to_string(r.rowChunks);
  if (r.checkpointEvery == 0)
    return text + ", no remat";
  text += ", checkpoint every " + std::to_string(r.checkpointEvery);
  if (r.checkpointEvery > 1)
    text += " (phase " + std::to_string(r.checkpointPhase) + ")";
  if (r.extraCheckpoints)
    text += " +" + std::to_string(r.extraCheckpoints) + " extra";
  if (r.keptRegions)
    text += ", last " + std::to_string(r.keptRegions) + " regions kept";
  if (r.keepNarrow)
    text += ", narrow kept";
  if (r.keepExpensive)
    text += ", contractions kept";
  if (!r.keepSegment)
    text += ", segment rebuilt";
  if (r.rebuildPrologue)
    text += ", prologue rebuilt";
  if (r.bf16Checkpoints)
    text += ", bf16 checkpoints";
  return text;
}

/// A finite, non-negative number (a percentage), all of `text`.
bool parsePercent(const char *text, double &out) {
  char *end = nullptr;
  out = std::strtod(text, &end);
  return end != text && *end == '\0' && std::isfinite(out) && out >= 0;
}

/// A budget: `floor`, a percentage of the unconstrained arena (> 0, at
/// most 1000%) or a size; nullopt for anything else.
struct Budget {
  std::string text;
  bool floor = false;
  double percent = 0;
  int64_t bytes = 0;
};
std::optional<Budget> parseBudget(const std::string &text) {
  Budget budget{text};
  if (text == "floor") {
    budget.floor = true;
    return budget;
  }
  if (!text.empty() && text.back() == '%') {
    std::string number = text.substr(0, text.size() - 1);
    if (!parsePercent(number.c_str(), budget.percent) || budget.percent <= 0 ||
        budget.percent > 1000)
      return std::nullopt;
    return budget;
  }
  FailureOr<int64_t> parsed = parseByteSize(text);
  if (failed(parsed) || *parsed <= 0)
    return std::nullopt;
  budget.bytes = *parsed;
  return budget;
}

/// A planned choice of the space.
struct Planned {
  StepChoice choice;
  PlanCost cost;
};

/// Recomputed flops of `search` over the optimum's, in percent (0 when
/// both recompute nothing).
double gapPercent(const PlanCost &search, const PlanCost &optimum) {
  if (search.recomputeFlops <= optimum.recomputeFlops)
    return 0.0;
  if (optimum.recomputeFlops == 0)
    return std::numeric_limits<double>::infinity();
  return 100.0 * double(search.recomputeFlops - optimum.recomputeFlops) /
         double(optimum.recomputeFlops);
}

/// Parses the command line into `args` and `budgets`; an exit status when
/// it is not usable.
std::optional<int> parseArgs(int argc, char **argv, Args &args,
                             std::vector<Budget> &budgets) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--set" || arg == "--budget" || arg == "--target" ||
        arg == "--max-gap") {
      const char *v = i + 1 < argc ? argv[++i] : nullptr;
      if (!v)
        return usage((arg + " needs a value").c_str());
      if (arg == "--set")
        args.overrides.push_back(v);
      else if (arg == "--budget")
        args.budgets.push_back(v);
      else if (arg == "--target")
        args.target = v;
      else if (!parsePercent(v, args.maxGap))
        return usage("--max-gap expects a percentage such as 3");
    } else if (arg == "--list") {
      args.list = true;
    } else if (!arg.empty() && arg[0] != '-' && args.config.empty()) {
      args.config = arg;
    } else {
      return usage(("unknown argument '" + arg + "'").c_str());
    }
  }
  if (args.config.empty() || args.budgets.empty())
    return usage("a config and at least one --budget are needed");
  if (args.target != "cpu" && args.target != "cuda")
    return usage("--target is cpu or cuda");
  // Budgets are checked before anything is planned.
  for (const std::string &text : args.budgets) {
    std::optional<Budget> budget = parseBudget(text);
    if (!budget)
      return usage(("--budget '" + text +
                    "' is not floor, a percentage in (0, 1000] or a size")
                       .c_str());
    budgets.push_back(*budget);
  }
  return std::nullopt;
}

/// One run: the config's space planned once, then each budget's optimum
/// against the search's choice.
class GapRun {
public:
  GapRun(const Args &args, MLIRContext &context)
      : args(args), context(context) {}

  /// Reads the config and plans the unconstrained step and every choice.
  LogicalResult plan();
  /// Prints the budget's optimum, the search's choice and their gap;
  /// whether the search is within --max-gap (failure: a compile failed).
  FailureOr<bool> check(const Budget &given);

  const PlanCost &base() const { return unconstrained; }
  int64_t floor = std::numeric_limits<int64_t>::max();
  std::vector<Planned> planned;
  std::string precision() const {
    return options.amp.empty() ? "fp32" : options.amp;
  }

private:
  void printLine(const char *who, const StepChoice &choice,
                 const PlanCost &cost) const;

  const Args &args;
  MLIRContext &context;
  std::optional<ModelSpec> spec;
  LocoPipelineOptions options;
  bool bf16Checkpoints = false;
  PlanCost unconstrained;
};

LogicalResult GapRun::plan() {
  spec = loadModelSpec(&context, args.config, args.overrides, false);
  if (!spec)
    return failure();
  options = LocoPipelineOptions{args.target, true, spec->autocastType()};
  // lococ lets the search store checkpoints in bf16 under bf16 AMP.
  bf16Checkpoints = options.amp == "bf16";
  StepChoice none;
  none.microBatch = spec->batchSize;
  FailureOr<PlanCost> base = planCost(*spec, none, options, &context);
  if (failed(base))
    return failure();
  unconstrained = *base;
  for (const StepChoice &choice :
       budgetSearchSpace(*spec, bf16Checkpoints, base->regions)) {
    FailureOr<PlanCost> cost = planCost(*spec, choice, options, &context);
    if (failed(cost))
      return failure();
    planned.push_back({choice, *cost});
    floor = std::min(floor, cost->arena);
    if (args.list)
      llvm::outs() << "planned: arena " << cost->arena << ", step flops "
                   << cost->stepFlops << " (" << describe(choice) << ")\n";
  }
  return success();
}

void GapRun::printLine(const char *who, const StepChoice &choice,
                       const PlanCost &cost) const {
  llvm::outs() << "  " << who << ": arena " << formatBytes(cost.arena)
               << ", recompute "
               << llvm::format("%.4g", double(cost.recomputeFlops))
               << " flops, ratio "
               << llvm::format("%.3f", double(cost.stepFlops) /
                                           double(unconstrained.stepFlops))
               << " (" << describe(choice) << ")\n";
}

FailureOr<bool> GapRun::check(const Budget &given) {
  int64_t budget = given.floor ? floor
                   : given.percent
                       ? static_cast<int64_t>(double(unconstrained.arena) *
                                              given.percent / 100.0)
                       : given.bytes;
  // The optimum: the fewest recomputed flops (the quantity the gap
  // compares) among the choices that fit, then the fewest flops in all,
  // then the smaller arena.
  auto better = [](const PlanCost &a, const PlanCost &b) {
    return std::tuple(a.recomputeFlops, a.stepFlops, a.arena) <
           std::tuple(b.recomputeFlops, b.stepFlops, b.arena);
  };
  const Planned *best = nullptr;
  for (const Planned &p : planned)
    if (p.cost.arena <= budget && (!best || better(p.cost, best->cost)))
      best = &p;
  int64_t smallest = 0;
  FailureOr<StepChoice> search =
      fitBudget(*spec, budget, options, &context, smallest, bf16Checkpoints);
  llvm::outs() << "budget " << given.text << " (" << formatBytes(budget)
               << ")\n";
  if (!best) {
    llvm::outs() << "  no choice fits"
                 << (succeeded(search) ? ", but the search found one\n"
                                       : ", nor does the search's\n");
    return failed(search);
  }
  printLine("optimum", best->choice, best->cost);
  if (failed(search)) {
    llvm::outs() << "  search: none found\n";
    return false;
  }
  FailureOr<PlanCost> found = planCost(*spec, *search, options, &context);
  if (failed(found))
    return failure();
  printLine("search ", *search, *found);
  double gap = gapPercent(*found, best->cost);
  llvm::outs() << "  gap " << llvm::format("%.2f", gap)
               << "% of the optimum's recomputed flops\n";
  return args.maxGap < 0 || gap <= args.maxGap;
}

} // namespace

int main(int argc, char **argv) {
  Args args;
  std::vector<Budget> budgets;
  if (std::optional<int> status = parseArgs(argc, argv, args, budgets))
    return *status;
  DialectRegistry registry;
  registerLocoDialects(registry);
  MLIRContext context(registry);
  GapRun run(args, context);
  if (failed(run.plan()))
    return 2;
  llvm::outs() << "loco-budget-gap: " << args.config << " (" << run.precision()
               << ", " << args.target << "): " << run.planned.size()
               << " choices planned; unconstrained arena "
               << formatBytes(run.base().arena) << ", floor "
               << formatBytes(run.floor) << ", step "
               << llvm::format("%.3g", double(run.base().stepFlops))
               << " flops\n";
  bool withinGap = true;
  for (const Budget &given : budgets) {
    FailureOr<bool> within = run.check(given);
    if (failed(within))
      return 2;
    withinGap = withinGap && *within;
  }
  if (!withinGap)
    llvm::outs() << "loco-budget-gap: the search "
                 << (args.maxGap >= 0
                         ? "is not within " +
                               llvm::formatv("{0}", args.maxGap).str() +
                               "% of the optimum at every budget"
                         : std::string("misses a budget that a plan fits"))
                 << "\n";
  return withinGap ? 0 : 1;
}
