//===- SafetensorsTest.cpp - Tests of the safetensors reader/writer -------===//
//
// The reader is checked against a file written by the real `safetensors`
// library (the tiny golden set's weights) and against hand-made malformed
// images, each of which must be rejected with a message naming the problem.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"

#include <gtest/gtest.h>

#include <fstream>

#include <cstdio>
#include <cstring>

using namespace loco;

namespace {

/// A safetensors image with `header` as its JSON and `dataBytes` zero bytes.
std::vector<uint8_t> image(const std::string &header, size_t dataBytes) {
  std::vector<uint8_t> bytes(8 + header.size() + dataBytes, 0);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    bytes[i] = static_cast<uint8_t>(n >> (8 * i));
  std::copy(header.begin(), header.end(), bytes.begin() + 8);
  return bytes;
}

/// Expects `bytes` to be rejected with an error containing `what`.
void expectRejected(std::vector<uint8_t> bytes, const std::string &what) {
  std::string error;
  auto file =
      SafetensorsFile::fromBytes(std::move(bytes), "bad.safetensors", error);
  EXPECT_EQ(file, nullptr);
  EXPECT_NE(error.find("bad.safetensors: "), std::string::npos) << error;
  EXPECT_NE(error.find(what), std::string::npos) << error;
}

TEST(Safetensors, ReadsFileWrittenByTheReferenceLibrary) {
  std::string error;
  auto file = SafetensorsFile::open(
      LOCO_TEST_DATA_DIR "/golden/tiny/weights.safetensors", error);
  ASSERT_NE(file, nullptr) << error;
  const TensorEntry *conv = file->find("conv.0.weight");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(conv->dtype, "F32");
  EXPECT_EQ(conv->shape, (std::vector<int64_t>{16, 2, 3, 3}));
  // loss.json of the set: state_dict_elements = 55592.
  int64_t total = 0;
  for (const TensorEntry &entry : file->tensors())
    total += entry.numElements();
  EXPECT_EQ(total, 55592);
  // The RoPE frequencies of d = 8 are 1, 0.1, 0.01, 0.001.
  const TensorEntry *freqs = file->find("blocks.0.freq_path.attn.rope.freqs");
  ASSERT_NE(freqs, nullptr);
  std::vector<float> values = file->floats(*freqs);
  ASSERT_EQ(values.size(), 4u);
  EXPECT_FLOAT_EQ(values[0], 1.0f);
  EXPECT_FLOAT_EQ(values[3], 0.001f);
}

TEST(Safetensors, WriteThenReadRoundTrips) {
  std::string path = ::testing::TempDir() + "/roundtrip.safetensors";
  std::vector<F32Tensor> tensors = {{"a", {2, 3}, {1, 2, 3, 4, 5, 6}},
                                    {"b.c", {1}, {-0.5f}},
                                    {"empty", {0}, {}}};
  std::string error;
  ASSERT_TRUE(writeSafetensors(path, tensors, {{"format", "pt"}}, error))
      << error;
  auto file = SafetensorsFile::open(path, error);
  ASSERT_NE(file, nullptr) << error;
  EXPECT_EQ(file->metadata().at("format"), "pt");
  for (const F32Tensor &t : tensors) {
    const TensorEntry *entry = file->find(t.name);
    ASSERT_NE(entry, nullptr) << t.name;
    EXPECT_EQ(entry->shape, t.shape);
    EXPECT_EQ(file->floats(*entry), t.values);
  }
  std::remove(path.c_str());
}

TEST(Safetensors, WriterRejectsValueCountMismatch) {
  std::string error;
  EXPECT_FALSE(writeSafetensors(::testing::TempDir() + "/x.safetensors",
                                {{"a", {2, 2}, {1, 2, 3}}}, {}, error));
  EXPECT_NE(error.find("3 values for 4 elements"), std::string::npos) << error;
}

TEST(Safetensors, RejectsMissingFile) {
  std::string error;
  EXPECT_EQ(SafetensorsFile::open("/nonexistent/w.safetensors", error),
            nullptr);
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

TEST(Safetensors, RejectsWhatIsNotARegularFile) {
  // A folder (used to abort reading a "file" of size -1), a device, and an
  // empty file.
  std::string error;
  EXPECT_EQ(SafetensorsFile::open(LOCO_TEST_DATA_DIR, error), nullptr);
  EXPECT_NE(error.find("is a folder"), std::string::npos) << error;
  EXPECT_EQ(SafetensorsFile::open("/dev/null", error), nullptr);
  EXPECT_NE(error.find("not a regular file"), std::string::npos) << error;
  std::string empty = ::testing::TempDir() + "/empty.safetensors";
  std::ofstream(empty).close();
  EXPECT_EQ(SafetensorsFile::open(empty, error), nullptr);
  EXPECT_NE(error.find("shorter than its 8-byte header"), std::string::npos)
      << error;
}

TEST(Safetensors, RejectsTruncatedFile) {
  expectRejected({1, 2, 3}, "shorter than its 8-byte header length");
}

TEST(Safetensors, RejectsHeaderLengthBeyondFile) {
  std::vector<uint8_t> bytes = image("{}", 0);
  bytes[0] = 200;
  expectRejected(bytes, "header length 200 exceeds the file");
  std::vector<uint8_t> huge(16, 0xff);
  expectRejected(huge, "exceeds the file");
}

TEST(Safetensors, RejectsHeaderThatIsNotJsonObject) {
  expectRejected(image("{\"a\": ", 0), "header is not a JSON object");
  expectRejected(image("[1, 2]", 0), "header is not a JSON object");
}

TEST(Safetensors, RejectsEntryWithoutFields) {
  expectRejected(image(R"({"w": {"dtype": "F32", "shape": [1]}})", 4),
                 "needs dtype (string), shape (list) and data_offsets");
  expectRejected(image(R"({"w": 3})", 0), "entry 'w' is not an object");
}

TEST(Safetensors, RejectsUnknownDtype) {
  expectRejected(
      image(R"({"w": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}})",
            4),
      "unknown dtype 'F33'");
}

TEST(Safetensors, RejectsOffsetsOutsideData) {
  expectRejected(
      image(R"({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})",
            4),
      "outside the data section of 4 bytes");
  expectRejected(
      image(R"({"w": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})",
            8),
      "outside the data section");
}

TEST(Safetensors, RejectsShapeThatDisagreesWithBytes) {
  expectRejected(
      image(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})",
            8),
      "holds 8 bytes but its F32 shape needs 12");
}

TEST(Safetensors, RejectsNegativeOrHugeShapes) {
  expectRejected(
      image(R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})",
            4),
      "not a non-negative integer");
  expectRejected(
      image(R"({"w": {"dtype": "F32", "shape": [4294967296, 4294967296],
                "data_offsets": [0, 4]}})",
            4),
      "too large to address");
}

TEST(Safetensors, RejectsOverlappingEntries) {
  expectRejected(
      image(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                           "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
            8),
      "overlap");
}

TEST(Safetensors, RejectsNonStringMetadata) {
  expectRejected(image(R"({"__metadata__": {"step": 3}})", 0),
                 "__metadata__ value of 'step' is not a string");
}

} // namespace
