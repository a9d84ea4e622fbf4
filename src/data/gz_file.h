// Internal to the data module: whole-file and exact-size reads of raw or gzip-compressed files
// through zlib (gzread reads uncompressed files transparently).
#pragma once

#include "data/dataset.h"

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cdat::data::detail {

class GzFile {
 public:
  explicit GzFile(std::string path);
  ~GzFile();
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Reads up to n bytes into dst; returns the count read (< n only at the end of the data).
  // Throws DataError naming the file on a read error (corrupt or truncated gzip stream).
  int64_t read_some(uint8_t* dst, int64_t n);
  // Reads exactly n bytes or throws DataError "truncated: expected … bytes of <what>, got …".
  void read_exact(uint8_t* dst, int64_t n, const std::string& what);
  // Reads exactly n bytes into a vector, growing it as data arrives (a corrupt header claiming a huge
  // size cannot make us allocate it up front).
  std::vector<uint8_t> read_vector(int64_t n, const std::string& what);
  // Throws DataError if any data is left.
  void expect_end();
  // Everything left.
  std::vector<uint8_t> read_all();

  const std::string& path() const { return path_; }
  // "<path>: <problem>" as a DataError.
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  std::string path_;
  gzFile file_ = nullptr;
  int64_t offset_ = 0;  // uncompressed bytes consumed
};

inline std::string file_error(const std::string& path, const std::string& problem) {
  return "cdat data: " + path + ": " + problem;
}

bool file_exists(const std::string& path);

}  // namespace cdat::data::detail
