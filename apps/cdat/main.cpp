// cdat: train and compare learning-rate tuners, run the simplified dynamics model, draw the paper's plots.
#include "cli.h"

int main(int argc, char** argv) { return cdat::cli::run(argc, argv); }
