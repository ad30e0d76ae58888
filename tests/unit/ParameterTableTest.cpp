//===- ParameterTableTest.cpp - Emitted parameters vs the golden sets -----===//
//
// The trainable parameters in the emitted IR (names from `loco.param`,
// shapes from the argument types) must equal the upstream state_dict's
// trainable entries in each golden set's grads.safetensors exactly, and the
// module's `loco.buffers` must hold the remaining state_dict entries (the
// RoPE frequencies) with the upstream values.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestSupport.h"

#include "frontend/BuildTrainStep.h"
#include "runtime/Safetensors.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

using namespace loco::test;
using namespace mlir;

namespace {

using Table = std::map<std::string, std::vector<int64_t>>;

/// The golden set `name`: the project's copy when there is one, else
/// ../shared/golden; empty when neither exists.
std::string goldenDir(const std::string &name) {
  for (std::string dir : {std::string(LOCO_TEST_DATA_DIR "/golden/") + name,
                          std::string(LOCO_SHARED_DIR "/golden/") + name})
    if (std::filesystem::is_directory(dir))
      return dir;
  return "";
}

class ParameterTable : public FrontendTest,
                       public ::testing::WithParamInterface<std::string> {};

TEST_P(ParameterTable, MatchesGoldenStateDict) {
  std::string dir = goldenDir(GetParam());
  if (dir.empty())
    GTEST_SKIP() << "golden set " << GetParam()
                 << " is in neither tests/data nor ../shared/golden";

  std::ifstream lossFile(dir + "/loss.json");
  nlohmann::json loss = nlohmann::json::parse(lossFile);
  // The config holds the overrides already; applying them again must agree.
  std::vector<std::string> overrides;
  for (auto &[key, value] : loss["overrides"].items())
    overrides.push_back(key + "=" + value.dump());
  auto spec = parseFile(dir + "/config.yaml", overrides);
  ASSERT_TRUE(spec) << allDiagnostics();
  EXPECT_EQ(spec->frames(), loss["n_frames"].get<int64_t>());
  EXPECT_EQ(spec->bins(), loss["n_freqs"].get<int64_t>());

  OwningOpRef<ModuleOp> module = mlir::loco::buildTrainStep(*spec, &context);
  ASSERT_TRUE(succeeded(verify(*module))) << allDiagnostics();
  auto func = module->lookupSymbol<func::FuncOp>("train_step");
  ASSERT_TRUE(func);

  Table emitted;
  int64_t emittedElements = 0;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto name = func.getArgAttrOfType<StringAttr>(i, "loco.param");
    if (!name)
      continue;
    auto type = cast<RankedTensorType>(func.getArgument(i).getType());
    EXPECT_TRUE(emitted.emplace(name.str(), type.getShape().vec()).second)
        << "duplicate parameter " << name.str();
    emittedElements += type.getNumElements();
  }

  std::string error;
  auto grads = ::loco::SafetensorsFile::open(dir + "/grads.safetensors", error);
  ASSERT_NE(grads, nullptr) << error;
  Table golden;
  for (const ::loco::TensorEntry &entry : grads->tensors())
    golden[entry.name] = entry.shape;
  EXPECT_EQ(emitted, golden);
  EXPECT_EQ(emittedElements, loss["params"]["trainable"].get<int64_t>());

  // weights.safetensors = trainable parameters + the RoPE buffers.
  auto weights =
      ::loco::SafetensorsFile::open(dir + "/weights.safetensors", error);
  ASSERT_NE(weights, nullptr) << error;
  auto buffers = (*module)->getAttrOfType<DictionaryAttr>("loco.buffers");
  ASSERT_TRUE(buffers);
  EXPECT_EQ(weights->tensors().size(), golden.size() + buffers.size());
  for (NamedAttribute buffer : buffers) {
    const ::loco::TensorEntry *entry = weights->find(buffer.getName().str());
    ASSERT_NE(entry, nullptr) << buffer.getName().str();
    auto values = cast<DenseElementsAttr>(buffer.getValue()).getValues<float>();
    std::vector<float> expected = weights->floats(*entry);
    ASSERT_EQ(values.size(), expected.size());
    // Computed in float32 the way rotary-embedding-torch does: bit-exact.
    for (size_t i = 0; i < expected.size(); ++i)
      EXPECT_EQ(values[i], expected[i])
          << buffer.getName().str() << "[" << i << "]";
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, ParameterTable,
                         ::testing::Values("tiny", "small_16k",
                                           "ultrasafe_l1_b2", "memopt_l1_8k"));

} // namespace
