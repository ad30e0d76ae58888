//===- SeparateTest.cpp - Overlap-add, audio and metrics of locorun -------===//
//
// The parts of separation and evaluation that need no compiled model:
//  - the cross-fade windows sum to one at every sample, for any length,
//    segment and overlap;
//  - overlap-add through a step that is exact on segments (a fixed gain per
//    source) reproduces the song exactly, in any batch and for any channels;
//  - resampling keeps a sine a sine (against the analytic signal), audio
//    files round-trip, a NaN in a file is refused with its name;
//  - the metrics against their definitions: SDR of a known error energy,
//    ISR/SIR/SAR of a pure filtering and of a pure interference, SI-SDR as
//    the training loss computes it, uSDR, nanmedian.
// The agreement with museval itself, frame by frame, is
// tests/property/museval_reference.py.
//
//===----------------------------------------------------------------------===//

#include "runtime/eval/Separate.h"
#include "runtime/Safetensors.h"
#include "runtime/SiSdr.h"
#include "runtime/data/Audio.h"
#include "runtime/eval/Metrics.h"
#include "runtime/eval/Rescale.h"
#include "runtime/eval/TrackLoss.h"
#include "runtime/session/Session.h"

#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

using namespace loco;

namespace {

TEST(Separate, WindowsSumToOne) {
  for (int64_t segment : {1, 2, 7, 64, 4096})
    for (double overlap : {0.0, 0.1, 0.25, 0.5, 0.75, 0.99})
      for (int64_t length : {int64_t(1), segment - 1, segment, segment + 1,
                             3 * segment + 5, int64_t(10007)}) {
        if (length < 1)
          continue;
        SegmentPlan plan = planSegments(length, segment, overlap);
        ASSERT_GE(plan.start(plan.count - 1) + segment, length);
        ASSERT_LT(plan.start(plan.count - 1), std::max<int64_t>(1, length));
        std::vector<double> sum(length, 0.0);
        for (int64_t k = 0; k < plan.count; ++k)
          for (int64_t i = 0; i < segment && plan.start(k) + i < length; ++i)
            sum[plan.start(k) + i] += plan.weight(k, i);
        for (int64_t t = 0; t < length; ++t)
          // Two float weights, each rounded once: 2^-23 relative.
          ASSERT_NEAR(sum[t], 1.0, 1e-6)
              << "segment " << segment << " overlap " << overlap << " length "
              << length << " sample " << t;
      }
}

TEST(Separate, CachedWindowsEqualTheDefinition) {
  // overlapAdd takes each segment's window from SegmentPlan::weights, which
  // computes the interior window once: every segment's cached window must
  // be its weights by definition, bit for bit, in any order of access.
  for (int64_t segment : {1, 7, 64, 1000})
    for (double overlap : {0.0, 0.25, 0.5, 0.9, 0.95})
      for (int64_t length : {segment, 3 * segment + 5, 40 * segment + 3}) {
        SegmentPlan plan = planSegments(length, segment, overlap);
        for (int64_t pass = 0; pass < 2; ++pass)
          for (int64_t k = 0; k < plan.count; ++k) {
            int64_t segmentK = pass ? plan.count - 1 - k : k;
            const std::vector<float> &window = plan.weights(segmentK);
            ASSERT_EQ(static_cast<int64_t>(window.size()), segment);
            for (int64_t i = 0; i < segment; ++i)
              ASSERT_EQ(window[i], plan.weight(segmentK, i))
                  << "segment " << segment << " overlap " << overlap
                  << " length " << length << " k " << segmentK << " i " << i;
          }
      }
}

TEST(Separate, RejectsBadSegments) {
  EXPECT_THROW(planSegments(100, 0, 0.25), RunError);
  EXPECT_THROW(planSegments(100, 10, 1.0), RunError);
  EXPECT_THROW(planSegments(100, 10, -0.1), RunError);
}

TEST(Separate, OverlapAddIsExactForAnExactStep) {
  std::mt19937 gen(7);
  std::normal_distribution<float> noise;
  for (int64_t rows : {1, 3, 8})
    for (int64_t channels : {1, 2})
      for (double overlap : {0.0, 0.25, 0.6}) {
        int64_t length = 5 * 256 + 37, segment = 256;
        std::vector<std::vector<float>> song(channels,
                                             std::vector<float>(length));
        for (auto &channel : song)
          for (float &v : channel)
            v = noise(gen);
        int64_t calls = 0;
        // Source s is (s + 1) x the mixture: exact on every segment.
        SegmentStep step = [&](const std::vector<float> &mixture,
                               std::vector<std::vector<float>> &estimates) {
          ASSERT_EQ(static_cast<int64_t>(mixture.size()), rows * segment);
          ++calls;
          for (int s = 0; s < 3; ++s) {
            estimates.emplace_back(mixture);
            for (float &v : estimates.back())
              v *= s + 1;
          }
        };
        double done = 0;
        auto out = overlapAdd(song, segment, rows, 3, overlap, step,
                              [&](double d, double total) {
                                EXPECT_GE(d, done);
                                EXPECT_EQ(total, length);
                                done = d;
                              });
        SegmentPlan plan = planSegments(length, segment, overlap);
        EXPECT_EQ(calls, (plan.count * channels + rows - 1) / rows);
        EXPECT_EQ(done, length);
        ASSERT_EQ(out.size(), 3u);
        for (int s = 0; s < 3; ++s)
          for (int64_t c = 0; c < channels; ++c)
            for (int64_t t = 0; t < length; ++t)
              ASSERT_NEAR(out[s][c][t], (s + 1) * song[c][t],
                          1e-5f * (s + 1) * (1 + std::fabs(song[c][t])))
                  << "rows " << rows << " overlap " << overlap;
      }
}

TEST(Audio, ResampledSineStaysASine) {
  const double f = 440.0;
  std::vector<float> in(8000);
  for (size_t i = 0; i < in.size(); ++i)
    in[i] = 0.5f * std::sin(2 * M_PI * f * i / 8000.0);
  std::vector<float> out = resample(in, 8000, 44100);
  ASSERT_EQ(out.size(), 44100u);
  // Away from the ends (the filter's edges), the best sinc converter is
  // within 1e-3 of the analytic signal (its stop-band is ~ -97 dB).
  double worst = 0;
  for (size_t i = 2000; i + 2000 < out.size(); ++i)
    worst = std::max(
        worst, std::fabs(out[i] - 0.5 * std::sin(2 * M_PI * f * i / 44100.0)));
  EXPECT_LT(worst, 1e-3);
  EXPECT_EQ(resample(in, 8000, 8000), in);
}

TEST(Audio, FilesRoundTrip) {
  std::string dir = ::testing::TempDir() + "/audio_roundtrip";
  std::filesystem::create_directories(dir);
  Audio audio;
  audio.sampleRate = 22050;
  audio.channels = {std::vector<float>(1000), std::vector<float>(1000)};
  for (int i = 0; i < 1000; ++i) {
    audio.channels[0][i] = std::sin(0.01f * i) * 0.9f;
    audio.channels[1][i] = -0.3f + 1e-7f * i;
  }
  writeAudio(dir + "/a.wav", audio, AudioFormat::Wav);
  Audio back = readAudio(dir + "/a.wav");
  EXPECT_EQ(back.sampleRate, 22050);
  EXPECT_EQ(back.channels, audio.channels); // float WAV: exact
  writeAudio(dir + "/a.flac", audio, AudioFormat::Flac);
  Audio flac = readAudio(dir + "/a.flac");
  ASSERT_EQ(flac.frames(), 1000);
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 1000; ++i)
      EXPECT_NEAR(flac.channels[c][i], audio.channels[c][i], 1.0 / (1 << 23));
  EXPECT_FALSE(std::filesystem::exists(dir + "/a.wav.partial"));

