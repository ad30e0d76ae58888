//===- ManifestKeysTest.cpp - The frontend writes the manifest's tables ---===//
//
// The config tables that the frontend attaches to the module (loco.model,
// loco.loss, loco.training, loco.dataset, loco.hardware; the lowering
// copies them into the manifest) against the one list the runner reads
// them by (runtime/abi/Manifest.h): the same keys, each with the type the
// runner's struct has. A key written but not listed, listed but not
// written, or written as another type fails here rather than as a silent
// default in locorun.
//
//===----------------------------------------------------------------------===//

#include "FrontendTestSupport.h"

#include "frontend/BuildTrainStep.h"
#include "frontend/ConfigKeys.h"
#include "runtime/abi/Manifest.h"

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <set>
#include <string>
#include <type_traits>

using namespace loco::test;
using namespace mlir;

namespace {

/// The attribute kind a manifest type is written as.
template <typename T> std::string kindOf() {
  if constexpr (std::is_same_v<T, bool>)
    return "bool";
  else if constexpr (std::is_integral_v<T>)
    return "integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "float";
  else
    return "string";
}

std::string kindOf(Attribute attr) {
  if (isa<BoolAttr>(attr))
    return "bool";
  if (isa<IntegerAttr>(attr))
    return "integer";
  if (isa<FloatAttr>(attr))
    return "float";
  if (isa<StringAttr>(attr))
    return "string";
  return "other";
}

using Kinds = std::map<std::string, std::string>;

#define LOCO_KIND(type, key, init) kinds[#key] = kindOf<type>();
Kinds listed(const std::string &table) {
  Kinds kinds;
  if (table == "model") {
    LOCO_MANIFEST_MODEL(LOCO_KIND)
  } else if (table == "loss") {
    LOCO_MANIFEST_LOSS(LOCO_KIND)
  } else if (table == "training") {
    LOCO_MANIFEST_TRAINING(LOCO_KIND)
  } else if (table == "dataset") {
    LOCO_MANIFEST_DATASET(LOCO_KIND)
  } else if (table == "hardware") {
    LOCO_MANIFEST_HARDWARE(LOCO_KIND)
  }
  return kinds;
}
#undef LOCO_KIND

class ManifestKeys : public FrontendTest {};

TEST_F(ManifestKeys, FrontendWritesExactlyTheListedKeysAndTypes) {
  auto spec = parseFile(LOCO_CONFIGS_DIR "/tiny.yaml");
  ASSERT_TRUE(spec) << allDiagnostics();
  OwningOpRef<ModuleOp> module = mlir::loco::buildTrainStep(*spec, &context);
  for (std::string table :
       {"model", "loss", "training", "dataset", "hardware"}) {
    auto dict =
        (*module)->getAttrOfType<DictionaryAttr>(("loco." + table).c_str());
    ASSERT_TRUE(dict) << "no loco." << table;
    Kinds written;
    for (NamedAttribute entry : dict)
      written[entry.getName().str()] = kindOf(entry.getValue());
    EXPECT_EQ(written, listed(table)) << "table '" << table << "'";
  }
}

#define LOCO_DEFAULT(type, key, init) defaults[#key] = type(init);
nlohmann::json runnerDefaults(const std::string &table) {
  nlohmann::json defaults = nlohmann::json::object();
  if (table == "model") {
    LOCO_MANIFEST_MODEL(LOCO_DEFAULT)
  } else if (table == "loss") {
    LOCO_MANIFEST_LOSS(LOCO_DEFAULT)
  } else if (table == "training") {
    LOCO_MANIFEST_TRAINING(LOCO_DEFAULT)
  } else if (table == "dataset") {
    LOCO_MANIFEST_DATASET(LOCO_DEFAULT)
  } else if (table == "hardware") {
    LOCO_MANIFEST_HARDWARE(LOCO_DEFAULT)
  }
  return defaults;
}
#undef LOCO_DEFAULT

// A manifest without a key gives the runner the default that Manifest.h
// lists; a config without it gives the frontend its ModelSpec initializer.
// They must be the same value, or an artifact of an older compiler would
// train differently from its config.
TEST(ConfigKeyTable, FrontendAndRunnerDefaultsAgree) {
  unsigned compared = 0;
  for (const mlir::loco::ConfigKey &key : mlir::loco::configKeys()) {
    if (!*key.manifestTable || key.required)
      continue;
    nlohmann::json frontend = std::visit(
        [](auto field) -> nlohmann::json {
          if constexpr (std::is_same_v<decltype(field), std::monostate>)
            return nullptr;
          else
            return mlir::loco::readField(mlir::loco::ModelSpec(), field);
        },
        key.field);
    nlohmann::json runner = runnerDefaults(key.manifestTable);
    ASSERT_TRUE(runner.contains(key.manifestKey))
        << key.path << " is written as " << key.manifestTable << "."
        << key.manifestKey << ", which Manifest.h does not list";
    EXPECT_EQ(frontend, runner[key.manifestKey]) << key.path;
    ++compared;
  }
  EXPECT_GT(compared, 40u);
}

// Each key appears once, after its section, and a key that fills a field
// has a meaning to document.
TEST(ConfigKeyTable, KeysAreUniqueAndSectionsComeFirst) {
  std::set<std::string> seen;
  for (const mlir::loco::ConfigKey &key : mlir::loco::configKeys()) {
    std::string path = key.path;
    EXPECT_TRUE(seen.insert(path).second) << path << " twice";
    size_t dot = path.rfind('.');
    if (dot != std::string::npos) {
      EXPECT_TRUE(seen.count(path.substr(0, dot)))
          << path << " before its section";
    }
    if (key.hasField()) {
      EXPECT_STRNE(key.meaning, "") << path;
    }
  }
}

TEST_F(ManifestKeys, RunnerReadsTypesAndRefusesNewerSchemas) {
  nlohmann::json manifest = {{"training", {{"lr", 0.5}, {"keep_last", 7}}}};
  ::loco::ConfigManifest m = ::loco::ConfigManifest::fromJson(manifest);
  EXPECT_EQ(m.training.lr, 0.5);
  EXPECT_EQ(m.training.keep_last, 7);
  EXPECT_EQ(m.training.val_interval, 1); // absent: the listed default
  EXPECT_EQ(m.dataset.root_dir, "");
  manifest["training"]["keep_last"] = "seven";
  EXPECT_THROW(::loco::ConfigManifest::fromJson(manifest), std::exception);
  EXPECT_THROW(
      ::loco::ConfigManifest::fromJson({{"schema", LOCO_MANIFEST_SCHEMA + 1}}),
      std::runtime_error);
}

} // namespace
