// Helpers for the data tests: a temporary folder, and IDX / CIFAR-10 files written byte by byte.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include "data/dataset.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace cdat::data::testing {

using Bytes = std::vector<uint8_t>;

// A fresh folder under the system temp dir, removed with its contents at destruction.
class TempDir {
 public:
  TempDir() {
    static std::mt19937_64 rng(std::random_device{}());
    path_ = std::filesystem::temp_directory_path() / ("cdat_data_test_" + std::to_string(rng()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

inline void write_raw(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  if (!bytes.empty()) {
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
  }
  ASSERT_EQ(gzclose(f), Z_OK);
}

inline void put_be32(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v >> 24));
  b.push_back(static_cast<uint8_t>(v >> 16));
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

// IDX images: pixel (i, r, c) = (i * 7 + r * 3 + c) % 256.
inline Bytes idx_images(uint32_t n, uint32_t h, uint32_t w, uint32_t magic = 0x00000803) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, n);
  put_be32(b, h);
  put_be32(b, w);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t r = 0; r < h; ++r)
      for (uint32_t c = 0; c < w; ++c) b.push_back(static_cast<uint8_t>((i * 7 + r * 3 + c) % 256));
  return b;
}

// IDX labels: label i = i % 10 unless given.
inline Bytes idx_labels(uint32_t n, uint32_t magic = 0x00000801, const Bytes& labels = {}) {
  Bytes b;
  put_be32(b, magic);
  put_be32(b, n);
  for (uint32_t i = 0; i < n; ++i) b.push_back(labels.empty() ? static_cast<uint8_t>(i % 10) : labels.at(i));
  return b;
}

// CIFAR-10 records: label of record i = labels[i], pixel j of record i = (i + j) % 256.
inline Bytes cifar_records(const Bytes& labels) {
  Bytes b;
  for (size_t i = 0; i < labels.size(); ++i) {
    b.push_back(labels[i]);
    for (size_t j = 0; j < 3072; ++j) b.push_back(static_cast<uint8_t>((i + j) % 256));
  }
  return b;
}

// Runs f, expects a DataError whose message contains every one of `needles`.
template <class F>
void expect_data_error(F&& f, const std::vector<std::string>& needles) {
  try {
    f();
    ADD_FAILURE() << "expected a DataError";
  } catch (const DataError& e) {
    const std::string msg = e.what();
    for (const auto& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
  }
}

}  // namespace cdat::data::testing
