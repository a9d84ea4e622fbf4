// The cdat command-line tool with this folder's tuner and direction compiled in: `cdat-extended train
// --tuner polyak --optimizer sign` works like `cdat train`. The registrations run before main.
#include "cli.h"

int main(int argc, char** argv) { return cdat::cli::run(argc, argv); }
