// The runner's sharpness diagnostics (PAPER §3: sharpness, η·λ_max, alignment) against dense linear
// algebra on problems small enough to write down: a linear model (mlp, depth 0) in float64 on 8 binary
// images of 1×F pixels. Θ = [W | b] ∈ R^{C×(F+1)} holds the parameters; every quantity below is computed
// in Θ's row-major order (eigenvalues and |cos| do not depend on the order of the coordinates).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/data_test_util.h"
#include "tolerance.h"
#include "train/metrics_log.h"
#include "train/runner.h"

namespace cdat::train {
namespace {
namespace fs = std::filesystem;

constexpr int64_t kClasses = 10;  // the MNIST loader's
constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
// A sharpness cell against a dense eigenvalue: metrics.csv keeps 10 significant digits (kCsvCellRelative),
// and both eigenvalues carry rounding. The runner's Lanczos over the whole n-dimensional space (n ≤ 40 here:
// ≤ 10 classes × 4 inputs) is exact but for it: per iteration a Hessian-vector product (forward, backward,
// second backward: 3 passes of ≤ 8 examples + 4 inputs + 10 classes + 7 elementwise = 29 roundings) and
// orthogonalisation (n + 3), so its Ritz value is within iterations·(87 + n + 3)·ε·√n·‖H‖ (‖|H|‖₂ ≤ √n‖H‖₂;
// ‖H‖ = λ_max for these positive semi-definite H), and eigh's within the same form. Relative to λ_max.
double sharpness_tolerance(int64_t iterations, int64_t n) {
  const double dim = static_cast<double>(n);
  return testing::kCsvCellRelative +
         2 * testing::tolerance_for(torch::kFloat64, static_cast<double>(iterations) * (87 + dim + 3)) * std::sqrt(dim);
}

// A training set of binary images 1×F: pixels[i][j] is '1' (byte 255) or '0' (byte 0).
struct BinaryImages {
  std::vector<std::string> pixels;  // one string of F characters per example
  std::vector<uint8_t> labels;

