#include "data/gz_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

namespace cdat::data::detail {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

GzFile::GzFile(std::string path) : path_(std::move(path)) {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) fail(std::string("cannot open: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("is a directory, expected a file");
  errno = 0;
  file_ = gzopen(path_.c_str(), "rb");
  if (file_ == nullptr) fail(std::string("cannot open: ") + (errno ? std::strerror(errno) : "zlib error"));
  gzbuffer(file_, 1 << 17);
}

GzFile::~GzFile() {
  if (file_ != nullptr) gzclose(file_);
}

void GzFile::fail(const std::string& problem) const { throw DataError(file_error(path_, problem)); }

int64_t GzFile::read_some(uint8_t* dst, int64_t n) {
  int64_t done = 0;
  while (done < n) {
    const auto chunk = static_cast<unsigned>(std::min<int64_t>(n - done, 1 << 30));
    const int got = gzread(file_, dst + done, chunk);
    if (got < 0) {
      int code = 0;
      const char* msg = gzerror(file_, &code);
      fail(std::string("read error at byte ") + std::to_string(offset_ + done) + ": " +
           (code == Z_ERRNO ? std::strerror(errno) : msg));
    }
    if (got == 0) {
      // gzread returns 0 both at a clean end and at a truncated gzip stream; tell them apart.
      int code = 0;
      const char* msg = gzerror(file_, &code);
      if (code != Z_OK) {
        fail(std::string("corrupt or truncated compressed data at byte ") + std::to_string(offset_ + done) +
             ": " + msg);
      }
      break;
    }
    done += got;
  }
  offset_ += done;
  return done;
}

void GzFile::read_exact(uint8_t* dst, int64_t n, const std::string& what) {
  const int64_t start = offset_;
  const int64_t got = read_some(dst, n);
  if (got != n) {
    fail("truncated file: expected " + std::to_string(n) + " bytes of " + what + " at byte " +
         std::to_string(start) + ", got " + std::to_string(got));
  }
}

std::vector<uint8_t> GzFile::read_vector(int64_t n, const std::string& what) {
  std::vector<uint8_t> out;
  const int64_t start = offset_;
  // Chunks of 1 MiB doubling up to 64 MiB: a short file whose header claims gigabytes fails after
  // allocating (and zeroing) at most 1 MiB, while a real file needs only a few chunks.
  constexpr int64_t kMaxChunk = int64_t{64} << 20;
  int64_t chunk = int64_t{1} << 20;
  out.reserve(static_cast<size_t>(std::min(n, chunk)));
  while (static_cast<int64_t>(out.size()) < n) {
    const int64_t want = std::min(chunk, n - static_cast<int64_t>(out.size()));
    chunk = std::min(2 * chunk, kMaxChunk);
    const size_t old = out.size();
    out.resize(old + static_cast<size_t>(want));
    const int64_t got = read_some(out.data() + old, want);
    if (got != want) {
      fail("truncated file: expected " + std::to_string(n) + " bytes of " + what + " at byte " +
           std::to_string(start) + ", got " + std::to_string(static_cast<int64_t>(old) + got));
    }
  }
  return out;
}

void GzFile::expect_end() {
  uint8_t extra[4096];
  int64_t total = 0;
  int64_t got = 0;
  while ((got = read_some(extra, sizeof extra)) > 0) total += got;
  if (total > 0) {
    fail(std::to_string(total) + " unexpected trailing bytes after byte " + std::to_string(offset_ - total));
  }
}

std::vector<uint8_t> GzFile::read_all() {
  std::vector<uint8_t> out;
  // Chunks of 64 KiB doubling up to 16 MiB: small files stay cheap, large ones need few reads.
  int64_t chunk = int64_t{64} << 10;
  while (true) {
    const size_t old = out.size();
    out.resize(old + static_cast<size_t>(chunk));
    const int64_t got = read_some(out.data() + old, chunk);
    out.resize(old + static_cast<size_t>(got));
    if (got < chunk) break;
    chunk = std::min(2 * chunk, int64_t{16} << 20);
  }
  return out;
}

}  // namespace cdat::data::detail
