// The full-batch GD + CDAT (σ = 2) loop with cdat::TunedOptimizer, the C++ side of bench/peer/cdat_loop.py:
// the same model, data, math and step count. Prints "ms_per_step <float>", the final loss, and the peak
// resident memory of the training loop alone ("--tuner gd" runs the same loop with a constant lr, for the
// CDAT / GD memory ratio). "--defaults 1": the library's default options (curvature, trust check) with
// full_batch, the step torchcdat's defaults take (python/bench/overhead.py --defaults).
#include <cdat/cdat.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "data/idx.h"

namespace {

// A field of /proc/self/status in MiB (VmRSS: current, VmHWM: peak since the last reset).
double status_mib(const std::string& field) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::atof(line.c_str() + field.size() + 1) / 1024.0;
  }
  return 0.0;
}

// Resets VmHWM to the current RSS (Linux ≥ 4.0), so the peak measured afterwards is the loop's own.
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return 1e3 * static_cast<double>(t.tv_sec) + 1e-6 * static_cast<double>(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t width = 128, samples = 1024, steps = 50, threads = 0, defaults = 0;
  std::string tuner = "cdat";
  for (int i = 1; i + 1 < argc; i += 2) {
    const int64_t value = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--tuner")) tuner = argv[i + 1];
    else if (!std::strcmp(argv[i], "--width")) width = value;
    else if (!std::strcmp(argv[i], "--samples")) samples = value;
    else if (!std::strcmp(argv[i], "--steps")) steps = value;
    else if (!std::strcmp(argv[i], "--threads")) threads = value;
    else if (!std::strcmp(argv[i], "--defaults")) defaults = value;
    else return std::fprintf(stderr, "usage: peer_loop --width W --samples N --steps S --threads T --tuner cdat|gd --defaults 0|1\n"), 2;
  }
  if (threads > 0) at::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(0);
  torch::Tensor x, y;
  {
    auto data = cdat::data::load_fashion_mnist("", cdat::data::Split::Train);
    x = data.inputs.narrow(0, 0, samples).reshape({samples, 784});
    x = (x - x.mean(0)) / (x.std(0) + 1e-2);
    y = data.labels.narrow(0, 0, samples).clone();
  }
  torch::nn::Sequential model(torch::nn::Linear(784, width), torch::nn::ReLU(), torch::nn::Linear(width, width),
                              torch::nn::ReLU(), torch::nn::Linear(width, 10));
  std::unique_ptr<cdat::Tuner> step_size;
  if (tuner == "gd") {
    step_size = std::make_unique<cdat::ConstantTuner>(0.05);
  } else {
    step_size = std::make_unique<cdat::CdatTuner>();
  }
  cdat::TunedOptimizerOptions options;
  if (defaults) {
    options.full_batch = true;  // the library's defaults, as torchcdat.CDAT(..., full_batch=True)
  } else {
    options.curvature_mode = "exact";  // the curvature of bench/peer/cdat_loop.py, the loop compared with
  }
  cdat::TunedOptimizer optimizer(model->parameters(), std::make_unique<cdat::GradientDescent>(), std::move(step_size),
                                 options);
  auto closure = [&] { return torch::nn::functional::cross_entropy(model->forward(x), y); };
  const double baseline_mib = status_mib("VmRSS");
  reset_peak_rss();
  for (int i = 0; i < 3; ++i) optimizer.step(closure);  // warm-up
  // Per step: wall time, and this process's CPU time (all its threads), whose median resists other load.
  std::vector<double> wall_ms, cpu_ms;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) {
    const auto wall0 = std::chrono::steady_clock::now();
    const double cpu0 = process_cpu_ms();
    optimizer.step(closure);
    cpu_ms.push_back(process_cpu_ms() - cpu0);
    wall_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - wall0).count());
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("ms_per_step %.3f\nfinal_loss %.6f\n", ms / steps, optimizer.last_stats().loss);
  std::printf("median_ms_per_step %.3f\nmedian_cpu_ms_per_step %.3f\n", median(wall_ms), median(cpu_ms));
  std::printf("baseline_rss_mib %.1f\npeak_rss_mib %.1f\nloop_peak_above_baseline_mib %.1f\n", baseline_mib,
              status_mib("VmHWM"), status_mib("VmHWM") - baseline_mib);
  return 0;
}