  audio.channels[1][17] = std::nanf("");
  writeAudio(dir + "/nan.wav", audio, AudioFormat::Wav);
  try {
    readAudio(dir + "/nan.wav");
    FAIL() << "a NaN sample was accepted";
  } catch (const RunError &e) {
    EXPECT_NE(std::string(e.what()).find("nan.wav: sample 17 of channel 1"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(readAudio(dir + "/missing.wav"), RunError);
}

/// Writes `seconds` of a stereo sine as an MP3 through libsndfile's LAME.
void writeMp3(const std::string &path, double seconds, int rate) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = 2;
  info.format = SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III;
  SNDFILE *file = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(file, nullptr) << sf_strerror(nullptr);
  auto frames = static_cast<sf_count_t>(seconds * rate);
  std::vector<float> samples(2 * frames);
  for (sf_count_t i = 0; i < frames; ++i)
    samples[2 * i] = samples[2 * i + 1] = 0.5f * std::sin(0.05f * i);
  ASSERT_EQ(sf_writef_float(file, samples.data(), frames), frames);
  sf_close(file);
}

TEST(Audio, Mp3sOfAnyLengthRead) {
  // libsndfile's frame count of an MP3 is an estimate above what decodes;
  // each of these was refused as "truncated?". What decodes is the song,
  // give or take the codec's delay and padding (a few 1152-sample frames).
  std::string dir = ::testing::TempDir() + "/audio_mp3";
  std::filesystem::create_directories(dir);
  for (double seconds : {0.3, 3.0, 30.0}) {
    std::string path = dir + "/song.mp3";
    writeMp3(path, seconds, 44100);
    Audio audio = readAudio(path);
    EXPECT_EQ(audio.sampleRate, 44100);
    ASSERT_EQ(audio.channels.size(), 2u);
    EXPECT_EQ(audio.channels[1].size(), audio.channels[0].size());
    EXPECT_NEAR(static_cast<double>(audio.frames()), seconds * 44100, 4 * 1152)
        << seconds << " s";
  }
}

TEST(Audio, ImpossibleRatesAndFolderTargetsAreNamed) {
  std::string dir = ::testing::TempDir() + "/audio_rates";
  std::filesystem::create_directories(dir + "/stem.wav");
  Audio audio;
  audio.sampleRate = 1; // a header claiming 1 Hz
  audio.channels = {std::vector<float>(100, 0.1f)};
  writeAudio(dir + "/slow.wav", audio, AudioFormat::Wav);
  for (auto read : {+[](const std::string &p) { readAudio(p); },
                    +[](const std::string &p) { probeAudio(p); }})
    try {
      read(dir + "/slow.wav");
      FAIL() << "a 1 Hz file was accepted";
    } catch (const RunError &e) {
      EXPECT_NE(std::string(e.what()).find(
                    "slow.wav: its header says 1 Hz; an audio file is "
                    "between 1000 and 768000 Hz"),
                std::string::npos)
          << e.what();
    }
  EXPECT_THROW(resample(audio.channels[0], 1, 44100), RunError);
  audio.sampleRate = 8000;
  try {
    writeAudio(dir + "/stem.wav", audio, AudioFormat::Wav);
    FAIL() << "wrote over a folder";
  } catch (const RunError &e) {
    EXPECT_NE(std::string(e.what()).find("stem.wav: is a folder"),
              std::string::npos)
        << e.what();
  }
  AudioInfo info = probeAudio(
      (writeAudio(dir + "/ok.wav", audio, AudioFormat::Wav), dir + "/ok.wav"));
  EXPECT_EQ(info.sampleRate, 8000);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.frames, 100);
}

/// [source][channel][sample] of noise, each source its own seed.
SourceImages noiseSources(int sources, int channels, int64_t length,
                          uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> noise(0.0f, 0.3f);
  SourceImages images(sources, std::vector<std::vector<float>>(
                                   channels, std::vector<float>(length)));
  for (auto &source : images)
    for (auto &channel : source)
      for (float &v : channel)
        v = noise(gen);
  return images;
}

TEST(Metrics, SdrIsTheFrameEnergyRatio) {
  int64_t length = 3000, window = 1000;
  SourceImages refs = noiseSources(2, 2, length, 1);
  SourceImages errors = noiseSources(2, 2, length, 2);
  SourceImages ests = refs;
  for (size_t s = 0; s < 2; ++s)
    for (size_t c = 0; c < 2; ++c)
      for (int64_t i = 0; i < length; ++i)
        ests[s][c][i] += 0.1f * (s + 1) * errors[s][c][i];
  BssEval bss = bssEvalV4(refs, ests, window, window, 32);
  ASSERT_EQ(bss.sdr.size(), 2u);
  ASSERT_EQ(bss.sdr[0].size(), 3u);
  for (int s = 0; s < 2; ++s)
    for (int t = 0; t < 3; ++t) {
      double energy = 0, error = 0;
      for (int c = 0; c < 2; ++c)
        for (int64_t i = t * window; i < (t + 1) * window; ++i) {
          double r = refs[s][c][i], e = ests[s][c][i];
          energy += r * r;
          error += (e - r) * (e - r);
        }
      EXPECT_NEAR(bss.sdr[s][t], 10 * std::log10(energy / error), 1e-9);
      // The estimate's error is independent noise: mostly artifacts.
      EXPECT_GT(bss.sir[s][t], bss.sar[s][t]);
    }
}

TEST(Metrics, FilteringIsSpatialAndLeakIsInterference) {
  int64_t length = 4000;
  SourceImages refs = noiseSources(2, 1, length, 3);
  // The estimate is cut at the track's end, the filtered reference is not:
  // a reference that ends in silence leaves no tail to cut (else the cut
  // tail is an artifact, as museval counts it too).
  std::fill(refs[0][0].end() - 16, refs[0][0].end(), 0.0f);
  SourceImages ests = refs;
  // Source 0: its reference through a 3-tap filter (within the filter
  // length): no interference, no artifacts. Source 1: plus 10% of source 0.
  for (int64_t i = 0; i < length; ++i)
    ests[0][0][i] =
        0.8f * refs[0][0][i] + (i >= 2 ? 0.3f * refs[0][0][i - 2] : 0.0f);
  for (int64_t i = 0; i < length; ++i)
    ests[1][0][i] = refs[1][0][i] + 0.1f * refs[0][0][i];
  BssEval bss = bssEvalV4(refs, ests, length, length, 16);
  // Float estimates: the residuals are rounding, far below the signal.
  EXPECT_GT(bss.sir[0][0], 60.0);
  EXPECT_GT(bss.sar[0][0], 60.0);
  EXPECT_LT(bss.isr[0][0], 20.0);
  EXPECT_NEAR(bss.sir[1][0], 10 * std::log10(1.0 / 0.01), 0.5);
  EXPECT_GT(bss.sar[1][0], 60.0);
}

TEST(Metrics, SilentFramesAreNaNAndSilentTracksRefused) {
  int64_t length = 3000;
  SourceImages refs = noiseSources(2, 1, length, 4);
  SourceImages ests = noiseSources(2, 1, length, 5);
  for (int64_t i = 1000; i < 2000; ++i)
    refs[1][0][i] = 0.0f;
  BssEval bss = bssEvalV4(refs, ests, 1000, 1000, 8);
  EXPECT_TRUE(std::isnan(bss.sdr[0][1]));
  EXPECT_TRUE(std::isnan(bss.sar[1][1]));
  EXPECT_FALSE(std::isnan(bss.sdr[0][0]));
  std::fill(refs[1][0].begin(), refs[1][0].end(), 0.0f);
  EXPECT_THROW(bssEvalV4(refs, ests, 1000, 1000, 8), RunError);
  SourceImages shorter = noiseSources(2, 1, length - 1, 6);
  EXPECT_THROW(bssEvalV4(shorter, ests, 1000, 1000, 8), RunError);
}

TEST(Metrics, SourcesOfDifferentChannelsAreRefused) {
  // One mono source among stereo ones was a SIGSEGV (the channel count was
  // the first source's), or, mono first, a score of the wrong signals.
  for (int monoSource : {0, 1}) {
    SourceImages refs = noiseSources(2, 2, 3000, 7);
    SourceImages ests = noiseSources(2, 2, 3000, 8);
    refs[monoSource].pop_back();
    ests[monoSource].pop_back();
    try {
      bssEvalV4(refs, ests, 1000, 1000, 8);
      FAIL() << "sources of 1 and 2 channels were scored";
    } catch (const RunError &e) {
      EXPECT_NE(std::string(e.what()).find("channels"), std::string::npos)
          << e.what();
    }
  }
}

TEST(Metrics, SiSdrIsTheTrainingLoss) {
  SourceImages refs = noiseSources(1, 2, 2048, 8),
               ests = noiseSources(1, 2, 2048, 9);
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 2048; ++i)
      ests[0][c][i] = 0.5f * refs[0][c][i] + 0.2f * ests[0][c][i];
  double mean = 0;
  for (int c = 0; c < 2; ++c)
    mean += siSdrDb(ests[0][c].data(), refs[0][c].data(), 2048, 1e-8) / 2;
  EXPECT_DOUBLE_EQ(siSdr(refs[0], ests[0]), mean);
  // Scale-invariant: 0.5 x the reference scores as the reference would.
  EXPECT_NEAR(siSdr(refs[0], ests[0]), 10 * std::log10(0.25 / 0.04), 0.5);
}

