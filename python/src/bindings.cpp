// torchcdat._C: the pybind11 binding of the cdat core (include/cdat). The Python layer (torchcdat/*.py)
// builds on it; users import torchcdat, not this module.
#include <cdat/cdat.h>
#include <torch/extension.h>

#include <optional>
#include <string>

namespace py = pybind11;

namespace {

// A Python closure as a cdat::LossClosure. The caller has released the GIL (LibTorch computes without
// it); calling back into Python takes it again. Captures by reference: no Python reference counting
// happens outside the GIL, and a Python exception travels through the core as py::error_already_set.
cdat::LossClosure loss_closure(const py::function& closure) {
  return [&closure]() -> torch::Tensor {
    py::gil_scoped_acquire gil;
    py::object loss = closure();
    if (!THPVariable_Check(loss.ptr())) {
      throw py::type_error("torchcdat: the closure must return the loss as a torch.Tensor, got " +
                           std::string(py::str(py::type::of(loss).attr("__name__"))));
    }
    return THPVariable_Unpack(loss.ptr());
  };
}

// A torch.distributed process group as a cdat::Collective (collective.h): `all_reduce(flat)` is a Python
// callable that sums the flat tensor over the ranks in place (torchcdat/distributed.py: all_reduce with a
// timeout). The core calls it without the GIL; it takes the GIL back, as the closure does.
class PythonCollective final : public cdat::Collective {
 public:
  PythonCollective(py::function all_reduce, int rank, int world_size)
      : all_reduce_(std::move(all_reduce)), rank_(rank), world_size_(world_size) {}
  ~PythonCollective() override {
    py::gil_scoped_acquire gil;  // a Python object's reference is dropped under the GIL
    all_reduce_ = py::function();
  }
  int rank() const override { return rank_; }
  int world_size() const override { return world_size_; }

 protected:
  void all_reduce_sum_impl(torch::Tensor& flat) override {
    py::gil_scoped_acquire gil;
    all_reduce_(flat);
  }

