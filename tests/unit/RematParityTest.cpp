//===- RematParityTest.cpp - Fitting a budget does not change the step ----===//
//
// Row chunking, rematerialisation and micro-batching change where and when
// values are computed, never what: a step compiled under a tight memory
// budget must give the gradients (and estimates and losses) of the
// unconstrained step. Each case compiles the same config twice with lococ,
// runs one step with locorun on the same weights and inputs, and compares
// every tensor: ||diff||_2 <= 2e-5 ||ref||_2, and every element within
// 2e-5 of the tensor's largest magnitude. The kernels are the same; what
// differs is the order of some sums:
//  - a parameter gradient sums its rows chunk by chunk and then over chunks
//    (with micro-batches, over micro-steps); the weight-gradient kernels
//    reduce rows in fixed fp32 blocks added in double;
//  - OpenBLAS chooses its sgemm kernel and blocking by the row count, so a
//    row chunk's product can round differently from the whole's (measured
//    with Debian's OpenBLAS 0.3.21 on this project's AVX-512 machines: up
//    to 1.3e-5 absolute on N(0,1) products with K = 128, M = 3000 against
//    2 x 1500; an earlier machine showed none). The estimates then differ by
//    ~2.5e-7 of their maximum, and the bias gradients, sums over every row
//    whose terms largely cancel, by up to ~5e-6 (L2 and element).
// An indexing, chunk-offset or recomputation error is off by O(1e-2) or
// more, far outside 2e-5. Measured values are printed. Dropout on and
// off: a recomputed or chunked dropout draws the same Philox numbers (the
// row chunk's offset is in its key).
// Micro-batches are compared with dropout off only, since each micro-step
// is its own random step (as in upstream's accumulation).
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"
#include "tests/unit/ToolTestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

using namespace loco;
using loco::test::relativeL2;
using loco::test::relativeToMax;
using loco::test::run;
using loco::test::tool;