TEST(Metrics, USdrAndNanMedian) {
  std::vector<std::vector<float>> ref = {{1, 2}, {3, 4}},
                                  est = {{1, 2}, {3, 3}};
  EXPECT_NEAR(uSdr(ref, est), 10 * std::log10((30 + 1e-7) / (1 + 1e-7)), 1e-12);
  EXPECT_EQ(nanMedian({3, std::nan(""), 1, 2}), 2);
  EXPECT_EQ(nanMedian({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(nanMedian({std::nan("")})));
}

} // namespace

namespace {

// The host's loss of whole tracks is the training step's: on the golden
// sets' estimates and targets, the mean over the batch's rows of each
// track's components equals upstream's loss parts (fp32 upstream against
// double here: 1e-5 relative).
TEST(Rescale, LeastSquaresGainsRecoverKnownGains) {
  // True stems t_j sum to the mixture; the estimates are t_j / k_j (a
  // scale-free model's arbitrary level). The gains that make the estimates
  // sum closest to the mixture are k_j: the sum is then exact.
  SourceImages truth = noiseSources(4, 2, 5000, 21);
  Channels mixture(2, std::vector<float>(5000, 0.0f));
  for (const auto &stem : truth)
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 5000; ++i)
        mixture[c][i] += stem[c][i];
  const double k[] = {3.0, 0.125, -0.7, 11.0};
  std::vector<Channels> estimates(truth.begin(), truth.end());
  for (int j = 0; j < 4; ++j)
    for (auto &channel : estimates[j])
      for (float &v : channel)
        v = static_cast<float>(v / k[j]);
  std::vector<double> gains = mixtureGains(mixture, estimates);
  ASSERT_EQ(gains.size(), 4u);
  for (int j = 0; j < 4; ++j)
    // Float estimates, double sums over 10,000 samples: 1e-5 relative.
    EXPECT_NEAR(gains[j], k[j], 1e-5 * std::abs(k[j])) << j;

  // A pure gain: SI-SDR against the truth is unchanged (to float rounding
  // of the scaled samples, 1e-4 dB) for estimates with errors of their own
  // (about 10 dB here), and a silent stem gets gain 0, not a singular
  // matrix.
  SourceImages errors = noiseSources(4, 2, 5000, 24);
  for (int j = 0; j < 4; ++j)
    for (int c = 0; c < 2; ++c)
      for (int i = 0; i < 5000; ++i)
        estimates[j][c][i] += 0.3f * errors[j][c][i] / static_cast<float>(k[j]);
  std::vector<Channels> rescaled = estimates;
  applyGains(rescaled, mixtureGains(mixture, estimates));
  for (int j = 0; j < 4; ++j) {
    double before = siSdr(truth[j], estimates[j]);
    EXPECT_GT(before, 5.0);
    EXPECT_LT(before, 20.0);
    EXPECT_NEAR(siSdr(truth[j], rescaled[j]), before, 1e-4) << j;
  }
  for (auto &channel : estimates[3])
    std::fill(channel.begin(), channel.end(), 0.0f);
  gains = mixtureGains(mixture, estimates);
  EXPECT_EQ(gains[3], 0.0);
  for (int j = 0; j < 3; ++j)
    EXPECT_TRUE(std::isfinite(gains[j]));
}

TEST(Rescale, MixtureConsistencySumsToTheMixture) {
  SourceImages truth = noiseSources(4, 2, 3000, 22);
  Channels mixture = noiseSources(1, 2, 3000, 23)[0];
  std::vector<Channels> stems(truth.begin(), truth.end());
  RescaleReport report = rescaleStems(Rescale::Mixture, mixture, stems);
  EXPECT_EQ(report.applied, Rescale::Mixture);
  EXPECT_EQ(report.gains.size(), 4u);
  float peak = 0.0f;
  for (const auto &channel : mixture)
    for (float v : channel)
      peak = std::max(peak, std::abs(v));
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 3000; ++i) {
      double sum = 0.0;
      for (const Channels &stem : stems)
        sum += stem[c][i];
      // Four float stems, each rounded once after its share: a few ulps
      // of the mixture's peak.
      ASSERT_NEAR(sum, mixture[c][i], 8 * peak * 1.2e-7) << c << " " << i;
    }
  std::vector<Channels> untouched(truth.begin(), truth.end());
  EXPECT_EQ(rescaleStems(Rescale::Off, mixture, untouched).applied,
            Rescale::Off);
  EXPECT_EQ(untouched, std::vector<Channels>(truth.begin(), truth.end()));
}

