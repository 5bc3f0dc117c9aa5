// nvcc input for gen_math_ptx.sh: the functions of kiln_math.h as PTX .func definitions.
#include "kiln_math.h"
