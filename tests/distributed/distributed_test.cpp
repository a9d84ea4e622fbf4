// Data-parallel CDAT on two ranks (c10d + Gloo) against the single-process run, and the failure modes.
// The test binary is its own launcher: without RANK in the environment it runs the reference in-process,
// starts two copies of itself as ranks 0 and 1 (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), waits, and
// compares what rank 0 wrote. Exit code 0 when every check holds.
#include <cdat/cdat.h>

#include "distributed/gloo_collective.h"
#include "train/process.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using cdat::TensorList;

namespace {

constexpr int64_t kExamples = 256;
constexpr int64_t kSteps = 50;
constexpr int kWorld = 2;

struct Scenario {
  std::string name;
  std::string direction;
  std::string tuner;
  int64_t batch = 0;        // 0: full batch
  double ema_beta = 0.0;
  int nan_rank = -1;        // this rank's closure returns NaN at step kFaultStep
  int killed_rank = -1;     // this rank kills itself at step kFaultStep
  // Steps compared with the single-process run. Adam + CDAT (σ = 2) on this problem is chaotic: the two
  // runs' relative difference grows ~10× a step from 2e-16 (step 2) to 4e-14 (step 8), 8e-11 (step 11),
  // 2e-7 (step 13) and O(1) by step 19, so 1e-9 holds for its first 10 steps only (docs/distributed.md).
  int64_t compared_steps = kSteps;
};
constexpr int64_t kFaultStep = 7;

const std::vector<Scenario>& scenarios() {
  static const std::vector<Scenario> all = {
      {"gd-cdat", "gd", "cdat", 0, 0.0, -1, -1, kSteps},
      {"adam-cdat", "adam", "cdat", 0, 0.0, -1, -1, 10},
      {"gd-linesearch", "gd", "linesearch", 0, 0.0, -1, -1, kSteps},
      {"minibatch-gd-cdat", "gd", "cdat", 64, 0.9, -1, -1, kSteps},
      {"nan-on-rank-1", "gd", "cdat", 0, 0.0, 1, -1, kSteps},
      {"rank-1-killed", "gd", "cdat", 0, 0.0, -1, 1, kSteps},
  };
  return all;
}

const Scenario& scenario_named(const std::string& name) {
  for (const auto& s : scenarios()) {
    if (s.name == name) return s;
  }
  throw std::invalid_argument("unknown scenario " + name);
}

// A float64 tanh MLP 8 → 16 → 3 with cross-entropy on fixed synthetic data (the same on every rank).
struct Problem {
  torch::Tensor x, y;
  TensorList params;
  Problem() {
    torch::manual_seed(7);
    x = torch::randn({kExamples, 8}, torch::kFloat64);
    y = x.matmul(torch::randn({8, 3}, torch::kFloat64)).argmax(1);  // learnable labels: a linear teacher
    for (auto shape : std::vector<std::vector<int64_t>>{{8, 16}, {16}, {16, 3}, {3}}) {
      params.push_back((torch::randn(shape, torch::kFloat64) * 0.3).requires_grad_());
    }
  }
  torch::Tensor mean_loss(const torch::Tensor& idx) const {
    const auto h = torch::tanh(x.index_select(0, idx).matmul(params[0]) + params[1]);
    return torch::nn::functional::cross_entropy(h.matmul(params[2]) + params[3], y.index_select(0, idx));
  }
};

// The global batch of a step: every example (full batch) or a seeded permutation's prefix; rank r of
// `world` takes the r-th contiguous part, so the ranks' union is exactly the single-process batch.
torch::Tensor shard_indices(const Scenario& s, int64_t step, int rank, int world) {
  torch::Tensor global = torch::arange(kExamples, torch::kInt64);
  if (s.batch > 0) {
    auto gen = at::detail::createCPUGenerator(static_cast<uint64_t>(1000 + step));
    global = torch::randperm(kExamples, gen, torch::TensorOptions().dtype(torch::kInt64)).slice(0, 0, s.batch);
  }
  const int64_t n = global.size(0);
  return global.slice(0, n * rank / world, n * (rank + 1) / world);
}

struct Trace {
  std::vector<double> loss, lr, curvature;
  double sharpness = 0.0;
  std::string state;  // serialized optimizer state and parameters (bit-exact checksum)
  std::string failure;
};

cdat::DataParallel data_parallel_of(std::shared_ptr<cdat::Collective> collective, int64_t shard, int64_t global) {
  cdat::DataParallel dp;
  dp.collective = std::move(collective);
  dp.shard_weight = static_cast<double>(shard) / static_cast<double>(global);
  return dp;
}

Trace train(const Scenario& s, std::shared_ptr<cdat::Collective> collective) {
  const int rank = collective ? collective->rank() : 0;
  const int world = collective ? collective->world_size() : 1;
  Problem problem;
  cdat::TunerOptions tuner_options;
  tuner_options.cdat.ema_beta = s.ema_beta;
  cdat::TunedOptimizerOptions options;
  // Exact curvature: its reductions over ranks round within the tolerance of one process's. The default parabola
  // takes differences of loss values, which amplify that rounding by a factor the run sets (|f|/(h²·uᵀHu)).
  options.curvature_mode = "exact";
  options.measure_curvature = true;
  const int64_t global = s.batch > 0 ? s.batch : kExamples;
  const int64_t shard = shard_indices(s, 0, rank, world).size(0);
  options.data_parallel = data_parallel_of(collective, shard, global);
  cdat::TunedOptimizer optimizer(problem.params, cdat::make_direction(s.direction),
                                 cdat::make_tuner(s.tuner, tuner_options), options);
  Trace trace;
  try {
    for (int64_t step = 0; step < kSteps; ++step) {
      if (step == kFaultStep && rank == s.killed_rank) std::raise(SIGKILL);
      const torch::Tensor idx = shard_indices(s, step, rank, world);
      const bool poisoned = step == kFaultStep && rank == s.nan_rank;
      optimizer.step([&] {
        const torch::Tensor loss = problem.mean_loss(idx);
        return poisoned ? loss * std::numeric_limits<double>::quiet_NaN() : loss;
      });
      trace.loss.push_back(optimizer.last_stats().loss);
      trace.lr.push_back(optimizer.last_stats().lr);
      trace.curvature.push_back(optimizer.last_stats().curvature);
    }
  } catch (const std::exception& e) {
    trace.failure = e.what();
    return trace;
  }
  // Sharpness on the full training set with the all-reduced Hessian-vector products, one Lanczos seed.
  const torch::Tensor all = torch::arange(kExamples * rank / world, kExamples * (rank + 1) / world, torch::kInt64);
  cdat::HessianOperator hessian(problem.params, [&] { return problem.mean_loss(all); },
                                data_parallel_of(collective, all.size(0), kExamples));
  cdat::EigenOptions eigen;
  eigen.iterations = 10;
  trace.sharpness = cdat::lanczos(hessian.as_operator(), cdat::flatten(problem.params).detach(), eigen).eigenvalue;
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  archive.write("params", cdat::flatten(problem.params).detach());
  std::ostringstream bytes;
  archive.save_to(bytes);
  trace.state = std::to_string(std::hash<std::string>{}(bytes.str()));
  return trace;
}

void write_trace(const Trace& t, const std::string& path) {
  std::ofstream out(path);
  out.precision(17);
  out << "failure " << (t.failure.empty() ? "none" : t.failure) << "\n";
  out << "sharpness " << t.sharpness << "\nstate " << (t.state.empty() ? "none" : t.state) << "\n";
  for (size_t i = 0; i < t.loss.size(); ++i) out << t.loss[i] << " " << t.lr[i] << " " << t.curvature[i] << "\n";
}

Trace read_trace(const std::string& path) {
  std::ifstream in(path);
  Trace t;
  std::string word;
  in >> word;
  std::getline(in >> std::ws, t.failure);
  if (t.failure == "none") t.failure.clear();
  in >> word >> t.sharpness >> word >> t.state;
  if (t.state == "none") t.state.clear();
  double loss = 0, lr = 0, curvature = 0;
  while (in >> loss >> lr >> curvature) {
    t.loss.push_back(loss);
    t.lr.push_back(lr);
    t.curvature.push_back(curvature);
  }
  return t;
}

int rank_main(const std::string& scenario, const std::string& out_prefix) {
  const auto where = cdat::distributed::rendezvous_from_environment();
  auto collective = cdat::distributed::connect_gloo(where, std::chrono::seconds(20));
  const Trace trace = train(scenario_named(scenario), collective);
  write_trace(trace, out_prefix + "." + std::to_string(where.rank));
  if (!trace.failure.empty()) {
    std::cerr << "rank " << where.rank << ": " << trace.failure << "\n";
    return 1;
  }
  return 0;
}

// Starts kWorld ranks of this binary on `scenario`, returns their exit codes.
std::vector<int> launch(const std::string& self, const std::string& scenario, const std::string& out_prefix) {
  const int port = cdat::distributed::free_local_port();
  std::vector<int> pids;
  for (int r = 0; r < kWorld; ++r) {
    pids.push_back(cdat::train::start_process(
        {self, scenario, out_prefix},
        {"RANK=" + std::to_string(r), "WORLD_SIZE=" + std::to_string(kWorld), "MASTER_ADDR=127.0.0.1",
         "MASTER_PORT=" + std::to_string(port), "OMP_NUM_THREADS=1"}));
  }
  std::vector<int> codes;
  for (int pid : pids) codes.push_back(cdat::train::wait_process(pid));
  return codes;
}

double relative_difference(double a, double b) {
  if (a == b) return 0.0;
  return std::abs(a - b) / std::max(std::abs(a), std::abs(b));
}

struct Checker {
  int failures = 0;
  void expect(bool ok, const std::string& what) {
    std::cout << (ok ? "ok   " : "FAIL ") << what << "\n";
    failures += ok ? 0 : 1;
  }
};

// Rank 0's trace equals the single-process one to 1e-9 relative (loss, lr, curvature per step; sharpness).
void check_equal_to_reference(Checker& check, const Scenario& s, const Trace& reference, const Trace& rank0,
                              const Trace& rank1) {
  check.expect(rank0.failure.empty() && rank1.failure.empty(), s.name + ": both ranks finished " + rank0.failure + rank1.failure);
  check.expect(rank0.loss.size() == reference.loss.size(), s.name + ": " + std::to_string(rank0.loss.size()) + " steps");
  if (rank0.loss.size() != reference.loss.size()) return;
  double worst = 0.0;
  for (size_t i = 0; i < static_cast<size_t>(s.compared_steps); ++i) {
    const double here = std::max({relative_difference(rank0.loss[i], reference.loss[i]),
                                  relative_difference(rank0.lr[i], reference.lr[i]),
                                  relative_difference(rank0.curvature[i], reference.curvature[i])});
    if (std::getenv("CDAT_TEST_VERBOSE")) std::cout << "     step " << i << " relative difference " << here << "\n";
    if (here > 1e-9 && worst <= 1e-9) {
      std::cout << "     step " << i << ": 2 ranks loss " << rank0.loss[i] << " lr " << rank0.lr[i] << " curvature "
                << rank0.curvature[i] << "; 1 process loss " << reference.loss[i] << " lr " << reference.lr[i]
                << " curvature " << reference.curvature[i] << "\n";
    }
    worst = std::max(worst, here);
  }
  std::ostringstream msg;
  msg << s.name << ": max relative difference of loss/lr/curvature over " << s.compared_steps << " steps " << worst
      << " <= 1e-9";
  check.expect(worst <= 1e-9, msg.str());
  if (s.compared_steps < kSteps) return;  // the end points differ (see Scenario::compared_steps)
  std::ostringstream sharp;
  sharp << s.name << ": sharpness " << rank0.sharpness << " vs " << reference.sharpness;
  check.expect(relative_difference(rank0.sharpness, reference.sharpness) <= 1e-9, sharp.str());
  check.expect(rank0.state == rank1.state && !rank0.state.empty(), s.name + ": optimizer state and parameters bit-identical on both ranks");
}

int launcher_main(const std::string& self) {
  at::set_num_threads(1);
  const fs::path dir = fs::temp_directory_path() / ("cdat-distributed-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  Checker check;
  for (const auto& s : scenarios()) {
    const std::string prefix = (dir / s.name).string();
    const auto started = std::chrono::steady_clock::now();
    const std::vector<int> codes = launch(self, s.name, prefix);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (s.killed_rank >= 0) {
      check.expect(codes[1] == 128 + SIGKILL, s.name + ": rank 1 was killed");
      check.expect(codes[0] != 0, s.name + ": rank 0 exits non-zero (" + std::to_string(codes[0]) + ") after " +
                                      std::to_string(seconds) + " s");
      const Trace rank0 = read_trace(prefix + ".0");
      check.expect(rank0.failure.find("lost") != std::string::npos, s.name + ": rank 0 says: " + rank0.failure);
      continue;
    }
    const Trace rank0 = read_trace(prefix + ".0"), rank1 = read_trace(prefix + ".1");
    if (s.nan_rank >= 0) {
      check.expect(codes[0] != 0 && codes[1] != 0, s.name + ": both ranks exit non-zero");
      check.expect(rank0.failure.find("not finite") != std::string::npos &&
                       rank1.failure.find("not finite") != std::string::npos &&
                       rank0.loss.size() == static_cast<size_t>(kFaultStep) && rank1.loss.size() == rank0.loss.size(),
                   s.name + ": both ranks throw NonFiniteError at step " + std::to_string(kFaultStep) + ": rank 0 after " +
                       std::to_string(rank0.loss.size()) + " steps: " + rank0.failure + "; rank 1 after " +
                       std::to_string(rank1.loss.size()) + " steps: " + rank1.failure);
      continue;
    }
    check.expect(codes[0] == 0 && codes[1] == 0, s.name + ": both ranks exit 0");
    check_equal_to_reference(check, s, train(s, nullptr), rank0, rank1);
  }
  fs::remove_all(dir);
  std::cout << (check.failures == 0 ? "all checks passed\n" : std::to_string(check.failures) + " checks failed\n");
  return check.failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (cdat::distributed::environment_has_rank()) {
      at::set_num_threads(1);
      if (argc != 3) throw std::invalid_argument("usage as a rank: distributed_test SCENARIO OUT_PREFIX");
      return rank_main(argv[1], argv[2]);
    }
    return launcher_main(fs::read_symlink("/proc/self/exe").string());
  } catch (const std::exception& e) {
    std::cerr << "distributed_test: " << e.what() << "\n";
    return 2;
  }
}
