//===- ConfigTest.cpp - Tests of config reading and validation ------------===//
//
// Every upstream config is accepted unchanged; misspelt keys warn with a
// did-you-mean; wrong types, missing keys and impossible combinations are
// errors at the YAML line:col of the key; --set overrides apply.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestSupport.h"

#include <filesystem>

using namespace loco::test;

namespace {

/// The tiny config (tests/data/golden/tiny/config.yaml) with `model` keys
/// spliced in; line numbers below count from this text.
std::string tinyConfig(const std::string &modelExtra = "",
                       const std::string &modelHeads = "  n_heads: 2\n") {
  return "dataset:\n"                   // 1
         "  segment_length: 4096\n"     // 2
         "model:\n"                     // 3
         "  n_fft: 256\n"               // 4
         "  hop_length: 64\n"           // 5
         "  n_layers: 2\n"              // 6
         "  emb_dim: 16\n"              // 7
         "  num_groups: 2\n"            // 8
         + modelHeads +                 // 9
         "  attention_dim: 16\n"        // 10
         "  ffn_hidden_dim: [32, 32]\n" // 11
         + modelExtra +                 // 12...
         "training:\n"
         "  batch_size: 2\n";
}

TEST_F(FrontendTest, AcceptsTheTinyConfig) {
  auto spec = parse(tinyConfig());
  ASSERT_TRUE(spec) << allDiagnostics();
  EXPECT_TRUE(diagnostics.empty()) << allDiagnostics();
  EXPECT_EQ(spec->frames(), 65);
  EXPECT_EQ(spec->bins(), 129);
  EXPECT_EQ(spec->headDim(), 8);
  EXPECT_EQ(spec->sources.size(), 4u);
}

TEST_F(FrontendTest, AcceptsEveryUpstreamConfigUnchanged) {
  std::filesystem::path dir = LOCO_SHARED_DIR "/upstream-configs";
  if (!std::filesystem::is_directory(dir))
    GTEST_SKIP() << "../shared/upstream-configs not found beside the checkout";
  int count = 0;
  for (const auto &entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml")
      continue;
    diagnostics.clear();
    auto spec = parseFile(entry.path().string());
    EXPECT_TRUE(spec) << entry.path() << "\n" << allDiagnostics();
    EXPECT_TRUE(diagnostics.empty()) << entry.path() << "\n"
                                     << allDiagnostics();
    ++count;
  }
  EXPECT_EQ(count, 5);
}

TEST_F(FrontendTest, AcceptsEveryProjectConfig) {
  int count = 0;
  for (const auto &entry :
       std::filesystem::directory_iterator(LOCO_CONFIGS_DIR)) {
    diagnostics.clear();
    auto spec = parseFile(entry.path().string());
    EXPECT_TRUE(spec) << entry.path() << "\n" << allDiagnostics();
    EXPECT_TRUE(diagnostics.empty()) << entry.path() << "\n"
                                     << allDiagnostics();
    ++count;
  }
  EXPECT_GE(count, 6);
}

TEST_F(FrontendTest, ProjectConfigsDescribeTheUpstreamModels) {
  std::filesystem::path dir = LOCO_SHARED_DIR "/upstream-configs";
  if (!std::filesystem::is_directory(dir))
    GTEST_SKIP() << "../shared/upstream-configs not found beside the checkout";
  for (const char *name :
       {"musdb18.yaml", "musdb18_small.yaml", "musdb18_ultra_safe.yaml",
        "musdb18_memory_optimized.yaml", "musdb18_rtx5090_xlarge.yaml"}) {
    auto ours = parseFile(std::string(LOCO_CONFIGS_DIR "/") + name);
    auto theirs = parseFile((dir / name).string());
    ASSERT_TRUE(ours && theirs) << name << "\n" << allDiagnostics();
    auto params = [](const mlir::loco::ModelSpec &s) {
      std::vector<std::pair<std::string, std::vector<int64_t>>> table;
      for (const auto &p : s.parameters())
        table.push_back({p.name, {p.shape.begin(), p.shape.end()}});
      return table;
    };
    EXPECT_EQ(params(*ours), params(*theirs)) << name;
    EXPECT_EQ(ours->segmentLength, theirs->segmentLength) << name;
    EXPECT_EQ(ours->lossType, theirs->lossType) << name;
    EXPECT_EQ(ours->batchSize, theirs->batchSize) << name;
    EXPECT_EQ(ours->gradientAccumulationSteps,
              theirs->gradientAccumulationSteps)
        << name;
  }
}

TEST_F(FrontendTest, MisspeltKeyWarnsWithDidYouMean) {
  auto spec =
      parse(tinyConfig("  n_layer: 3\n  eps: 1.0e-5\n  dropuot: 0.1\n"));
  ASSERT_TRUE(spec) << allDiagnostics();
  EXPECT_TRUE(
      hasDiagnostic("warning: cfg.yaml:12:3: unknown key 'model.n_layer' "
                    "is ignored; did you mean 'model.n_layers'?"))
      << allDiagnostics();
  EXPECT_TRUE(
      hasDiagnostic("warning: cfg.yaml:14:3: unknown key 'model.dropuot' "
                    "is ignored; did you mean 'model.dropout'?"))
      << allDiagnostics();
  EXPECT_EQ(spec->nLayers, 2);
}

TEST_F(FrontendTest, UnknownKeyWithoutNeighbourHasNoSuggestion) {
  auto spec = parse(tinyConfig() + "wandb:\n  project: x\n");
  ASSERT_TRUE(spec);
  EXPECT_TRUE(
      hasDiagnostic("warning: cfg.yaml:14:1: unknown key 'wandb' is ignored"))
      << allDiagnostics();
}

TEST_F(FrontendTest, WrongTypeIsAnErrorAtTheKey) {
  EXPECT_FALSE(parse(tinyConfig("", "  n_heads: four\n")));
  EXPECT_TRUE(hasDiagnostic(
      "error: cfg.yaml:9:3: 'model.n_heads' expects an integer, got 'four'"))
      << allDiagnostics();
}

TEST_F(FrontendTest, ListWhereScalarBelongsIsAnError) {
  EXPECT_FALSE(parse(tinyConfig("  eps: [1, 2]\n")));
  EXPECT_TRUE(hasDiagnostic(
      "error: cfg.yaml:12:3: 'model.eps' expects a number, got a list"))
      << allDiagnostics();
}

TEST_F(FrontendTest, SectionWhereValueBelongsIsAnError) {
  EXPECT_FALSE(parse(tinyConfig("  dropout:\n    p: 0.1\n")));
  EXPECT_TRUE(hasDiagnostic("error: cfg.yaml:12:3: expects 'model.dropout' to "
                            "be a value, not a section"))
      << allDiagnostics();
}

TEST_F(FrontendTest, MissingRequiredKeyIsAnErrorAtItsSection) {
  std::string text = tinyConfig();
  text.erase(text.find("  n_fft: 256\n"), 13);
  EXPECT_FALSE(parse(text));
  EXPECT_TRUE(
      hasDiagnostic("error: cfg.yaml:3:1: missing required key 'model.n_fft'"))
      << allDiagnostics();
}

TEST_F(FrontendTest, AttentionDimNotDivisibleByHeads) {
  EXPECT_FALSE(parse(tinyConfig("", "  n_heads: 3\n")));
  EXPECT_TRUE(hasDiagnostic("error: cfg.yaml:9:3: 'model.attention_dim' (16) "
                            "must be divisible by 'model.n_heads' (3)"))
      << allDiagnostics();
}

TEST_F(FrontendTest, OddRopeHeadDim) {
  EXPECT_FALSE(parse(tinyConfig("", "  n_heads: 16\n")));
  EXPECT_TRUE(hasDiagnostic("error: cfg.yaml:9:3: RoPE needs an even head dim; "
                            "attention_dim / n_heads = 1"))
      << allDiagnostics();
}

TEST_F(FrontendTest, EmbDimNotDivisibleByGroups) {
  EXPECT_FALSE(parse(tinyConfig(), {"model.num_groups=3"}));
  EXPECT_TRUE(hasDiagnostic("error: --set:1:1: 'model.emb_dim' (16) must be "
                            "divisible by 'model.num_groups' (3)"))
      << allDiagnostics();
}

TEST_F(FrontendTest, HopLongerThanFft) {
  EXPECT_FALSE(parse(tinyConfig(), {"model.hop_length=512"}));
  EXPECT_TRUE(hasDiagnostic("error: --set:1:1: 'model.hop_length' (512) must "
                            "not exceed 'model.n_fft' (256)"))
      << allDiagnostics();
}

TEST_F(FrontendTest, HopWithTooLittleOverlap) {
  EXPECT_FALSE(parse(tinyConfig(), {"model.hop_length=192"}));
  EXPECT_TRUE(
      hasDiagnostic("error: --set:1:1: 'model.hop_length' (192) above "
                    "n_fft / 2 (128) leaves the inverse STFT too little "
                    "window overlap; lococ needs hop_length <= n_fft / 2"))
      << allDiagnostics();
}

TEST_F(FrontendTest, SourceCountDisagreesWithNamedSources) {
  EXPECT_FALSE(parse(tinyConfig("  n_sources: 2\n")));
  EXPECT_TRUE(hasDiagnostic("error: cfg.yaml:12:3: 'model.n_sources' is 2 but "
                            "'dataset.sources' names 4 sources (vocals, drums, "
                            "bass, other)"))
      << allDiagnostics();
}

TEST_F(FrontendTest, UnsupportedVariants) {
  EXPECT_FALSE(parse(tinyConfig("  norm_type: layernorm\n  ffn_type: conv1d\n"
                                "  pos_enc: alibi\n")));
  EXPECT_TRUE(hasDiagnostic("error: cfg.yaml:12:3: 'model.norm_type' is "
                            "'layernorm'; lococ supports rmsgroupnorm"))
      << allDiagnostics();
  EXPECT_TRUE(hasDiagnostic("error: cfg.yaml:13:3: 'model.ffn_type' is "
                            "'conv1d'; lococ supports swiglu_conv1d"))
      << allDiagnostics();
  EXPECT_TRUE(hasDiagnostic("error: cfg.yaml:14:3: 'model.pos_enc' is 'alibi'; "
                            "lococ supports rope, nope"))
      << allDiagnostics();
}

TEST_F(FrontendTest, YamlSyntaxErrorHasLineAndColumn) {
  EXPECT_FALSE(parse("model:\n  n_fft: [256\n"));
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].rfind("error: cfg.yaml:", 0), 0u) << diagnostics[0];
  EXPECT_NE(diagnostics[0].find("invalid YAML"), std::string::npos);
}

