//===- SeparateParityTest.cpp - locorun separate against upstream ---------===//
//
// Separating a golden input whose length is the golden segment length is
// one segment through the separation step (`lococ --mode separate`): the
// stems locorun writes must be the upstream model's estimates, within 1e-5
// of each source's largest magnitude (fp32 on both sides; summation orders
// and FFT rounding differ). This covers the separation step's build (no
// loss, no dropout, its own plan), the weights file, the WAV files in and
// out, and the overlap-add at its boundary case (one segment, all weight
// one).
//
//===----------------------------------------------------------------------===//

#include "ToolTestSupport.h"

#include "runtime/Backend.h"
#include "runtime/Safetensors.h"
#include "runtime/data/Audio.h"
#include "runtime/session/Artifact.h"

#include <gtest/gtest.h>

#include <iostream>

using namespace loco;
using loco::test::goldenDir;
using loco::test::relativeToMax;
using loco::test::run;
using loco::test::tool;

namespace {

class SeparateParity : public ::testing::TestWithParam<std::string> {};

TEST_P(SeparateParity, OneSegmentIsTheUpstreamForward) {
  std::string dir = goldenDir(GetParam());
  if (dir.empty())
    GTEST_SKIP() << "golden set " << GetParam()
                 << " is in neither tests/data nor ../shared/golden";
  std::string work = ::testing::TempDir() + "/separate_parity_" + GetParam();
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  std::ifstream lossFile(dir + "/loss.json");
  nlohmann::json golden = nlohmann::json::parse(lossFile);
  std::string sets = " --set training.use_amp=false";
  for (auto &[key, value] : golden["overrides"].items())
    sets += " --set " + key + "=" + value.dump();
  run(tool("lococ") + " " + dir + "/config.yaml" + sets +
          " --mode separate --batch-segments 1 -o " + work + "/sep.so",
      work + "/lococ.log");

  // The artifact's kernels bind to a backend opened first, as in locorun.
  std::string error;
  auto backend = Backend::open("cpu", /*global=*/true, error);
  ASSERT_TRUE(backend) << error;
  auto artifact = TrainArtifact::open(work + "/sep.so", error);
  ASSERT_TRUE(artifact) << error;
  int64_t rate = artifact->manifest()["model"]["sample_rate"].get<int64_t>();
  auto inputs = SafetensorsFile::open(dir + "/inputs.safetensors", error);
  auto outputs = SafetensorsFile::open(dir + "/outputs.safetensors", error);
  ASSERT_TRUE(inputs && outputs) << error;
  const TensorEntry *mixture = inputs->find("mixture");
  ASSERT_TRUE(mixture);
  int64_t rows = mixture->shape[0], N = mixture->shape[1];
  std::vector<float> mix = inputs->floats(*mixture);
  std::string songs;
  for (int64_t b = 0; b < rows; ++b) {
    Audio song;
    song.sampleRate = rate;
    song.channels = {
        std::vector<float>(mix.begin() + b * N, mix.begin() + (b + 1) * N)};
    std::string path = work + "/row" + std::to_string(b) + ".wav";
    writeAudio(path, song, AudioFormat::Wav);
    songs += " " + path;
  }
  run(tool("locorun") + " separate " + work + "/sep.so --weights " + dir +
          "/weights.safetensors --quiet --rescale off" + songs + " -o " + work +
          "/out",
      work + "/locorun.log");

  for (const char *source : {"vocals", "drums", "bass", "other"}) {
    const TensorEntry *expected = outputs->find(source);
    ASSERT_TRUE(expected) << source;
    std::vector<float> theirs = outputs->floats(*expected), ours;
    for (int64_t b = 0; b < rows; ++b) {
      Audio stem = readAudio(work + "/out/row" + std::to_string(b) + "/" +
                             source + ".wav");
      ASSERT_EQ(stem.channels.size(), 1u);
      ASSERT_EQ(stem.frames(), N);
      ours.insert(ours.end(), stem.channels[0].begin(), stem.channels[0].end());
    }
    double rel = relativeToMax(ours, theirs);
    std::cout << "[ measured ] " << GetParam() << " separated " << source
              << ": max |diff| / max |ref| = " << rel << "\n";
    EXPECT_LE(rel, 1e-5) << source;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, SeparateParity,
                         ::testing::Values("tiny", "small_16k"));

} // namespace
