// Prints the loss before and after the fit; exits 1 if it did not decrease.
#include <iostream>

#include "least_squares.h"

int main() {
  const int steps = 50;
  const FitResult fit = fit_least_squares(steps);
  std::cout << "least squares, gd+cdat σ=1: loss " << fit.initial_loss << " → " << fit.final_loss << " in " << steps
            << " steps (last lr " << fit.last_lr << ")\n";
  return fit.final_loss < fit.initial_loss ? 0 : 1;
}