namespace {

constexpr double kTolerance = 2e-5, kElementTolerance = 2e-5;

struct Case {
  std::string name, sets, choice;
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

/// Compiles `config` with `flags`, runs one step with `runFlags`, and
/// returns the dump directory; the memory report JSON is in `<dir>.json`.
std::string compileAndStep(const std::string &work, const std::string &tag,
                           const std::string &config, const std::string &flags,
                           const std::string &runFlags) {
  std::string so = work + "/" + tag + ".so", dump = work + "/" + tag;
  run(tool("lococ") + " " + config + " " + flags + " --memory-report-json " +
          dump + ".json -o " + so,
      dump + ".lococ.log");
  run(tool("locorun") + " " + so + " --device cpu " + runFlags +
          " --report-memory --dump " + dump,
      dump + ".locorun.log");
  return dump;
}

/// Every tensor of `file` in both dumps agrees within kTolerance (L2) and
/// kElementTolerance (elements); returns the worst L2 measure.
double compareDumps(const std::string &ours, const std::string &reference,
                    const std::string &file, double &worstElement) {
  std::string error;
  auto a = SafetensorsFile::open(ours + "/" + file, error);
  auto b = SafetensorsFile::open(reference + "/" + file, error);
  EXPECT_TRUE(a && b) << error;
  if (!a || !b)
    return 1.0;
  EXPECT_EQ(a->tensors().size(), b->tensors().size()) << file;
  double worst = 0;
  for (const TensorEntry &ref : b->tensors()) {
    const TensorEntry *mine = a->find(ref.name);
    EXPECT_NE(mine, nullptr) << ref.name;
    if (!mine)
      continue;
    EXPECT_EQ(mine->shape, ref.shape) << ref.name;
    std::vector<float> x = a->floats(*mine), y = b->floats(ref);
    double rel = relativeL2(x, y);
    EXPECT_LE(rel, kTolerance) << file << ": " << ref.name;
    EXPECT_LE(relativeToMax(x, y), kElementTolerance)
        << file << ": " << ref.name;
    worst = std::max(worst, rel);
    worstElement = std::max(worstElement, relativeToMax(x, y));
  }
  return worst;
}

nlohmann::json readJson(const std::string &path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

/// The process peak that `locorun --report-memory` printed, in bytes.
int64_t peakRss(const std::string &log) {
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  std::smatch match;
  if (!std::regex_search(text, match, std::regex("peak RSS ([0-9]+) MiB")))
    return -1;
  return std::stoll(match[1]) * 1048576;
}

class RematParity : public ::testing::TestWithParam<Case> {};

TEST_P(RematParity, GradientsEqualTheUnconstrainedStep) {
  const Case &c = GetParam();
  std::string golden = LOCO_TEST_DATA_DIR "/golden/tiny";
  std::string work = ::testing::TempDir() + "/remat_" + c.name;
  std::filesystem::create_directories(work);
  std::string config = golden + "/config.yaml" + c.sets;
  std::string inputs = "--init " + golden + "/weights.safetensors --batch " +
                       golden + "/inputs.safetensors --seed 3";
  std::string reference = compileAndStep(work, "reference", config, "", inputs);
  std::string chosen = compileAndStep(work, "chosen", config, c.choice, inputs);

  double element = 0;
  double grads = compareDumps(chosen, reference, "grads.safetensors", element);
  double outputs =
      compareDumps(chosen, reference, "outputs.safetensors", element);
  nlohmann::json ours = readJson(chosen + "/loss.json");
  nlohmann::json theirs = readJson(reference + "/loss.json");
  EXPECT_NEAR(ours["total_loss"].get<double>(),
              theirs["total_loss"].get<double>(),
              kTolerance * std::fabs(theirs["total_loss"].get<double>()));
  nlohmann::json report = readJson(chosen + ".json");
  std::cout << "[ measured ] " << c.name << " (" << c.choice << "): arena "
            << report["arena_bytes"] << " bytes vs "
            << readJson(reference + ".json")["arena_bytes"]
            << ", recompute_flops_ratio " << report["recompute_flops_ratio"]
            << "; L2-relative: gradients " << grads << ", estimates " << outputs
            << "; worst element " << element << " of max\n";
}

INSTANTIATE_TEST_SUITE_P(
    Tiny, RematParity,
    ::testing::Values(
        Case{"chunks3_every1", "", "--row-chunks 3 --checkpoint-every 1"},
        Case{"chunks4_every2", "", "--row-chunks 4 --checkpoint-every 2"},
        Case{"chunks4_every2_phase1", "",
             "--row-chunks 4 --checkpoint-every 2 --checkpoint-phase 1"},
        Case{"every4_extra1_rebuild_encoder", "",
             "--row-chunks 2 --checkpoint-every 4 --checkpoint-phase 1 "
             "--extra-checkpoints 1 --rebuild-prologue"},
        Case{"chunks3_every4_rebuild_each", "",
             "--row-chunks 3 --checkpoint-every 4 --keep-segment=false"},
        Case{"budget12MiB", "", "--memory-budget 12MiB"},
        // > 4096 runtime calls: the entry points are split into parts.
        Case{"chunks48_every2", "", "--row-chunks 48 --checkpoint-every 2"},
        Case{"cheap_only", "", "--checkpoint-every 1 --keep-expensive"},
        Case{"dropout_cheap_only_chunks2", " --set model.dropout=0.1",
             "--row-chunks 2 --checkpoint-every 1 --keep-expensive"},
        Case{"narrow", "", "--checkpoint-every 1 --keep-narrow"},
        // The last paths kept whole, the others recomputed.
        Case{"narrow_kept1", "",
             "--checkpoint-every 1 --keep-narrow --keep-regions 1"},
        Case{"dropout_chunks3_every1_kept3", " --set model.dropout=0.1",
             "--row-chunks 3 --checkpoint-every 1 --keep-regions 3"},
        Case{"dropout_narrow_chunks3", " --set model.dropout=0.1",
             "--row-chunks 3 --checkpoint-every 1 --keep-narrow"},
        Case{"micro1", "",
             "--micro-batch 1 --row-chunks 2 --checkpoint-every 2"},
        Case{"dropout_chunks3_every1", " --set model.dropout=0.1",
             "--row-chunks 3 --checkpoint-every 1"},
        Case{"dropout_chunks5_every2", " --set model.dropout=0.1",
             "--row-chunks 5 --checkpoint-every 2"},
        Case{"dropout_every4_rebuild_each", " --set model.dropout=0.1",
             "--row-chunks 2 --checkpoint-every 4 --keep-segment=false"},
        Case{"dropout_every2_extra1_rebuild_encoder",
             " --set model.dropout=0.1",
             "--row-chunks 3 --checkpoint-every 2 --checkpoint-phase 1 "
             "--extra-checkpoints 1 --rebuild-prologue"},
        // Unfused attention: the scores, softmax and dropout on the
        // probabilities are chunked too.
        Case{"dropout_unfused_chunks3_every2",
             " --set model.dropout=0.1 --fuse-attention=false",
             "--row-chunks 3 --checkpoint-every 2"},
        Case{"dropout_budget20MiB", " --set model.dropout=0.1",
             "--memory-budget 20MiB"}),
    [](const ::testing::TestParamInfo<Case> &info) { return info.param.name; });

// musdb18_small (dropout 0.1, at the README's 0.5 s segment) under a third
// of its unconstrained arena: the budget search must fit it, the step must
// give the unconstrained gradients, and the process peak must stay within
// the arena + 300 MiB bound of the memory planning issue.
TEST(RematParity, MusdbSmallAtAThirdOfItsArena) {
  std::string work = ::testing::TempDir() + "/remat_musdb18_small";
  std::filesystem::create_directories(work);
  std::string config = std::string(LOCO_CONFIGS_DIR "/musdb18_small.yaml") +
                       " --set dataset.segment_length=22050";
  std::string reference =
      compileAndStep(work, "reference", config, "", "--seed 11");
  int64_t unconstrained =
      readJson(reference + ".json")["arena_bytes"].get<int64_t>();
  int64_t budget = unconstrained / 3;
  std::string chosen =
      compileAndStep(work, "chosen", config,
                     "--memory-budget " + std::to_string(budget), "--seed 11");
  nlohmann::json report = readJson(chosen + ".json");
  int64_t arena = report["arena_bytes"].get<int64_t>();
  EXPECT_LE(arena, budget);
  double element = 0;
  double grads = compareDumps(chosen, reference, "grads.safetensors", element);
  int64_t peak = peakRss(chosen + ".locorun.log");
  EXPECT_GT(peak, 0);
  EXPECT_LE(peak, arena + 300 * 1048576LL);
  std::cout << "[ measured ] musdb18_small 0.5 s: unconstrained arena "
            << unconstrained << " bytes, budget " << budget << ", chosen arena "
            << arena << " (" << report["decisions"].dump()
            << "), recompute_flops_ratio " << report["recompute_flops_ratio"]
            << ", peak RSS " << peak << " bytes; gradients L2-relative "
            << grads << ", worst element " << element << " of max\n";
}

} // namespace