 private:
  py::function all_reduce_;
  int rank_, world_size_;
};

py::dict stats_dict(const cdat::StepStats& s) {
  py::dict d;
  d["step"] = s.step;
  d["loss"] = s.loss;
  d["lr"] = s.lr;
  d["slope"] = s.slope;
  d["curvature"] = s.curvature;
  d["grad_norm"] = s.grad_norm;
  d["direction_norm"] = s.direction_norm;
  d["trials"] = s.tuner.trials;
  d["search_failed"] = s.tuner.search_failed;
  d["non_descent"] = s.tuner.non_descent;
  d["actual_change"] = s.tuner.actual_change;
  for (const auto& [name, value] : s.tuner.values()) {  // the tuner's own values (Tuner::report_names())
    if (d.contains(name)) throw cdat::InvalidOption("torchcdat: the tuner's value '" + name + "' repeats a key of last_stats");
    d[name.c_str()] = value;
  }
  d["curvature_fallback"] = s.curvature_fallback;
  d["reused_forward"] = s.reused_forward;
  d["warning"] = s.warning;
  return d;
}

// The optimizer's state (direction, tuner, step counter) as the bytes of a LibTorch archive.
py::bytes save_state(const cdat::TunedOptimizer& optimizer) {
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  std::string bytes;
  archive.save_to([&bytes](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  return py::bytes(bytes);
}

void load_state(cdat::TunedOptimizer& optimizer, const std::string& bytes) {
  torch::serialize::InputArchive archive;
  archive.load_from(bytes.data(), bytes.size());
  optimizer.load(archive);
}

// A C++ enum under the names the CLI uses (the core's name table): a name added there is bound here too.
template <class Enum>
void bind_enum(py::module_& m, const char* python_name, const std::vector<std::string>& names,
               Enum (*parse)(const std::string&)) {
  py::enum_<Enum> bound(m, python_name);
  for (const auto& name : names) bound.value(name.c_str(), parse(name));  // `names` is static: c_str() lives on
}

py::dict eigen_dict(const cdat::EigenResult& r) {
  py::dict d;
  d["eigenvalue"] = r.eigenvalue;
  d["eigenvector"] = r.eigenvector;
  d["iterations"] = r.iterations;
  d["ritz_values"] = r.ritz_values;
  return d;
}

// λ_max of the closure's Hessian (or of P^{-1/2} H P^{-1/2} with `preconditioner`, flat) by Lanczos or power
// iteration (PAPER §3).
py::dict sharpness(const cdat::TensorList& params, const py::function& closure, const std::string& method,
                   const cdat::EigenOptions& options, const std::optional<torch::Tensor>& preconditioner) {
  if (method != "lanczos" && method != "power") {
    throw cdat::InvalidOption("method must be lanczos or power, got '" + method + "'");
  }
  py::gil_scoped_release release;
  cdat::HessianOperator hessian(params, loss_closure(closure));
  cdat::LinearOperator op = hessian.as_operator();
  if (preconditioner) op = cdat::precondition(op, *preconditioner);
  const torch::Tensor like = cdat::flatten(params).detach();
  const auto result = method == "lanczos" ? cdat::lanczos(op, like, options) : cdat::power_iteration(op, like, options);
  py::gil_scoped_acquire gil;
  return eigen_dict(result);
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "The cdat C++ core (use the torchcdat package)";
  py::register_exception<cdat::NonFiniteError>(m, "NonFiniteError", PyExc_FloatingPointError);
  py::register_exception<cdat::InvalidOption>(m, "InvalidOption", PyExc_ValueError);

  py::class_<cdat::DirectionOptions>(m, "DirectionOptions")
      .def(py::init<>())
      .def_readwrite("beta1", &cdat::DirectionOptions::beta1)
      .def_readwrite("beta2", &cdat::DirectionOptions::beta2)
      .def_readwrite("eps", &cdat::DirectionOptions::eps);

  // One def_readwrite per field of each options struct: the Python layer reads the field names from these
  // properties (torchcdat/options.py), so a field added here is an option of torchcdat at once, and
  // python/tests/test_options.py compares them with the fields of the C++ headers.
  bind_enum(m, "Decay", cdat::decay_names(), &cdat::parse_decay);
  py::class_<cdat::ScheduleOptions>(m, "ScheduleOptions")
      .def(py::init<>())
      .def_readwrite("peak_lr", &cdat::ScheduleOptions::peak_lr)
      .def_readwrite("warmup_steps", &cdat::ScheduleOptions::warmup_steps)
      .def_readwrite("total_steps", &cdat::ScheduleOptions::total_steps)
      .def_readwrite("decay", &cdat::ScheduleOptions::decay)
      .def_readwrite("final_fraction", &cdat::ScheduleOptions::final_fraction);

  py::class_<cdat::LinesearchOptions>(m, "LinesearchOptions")
      .def(py::init<>())
      .def_readwrite("c", &cdat::LinesearchOptions::c)
      .def_readwrite("kappa_down", &cdat::LinesearchOptions::kappa_down)
      .def_readwrite("kappa_up", &cdat::LinesearchOptions::kappa_up)
      .def_readwrite("eta_max", &cdat::LinesearchOptions::eta_max)
      .def_readwrite("eta_init", &cdat::LinesearchOptions::eta_init)
      .def_readwrite("max_trials", &cdat::LinesearchOptions::max_trials);

  bind_enum(m, "EmaMode", cdat::ema_mode_names(), &cdat::parse_ema_mode);
  bind_enum(m, "TrustCheck", cdat::trust_check_names(), &cdat::parse_trust_check);
  py::class_<cdat::CdatOptions>(m, "CdatOptions")
      .def(py::init<>())
      .def_readwrite("sigma", &cdat::CdatOptions::sigma)
      .def_readwrite("eps", &cdat::CdatOptions::eps)
      .def_readwrite("ema_beta", &cdat::CdatOptions::ema_beta)
      .def_readwrite("ema_mode", &cdat::CdatOptions::ema_mode)
      .def_readwrite("max_lr", &cdat::CdatOptions::max_lr)
      .def_readwrite("loss_floor", &cdat::CdatOptions::loss_floor)
      .def_readwrite("max_growth", &cdat::CdatOptions::max_growth)
      .def_readwrite("trust_check", &cdat::CdatOptions::trust_check)
      .def_readwrite("trust_ratio", &cdat::CdatOptions::trust_ratio)
      .def_readwrite("trust_max_trials", &cdat::CdatOptions::trust_max_trials)
      .def_static("paper_rule", &cdat::CdatOptions::paper_rule, py::arg("sigma") = 2.0, py::arg("ema_beta") = 0.0);

  py::class_<cdat::TunerOptions>(m, "TunerOptions")
      .def(py::init<>())
      .def_readwrite("lr", &cdat::TunerOptions::lr)
      .def_readwrite("schedule", &cdat::TunerOptions::schedule)
      .def_readwrite("linesearch", &cdat::TunerOptions::linesearch)
      .def_readwrite("cdat", &cdat::TunerOptions::cdat)
      .def_readwrite("extra", &cdat::TunerOptions::extra);

  py::class_<cdat::TunedOptimizerOptions>(m, "TunedOptimizerOptions")
      .def(py::init<>())
      .def_readwrite("measure_curvature", &cdat::TunedOptimizerOptions::measure_curvature)
      .def_readwrite("curvature_mode", &cdat::TunedOptimizerOptions::curvature_mode)
      .def_readwrite("fd_step", &cdat::TunedOptimizerOptions::fd_step)
      .def_readwrite("parabola_step", &cdat::TunedOptimizerOptions::parabola_step)
      .def_readwrite("parabola_central", &cdat::TunedOptimizerOptions::parabola_central)
      .def_readwrite("curvature_every", &cdat::TunedOptimizerOptions::curvature_every)
      .def_readwrite("measure_curvature_every", &cdat::TunedOptimizerOptions::measure_curvature_every)
      .def_readwrite("write_grad", &cdat::TunedOptimizerOptions::write_grad)
      .def_readwrite("same_randomness_in_trials", &cdat::TunedOptimizerOptions::same_randomness_in_trials)
      .def_readwrite("full_batch", &cdat::TunedOptimizerOptions::full_batch)
      .def_readwrite("clip_norm", &cdat::TunedOptimizerOptions::clip_norm);

  py::class_<cdat::ParamGroup>(m, "ParamGroup")
      .def(py::init([](const cdat::TensorList& params, double weight_decay, double scale) {
             return cdat::ParamGroup{params, weight_decay, scale};
           }),
           py::arg("params"), py::arg("weight_decay"), py::arg("scale"));

  // The one table of CDAT's safeguards (cdat::cdat_safeguards()): CdatTuner's docstring is written from it.
  m.def("cdat_safeguards", [] {
    py::list rows;
    for (const auto& s : cdat::cdat_safeguards()) {
      py::dict row;
      row["key"] = s.key;
      row["field"] = s.field;
      row["summary"] = s.summary;
      row["range"] = s.range;
      row["default"] = s.default_value();
      row["paper_rule"] = s.paper_rule.empty() ? s.default_value() : s.paper_rule;
      rows.append(row);
    }
    return rows;
  });
  m.def("direction_names", &cdat::direction_names);
  m.def("tuner_names", &cdat::tuner_names);
  m.def("curvature_estimator_names", &cdat::curvature_estimator_names);

  py::class_<cdat::TunedOptimizer>(m, "TunedOptimizer")
      .def(py::init([](const std::vector<cdat::ParamGroup>& groups, const std::string& direction,
                       const cdat::DirectionOptions& direction_options, const std::string& tuner,
                       const cdat::TunerOptions& tuner_options, cdat::TunedOptimizerOptions options,
                       const cdat::TensorList& buffers, const std::optional<py::function>& all_reduce, int rank,
                       int world_size, double shard_weight) {
             options.buffers = buffers;
             if (all_reduce) {
               options.data_parallel = {std::make_shared<PythonCollective>(*all_reduce, rank, world_size), shard_weight};
             }
             return std::make_unique<cdat::TunedOptimizer>(groups, cdat::make_direction(direction, direction_options),
                                                           cdat::make_tuner(tuner, tuner_options), options);
           }),
           py::arg("groups"), py::arg("direction"), py::arg("direction_options"), py::arg("tuner"),
           py::arg("tuner_options"), py::arg("options"), py::arg("buffers"), py::arg("all_reduce") = py::none(),
           py::arg("rank") = 0, py::arg("world_size") = 1, py::arg("shard_weight") = 1.0)
      .def(
          "step",
          [](cdat::TunedOptimizer& optimizer, const py::function& closure) {
            const cdat::LossClosure loss = loss_closure(closure);
            py::gil_scoped_release release;
            return optimizer.step(loss);
          },
          py::arg("closure"))
      .def("last_stats", [](const cdat::TunedOptimizer& o) { return stats_dict(o.last_stats()); })
      .def("last_direction", &cdat::TunedOptimizer::last_direction)
      .def("steps", &cdat::TunedOptimizer::steps)
      .def("params", &cdat::TunedOptimizer::params)
      .def("direction_name", [](const cdat::TunedOptimizer& o) { return o.direction().name(); })
      .def("tuner_name", [](const cdat::TunedOptimizer& o) { return o.tuner().name(); })
      .def("preconditioner", [](const cdat::TunedOptimizer& o) { return o.direction().preconditioner(); })
      .def("save_state", &save_state)
      .def("load_state", &load_state, py::arg("state"));

  m.def(
      "hvp",
      [](const cdat::TensorList& params, const py::function& closure, const cdat::TensorList& v) {
        const cdat::LossClosure loss = loss_closure(closure);
        py::gil_scoped_release release;
        return cdat::hvp(params, loss, v);
      },
      py::arg("params"), py::arg("closure"), py::arg("v"));

  py::class_<cdat::EigenOptions>(m, "EigenOptions")
      .def(py::init<>())
      .def_readwrite("iterations", &cdat::EigenOptions::iterations)
      .def_readwrite("tolerance", &cdat::EigenOptions::tolerance)
      .def_readwrite("seed", &cdat::EigenOptions::seed)
      .def_readwrite("start", &cdat::EigenOptions::start);
  m.def("sharpness", &sharpness, py::arg("params"), py::arg("closure"), py::arg("method"), py::arg("options"),
        py::arg("preconditioner") = py::none());
  m.def("flatten", &cdat::flatten);
  m.def("unflatten", &cdat::unflatten);
}