TEST(Rescale, AutoFollowsTheLoss) {
  auto manifest = [](const char *type, double l1, double spectral) {
    return nlohmann::json{{"loss",
                           {{"loss_type", type},
                            {"l1_weight", l1},
                            {"spectral_weight", spectral}}}};
  };
  EXPECT_EQ(resolveRescale(Rescale::Auto, manifest("si_sdr", 0, 0)),
            Rescale::Gains);
  EXPECT_EQ(resolveRescale(Rescale::Auto, manifest("combined", 0, 0)),
            Rescale::Gains);
  EXPECT_EQ(resolveRescale(Rescale::Auto, manifest("combined", 0.1, 0)),
            Rescale::Off);
  EXPECT_EQ(resolveRescale(Rescale::Auto, manifest("l1", 0, 0)), Rescale::Off);
  EXPECT_EQ(resolveRescale(Rescale::Auto, nlohmann::json::object()),
            Rescale::Off);
  EXPECT_EQ(resolveRescale(Rescale::Mixture, manifest("l1", 0, 0)),
            Rescale::Mixture);
  EXPECT_EQ(parseRescale("gains", "--rescale"), Rescale::Gains);
  EXPECT_THROW(parseRescale("loud", "--rescale"), RunError);
}

TEST(TrackLoss, EqualsTheGoldenLossParts) {
  for (std::string set : {"tiny", "small_16k"}) {
    std::string dir = std::string(LOCO_TEST_DATA_DIR "/golden/") + set;
    std::string error;
    auto inputs = SafetensorsFile::open(dir + "/inputs.safetensors", error);
    auto outputs = SafetensorsFile::open(dir + "/outputs.safetensors", error);
    ASSERT_TRUE(inputs && outputs) << error;
    std::ifstream file(dir + "/loss.json");
    nlohmann::json golden = nlohmann::json::parse(file);
    std::vector<std::string> sources = {"vocals", "drums", "bass", "other"};
    const TensorEntry *mixture = inputs->find("mixture");
    int64_t rows = mixture->shape[0], N = mixture->shape[1];
    // The set's loss section, as its loss.json records the config.
    LossSpec spec = LossSpec::fromManifest(golden["config"]);
    std::map<std::string, double> mean;
    double total = 0;
    for (int64_t b = 0; b < rows; ++b) {
      std::vector<std::vector<float>> est, tgt;
      for (const std::string &s : sources) {
        std::vector<float> e = outputs->floats(*outputs->find(s));
        std::vector<float> t = inputs->floats(*inputs->find(s));
        est.emplace_back(e.begin() + b * N, e.begin() + (b + 1) * N);
        tgt.emplace_back(t.begin() + b * N, t.begin() + (b + 1) * N);
      }
      TrackLossValue value = trackLoss(spec, sources, est, tgt);
      total += value.total / rows;
      for (auto &[name, v] : value.components)
        mean[name] += v / rows;
    }
    EXPECT_EQ(mean.size(), golden["components"].size());
    for (auto &[name, v] : mean) {
      double expected = golden["components"][name].get<double>();
      EXPECT_NEAR(v, expected, 1e-5 * std::fabs(expected) + 1e-7)
          << set << " " << name;
    }
    EXPECT_NEAR(total, golden["total_loss"].get<double>(),
                1e-5 * std::fabs(golden["total_loss"].get<double>()))
        << set;
  }
}

} // namespace
