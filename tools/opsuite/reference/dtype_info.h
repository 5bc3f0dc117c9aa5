// The reference evaluator's own view of dtypes: names, sizes, classes and the result-type rules
// of the ops. Written from the API documentation (kiln/dtypes.h, kiln/tensor.h) rather than
// calling core, so the suite also checks core's dtype rules.
#pragma once

#include <cstddef>
#include <string>

#include "kiln/dtypes.h"
#include "kiln/tensor.h"

namespace kiln::ref {

const char* name_of(DType t);
size_t size_of(DType t);
bool is_float_type(DType t);
bool is_int_type(DType t);  // signed or unsigned integer, not bool
bool is_unsigned_type(DType t);
std::string shape_string(const Shape& s);  // "(2, 3)", "()" for a scalar, "(5,)" is "(5)"

// Binary-op result type: bool < integers < floats; within a class the wider wins; a signed and
// an unsigned integer of the same width give the next wider signed integer; f16 with bf16 gives
// f32. (i64 with u64 has no wider signed type: the reference refuses it.)
DType promote_types(DType a, DType b);
// The float type true division and float-only math give for t: t itself when it is a float,
// else f32.
DType float_result(DType t);
// Result dtype of sum/prod/cumsum over t: floats keep their type, bool and integers widen to i64
// (u64 stays u64), as in PyTorch.
DType sum_result(DType t);

}  // namespace kiln::ref
