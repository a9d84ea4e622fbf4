// The curvature estimates (secant, parabola, …) against the exact uᵀHu, and what each does to training
// (issues 5 and 12).
//
// For every σ in --sigmas and EMA β in --emas, trains full-batch GD + CDAT on a Fashion-MNIST subset once
// per curvature mode in --modes, from the same initialisation. Along each trajectory it computes, at every
// step, the exact uᵀHu (double backward on the step's point) and compares it with the curvature the mode
// gave the tuner (StepStats::curvature): their relative disagreement |estimate − exact| / |exact| (median,
// 90th percentile), their Pearson correlation, the steps where the parabola fell back to exact, and the
// final and best training loss of the run (or the step where it diverged).
//
//   secant_accuracy [--steps 500] [--train-size 2048] [--width 128] [--depth 2] [--activation tanh]
//                   [--loss mse] [--sigmas 1,2] [--emas 0,0.9] [--seed 0] [--dtype float32]
//                   [--modes exact,secant,parabola,parabola-central] [--curvature-every 1]
//
// The defaults are `cdat train`'s: MLP 784-128-128-10 (tanh), MSE, 2048 images. Only GD is supported:
// there u_t = −g_t, so the exact value can be computed before the optimizer takes the step.
#include <cdat/cdat.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/idx.h"
#include "models/loss.h"
#include "models/model.h"

namespace {

using Args = std::map<std::string, std::string>;

Args parse_args(int argc, char** argv) {
  Args args = {{"steps", "500"}, {"train-size", "2048"}, {"width", "128"},   {"depth", "2"},     {"activation", "tanh"},
               {"loss", "mse"},  {"sigmas", "1,2"},      {"emas", "0,0.9"}, {"seed", "0"},
               {"dtype", "float32"}, {"modes", "exact,secant,parabola,parabola-central"}, {"curvature-every", "1"}};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || !args.count(key.substr(2))) throw std::invalid_argument("unknown flag " + key);
    args[key.substr(2)] = argv[i + 1];
  }
  return args;
}

std::vector<std::string> items(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

std::vector<double> numbers(const std::string& list) {
  std::vector<double> out;
  for (const auto& item : items(list)) out.push_back(std::stod(item));
  return out;
}

// A --modes entry as optimizer options (the names of `cdat train --curvature-mode`; the optimizer refuses
// an unregistered one, listing the valid names).
cdat::TunedOptimizerOptions curvature_options(const std::string& mode, int64_t curvature_every) {
  cdat::TunedOptimizerOptions o;
  o.curvature_every = curvature_every;
  o.curvature_mode = mode;
  return o;
}

struct Problem {
  cdat::data::Dataset train;
  cdat::models::ModelConfig model;
  cdat::models::LossKind loss;
  torch::Dtype dtype = torch::kFloat32;
};

Problem make_problem(const Args& a) {
  Problem p;
  auto data = cdat::data::load_fashion_mnist(cdat::data::default_fashion_mnist_dir(), cdat::data::Split::Train);
  p.train = cdat::data::balanced_subset(data, std::stoll(a.at("train-size")), std::stoull(a.at("seed")));
  p.train.inputs = cdat::data::Standardizer::fit(p.train.inputs).apply(p.train.inputs);
  p.model.input_shape.assign(p.train.inputs.sizes().begin() + 1, p.train.inputs.sizes().end());
  p.model.num_outputs = p.train.num_classes;
  p.model.width = std::stoll(a.at("width"));
  p.model.depth = std::stoll(a.at("depth"));
  p.model.activation = a.at("activation");
  p.loss = cdat::models::parse_loss(a.at("loss"));
  p.dtype = a.at("dtype") == "float64" ? torch::kFloat64 : torch::kFloat32;
  p.train.inputs = p.train.inputs.to(p.dtype);
  return p;
}

struct RunResult {
  std::vector<double> exact, estimate;  // per step: double backward, and what the mode gave the tuner
  int fallbacks = 0;                    // parabola steps measured exactly instead
  double final_loss = std::nan(""), best_loss = INFINITY;
  int diverged_at = -1;
};

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  if (x.size() < 2) return std::nan("");
  auto tx = torch::tensor(x, torch::kFloat64), ty = torch::tensor(y, torch::kFloat64);
  tx = tx - tx.mean();
  ty = ty - ty.mean();
  return (tx.dot(ty) / (tx.norm() * ty.norm())).item<double>();
}