  int64_t size() const { return static_cast<int64_t>(pixels.size()); }
  int64_t features() const { return static_cast<int64_t>(pixels.at(0).size()); }
};

// MNIST's training files in `dir`, for --dataset mnist --data-dir dir.
void write_mnist_files(const std::string& dir, const BinaryImages& d) {
  using data::testing::put_be32;
  fs::create_directories(dir);
  data::testing::Bytes images, labels;
  put_be32(images, 0x00000803);
  for (int64_t dim : {d.size(), int64_t{1}, d.features()}) put_be32(images, static_cast<uint32_t>(dim));
  for (const auto& row : d.pixels) {
    for (char p : row) images.push_back(p == '1' ? 255 : 0);
  }
  put_be32(labels, 0x00000801);
  put_be32(labels, static_cast<uint32_t>(d.size()));
  labels.insert(labels.end(), d.labels.begin(), d.labels.end());
  data::testing::write_raw(dir + "/train-images-idx3-ubyte", images);
  data::testing::write_raw(dir + "/train-labels-idx1-ubyte", labels);
}

// The inputs the model sees, derived by hand: every feature is 1 on exactly half of the examples, so its
// mean is 1/2 and its population std 1/2, and standardised it is exactly 2x − 1 = ±1 (no rounding in
// float32). Columns: the F features, then the constant 1 that multiplies the bias. [n, F+1] float64.
torch::Tensor augmented_inputs(const BinaryImages& d) {
  torch::Tensor x = torch::ones({d.size(), d.features() + 1}, torch::kFloat64);
  for (int64_t i = 0; i < d.size(); ++i) {
    for (int64_t j = 0; j < d.features(); ++j) x[i][j] = d.pixels[i][j] == '1' ? 1.0 : -1.0;
  }
  const auto ones_per_feature = (x.narrow(1, 0, d.features()) > 0).sum(0);
  if (!torch::all(ones_per_feature == d.size() / 2).item<bool>()) {
    throw std::logic_error("test data: each feature must be 1 on exactly half the examples");
  }
  return x;
}

// A fresh output folder for one run of this file.
std::string fresh_out(const std::string& name) {
  const fs::path out = fs::path(::testing::TempDir()) / ("cdat_runner_sharpness_" + name);
  fs::remove_all(out);
  return out.string();
}

// A linear model (logits = W x + b) trained full batch in float64 with constant η on `images`, written
// next to the run's folder.
RunConfig linear_run(const std::string& name, const BinaryImages& images) {
  RunConfig c;
  c.out = fresh_out(name);
  c.dataset = "mnist";
  c.data_dir = fresh_out(name + "_data");
  write_mnist_files(c.data_dir, images);
  c.train_size = 0;  // all 8 examples
  c.model = "mlp";
  c.depth = 0;
  c.dtype = "float64";
  c.tuner = "constant";
  c.beta1 = kBeta1;
  c.beta2 = kBeta2;
  c.eps = kEps;
  return c;
}

// Θ = [W | b] from a run folder's checkpoint (the model archive of an mlp of depth 0 holds out.weight, out.bias).
torch::Tensor checkpoint_theta(const std::string& dir) {
  torch::serialize::InputArchive archive, model, out;
  archive.load_from(dir + "/checkpoint.pt");
  archive.read("model", model);
  model.read("out", out);
  torch::Tensor weight, bias;
  out.read("weight", weight);
  out.read("bias", bias);
  return torch::cat({weight, bias.unsqueeze(1)}, 1).to(torch::kFloat64);
}

nlohmann::json summary_of(const std::string& dir) {
  nlohmann::json summary;
  std::ifstream(dir + "/summary.json") >> summary;
  return summary;
}

// Linear least squares: mse = ½‖Θx̃ − onehot‖² averaged over the examples, so the Hessian is I_C ⊗ A with
// A = X̃ᵀX̃/n at every w, the same block for each class. Features a = 11110000 and b = 11100001 standardise
// to ±1 with Σ z_a z_b = 6 − 2 = 4, and the bias column is orthogonal to both (they are centred), so
// A = [[1, ½, 0], [½, 1, 0], [0, 0, 1]]: eigenvalues 3/2, 1, 1/2, and λ_max(H) = 3/2 for every w.
// With constant η = 0.2, η·λ_max = 0.3. Sharpness every 2 steps: rows 0, 2, 4 have it, 1 and 3 are empty.
RunConfig least_squares_run(const std::string& name, int64_t steps, int64_t sharpness_every) {
  const BinaryImages least_squares{{"11", "11", "11", "10", "00", "00", "00", "01"}, {0, 1, 2, 3, 4, 5, 6, 7}};
  auto c = linear_run(name, least_squares);
  c.loss = "mse";
  c.lr = 0.2;
  c.steps = steps;
  c.sharpness_every = sharpness_every;
  c.lanczos_iters = 8;  // H has 3 distinct eigenvalues: the Krylov space is exhausted after 3 steps
  return c;
}

TEST(RunnerSharpness, GdSharpnessIsTheClosedFormLambdaMaxOfLeastSquares) {
  const auto c = least_squares_run("least_squares", 5, 2);
  run_training(c, {});

  const auto metrics = read_metrics_csv(c.out + "/metrics.csv");
  const auto& sharpness = metrics.at("sharpness");
  const auto& lr_x_sharpness = metrics.at("lr_x_sharpness");
  ASSERT_EQ(sharpness.size(), 5u);
  const double tolerance = sharpness_tolerance(c.lanczos_iters, kClasses * 3);  // 2 features and the bias
  for (size_t step = 0; step < sharpness.size(); ++step) {
    if (step % 2 == 0) {
      EXPECT_NEAR(sharpness[step], 1.5, tolerance * 1.5) << "step " << step;
      EXPECT_NEAR(lr_x_sharpness[step], 0.3, (tolerance + testing::tolerance_for(torch::kFloat64, 2)) * 0.3)
          << "step " << step;
    } else {
      EXPECT_TRUE(std::isnan(sharpness[step])) << "step " << step;
      EXPECT_TRUE(std::isnan(lr_x_sharpness[step])) << "step " << step;
    }
  }
  EXPECT_EQ(summary_of(c.out)["sharpness_kind"], "hessian");
}

// sharpness-pairs (issue 13, period-2 dynamics): with sharpness every 3 steps the rows t ≡ 0 and t ≡ 1 (mod 3)
// hold λ_max, i.e. 0, 1, 3, 4, 6, each the closed form 3/2 of the least-squares problem above; 2 and 5 are empty.
TEST(RunnerSharpness, SharpnessPairsFillTheStepAfterEachSharpnessStep) {
  auto c = least_squares_run("pairs", 7, 3);
  c.sharpness_pairs = true;
  run_training(c, {});

  const auto metrics = read_metrics_csv(c.out + "/metrics.csv");
  const auto& sharpness = metrics.at("sharpness");
  ASSERT_EQ(sharpness.size(), 7u);
  const double tolerance = sharpness_tolerance(c.lanczos_iters, kClasses * 3);
  for (size_t step = 0; step < sharpness.size(); ++step) {
    if (step % 3 != 2) {
      EXPECT_NEAR(sharpness[step], 1.5, tolerance * 1.5) << "step " << step;
    } else {
      EXPECT_TRUE(std::isnan(sharpness[step])) << "step " << step;
    }
  }
}

// Mean cross-entropy of the logits X̃Θᵀ: gradient (Pr − Y)ᵀX̃/n and Hessian (1/n) Σᵢ (diag pᵢ − pᵢpᵢᵀ) ⊗ x̃ᵢx̃ᵢᵀ
// (softmax probabilities pᵢ, one-hot labels Y), both in Θ's row-major order.
struct Derivatives {
  torch::Tensor gradient;  // [C, F+1]
  torch::Tensor hessian;   // [C(F+1), C(F+1)]
};

Derivatives cross_entropy_derivatives(const torch::Tensor& theta, const torch::Tensor& x, const torch::Tensor& labels) {
  const int64_t n = x.size(0);
  const auto probs = torch::softmax(x.mm(theta.t()), 1);
  const auto targets = torch::zeros_like(probs).scatter_(1, labels.unsqueeze(1), 1.0);
  Derivatives d;
  d.gradient = (probs - targets).t().mm(x) / n;
  d.hessian = torch::zeros({theta.numel(), theta.numel()}, torch::kFloat64);
  for (int64_t i = 0; i < n; ++i) {
    const auto p = probs[i];
    d.hessian += torch::kron(torch::diag(p) - torch::outer(p, p), torch::outer(x[i], x[i]));
  }
  d.hessian /= n;
  return d;
}

// The base optimizers' rules written out again (direction.h, PAPER §1), with the diagonal preconditioner
// of PAPER §3: RMSProp P = √v + ε (no bias correction), Adam P = √v̂ + ε with v̂ = v/(1 − β₂ᵗ).
class ReferenceDirection {
 public:
  explicit ReferenceDirection(std::string name) : name_(std::move(name)) {}

