//===- GradientCheckTest.cpp - Model gradients against finite differences -===//
//
// Upstream options that the golden sets do not cover are checked end to end
// against central finite differences of the compiled model's own loss:
// `conv1d_shift` > 1 (strided convolutions in the FFN, whose gradients go
// through a zero-interleaving of the cotangent) and a single `ffn_type`
// (not macaron) in both path orders. Stride 1 with the macaron FFN is the
// control: its gradients are also checked against upstream by the golden
// sets, so it shows the harness itself is sound.
//
// Each case compiles tiny with the option (dropout 0, one micro-step), takes
// one step from PyTorch-default weights so that nothing sits at its
// initial value, then compares the train step's gradient with
// (L(w + h) - L(w - h)) / 2h for the largest-gradient element of each FFN
// convolution weight and bias of the first block (both paths), L the eval
// step's total loss (written to loss.json at double precision; computed in
// fp32). h = 1e-2: the loss (~60) rounds at ~4e-6 in fp32, so a difference
// carries ~2e-4 of noise, and the truncation error O(h^2) is of the same order;
// the largest gradients are O(1) to O(100). Tolerance: 2e-2 |g| + 2e-3. A
// wrong stride, offset or transposition is off by O(|g|).
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"
#include "tests/unit/ToolTestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

using namespace loco;
using loco::test::run;
using loco::test::tool;

namespace {

struct Case {
  std::string name, sets;
};

void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

std::vector<F32Tensor> readAll(const std::string &path) {
  std::string error;
  auto file = SafetensorsFile::open(path, error);
  EXPECT_TRUE(file) << error;
  std::vector<F32Tensor> tensors;
  if (file)
    for (const TensorEntry &entry : file->tensors())
      tensors.push_back({entry.name, entry.shape, file->floats(entry)});
  return tensors;
}

double totalLoss(const std::string &dump) {
  std::ifstream in(dump + "/loss.json");
  return nlohmann::json::parse(in).at("total_loss").get<double>();
}

class GradientCheck : public ::testing::TestWithParam<Case> {};

TEST_P(GradientCheck, MatchesFiniteDifferences) {
  const Case &c = GetParam();
  std::string golden = LOCO_TEST_DATA_DIR "/golden/tiny";
  std::string work = ::testing::TempDir() + "/gradcheck_" + c.name;
  std::filesystem::create_directories(work);
  std::string so = work + "/model.so", batch = golden + "/inputs.safetensors";
  run(tool("lococ") + " " +
          LOCO_CONFIGS_DIR "/tiny.yaml --set model.dropout=0 "
                           "--set training.gradient_accumulation_steps=1 " +
          c.sets + " -o " + so,
      work + "/lococ.log");
  // One step from the default initialisation; its result is the point.
  run(tool("locorun") + " " + so + " --batch " + batch + " --dump " + work +
          "/start",
      work + "/start.log");
  std::string base = work + "/start/weights_after_step.safetensors";
  run(tool("locorun") + " " + so + " --init " + base + " --batch " + batch +
          " --dump " + work + "/point",
      work + "/point.log");
  std::vector<F32Tensor> weights = readAll(base);
  std::vector<F32Tensor> grads = readAll(work + "/point/grads.safetensors");
  ASSERT_FALSE(grads.empty());

  const double h = 1e-2;
  int checked = 0, evaluation = 0;
  for (const F32Tensor &grad : grads) {
    const std::string &name = grad.name;
    bool ffnConv = name.rfind("blocks.0.", 0) == 0 &&
                   name.find(".ffn.") != std::string::npos &&
                   name.find("conv1d.") != std::string::npos;
    if (!ffnConv)
      continue;
    auto w = std::find_if(weights.begin(), weights.end(),
                          [&](const F32Tensor &t) { return t.name == name; });
    ASSERT_NE(w, weights.end()) << name;
    // The largest-gradient element.
    {
      size_t i = std::max_element(grad.values.begin(), grad.values.end(),
                                  [](float a, float b) {
                                    return std::fabs(a) < std::fabs(b);
                                  }) -
                 grad.values.begin();
      double loss[2];
      for (int side = 0; side < 2; ++side) {
        std::vector<F32Tensor> moved = weights;
        F32Tensor &target =
            *std::find_if(moved.begin(), moved.end(),
                          [&](const F32Tensor &t) { return t.name == name; });
        target.values[i] += static_cast<float>(side ? -h : h);
        std::string path = work + "/w" + std::to_string(evaluation) +
                           ".safetensors",
                    error;
        ASSERT_TRUE(writeSafetensors(path, moved, {{"format", "pt"}}, error))
            << error;
        std::string dump = work + "/eval" + std::to_string(evaluation++);
        run(tool("locorun") + " " + so + " --init " + path + " --batch " +
                batch + " --eval --dump " + dump,
            dump + ".log");
        loss[side] = totalLoss(dump);
      }
      // The perturbation as float32 actually applied it.
      double applied =
          (static_cast<double>(w->values[i] + static_cast<float>(h)) -
           static_cast<double>(w->values[i] - static_cast<float>(h)));
      double numeric = (loss[0] - loss[1]) / applied;
      double analytic = grad.values[i];
      std::cout << "[ measured ] " << c.name << " " << name << "[" << i
                << "]: analytic " << analytic << ", numeric " << numeric
                << "\n";
      EXPECT_NEAR(numeric, analytic, 2e-2 * std::fabs(analytic) + 2e-3)
          << name << "[" << i << "]";
      ++checked;
    }
  }
  // Both paths' FFN convolutions: conv1d and deconv1d, weight and bias, of
  // ffn.0 (and ffn.1 when macaron).
  EXPECT_GE(checked, 8) << "too few FFN convolution tensors found";
}

INSTANTIATE_TEST_SUITE_P(
    Options, GradientCheck,
    ::testing::Values(Case{"stride1_macaron", ""},
                      Case{"stride2_macaron", "--set model.conv1d_shift=2"},
                      Case{"stride3_kernel5", "--set model.conv1d_shift=3 "
                                              "--set model.conv1d_kernel=5"},
                      Case{"single_ffn_ft",
                           "--set model.ffn_type=swiglu_conv1d "
                           "--set 'model.ffn_hidden_dim=[32]'"},
                      Case{"single_ffn_tf",
                           "--set model.ffn_type=swiglu_conv1d "
                           "--set 'model.ffn_hidden_dim=[32]' "
                           "--set model.tf_order=tf"}),
    [](const ::testing::TestParamInfo<Case> &info) { return info.param.name; });

} // namespace