// One training run; at each step the exact uᵀHu at the step's point and the curvature the mode used.
RunResult train(const Problem& p, const cdat::CdatOptions& tuning, const cdat::TunedOptimizerOptions& options,
                int steps) {
  torch::manual_seed(0);
  auto model = cdat::models::make_model(p.model);
  model->to(p.dtype);
  auto params = model->parameters();
  auto closure = [&] { return cdat::models::compute_loss(p.loss, model->forward(p.train.inputs), p.train.labels); };
  cdat::TunedOptimizer optimizer(params, std::make_unique<cdat::GradientDescent>(),
                                 std::make_unique<cdat::CdatTuner>(tuning), options);
  RunResult r;
  double initial_loss = 0.0;
  for (int t = 0; t < steps; ++t) {
    cdat::Objective objective(params, closure);
    objective.evaluate(/*keep_graph_for_curvature=*/true);
    cdat::TensorList u = cdat::clone_detached(objective.gradient());
    for (auto& x : u) x.neg_();
    const double exact = objective.curvature(u);
    try {
      optimizer.step(closure);
    } catch (const cdat::NonFiniteError&) {
      r.diverged_at = t;
      break;
    }
    const auto& s = optimizer.last_stats();
    if (t == 0) initial_loss = s.loss;
    r.exact.push_back(exact);
    r.estimate.push_back(s.curvature);
    if (s.curvature_fallback) ++r.fallbacks;
    r.final_loss = s.loss;
    r.best_loss = std::min(r.best_loss, s.loss);
    if (!(s.loss < 10.0 * initial_loss)) {
      r.diverged_at = t;
      break;
    }
  }
  return r;
}

void print_row(const std::string& mode, const cdat::CdatOptions& o, const RunResult& r) {
  std::vector<double> rel;
  for (size_t i = 0; i < r.exact.size(); ++i) rel.push_back(std::abs(r.estimate[i] - r.exact[i]) / std::abs(r.exact[i]));
  std::printf("| %-16s | %.0f | %.2f | %10.5g | %10.5g | %8s | %5zu | %4d | %9.2e | %9.2e | %6.3f |\n", mode.c_str(),
              o.sigma, o.ema_beta, r.final_loss, r.best_loss,
              r.diverged_at < 0 ? "no" : std::to_string(r.diverged_at).c_str(), r.exact.size(), r.fallbacks,
              quantile(rel, 0.5), quantile(rel, 0.9), pearson(r.exact, r.estimate));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  const Problem p = make_problem(a);
  const int steps = std::stoi(a.at("steps"));
  const int64_t curvature_every = std::stoll(a.at("curvature-every"));
  std::printf("GD + CDAT, %d steps, %lld images, MLP width %s depth %s %s, loss %s, %s, curvature every %lld, "
              "torch threads %d\n",
              steps, static_cast<long long>(p.train.size()), a.at("width").c_str(), a.at("depth").c_str(),
              a.at("activation").c_str(), a.at("loss").c_str(), a.at("dtype").c_str(),
              static_cast<long long>(curvature_every), at::get_num_threads());
  std::printf("| mode | σ | EMA β | final loss | best loss | diverged at | steps compared | fallbacks | median rel. diff | "
              "p90 rel. diff | corr. |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (double sigma : numbers(a.at("sigmas"))) {
    for (double ema : numbers(a.at("emas"))) {
      cdat::CdatOptions o;
      o.sigma = sigma;
      o.ema_beta = ema;
      for (const auto& mode : items(a.at("modes"))) {
        print_row(mode, o, train(p, o, curvature_options(mode, curvature_every), steps));
      }
    }
  }
  return 0;
}
