// The fit of examples/downstream, in a shared library: libcdat.a is compiled -fPIC, so it links into shared
// objects (plugins, Python extensions) as well as into programs.
#pragma once

struct FitResult {
  double initial_loss;
  double final_loss;
  double last_lr;
};

// Fits a random linear least-squares problem with gradient descent whose learning rate CDAT picks.
FitResult fit_least_squares(int steps);
