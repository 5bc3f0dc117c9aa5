// The reference evaluator in one include: see ndarray.h for the model.
#pragma once

#include "dtype_info.h"
#include "elementwise.h"
#include "int_math.h"
#include "linalg.h"
#include "movement.h"
#include "ndarray.h"
#include "reduce.h"
