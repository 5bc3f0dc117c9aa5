/* Scalar data types shared by the device ABI, kernel IR and the tensor API. Plain C. */
#ifndef KILN_DTYPE_H
#define KILN_DTYPE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Values are part of the device ABI and of the kernel IR: never renumber. */
typedef enum kiln_dtype {
  KILN_DTYPE_VOID = 0,
  KILN_DTYPE_BOOL = 1,
  KILN_DTYPE_I8 = 2,
  KILN_DTYPE_U8 = 3,
  KILN_DTYPE_I16 = 4,
  KILN_DTYPE_U16 = 5,
  KILN_DTYPE_I32 = 6,
  KILN_DTYPE_U32 = 7,
  KILN_DTYPE_I64 = 8,
  KILN_DTYPE_U64 = 9,
  KILN_DTYPE_F16 = 10,
  KILN_DTYPE_BF16 = 11,
  KILN_DTYPE_F32 = 12,
  KILN_DTYPE_F64 = 13,
  KILN_DTYPE_COUNT = 14
} kiln_dtype;

#ifdef __cplusplus
}
#endif

#endif /* KILN_DTYPE_H */
