#include <cdat/curvature_estimator.h>
#include <cdat/errors.h>
#include <cdat/transform.h>
#include <cdat/tuner.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>

#include "train/run_config.h"

namespace cdat::train {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InvalidOption& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, EveryKeyRoundTripsThroughTextAndToml) {
  RunConfig c;
  c.lr = 0.0123;
  c.batch_size = 0;
  c.text_file = "a \"quoted\" path";
  c.measure_curvature = true;  // not the defaults
  c.curvature_mode = "parabola";
  c.curvature_every = 3;
  const std::string path = ::testing::TempDir() + "cdat_config_roundtrip.toml";
  std::ofstream(path) << to_toml(c);
  RunConfig back;
  back.lr = 99;
  load_toml(back, path);
  for (const auto& key : config_keys()) EXPECT_EQ(get_key(back, key.name), get_key(c, key.name)) << key.name;
  EXPECT_EQ(get_key(back, "batch-size"), "full");
  EXPECT_DOUBLE_EQ(back.lr, 0.0123);
}

TEST(RunConfig, EveryKeyStandsInOneOfTheHelpGroups) {
  const std::set<std::string> expected = {"Data", "Model",       "Optimizer", "Tuner",       "CDAT safeguards",
                                          "Run",  "Diagnostics", "Curvature", "Distributed", "Output"};
  std::set<std::string> groups;
  for (const auto& key : config_keys()) groups.insert(key.group);
  EXPECT_EQ(groups, expected);
}

TEST(RunConfig, SetKeyParsesTypesAndNamesTheKeyOnError) {
  RunConfig c;
  set_key(c, "batch-size", "64");
  EXPECT_EQ(c.batch_size, 64);
  set_key(c, "batch-size", "full");
  EXPECT_EQ(c.batch_size, 0);
  set_key(c, "sigma", "1.5");
  EXPECT_DOUBLE_EQ(c.sigma, 1.5);
  EXPECT_NE(error_of([&] { set_key(c, "lr", "fast"); }).find("lr"), std::string::npos);
  EXPECT_NE(error_of([&] { set_key(c, "steps", "10.5"); }).find("steps"), std::string::npos);
  EXPECT_NE(error_of([&] { set_key(c, "learning-rate", "1"); }).find("learning-rate"), std::string::npos);
}

TEST(RunConfig, TomlUnknownKeyAndWrongTypeNameTheKeyAndFile) {
  const std::string path = ::testing::TempDir() + "cdat_bad.toml";
  std::ofstream(path) << "lr = 0.1\nsigmaa = 2\n";
  RunConfig c;
  auto message = error_of([&] { load_toml(c, path); });
  EXPECT_NE(message.find("sigmaa"), std::string::npos);
  EXPECT_NE(message.find(path), std::string::npos);
  std::ofstream(path) << "steps = \"many\"\n";
  EXPECT_NE(error_of([&] { load_toml(c, path); }).find("steps"), std::string::npos);
  std::ofstream(path) << "steps = = 3\n";
  EXPECT_NE(error_of([&] { load_toml(c, path); }).find("line 1"), std::string::npos);
}

TEST(RunConfig, ValidationNamesTheKeyAndTheAllowedRange) {
  struct Case {
    std::string key, value, expected;
  };
  const std::vector<Case> cases = {
      {"sigma", "0", "sigma must be > 0"},
      {"sigma", "-1", "sigma must be > 0"},
      {"ema", "1", "ema must be in [0, 1)"},
      {"beta1", "-0.1", "beta1 must be in [0, 1)"},
      {"beta2", "1", "beta2 must be in [0, 1)"},
      {"lr", "-0.1", "lr must be finite and >= 0, got -0.1"},
      {"tuner", "adagrad", "valid: constant, schedule, linesearch, greedy, cdat"},
      {"optimizer", "sgd", "valid: gd, momentum, nesterov, rmsprop, adam"},
      {"batch-size", "5000", "batch-size (5000) is larger than train-size (2048)"},
      {"steps", "0", "steps must be >= 1"},
      {"device", "tpu", "valid: cpu, cuda"},
  };
  for (const auto& k : cases) {
    RunConfig c;
    set_key(c, k.key, k.value);
    EXPECT_NE(error_of([&] { validate(c); }).find(k.expected), std::string::npos) << k.key << "=" << k.value;
  }
  EXPECT_EQ(error_of([] { validate(RunConfig{}); }), "");
  RunConfig pairs;  // sharpness pairs (t, t+1) need a gap between the sharpness steps
  set_key(pairs, "sharpness-pairs", "true");
  EXPECT_EQ(error_of([&] { validate(pairs); }), "");
  set_key(pairs, "sharpness-every", "1");
  EXPECT_NE(error_of([&] { validate(pairs); }).find("sharpness-pairs must be false unless sharpness-every >= 2"), std::string::npos);
}

