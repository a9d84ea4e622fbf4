// The cdat library: curvature-aware learning-rate tuning for LibTorch. Include this header only.
#pragma once

#include <cdat/armijo.h>
#include <cdat/collective.h>
#include <cdat/curvature.h>
#include <cdat/curvature_estimator.h>
#include <cdat/direction.h>
#include <cdat/dynamics.h>
#include <cdat/errors.h>
#include <cdat/objective.h>
#include <cdat/optimizer.h>
#include <cdat/registry.h>
#include <cdat/tensor_list.h>
#include <cdat/transform.h>
#include <cdat/tuner.h>
