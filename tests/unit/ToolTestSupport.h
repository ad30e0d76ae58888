//===- ToolTestSupport.h - Running lococ and locorun from tests -*- C++ -*-===//
//
// Shared by the end-to-end GoogleTest suites: run a tool and fail with its
// output, and the comparison measure of tensors.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_TESTS_UNIT_TOOLTESTSUPPORT_H
#define LOCO_TESTS_UNIT_TOOLTESTSUPPORT_H

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace loco::test {

/// Runs `command` with its output in `log`; the test fails with that output
/// on a non-zero exit.
inline void run(const std::string &command, const std::string &log) {
  int status = std::system((command + " > " + log + " 2>&1").c_str());
  std::ifstream in(log);
  std::string output((std::istreambuf_iterator<char>(in)), {});
  ASSERT_EQ(status, 0) << command << "\n" << output;
}

#ifdef LOCO_TOOLS_DIR
/// The path of the built tool `name` (lococ, locorun).
inline std::string tool(const char *name) {
  return std::string(LOCO_TOOLS_DIR "/") + name;
}

/// One training step of golden set `dir` (whose loss.json is `golden`):
/// its config compiled with the overrides the set records,
/// gradient_accumulation_steps = 1 and `sets` (more --set flags), run on
/// the set's weights and inputs with locorun --dump into `work`/out.
inline void runGoldenStep(const std::string &dir, const nlohmann::json &golden,
                          const std::string &sets, const std::string &work,
                          const std::string &device = "cpu") {
  std::string all = " --set training.gradient_accumulation_steps=1" + sets;
  for (auto &[key, value] : golden["overrides"].items())
    all += " --set " + key + "=" + value.dump();
  // A CUDA device (cuda-emu: the CUDA backend emulated on the CPU) runs a
  // train.so compiled for it.
  if (device != "cpu")
    all += " --target cuda";
  run(tool("lococ") + " " + dir + "/config.yaml" + all + " -o " + work +
          "/train.so",
      work + "/lococ.log");
  run(tool("locorun") + " " + work + "/train.so --device " + device +
          " --init " + dir + "/weights.safetensors --batch " + dir +
          "/inputs.safetensors --dump " + work + "/out",
      work + "/locorun.log");
}
#endif

#if defined(LOCO_TEST_DATA_DIR) && defined(LOCO_SHARED_DIR)
/// The golden set `name`: the project's copy when there is one, else
/// ../shared/golden; empty when neither exists.
inline std::string goldenDir(const std::string &name) {
  for (std::string dir : {std::string(LOCO_TEST_DATA_DIR "/golden/") + name,
                          std::string(LOCO_SHARED_DIR "/golden/") + name})
    if (std::filesystem::is_directory(dir))
      return dir;
  return "";
}
#endif

/// max |x - y| / max |y|.
inline double relativeToMax(const std::vector<float> &x,
                            const std::vector<float> &y) {
  double maxRef = 0, maxDiff = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    maxRef = std::max(maxRef, std::fabs(static_cast<double>(y[i])));
    maxDiff = std::max(maxDiff, std::fabs(static_cast<double>(x[i]) - y[i]));
  }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}

/// ||x - y||_2 / ||y||_2.
inline double relativeL2(const std::vector<float> &x,
                         const std::vector<float> &y) {
  double ref = 0, diff = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    ref += static_cast<double>(y[i]) * y[i];
    double d = static_cast<double>(x[i]) - y[i];
    diff += d * d;
  }
  return ref > 0 ? std::sqrt(diff / ref) : std::sqrt(diff);
}

} // namespace loco::test

#endif // LOCO_TESTS_UNIT_TOOLTESTSUPPORT_H