// Each range is checked once, in the core: the CLI's message for a value out of range is the core's, word for
// word (issue 26.4).
TEST(RunConfig, OutOfRangeMessagesAreTheCoresOwn) {
  struct Case {
    std::string key, value;
    std::function<void()> core;
  };
  const std::vector<Case> cases = {
      {"lr", "-1", [] { ConstantTuner(-1.0); }},
      {"weight-decay", "-0.5", [] { AddDecayedWeights({-0.5}); }},
      {"sigma", "0", [] { CdatOptions o; o.sigma = 0.0; validate(o); }},
      {"max-growth", "0.5", [] { CdatOptions o; o.max_growth = 0.5; validate(o); }},
      {"trust-ratio", "-1", [] { CdatOptions o; o.trust_ratio = -1.0; validate(o); }},
      {"curvature-every", "0", [] { CurvatureOptions o; o.curvature_every = 0; validate(o); }},
  };
  for (const auto& k : cases) {
    RunConfig c;
    set_key(c, k.key, k.value);
    const std::string core = error_of(k.core);
    EXPECT_NE(core, "") << k.key;
    EXPECT_EQ(error_of([&] { validate(c); }), core) << k.key;
  }
  RunConfig linesearch;  // the line search's own options, checked when it is the tuner
  set_key(linesearch, "tuner", "linesearch");
  set_key(linesearch, "ls-max-trials", "0");
  LinesearchOptions o;
  o.max_trials = 0;
  EXPECT_EQ(error_of([&] { validate(linesearch); }), error_of([&] { validate(o); }));
  RunConfig zero;  // lr = 0 is a step that does not move: valid, as in the core
  set_key(zero, "tuner", "constant");
  set_key(zero, "lr", "0");
  EXPECT_EQ(error_of([&] { validate(zero); }), "");
}

// The CDAT safeguards' keys come from the core's table: their names, ranges and defaults.
TEST(RunConfig, SafeguardKeysAreTheCoresTable) {
  const RunConfig defaults;
  for (const auto& s : cdat_safeguards()) {
    const auto& keys = config_keys();
    const auto info = std::find_if(keys.begin(), keys.end(), [&](const KeyInfo& k) { return k.name == s.key; });
    ASSERT_NE(info, keys.end()) << s.key;
    EXPECT_EQ(info->group, "CDAT safeguards");
    EXPECT_NE(info->help.find(s.range), std::string::npos) << s.key;
    EXPECT_EQ(get_key(defaults, s.key), s.default_value()) << s.key;
  }
  // safeguards = false is the paper's rule, safeguard by safeguard
  RunConfig paper;
  set_key(paper, "safeguards", "false");
  const CdatOptions from_cli = tuner_options(paper).cdat, rule = CdatOptions::paper_rule();
  for (const auto& s : cdat_safeguards()) EXPECT_EQ(s.get(from_cli), s.get(rule)) << s.key;
  set_key(paper, "max-growth", "3");
  EXPECT_EQ(error_of([&] { validate(paper); }),
            "max-growth has no effect with safeguards = false (the paper's rule); drop one of them");
}

TEST(RunConfig, LabelNamesOptimizerTunerAndItsParameter) {
  RunConfig c;
  EXPECT_EQ(run_label(c), "gd+cdat σ=2");
  c.tuner = "constant";
  c.lr = 0.01;
  c.batch_size = 64;
  EXPECT_EQ(run_label(c), "gd+constant lr=0.01 bs=64");
}

}  // namespace
}  // namespace cdat::train