TEST_F(FrontendTest, SetOverridesValuesAndAddsKeys) {
  auto spec = parse(tinyConfig(), {"dataset.segment_length=16384",
                                   "model.n_layers=1", "model.dropout=0.25",
                                   "training.optimizer.betas=[0.8, 0.9]"});
  ASSERT_TRUE(spec) << allDiagnostics();
  EXPECT_EQ(spec->segmentLength, 16384);
  EXPECT_EQ(spec->nLayers, 1);
  EXPECT_DOUBLE_EQ(spec->dropout, 0.25);
  EXPECT_DOUBLE_EQ(spec->beta1(), 0.8);
  EXPECT_EQ(spec->frames(), 257);
}

TEST_F(FrontendTest, SetWithBadValueNamesTheOverride) {
  EXPECT_FALSE(parse(tinyConfig(), {"model.n_layers=1", "model.n_heads=abc"}));
  EXPECT_TRUE(hasDiagnostic("error: --set:2:1: 'model.n_heads' expects an "
                            "integer, got 'abc'"))
      << allDiagnostics();
}

TEST_F(FrontendTest, AugmentationIsAFlagOrAMappingOfOverrides) {
  auto on = parse(tinyConfig(), {"dataset.augmentation=true"});
  ASSERT_TRUE(on) << allDiagnostics();
  EXPECT_TRUE(on->augmentation.enabled);
  EXPECT_DOUBLE_EQ(on->augmentation.mp3Prob, 0.2);
  auto mapping = parse(tinyConfig(), {"dataset.augmentation={mp3_prob: 0, "
                                      "noise_max_snr_db: 30}"});
  ASSERT_TRUE(mapping) << allDiagnostics();
  EXPECT_TRUE(mapping->augmentation.enabled);
  EXPECT_DOUBLE_EQ(mapping->augmentation.mp3Prob, 0.0);
  EXPECT_DOUBLE_EQ(mapping->augmentation.noiseMaxSnrDb, 30.0);
  EXPECT_DOUBLE_EQ(mapping->augmentation.gainMin, 0.7);
}

