// The calling convention between this plugin's launcher and the code it generates (see also
// docs/kernel-ir.md, "CPU device"). Every kernel NAME compiles to
//
//   void NAME(void* const* buffers, const int64_t* vars,
//             int64_t begin, int64_t end, int64_t grid_x, int64_t grid_y);
//
// which runs the groups with linear ids begin..end-1 of a grid_x * grid_y * grid_z grid
// (x fastest: id = x + grid_x * (y + grid_y * z)), so a worker thread pays one call per chunk
// of groups, not per group. buffers[slot] is the host address of parameter `slot` (64-byte
// aligned; noalias: the launcher refuses a written buffer bound to two slots); vars[slot] is
// variable `slot` as int64 (an I32 VAR reads its low 32 bits). Local ids are always 0.
//
// Beside it the object defines `kiln_info.NAME`, a constant int64 array the loader reads:
// [magic, abi version, n_params, n_vars, work_per_group, param_flags[n_params],
//  var_min[n_vars], var_max[n_vars]].
#pragma once

#include <cstdint>
#include <string>

namespace kiln::cpu {

using KernelFn = void (*)(void* const* buffers, const int64_t* vars, int64_t begin, int64_t end,
                          int64_t grid_x, int64_t grid_y);

constexpr int64_t kInfoMagic = 0x4b494c4e43505531;  // "KILNCPU1"
constexpr int64_t kKernelAbiVersion = 1;
constexpr int kInfoHeader = 5;  // entries before param_flags

inline std::string info_symbol(const std::string& kernel) { return "kiln_info." + kernel; }

}  // namespace kiln::cpu
