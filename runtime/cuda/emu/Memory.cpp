//===- Memory.cpp - Device allocations with guard pages and fault reports -===//
//
// This file implements the emulated device's memory. Every allocation is
// its own mapping: reserved without committing (MAP_NORESERVE, so a dry
// run reserves a 24 GiB arena untouched), 256-byte aligned, placed so that
// its end (rounded to 256 bytes) meets an inaccessible guard page, with
// another before its first page. A kernel, copy or library call that runs
// past an allocation faults there, and the fault handler reports the
// kernel, block and thread (or the call) and how far past which allocation
// the access went before the process stops.
//
// What this cannot see: an access inside the rounding slack of an
// allocation, or inside another live buffer (the arena is one allocation,
// as it is on a GPU).
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/emu/Emulator.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

using namespace loco::emu;

namespace {

constexpr uint64_t kPage = 4096;

struct Allocation {
  char *base;     ///< what cudaMalloc returned
  uint64_t bytes; ///< what was asked for
  uint64_t rounded;
  char *map; ///< the mapping, guard pages included
  uint64_t mapBytes;
};

std::mutex mutex;
std::map<uintptr_t, Allocation> allocations; // by base
uint64_t inUse = 0;
thread_local const char *activity = nullptr;
struct sigaction previousSegv, previousBus;

/// The allocation whose mapping (guards included) holds `address`, or null.
const Allocation *mappingOf(const void *address) {
  auto a = reinterpret_cast<uintptr_t>(address);
  for (const auto &[base, alloc] : allocations)
    if (a >= reinterpret_cast<uintptr_t>(alloc.map) &&
        a < reinterpret_cast<uintptr_t>(alloc.map) + alloc.mapBytes)
      return &alloc;
  return nullptr;
}

const Allocation *containing(const void *pointer) {
  auto p = reinterpret_cast<uintptr_t>(pointer);
  auto it = allocations.upper_bound(p);
  if (it == allocations.begin())
    return nullptr;
  --it;
  const Allocation &alloc = it->second;
  return p < it->first + alloc.rounded ? &alloc : nullptr;
}

void onFault(int signal, siginfo_t *info, void *) {
  struct sigaction &previous = signal == SIGBUS ? previousBus : previousSegv;
  char *address = static_cast<char *>(info->si_addr);
  std::string where;
  // A fault outside the emulation's own work is not the emulation's to
  // report: hand it on.
  std::string kernel = currentKernelDescription();
  if (!kernel.empty())
    where = kernel;
  else if (activity)
    where = activity;
  if (!where.empty()) {
    std::string what = "an address that is not device memory";
    if (const Allocation *alloc = mappingOf(address)) {
      char text[200];
      if (address >= alloc->base)
        std::snprintf(text, sizeof(text),
                      "%llu bytes past the end of an allocation of %llu bytes",
                      static_cast<unsigned long long>(address - alloc->base -
                                                      alloc->bytes),
                      static_cast<unsigned long long>(alloc->bytes));
      else
        std::snprintf(text, sizeof(text),
                      "%llu bytes before an allocation of %llu bytes",
                      static_cast<unsigned long long>(alloc->base - address),
                      static_cast<unsigned long long>(alloc->bytes));
      what = text;
    }
    char message[1024];
    int length = std::snprintf(
        message, sizeof(message),
        "loco_cuda_emu: illegal address (CUDA: cudaErrorIllegalAddress) in "
        "%s: %p is %s\n",
        where.c_str(), static_cast<void *>(address), what.c_str());
    if (length > 0)
      (void)!write(STDERR_FILENO, message,
                   std::min<size_t>(length, sizeof(message) - 1));
  }
  sigaction(signal, &previous, nullptr);
}

} // namespace

void loco::emu::installFaultHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action{};
    action.sa_sigaction = onFault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previousSegv);
    sigaction(SIGBUS, &action, &previousBus);
  });
  // The handler runs on an alternate stack, so that a fiber's stack
  // overflow is reported too.
  static thread_local bool altStack = false;
  if (!altStack) {
    static thread_local char stack[64 * 1024];
    stack_t alt{};
    alt.ss_sp = stack;
    alt.ss_size = sizeof(stack);
    sigaltstack(&alt, nullptr);
    altStack = true;
  }
}

void *loco::emu::allocate(size_t bytes) {
  installFaultHandler();
  // A size beyond the device (a negative one cast, say) fails before any
  // rounding can wrap.
  if (bytes > kDeviceBytes)
    return nullptr;
  uint64_t rounded = (std::max<uint64_t>(bytes, 1) + 255) / 256 * 256;
  uint64_t body = (rounded + kPage - 1) / kPage * kPage;
  std::lock_guard<std::mutex> lock(mutex);
  if (rounded > kDeviceBytes - inUse)
    return nullptr;
  uint64_t mapBytes = body + 2 * kPage;
  void *map = mmap(nullptr, mapBytes, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (map == MAP_FAILED)
    return nullptr;
  char *start = static_cast<char *>(map) + kPage;
  if (mprotect(start, body, PROT_READ | PROT_WRITE) != 0) {
    munmap(map, mapBytes);
    return nullptr;
  }
  char *base = start + body - rounded;
  allocations[reinterpret_cast<uintptr_t>(base)] = {
      base, bytes, rounded, static_cast<char *>(map), mapBytes};
  inUse += rounded;
  // New device memory holds garbage on a GPU (a pool hands back what a
  // kernel left): here NaN bytes, so that reading scratch never written
  // shows. A dry run leaves the reservation untouched.
  if (!dryRun())
    std::memset(base, 0xff, rounded);
  return base;
}

bool loco::emu::release(void *pointer) {
  std::lock_guard<std::mutex> lock(mutex);
  auto it = allocations.find(reinterpret_cast<uintptr_t>(pointer));
  if (it == allocations.end())
    return false;
  munmap(it->second.map, it->second.mapBytes);
  inUse -= it->second.rounded;
  allocations.erase(it);
  return true;
}

bool loco::emu::isDevicePointer(const void *pointer) {
  std::lock_guard<std::mutex> lock(mutex);
  return containing(pointer) != nullptr;
}

void loco::emu::requireDeviceRange(const char *call, const std::string &what,
                                   const void *pointer, uint64_t bytes) {
  std::string why;
  {
    std::lock_guard<std::mutex> lock(mutex);
    const Allocation *alloc = containing(pointer);
    uint64_t offset =
        alloc ? static_cast<const char *>(pointer) - alloc->base : 0;
    if (!alloc)
      why = "is not inside a live device allocation";
    else if (bytes > alloc->bytes || offset > alloc->bytes - bytes)
      why = "runs " + std::to_string(offset + bytes - alloc->bytes) +
            " bytes past the end of an allocation of " +
            std::to_string(alloc->bytes) + " bytes";
  }
  if (why.empty())
    return;
  char where[32];
  std::snprintf(where, sizeof(where), "%p", pointer);
  deviceFault(std::string(call) + ": " + what + " (" + std::to_string(bytes) +
              " bytes at " + where + ") " + why);
}

uint64_t loco::emu::bytesInUse() {
  std::lock_guard<std::mutex> lock(mutex);
  return inUse;
}

void loco::emu::setActivity(const char *what) { activity = what; }

void loco::emu::deviceFault(const std::string &message) {
  std::fprintf(stderr, "loco_cuda_emu: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}
