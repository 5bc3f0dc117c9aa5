// The case builders, one per op family (cases_<family>.cpp), and helpers they share.
#pragma once

#include <string>
#include <vector>

#include "harness.h"

namespace kiln::opsuite {

void add_unary_cases(CaseList& cases);
void add_binary_cases(CaseList& cases);
void add_logic_cases(CaseList& cases);    // comparisons, bitwise, shifts, where
void add_dot4_cases(CaseList& cases);     // byte dot products (kernel IR DOT4)
void add_cast_cases(CaseList& cases);     // cast, bitcast, special values
void add_reduce_cases(CaseList& cases);
void add_movement_cases(CaseList& cases);
void add_matmul_cases(CaseList& cases);
void add_softmax_cases(CaseList& cases);  // softmax, log_softmax, cumsum, topk
void add_gather_cases(CaseList& cases);   // gather, embedding
void add_conv_cases(CaseList& cases);     // conv1d, conv2d, avg_pool2d, upsample_nearest2d
void add_norm_cases(CaseList& cases);     // layer, rms, group norm, linear
void add_attention_cases(CaseList& cases);
void add_creation_cases(CaseList& cases); // from_host, full, arange, eye, to_vector, to
void add_assign_cases(CaseList& cases);
void add_random_cases(CaseList& cases);
void add_error_cases(CaseList& cases);

// Every dtype of the suite, and groups of them.
const std::vector<DType>& all_dtypes();    // f32 f16 bf16 i8 u8 i16 u16 i32 u32 i64 u64 bool
const std::vector<DType>& float_dtypes();  // f32 f16 bf16
const std::vector<DType>& int_dtypes();    // i8 u8 i16 u16 i32 u32 i64 u64

// "family/op dtype (shape) view" pieces.
std::string case_name(const std::string& family, const std::string& op, const std::string& detail);

}  // namespace kiln::opsuite
