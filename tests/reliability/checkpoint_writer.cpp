// Helper of checkpoint_kill_test: writes checkpoints of KillModel to PATH in a loop, step START, START+1,
// …, with every parameter equal to the step, and prints "ready" once the first one is complete. The test
// SIGKILLs it at random moments. Usage: checkpoint_writer PATH START
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "kill_model.h"
#include "train/checkpoint.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: checkpoint_writer PATH START\n");
    return 2;
  }
  at::set_num_threads(1);
  const std::string path = argv[1];
  const int64_t start = std::atoll(argv[2]);
  cdat::reliability::KillModel m;
  for (int64_t step = start; step < start + 100000; ++step) {
    m.fill(static_cast<double>(step));
    cdat::train::CheckpointMeta meta;
    meta.step = step;
    meta.best_loss = static_cast<double>(step);
    cdat::train::save_checkpoint(path, *m.net, *m.optimizer, meta);
    if (step == start) {
      std::printf("ready\n");
      std::fflush(stdout);
    }
  }
  return 0;
}