  // P of the state now, i.e. after the steps taken so far; undefined for GD and momentum, and before the
  // first step.
  torch::Tensor preconditioner() const {
    if (steps_ == 0) return {};
    if (name_ == "rmsprop") return v_.sqrt() + kEps;
    if (name_ == "adam") return (v_ / (1.0 - std::pow(kBeta2, steps_))).sqrt() + kEps;
    return {};
  }

  // u_t from g_t; advances the state.
  torch::Tensor step(const torch::Tensor& g) {
    ++steps_;
    if (name_ == "gd") return -g;
    if (name_ == "momentum" || name_ == "nesterov") {
      m_ = steps_ == 1 ? g : kBeta1 * m_ + g;  // the buffer starts at the first gradient (torch SGD)
      return name_ == "momentum" ? -m_ : -(g + kBeta1 * m_);
    }
    v_ = steps_ == 1 ? (1.0 - kBeta2) * g * g : kBeta2 * v_ + (1.0 - kBeta2) * g * g;
    if (name_ == "rmsprop") return -g / (v_.sqrt() + kEps);
    if (name_ != "adam") throw std::logic_error("no reference for " + name_);
    m_ = steps_ == 1 ? (1.0 - kBeta1) * g : kBeta1 * m_ + (1.0 - kBeta1) * g;
    const double bc1 = 1.0 - std::pow(kBeta1, steps_), bc2 = 1.0 - std::pow(kBeta2, steps_);
    return -(m_ / bc1) / ((v_ / bc2).sqrt() + kEps);
  }

