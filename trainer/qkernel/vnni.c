// AVX512-VNNI versions of the integer products (intdot_impl.h): the AVX2 code
// with maddubs + madd replaced by one dpbusd and wider prefill tiles, chosen at
// run time where the CPU has AVX512-VNNI and AVX512-VL (dpbusd on 256-bit
// registers). They return the same floats as the AVX2 code (the tests check).
#include "internal.h"

#ifdef QK_HAVE_AVX2
#include <immintrin.h>

#define QK_VNNI 1
#define QK_SFX vnni
#define QK_TARGET "avx2,fma,f16c,avx512f,avx512vl,avx512vnni"
#include "intdot_impl.h"
#endif
