//===- AugmentTest.cpp - locorun's training-data augmentation -------------===//
//
// Each augmentation against its definition: the statistics of 10,000 draws
// (gain range and mean, swap, polarity, MP3 and noise rates within binomial
// bounds), the SNR of the added noise against the drawn value, the MP3 round
// trip, the mixture rebuilt from the stems, and the draws' independence from
// everything but (seed, epoch, sample).
//
//===----------------------------------------------------------------------===//

#include "runtime/data/Augment.h"
#include "runtime/data/Dataset.h"
#include "runtime/session/Session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

using namespace loco;

namespace {

constexpr int kDraws = 10000;

/// The bound on |hits - n p| that a fair binomial count exceeds with
/// probability below 1e-6: 5 standard deviations (two-sided tail 5.7e-7).
double binomialBound(double p) { return 5.0 * std::sqrt(kDraws * p * (1 - p)); }

std::vector<float> tone(int64_t length, double freq, double rate,
                        double amplitude) {
  std::vector<float> x(length);
  for (int64_t n = 0; n < length; ++n)
    x[n] = static_cast<float>(amplitude * std::sin(2 * M_PI * freq * n / rate));
  return x;
}

PlanarStems stereoStems(int64_t length) {
  PlanarStems stems(5);
  for (size_t s = 1; s < 5; ++s)
    stems[s] = {tone(length, 110.0 * s, 44100, 0.2),
                tone(length, 97.0 * s, 44100, 0.15)};
  stems[0] = {std::vector<float>(length), std::vector<float>(length)};
  return stems;
}

double powerOf(const std::vector<std::vector<float>> &channels) {
  double sum = 0;
  size_t count = 0;
  for (const auto &c : channels) {
    for (float x : c)
      sum += static_cast<double>(x) * x;
    count += c.size();
  }
  return sum / count;
}

} // namespace

TEST(Augment, RatesAndRangesMatchTheDefinition) {
  AugmentSpec spec; // upstream's defaults
  spec.enabled = true;
  int swaps = 0, inversions = 0, mp3 = 0, noise = 0;
  double gainSum = 0, gainMin = 10, gainMax = -10;
  std::map<int, int> bitrates;
  for (int i = 0; i < kDraws; ++i) {
    AugmentDraw d = drawAugmentation(spec, 4, 42, 3, i);
    ASSERT_EQ(d.gains.size(), 4u);
    for (float g : d.gains) {
      gainSum += g;
      gainMin = std::min<double>(gainMin, g);
      gainMax = std::max<double>(gainMax, g);
    }
    swaps += d.swap;
    inversions += d.invert;
    if (d.mp3Bitrate > 0) {
      ++mp3;
      ++bitrates[d.mp3Bitrate];
      EXPECT_FALSE(d.noise) << "noise runs only when MP3 did not";
    }
    if (d.noise) {
      ++noise;
      EXPECT_GE(d.snrDb, 25.0);
      EXPECT_LE(d.snrDb, 40.0);
    }
  }
  // Gains: inside [0.7, 1.3], filling it, mean 1 (the mean of 40,000
  // uniforms of sd 0.173 has sd 8.7e-4; 5 sd is 0.0043).
  EXPECT_GE(gainMin, 0.7);
  EXPECT_LE(gainMax, 1.3);
  EXPECT_LT(gainMin, 0.701);
  EXPECT_GT(gainMax, 1.299);
  EXPECT_NEAR(gainSum / (4 * kDraws), 1.0, 0.0044);
  EXPECT_NEAR(swaps, 0.5 * kDraws, binomialBound(0.5));
  EXPECT_NEAR(inversions, 0.1 * kDraws, binomialBound(0.1));
  EXPECT_NEAR(mp3, 0.2 * kDraws, binomialBound(0.2));
  // Noise: p 0.1 of the 80% without MP3.
  EXPECT_NEAR(noise, 0.08 * kDraws, binomialBound(0.08));
  // Bitrates: the five MPEG-1 rates in [96, 192], each a fifth of the MP3s.
  EXPECT_EQ(bitrates.size(), 5u);
  for (int kbps : {96, 112, 128, 160, 192})
    EXPECT_NEAR(bitrates[kbps], mp3 / 5.0, 5.0 * std::sqrt(mp3 * 0.2 * 0.8))
        << kbps << " kbps";
}

TEST(Augment, DrawsDependOnTheKeyAlone) {
  AugmentSpec spec;
  spec.enabled = true;
  AugmentDraw a = drawAugmentation(spec, 4, 7, 2, 11);
  AugmentDraw b = drawAugmentation(spec, 4, 7, 2, 11);
  EXPECT_EQ(a.gains, b.gains);
  EXPECT_EQ(a.swap, b.swap);
  EXPECT_EQ(a.mp3Bitrate, b.mp3Bitrate);
  // Another sample, epoch or seed draws other gains.
  for (auto [seed, epoch, sample] :
       {std::tuple{7, 2, 12}, std::tuple{7, 3, 11}, std::tuple{8, 2, 11}})
    EXPECT_NE(drawAugmentation(spec, 4, seed, epoch, sample).gains, a.gains);
  // A probability set to 0 leaves the other draws as they were.
  AugmentSpec noMp3 = spec;
  noMp3.mp3Prob = 0;
  EXPECT_EQ(drawAugmentation(noMp3, 4, 7, 2, 11).gains, a.gains);
  EXPECT_EQ(drawAugmentation(noMp3, 4, 7, 2, 11).swap, a.swap);
}

