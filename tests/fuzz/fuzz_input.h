// The readers take paths, so a fuzz input is handed to them as an in-memory file (memfd_create) that
// any open() reaches as /proc/self/fd/N: no disk traffic, and the readers are fuzzed exactly as used.
#pragma once

#include <ATen/Parallel.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace cdat::fuzz {

inline std::string as_file(const uint8_t* data, size_t size) {
  static const int fd = [] {
    const int f = ::memfd_create("cdat_fuzz_input", 0);
    if (f < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    return f;
  }();
  if (::ftruncate(fd, 0) != 0 || (size > 0 && ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))) {
    std::perror("writing the fuzz input");
    std::abort();
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

// A broken invariant of a reader's result: report and crash, so that libFuzzer keeps the input.
#define CDAT_FUZZ_CHECK(condition)                                                    \
  do {                                                                                \
    if (!(condition)) {                                                               \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                   \
    }                                                                                 \
  } while (0)

}  // namespace cdat::fuzz

// One intra-op thread: the inputs are tiny, and thread-pool start-up per input would dominate.
// (Each fuzz target is one translation unit that includes this header once.)
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  return 0;
}
