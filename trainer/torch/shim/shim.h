// C interface of the libtorch shim (libmedqa_torch.so). The functions are listed once, in api.def;
// this header declares them. C++ exceptions never cross this boundary.
#ifndef MEDQA_TORCH_SHIM_H
#define MEDQA_TORCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_tensor* tt;
typedef char* tt_err;

// The library is built with -fvisibility=hidden: only the API is exported.
#define TT_FN(ret, name, params, args) __attribute__((visibility("default"))) ret name params;
#include "api.def"
#undef TT_FN

#ifdef __cplusplus
}
#endif
#endif