 private:
  std::string name_;
  int64_t steps_ = 0;
  torch::Tensor m_, v_;
};

// Which optimizers' edge of stability concerns λ_max(P^{-1/2} H P^{-1/2}) rather than λ_max(H) (PAPER §3).
bool preconditioned_sharpness(const std::string& optimizer) { return optimizer == "rmsprop" || optimizer == "adam"; }

// What metrics.csv must say at one step (NaN = an empty cell). `gap_ratio` = λ_max/(λ_max − λ₂): an
// eigenvector's error is the eigenvalue's (relative to λ_max) times it (sin θ ≤ ‖residual‖/gap).
struct Diagnostics {
  double sharpness = kEmpty, alignment = kEmpty, gap_ratio = kEmpty;
};

double abs_cosine(const torch::Tensor& a, const torch::Tensor& b) {
  return std::abs(a.dot(b).item<double>()) / (a.norm().item<double>() * b.norm().item<double>());
}

// λ_max of the symmetric `matrix` and |cos| between `update` and its eigenvector. The gap to the second
// eigenvalue must be wide enough for that eigenvector to be well defined.
Diagnostics top_eigenpair_diagnostics(const torch::Tensor& matrix, const torch::Tensor& update) {
  auto [values, vectors] = torch::linalg_eigh(matrix, "L");  // ascending
  const int64_t top = values.size(0) - 1;
  const double lambda = values[top].item<double>(), second = values[top - 1].item<double>();
  EXPECT_GT(lambda - second, 1e-3 * lambda) << "the top eigenvector is ill-defined";
  return {lambda, abs_cosine(update, vectors.select(1, top)), lambda / (lambda - second)};
}

// PAPER §3 at w_t: λ_max(H) and |cos(u, v₁)|, or for a preconditioned direction λ_max(P^{-1/2} H P^{-1/2})
// and the alignment in the coordinates z = P^{1/2} w, where the update is P^{1/2} u. Empty when that
// direction has no P yet.
Diagnostics expected_diagnostics(const std::string& optimizer, const torch::Tensor& hessian,
                                 const torch::Tensor& preconditioner, const torch::Tensor& update) {
  if (!preconditioned_sharpness(optimizer)) return top_eigenpair_diagnostics(hessian, update.reshape(-1));
  if (!preconditioner.defined()) return {};
  const auto inv_sqrt = preconditioner.reshape(-1).rsqrt();
  const auto scaled = inv_sqrt.unsqueeze(1) * hessian * inv_sqrt.unsqueeze(0);
  return top_eigenpair_diagnostics(scaled, preconditioner.reshape(-1).sqrt() * update.reshape(-1));
}

void expect_cell(double actual, double expected, double tolerance, const std::string& what) {
  if (std::isnan(expected)) {
    EXPECT_TRUE(std::isnan(actual)) << what << " should be empty, is " << actual;
  } else {
    EXPECT_NEAR(actual, expected, tolerance) << what;
  }
}

// For every built-in optimizer, two full-batch steps of a linear softmax classifier with constant η:
// the sharpness, η·λ_max and alignment columns at steps 0 and 1 are recomputed from w₀ (read from a run
// stopped before its first step) by the formulas above. The sharpness at step t is measured at w_t with
// the P the optimizer holds then (its state after step t − 1), the alignment uses the update u_t of step t.
// The parameters after both steps are compared too, which pins the reference's u_t to the runner's.
TEST(RunnerSharpness, SharpnessAndAlignmentMatchTheDenseEigenproblemOfEachOptimizer) {
  const BinaryImages classifier{{"111", "110", "110", "101", "001", "000", "001", "010"}, {0, 1, 2, 0, 1, 2, 0, 1}};
  auto base = linear_run("ce_start", classifier);
  base.loss = "ce";
  base.lr = 0.01;
  base.steps = 2;
  base.sharpness_every = 1;
  base.lanczos_iters = kClasses * (classifier.features() + 1);  // the whole space: Lanczos is exact
  const auto stopped = run_training(base, {}, /*resume=*/false, [] { return true; });
  ASSERT_EQ(stopped.steps, 0);
  const torch::Tensor theta0 = checkpoint_theta(base.out);
  const torch::Tensor x = augmented_inputs(classifier);
  const torch::Tensor labels = torch::tensor(std::vector<int64_t>(classifier.labels.begin(), classifier.labels.end()));

  for (const std::string optimizer : {"gd", "momentum", "nesterov", "rmsprop", "adam"}) {
    auto c = base;
    c.out = fresh_out("ce_" + optimizer);
    c.optimizer = optimizer;
    run_training(c, {});
    const auto metrics = read_metrics_csv(c.out + "/metrics.csv");
    ASSERT_EQ(metrics.at("sharpness").size(), 2u) << optimizer;

    ReferenceDirection reference(optimizer);
    torch::Tensor theta = theta0;
    double theta_drift = 0.0;  // how far the runner's parameters may be from `theta` by rounding
    for (size_t step = 0; step < 2; ++step) {
      const torch::Tensor preconditioner = reference.preconditioner();  // before the step, as measured
      const Derivatives d = cross_entropy_derivatives(theta, x, labels);
      const torch::Tensor update = reference.step(d.gradient);
      const Diagnostics expected = expected_diagnostics(optimizer, d.hessian, preconditioner, update);
      const std::string where = optimizer + " step " + std::to_string(step);
      const double tolerance = sharpness_tolerance(base.lanczos_iters, theta.numel());
      expect_cell(metrics.at("sharpness")[step], expected.sharpness, tolerance * std::abs(expected.sharpness),
                  where + " sharpness");
      expect_cell(metrics.at("lr_x_sharpness")[step], c.lr * expected.sharpness,
                  (tolerance + testing::tolerance_for(torch::kFloat64, 2)) * std::abs(c.lr * expected.sharpness),
                  where + " lr_x_sharpness");
      // |cos| ≤ 1 to 10 digits, and both eigenvectors within the eigenvalue's error times the gap ratio.
      const double cosine_tolerance =
          testing::kCsvCellRelative + (tolerance - testing::kCsvCellRelative) * expected.gap_ratio;
      expect_cell(metrics.at("alignment")[step], expected.alignment, cosine_tolerance, where + " alignment");
      // The parameters: each side's gradient takes ≤ 26 roundings (8 examples, 4 inputs, a 10-class softmax,
      // 4 elementwise) on magnitudes ≤ 1 (|p − y| ≤ 1, |x̃| = 1); the update passes their difference on,
      // scaled by ≤ 1/min P (RMSProp/Adam) or the momentum buffer's 1 + β₁, plus its own ≤ 17 roundings of
      // |u|; θ + ηu rounds twice on |θ|. A drift already there moves the next gradient by ≤ ‖H‖_∞ times it.
      const torch::Tensor p = reference.preconditioner();
      const double scale = p.defined() ? (1.0 / p).max().item<double>() : 1 + kBeta1;
      const double hessian_norm = d.hessian.abs().sum(1).max().item<double>();
      theta_drift = theta_drift * (1 + c.lr * scale * hessian_norm) +
                    c.lr * (testing::tolerance_for(torch::kFloat64, 2 * 26) * scale +
                            testing::tolerance_for(torch::kFloat64, 17) * update.abs().max().item<double>()) +
                    testing::tolerance_for(torch::kFloat64, 2) * theta.abs().max().item<double>();
      theta = theta + c.lr * update;
    }
    EXPECT_TRUE(torch::allclose(checkpoint_theta(c.out), theta, 0.0, theta_drift)) << optimizer;
    EXPECT_EQ(summary_of(c.out)["sharpness_kind"], preconditioned_sharpness(optimizer) ? "preconditioned" : "hessian")
        << optimizer;
  }
}

}  // namespace
}  // namespace cdat::train
