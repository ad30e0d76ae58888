//===- StopSignals.cpp - SIGTERM and SIGINT end training cleanly ----------===//
//
// This file implements StopSignals.
//
//===----------------------------------------------------------------------===//

#include "runtime/train/StopSignals.h"

#include <csignal>
#include <utility>

using namespace loco;

namespace {
volatile std::sig_atomic_t stopSignal = 0;
extern "C" void onStopSignal(int signal) { stopSignal = signal; }
} // namespace

StopSignals::StopSignals() {
  stopSignal = 0;
  struct sigaction action{};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: a read or write in flight is resumed, not failed (EINTR).
  action.sa_flags = SA_RESETHAND | SA_RESTART;
  for (auto [signal, previous] :
       {std::pair{SIGTERM, &previousTerm}, std::pair{SIGINT, &previousInt}}) {
    sigaction(signal, nullptr, previous);
    // A signal the parent ignores (SIGINT of a background job) stays so.
    if (previous->sa_handler != SIG_IGN)
      sigaction(signal, &action, nullptr);
  }
}

StopSignals::~StopSignals() {
  sigaction(SIGTERM, &previousTerm, nullptr);
  sigaction(SIGINT, &previousInt, nullptr);
}

int StopSignals::caught() { return static_cast<int>(stopSignal); }