TEST(Augment, StemStepsAndTheRebuiltMixture) {
  const int64_t length = 4096;
  AugmentDraw draw;
  draw.gains = {0.8f, 1.2f, 1.0f, 0.7f};
  draw.swap = true;
  draw.invert = true;
  PlanarStems original = stereoStems(length);
  original[1][0][5] = 0.95f; // 0.95 x 0.8 stays; check the clamp on stem 2
  original[2][1][9] = 0.95f; // 0.95 x 1.2 = 1.14 -> clamped to 1
  PlanarStems stems = original;
  applyAugmentation(draw, 44100, stems);
  for (size_t s = 1; s < 5; ++s)
    for (size_t c = 0; c < 2; ++c)
      for (int64_t n = 0; n < length; ++n) {
        float expected =
            -std::clamp(original[s][1 - c][n] * draw.gains[s - 1], -1.0f, 1.0f);
        ASSERT_EQ(stems[s][c][n], expected) << s << " " << c << " " << n;
      }
  EXPECT_EQ(stems[2][0][9], -1.0f);
  for (size_t c = 0; c < 2; ++c)
    for (int64_t n = 0; n < length; ++n) {
      float sum = 0;
      for (size_t s = 1; s < 5; ++s)
        sum += stems[s][c][n];
      ASSERT_EQ(stems[0][c][n], sum);
    }
}

TEST(Augment, NoiseHasTheDrawnSnr) {
  // One second of stereo: the noise power estimate from 88,200 samples has
  // a relative sd of sqrt(2 / 88200) = 0.48%, 0.021 dB; 0.1 dB is 4.8 sd.
  const int64_t length = 44100;
  AugmentSpec spec;
  spec.enabled = true;
  spec.mp3Prob = 0;
  spec.noiseProb = 1;
  for (uint64_t sample = 0; sample < 8; ++sample) {
    AugmentDraw draw = drawAugmentation(spec, 4, 1, 0, sample);
    ASSERT_TRUE(draw.noise);
    draw.gains.assign(4, 1.0f);
    draw.swap = draw.invert = false;
    PlanarStems stems = stereoStems(length);
    applyAugmentation(draw, 44100, stems);
    PlanarStems clean = stereoStems(length);
    applyAugmentation(AugmentDraw{{1, 1, 1, 1}}, 44100, clean);
    std::vector<std::vector<float>> added = stems[0];
    for (size_t c = 0; c < 2; ++c)
      for (int64_t n = 0; n < length; ++n)
        added[c][n] -= clean[0][c][n];
    double snr = 10 * std::log10(powerOf(clean[0]) / powerOf(added));
    EXPECT_NEAR(snr, draw.snrDb, 0.1) << "sample " << sample;
    // The sources are untouched: noise is a mixture-only augmentation.
    EXPECT_EQ(stems[1], clean[1]);
  }
}

TEST(Augment, Mp3RoundTripKeepsLengthAndAlignment) {
  const int64_t length = 3 * 44100 + 123; // not a whole number of MP3 frames
  std::vector<std::vector<float>> input = {tone(length, 440, 44100, 0.3),
                                           tone(length, 660, 44100, 0.3)};
  for (int kbps : {96, 192}) {
    auto output = mp3RoundTrip(input, 44100, kbps);
    ASSERT_EQ(output.size(), 2u);
    ASSERT_EQ(static_cast<int64_t>(output[0].size()), length);
    EXPECT_NE(output, input) << "a lossy codec changes the samples";
    // Aligned: the error at lag 0 is small (a tone survives 96 kbps with
    // an SNR far above 20 dB) and smaller than one sample off.
    auto snrAtLag = [&](size_t c, int lag) {
      double signal = 0, error = 0;
      for (int64_t n = 4096; n < length - 4096; ++n) {
        signal += input[c][n] * input[c][n];
        double e = output[c][n + lag] - input[c][n];
        error += e * e;
      }
      return 10 * std::log10(signal / error);
    };
    for (size_t c = 0; c < 2; ++c) {
      double atZero = snrAtLag(c, 0);
      EXPECT_GT(atZero, 20.0) << kbps << " kbps, channel " << c;
      EXPECT_GT(atZero, snrAtLag(c, 1) + 3.0);
      EXPECT_GT(atZero, snrAtLag(c, -1) + 3.0);
    }
  }
  // Mono too.
  auto mono = mp3RoundTrip({input[0]}, 44100, 128);
  ASSERT_EQ(mono.size(), 1u);
  EXPECT_EQ(static_cast<int64_t>(mono[0].size()), length);
}
