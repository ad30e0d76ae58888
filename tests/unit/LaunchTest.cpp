//===- LaunchTest.cpp - Launcher detection for data parallelism -----------===//
//
// detectLaunch reads mpirun's, srun's and torchrun's environments, prefers
// MPI's when several are set (mpirun inside a Slurm allocation), and
// refuses a value that is not a number in range, naming the variable.
//
//===----------------------------------------------------------------------===//

#include "runtime/dist/Collective.h"
#include "runtime/session/Session.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

using namespace loco;

namespace {

/// Clears every launcher variable, sets the given ones, and restores the
/// environment afterwards.
class LaunchEnvironment : public ::testing::Test {
protected:
  void SetUp() override {
    for (const char *name : kNames) {
      const char *value = std::getenv(name);
      saved.emplace_back(name, value ? std::string(value) : std::string());
      present.push_back(value != nullptr);
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (size_t i = 0; i < saved.size(); ++i) {
      if (present[i])
        setenv(saved[i].first, saved[i].second.c_str(), 1);
      else
        unsetenv(saved[i].first);
    }
  }
  static constexpr const char *kNames[] = {"OMPI_COMM_WORLD_RANK",
                                           "OMPI_COMM_WORLD_SIZE",
                                           "OMPI_COMM_WORLD_LOCAL_RANK",
                                           "PMI_RANK",
                                           "PMI_SIZE",
                                           "MPI_LOCALRANKID",
                                           "SLURM_PROCID",
                                           "SLURM_STEP_NUM_TASKS",
                                           "SLURM_LOCALID",
                                           "RANK",
                                           "WORLD_SIZE",
                                           "LOCAL_RANK",
                                           "MASTER_ADDR",
                                           "MASTER_PORT"};
  std::vector<std::pair<const char *, std::string>> saved;
  std::vector<bool> present;
};

TEST_F(LaunchEnvironment, NoLauncherIsASingleProcess) {
  LaunchInfo info = detectLaunch();
  EXPECT_FALSE(info.launched());
  EXPECT_EQ(info.rank, 0);
  EXPECT_EQ(info.worldSize, 1);
  // A Slurm batch script without srun sets SLURM_PROCID but no step.
  setenv("SLURM_PROCID", "0", 1);
  EXPECT_FALSE(detectLaunch().launched());
}

TEST_F(LaunchEnvironment, OpenMpi) {
  setenv("OMPI_COMM_WORLD_RANK", "3", 1);
  setenv("OMPI_COMM_WORLD_SIZE", "8", 1);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1", 1);
  // Inside a Slurm allocation too: MPI's view wins.
  setenv("SLURM_PROCID", "0", 1);
  setenv("SLURM_STEP_NUM_TASKS", "1", 1);
  LaunchInfo info = detectLaunch();
  EXPECT_EQ(info.launcher, "mpirun");
  EXPECT_EQ(info.rank, 3);
  EXPECT_EQ(info.worldSize, 8);
  EXPECT_EQ(info.localRank, 1);
}

TEST_F(LaunchEnvironment, SrunAndTorchrun) {
  setenv("SLURM_PROCID", "5", 1);
  setenv("SLURM_STEP_NUM_TASKS", "16", 1);
  setenv("SLURM_LOCALID", "5", 1);
  LaunchInfo slurm = detectLaunch();
  EXPECT_EQ(slurm.launcher, "srun");
  EXPECT_EQ(slurm.rank, 5);
  EXPECT_EQ(slurm.worldSize, 16);
  unsetenv("SLURM_PROCID");
  unsetenv("SLURM_STEP_NUM_TASKS");
  unsetenv("SLURM_LOCALID");

  setenv("RANK", "1", 1);
  setenv("WORLD_SIZE", "2", 1);
  setenv("MASTER_ADDR", "10.0.0.1", 1);
  setenv("MASTER_PORT", "29500", 1);
  LaunchInfo torch = detectLaunch();
  EXPECT_EQ(torch.launcher, "torchrun");
  EXPECT_EQ(torch.rank, 1);
  EXPECT_EQ(torch.localRank, 1); // LOCAL_RANK unset: the rank
  EXPECT_EQ(torch.masterAddr, "10.0.0.1");
  EXPECT_EQ(torch.masterPort, 29500);
}

TEST_F(LaunchEnvironment, BadValuesNameTheVariable) {
  auto expectError = [](const std::string &needle) {
    try {
      detectLaunch();
      ADD_FAILURE() << "no error; expected one naming " << needle;
    } catch (const RunError &e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
          << e.what();
    }
  };
  setenv("RANK", "2", 1);
  setenv("WORLD_SIZE", "2", 1); // rank out of range
  expectError("RANK='2' is not a number in [0, 1]");
  setenv("RANK", "x", 1);
  expectError("RANK='x'");
  setenv("RANK", "0", 1);
  setenv("WORLD_SIZE", "0", 1);
  expectError("WORLD_SIZE='0'");
  setenv("WORLD_SIZE", "2", 1);
  setenv("MASTER_PORT", "70000", 1);
  expectError("MASTER_PORT='70000'");
}

} // namespace