TEST_F(FrontendTest, AugmentationErrorsPointAtTheirKey) {
  // In the file: the sub-key's own line:col.
  std::string config = tinyConfig();
  config.replace(config.find("  segment_length"), 0,
                 "  augmentation:\n    polarity_prob: 2\n");
  EXPECT_FALSE(parse(config));
  EXPECT_TRUE(hasDiagnostic("error: cfg.yaml:3:5: "
                            "'dataset.augmentation.polarity_prob' must be in "
                            "[0, 1], got 2 (a probability)"))
      << allDiagnostics();
  // In a --set mapping: the override, as for any --set value.
  EXPECT_FALSE(parse(tinyConfig(), {"dataset.augmentation={gain_mx: 2, "
                                    "noise_prob: -1}"}));
  EXPECT_TRUE(hasDiagnostic("error: --set:1:1: "
                            "'dataset.augmentation.noise_prob' must be in "
                            "[0, 1], got -1 (a probability)"))
      << allDiagnostics();
  EXPECT_TRUE(hasDiagnostic("warning: --set:1:1: unknown key "
                            "'dataset.augmentation.gain_mx' is ignored; did "
                            "you mean 'dataset.augmentation.gain_max'?"))
      << allDiagnostics();
}

TEST_F(FrontendTest, SetWithoutEqualsIsAnError) {
  EXPECT_FALSE(parse(tinyConfig(), {"model.n_layers"}));
  EXPECT_TRUE(hasDiagnostic("error: --set:1:1: expects --set key.path=value, "
                            "got 'model.n_layers'"))
      << allDiagnostics();
}

TEST_F(FrontendTest, VerboseReportsTrainerOnlyKeys) {
  auto spec = parse(tinyConfig() + "  num_workers: 4\n", {}, "cfg.yaml",
                    /*verbose=*/true);
  ASSERT_TRUE(spec) << allDiagnostics();
  EXPECT_TRUE(
      hasDiagnostic("remark: cfg.yaml:14:3: 'training.num_workers' only "
                    "affects the PyTorch trainer; ignored"))
      << allDiagnostics();
}

} // namespace
