// C interface of the libtorch shim. Every function that can fail returns NULL on
// success or a malloc'd error message (the libtorch text) that the caller frees;
// C++ exceptions never cross this boundary. Tensors are opaque owned handles.
#ifndef MEDQA_TORCH_SHIM_H
#define MEDQA_TORCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tt_tensor* tt;
typedef char* tt_err;

// Devices are encoded as -1 for CPU and the CUDA index (0, 1, ...) otherwise.

void tt_free(tt t);
tt_err tt_version(char** out);     // "1.13.0 ..." plus at::show_config() (malloc'd)
tt_err tt_set_num_threads(int n);  // intra-op threads of this OS thread and the default for new ones
int tt_get_num_threads(void);
tt_err tt_manual_seed(uint64_t seed);
int tt_cuda_device_count(void);
tt_err tt_rng_state(int device, tt* out);  // the default generator's state as a uint8 tensor
tt_err tt_set_rng_state(int device, tt state);
int tt_set_grad_enabled(int on);  // returns the previous mode (per OS thread)
int tt_grad_enabled(void);

// Creation.
tt_err tt_from_data(const void* data, int dtype, const int64_t* shape, int ndim, int device, tt* out);
tt_err tt_full(const int64_t* shape, int ndim, double value, int dtype, int device, tt* out);
tt_err tt_arange(double start, double end, double step, int dtype, int device, tt* out);
tt_err tt_randn(const int64_t* shape, int ndim, int dtype, int device, tt* out);
tt_err tt_rand(const int64_t* shape, int ndim, int dtype, int device, tt* out);

// Introspection.
int tt_dim(tt t);
void tt_shape(tt t, int64_t* out);
int tt_dtype(tt t);
int tt_device(tt t);
int64_t tt_numel(tt t);
tt_err tt_item(tt t, double* out);
tt_err tt_copy_out(tt t, void* dst, size_t nbytes);  // contiguous CPU bytes in t's dtype

// Generic ops by code (see the OP_* tables in shim.cc and ops.go).
tt_err tt_unary(int op, tt a, tt* out);
tt_err tt_binary(int op, tt a, tt b, tt* out);
tt_err tt_scalar(int op, tt a, double s, tt* out);
tt_err tt_dimop(int op, tt a, int64_t dim, int keepdim, tt* out);  // reductions and softmaxes

// Shape and indexing.
tt_err tt_reshape(tt a, const int64_t* shape, int ndim, int view, tt* out);
tt_err tt_expand(tt a, const int64_t* shape, int ndim, tt* out);
tt_err tt_permute(tt a, const int64_t* dims, int ndim, tt* out);
tt_err tt_transpose(tt a, int64_t d0, int64_t d1, tt* out);
tt_err tt_narrow(tt a, int64_t dim, int64_t start, int64_t len, tt* out);
tt_err tt_cat(tt* ts, int n, int64_t dim, tt* out);
tt_err tt_stack(tt* ts, int n, int64_t dim, tt* out);
tt_err tt_unsqueeze(tt a, int64_t dim, tt* out);
tt_err tt_squeeze(tt a, int64_t dim, tt* out);
tt_err tt_index_select(tt a, int64_t dim, tt idx, tt* out);
tt_err tt_gather(tt a, int64_t dim, tt idx, tt* out);
tt_err tt_masked_fill(tt a, tt mask, double value, tt* out);
tt_err tt_where(tt cond, tt a, tt b, tt* out);
tt_err tt_tri(tt a, int64_t k, int upper, tt* out);
tt_err tt_repeat_interleave(tt a, int64_t repeats, int64_t dim, tt* out);
tt_err tt_to(tt a, int dtype, int device, tt* out);

// Neural-network pieces.
tt_err tt_linear(tt x, tt w, tt b, tt* out);  // b may be NULL; M=1 inputs use at::mv
tt_err tt_rms_norm(tt x, tt w, double eps, tt* out);
tt_err tt_attention(tt q, tt k, tt v, tt mask, double scale, tt* out);  // grouped-query; mask may be NULL
tt_err tt_cross_entropy(tt logits, tt target, int64_t ignore_index, int reduction, tt* out);
tt_err tt_dropout(tt a, double p, int train, tt* out);
tt_err tt_topk(tt a, int64_t k, int64_t dim, int largest, tt* values, tt* indices);
tt_err tt_sort(tt a, int64_t dim, int descending, tt* values, tt* indices);
tt_err tt_multinomial(tt probs, int64_t n, int replacement, tt* out);
tt_err tt_clamp(tt a, double lo, double hi, tt* out);

// Uninitialised tensor; with hugepages on the CPU its memory is 2 MiB-page backed.
tt_err tt_empty(const int64_t* shape, int ndim, int dtype, int device, int hugepages, tt* out);
// Address of a contiguous CPU tensor's first element, for kernels outside libtorch.
tt_err tt_data_ptr(tt a, void** out);
// dst.copy_(bytes viewed as dtype/shape): one copy, converting dtype and device.
tt_err tt_copy_from(tt dst, const void* data, int dtype, const int64_t* shape, int ndim);

// In place.
tt_err tt_copy_(tt dst, tt src);
tt_err tt_fill_(tt a, double v);
tt_err tt_add_(tt a, tt b, double alpha);
tt_err tt_mul_scalar_(tt a, double s);

// Autograd.
tt_err tt_requires_grad_(tt a, int on);
int tt_requires_grad(tt a);
tt_err tt_backward(tt a);
tt_err tt_grad(tt a, tt* out);  // *out = NULL when no gradient exists
tt_err tt_zero_grad(tt a);      // drops the gradient (set_to_none semantics on every version)
tt_err tt_detach(tt a, tt* out);

// AdamW (decoupled weight decay, bias-corrected), one parameter per call, under no-grad.
tt_err tt_adamw_step(tt param, tt grad, tt m, tt v, int64_t step, double lr, double beta1, double beta2,
                     double eps, double weight_decay);

#ifdef __cplusplus
}
#endif
#endif
