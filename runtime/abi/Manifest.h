//===- Manifest.h - The manifest's tables, typed ----------------*- C++ -*-===//
//
// This file declares the tables of a train.so's manifest that carry the
// config to the runner: one list per table of (type, key, default), from
// which the runner's typed structs and their JSON readers are made, and
// which the compiler's writer is tested against (ManifestTest: every key
// the frontend writes is listed here with its type, and every key listed
// is written). A key is spelled here once; its default here is the one a
// manifest without it takes. The manifest records kManifestSchema as
// "schema"; a change of a key's meaning bumps it.
//
// Header-only; it depends on nlohmann/json alone.
//
//===----------------------------------------------------------------------===//

#ifndef LOCO_RUNTIME_ABI_MANIFEST_H
#define LOCO_RUNTIME_ABI_MANIFEST_H

#include "runtime/abi/api.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace loco {

// clang-format off
/// "model": the step's shapes (what the runner feeds) and the seed.
#define LOCO_MANIFEST_MODEL(X) \
  X(int64_t, batch_size, 1) \
  X(int64_t, segment_length, 0) \
  X(int64_t, sample_rate, 44100) \
  X(int64_t, n_fft, 0) \
  X(int64_t, hop_length, 0) \
  X(int64_t, frames, 0) \
  X(int64_t, bins, 0) \
  X(int64_t, seed, 42)

/// "loss": the training loss, for validation on the host (TrackLoss.h).
#define LOCO_MANIFEST_LOSS(X) \
  X(std::string, loss_type, "combined") \
  X(double, si_sdr_weight, 1.0) \
  X(double, l1_weight, 0.1) \
  X(double, spectral_weight, 0.1) \
  X(double, eps, 1e-8)

/// "training": the optimizer, schedule, checkpoints and precision.
#define LOCO_MANIFEST_TRAINING(X) \
  X(int64_t, gradient_accumulation_steps, 1) \
  X(double, gradient_clip, 5.0) \
  X(std::string, matmul_precision, "fp32") \
  X(bool, loss_scaling, false) \
  X(double, lr, 1e-3) \
  X(double, weight_decay, 0.01) \
  X(double, eps, 1e-8) \
  X(double, beta1, 0.9) \
  X(double, beta2, 0.999) \
  X(int64_t, warmup_steps, 0) \
  X(double, warmup_start_lr, 0.0) \
  X(std::string, scheduler, "") \
  X(std::string, scheduler_mode, "min") \
  X(double, scheduler_factor, 0.5) \
  X(int64_t, scheduler_patience, 10) \
  X(int64_t, scheduler_cooldown, 0) \
  X(double, scheduler_min_lr, 0.0) \
  X(int64_t, num_epochs, 1) \
  X(int64_t, val_interval, 1) \
  X(int64_t, save_interval, 1) \
  X(int64_t, keep_last, 2) \
  X(bool, save_best, true) \
  X(bool, early_stopping, false) \
  X(int64_t, early_stopping_patience, 10) \
  X(double, early_stopping_min_delta, 0.0) \
  X(double, dropout, 0.0)

/// "dataset": where and how locorun trains by default.
#define LOCO_MANIFEST_DATASET(X) \
  X(std::string, root_dir, "") \
  X(bool, random_chunks, true) \
  X(bool, augmentation, false) \
  X(double, gain_min, 0.7) \
  X(double, gain_max, 1.3) \
  X(double, channel_swap_prob, 0.5) \
  X(double, polarity_prob, 0.1) \
  X(double, mp3_prob, 0.2) \
  X(int64_t, mp3_min_bitrate, 96) \
  X(int64_t, mp3_max_bitrate, 192) \
  X(double, noise_prob, 0.1) \
  X(double, noise_min_snr_db, 25.0) \
  X(double, noise_max_snr_db, 40.0)

/// "hardware": the device the config asks for.
#define LOCO_MANIFEST_HARDWARE(X) \
  X(std::string, device, "cpu") \
  X(int64_t, num_gpu, 1)
// clang-format on

#define LOCO_MANIFEST_FIELD(type, key, init) type key = init;
#define LOCO_MANIFEST_READ(type, key, init)                                    \
  table.key = json.value(#key, table.key);
#define LOCO_MANIFEST_STRUCT(Name, LIST)                                       \
  struct Name {                                                                \
    LIST(LOCO_MANIFEST_FIELD)                                                  \
    /** The table `json` (an object, possibly empty): each key present */      \
    /** with its type (nlohmann throws type_error otherwise), each one */      \
    /** absent at its default. */                                              \
    static Name fromJson(const nlohmann::json &json) {                         \
      Name table;                                                              \
      if (json.is_object()) {                                                  \
        LIST(LOCO_MANIFEST_READ)                                               \
      }                                                                        \
      return table;                                                            \
    }                                                                          \
  };

LOCO_MANIFEST_STRUCT(ModelManifest, LOCO_MANIFEST_MODEL)
LOCO_MANIFEST_STRUCT(LossManifest, LOCO_MANIFEST_LOSS)
LOCO_MANIFEST_STRUCT(TrainingManifest, LOCO_MANIFEST_TRAINING)
LOCO_MANIFEST_STRUCT(DatasetManifest, LOCO_MANIFEST_DATASET)
LOCO_MANIFEST_STRUCT(HardwareManifest, LOCO_MANIFEST_HARDWARE)

#undef LOCO_MANIFEST_STRUCT
#undef LOCO_MANIFEST_READ
#undef LOCO_MANIFEST_FIELD

/// The tables of a whole manifest (the JSON a train.so exports).
struct ConfigManifest {
  int64_t schema = 1;
  ModelManifest model;
  LossManifest loss;
  TrainingManifest training;
  DatasetManifest dataset;
  HardwareManifest hardware;

  /// Throws nlohmann's exceptions on a key of another type, and
  /// std::runtime_error on a schema newer than this runner's.
  static ConfigManifest fromJson(const nlohmann::json &manifest) {
    ConfigManifest m;
    auto table = [&](const char *key) {
      return manifest.is_object()
                 ? manifest.value(key, nlohmann::json::object())
                 : nlohmann::json::object();
    };
    if (manifest.is_object())
      m.schema = manifest.value("schema", int64_t(1));
    if (m.schema > LOCO_MANIFEST_SCHEMA)
      throw std::runtime_error(
          "its config tables have schema " + std::to_string(m.schema) +
          ", newer than this runner's (" +
          std::to_string(LOCO_MANIFEST_SCHEMA) + "); update locorun");
    m.model = ModelManifest::fromJson(table("model"));
    m.loss = LossManifest::fromJson(table("loss"));
    m.training = TrainingManifest::fromJson(table("training"));
    m.dataset = DatasetManifest::fromJson(table("dataset"));
    m.hardware = HardwareManifest::fromJson(table("hardware"));
    return m;
  }
};

} // namespace loco

#endif // LOCO_RUNTIME_ABI_MANIFEST_H
