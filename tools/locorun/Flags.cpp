//===- Flags.cpp - locorun's command-line values --------------------------===//
//
// This file implements the checked flag values of Flags.h.
//
//===----------------------------------------------------------------------===//

#include "tools/locorun/Flags.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>

using namespace loco;

void loco::usageError(const char *usage, const std::string &message) {
  std::fprintf(stderr, "locorun: error: %s\n%s", message.c_str(), usage);
  std::exit(1);
}

int64_t loco::parseCount(const char *usage, const std::string &option,
                         const std::string &value) {
  try {
    size_t used = 0;
    long long n = std::stoll(value, &used);
    if (used == value.size() && n >= 0)
      return n;
  } catch (const std::exception &) {
  }
  usageError(usage,
             option + " expects a non-negative integer, got '" + value + "'");
}

int64_t loco::parsePositive(const char *usage, const std::string &option,
                            const std::string &value) {
  int64_t n = parseCount(usage, option, value);
  if (n == 0)
    usageError(usage,
               option + " expects a positive integer, got '" + value + "'");
  return n;
}

double loco::parsePositiveReal(const char *usage, const std::string &option,
                               const std::string &value) {
  char *end = nullptr;
  double x = std::strtod(value.c_str(), &end);
  if (value.empty() || *end || !std::isfinite(x) || !(x > 0))
    usageError(usage,
               option + " expects a finite number > 0, got '" + value + "'");
  return x;
}
