// The libtorch shim: thin extern "C" wrappers over ATen, built into libmedqa_torch.so by build.sh
// (the API is listed in api.def). Every entry point catches everything, so no C++ exception ever
// unwinds into Go. Only APIs present in both libtorch 1.13 and 2.x are used; 2.x-only fast paths sit
// behind TORCH_VERSION_MAJOR.
#include "shim.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <c10/core/GradMode.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <sys/mman.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace {

char* dup(const char* s) {
  size_t n = std::strlen(s);
  char* p = static_cast<char*>(std::malloc(n + 1));
  if (p) std::memcpy(p, s, n + 1);
  return p;
}

at::Tensor& T(tt t) { return *reinterpret_cast<at::Tensor*>(t); }
tt wrap(at::Tensor t) { return reinterpret_cast<tt>(new at::Tensor(std::move(t))); }

// Intra-op thread counts live per OS thread (OpenMP ICV); every entry point
// re-applies the process-wide choice on threads that have not seen it yet.
std::atomic<int> g_threads{0};
std::atomic<int> g_gen{0};
void sync_threads() {
  thread_local int seen = -1;
  int gen = g_gen.load(std::memory_order_relaxed);
  if (seen != gen) {
    seen = gen;
    int n = g_threads.load();
    if (n > 0) at::set_num_threads(n);
  }
}

at::ScalarType dtype_of(int code) {
  switch (code) {
    case 0: return at::kByte;
    case 1: return at::kChar;
    case 3: return at::kInt;
    case 4: return at::kLong;
    case 5: return at::kHalf;
    case 6: return at::kFloat;
    case 7: return at::kDouble;
    case 11: return at::kBool;
    case 15: return at::kBFloat16;
  }
  throw std::runtime_error("unsupported dtype code " + std::to_string(code));
}

at::Device device_of(int code) {
  if (code < 0) return at::Device(at::kCPU);
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(code));
}

at::TensorOptions opts(int dtype, int device) {
  return at::TensorOptions().dtype(dtype_of(dtype)).device(device_of(device));
}

// Half-precision and float32 work is upcast to float32 (as transformers does);
// float64 stays float64 so that reference computations keep their precision.
at::ScalarType upcast(const at::Tensor& t) { return t.scalar_type() == at::kDouble ? at::kDouble : at::kFloat; }

at::IntArrayRef dims(const int64_t* p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

}  // namespace

#define TRY(...)                                        \
  try {                                                 \
    sync_threads();                                     \
    __VA_ARGS__;                                        \
    return nullptr;                                     \
  } catch (const c10::Error& e) {                       \
    return dup(e.what_without_backtrace());             \
  } catch (const std::exception& e) {                   \
    return dup(e.what());                               \
  } catch (...) {                                       \
    return dup("unknown C++ exception in libtorch");    \
  }

#ifndef TT_SOURCE_SHA256
#error "build with build.sh: it defines TT_SOURCE_SHA256, the hash the Go loader checks"
#endif

extern "C" {

const char* tt_shim_source(void) { return TT_SOURCE_SHA256; }

void tt_free(tt t) { delete reinterpret_cast<at::Tensor*>(t); }

tt_err tt_version(char** out) {
  TRY(std::string s = std::string(TORCH_VERSION) + "\n" + at::show_config(); *out = dup(s.c_str()))
}

tt_err tt_set_num_threads(int n) {
  TRY(g_threads.store(n); g_gen.fetch_add(1); at::set_num_threads(n))
}

int tt_get_num_threads(void) {
  sync_threads();
  return at::get_num_threads();
}

tt_err tt_manual_seed(uint64_t seed) { TRY(torch::manual_seed(seed)) }

tt_err tt_rng_state(int device, tt* out) {
  TRY(auto gen = at::globalContext().defaultGenerator(device_of(device)); std::lock_guard<std::mutex> lock(gen.mutex());
      *out = wrap(gen.get_state()))
}

tt_err tt_set_rng_state(int device, tt state) {
  TRY(auto gen = at::globalContext().defaultGenerator(device_of(device)); std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(T(state)))
}

int tt_cuda_device_count(void) {
  try {
    return static_cast<int>(torch::cuda::device_count());
  } catch (...) {
    return 0;
  }
}

int tt_set_grad_enabled(int on) {
  bool prev = c10::GradMode::is_enabled();
  c10::GradMode::set_enabled(on != 0);
  return prev ? 1 : 0;
}

int tt_grad_enabled(void) { return c10::GradMode::is_enabled() ? 1 : 0; }

tt_err tt_from_data(const void* data, int dtype, const int64_t* shape, int ndim, int device, tt* out) {
  TRY(auto cpu = at::from_blob(const_cast<void*>(data), dims(shape, ndim), opts(dtype, -1)).clone();
      *out = wrap(device < 0 ? cpu : cpu.to(device_of(device))))
}

tt_err tt_full(const int64_t* shape, int ndim, double value, int dtype, int device, tt* out) {
  TRY(*out = wrap(at::full(dims(shape, ndim), value, opts(dtype, device))))
}

tt_err tt_arange(double start, double end, double step, int dtype, int device, tt* out) {
  TRY(*out = wrap(at::arange(start, end, step, opts(dtype, device))))
}

tt_err tt_randn(const int64_t* shape, int ndim, int dtype, int device, tt* out) {
  TRY(*out = wrap(at::randn(dims(shape, ndim), opts(dtype, device))))
}

tt_err tt_rand(const int64_t* shape, int ndim, int dtype, int device, tt* out) {
  TRY(*out = wrap(at::rand(dims(shape, ndim), opts(dtype, device))))
}

int tt_dim(tt t) { return static_cast<int>(T(t).dim()); }

void tt_shape(tt t, int64_t* out) {
  auto s = T(t).sizes();
  for (size_t i = 0; i < s.size(); i++) out[i] = s[i];
}

int tt_dtype(tt t) { return static_cast<int>(T(t).scalar_type()); }

int tt_device(tt t) { return T(t).is_cuda() ? T(t).device().index() : -1; }

int64_t tt_numel(tt t) { return T(t).numel(); }

tt_err tt_item(tt t, double* out) { TRY(*out = T(t).item().toDouble()) }

tt_err tt_copy_out(tt t, void* dst, size_t nbytes) {
  TRY(auto c = T(t).detach().to(at::kCPU).contiguous();
      if (c.nbytes() != nbytes) throw std::runtime_error("copy_out: tensor has " + std::to_string(c.nbytes()) +
                                                         " bytes, destination " + std::to_string(nbytes));
      if (nbytes) std::memcpy(dst, c.data_ptr(), nbytes))
}

tt_err tt_unary(int op, tt a, tt* out) {
  TRY(const at::Tensor& x = T(a); at::Tensor r; switch (op) {
    case 0: r = at::neg(x); break;
    case 1: r = at::exp(x); break;
    case 2: r = at::log(x); break;
    case 3: r = at::sqrt(x); break;
    case 4: r = at::rsqrt(x); break;
    case 5: r = at::sigmoid(x); break;
    case 6: r = at::silu(x); break;
    case 7: r = at::tanh(x); break;
    case 8: r = at::relu(x); break;
    case 9: r = at::abs(x); break;
    case 10: r = x.contiguous(); break;
    case 11: r = x.clone(); break;
    case 12: r = at::cos(x); break;
    case 13: r = at::sin(x); break;
    case 14: r = at::logical_not(x); break;
    case 15: r = at::reciprocal(x); break;
    case 16: r = x.sum(); break;
    case 17: r = x.mean(); break;
    case 18: r = x.max(); break;
    case 19: r = x.min(); break;
    case 20: r = x.flatten(); break;
    default: throw std::runtime_error("unknown unary op " + std::to_string(op));
  } *out = wrap(r))
}

tt_err tt_binary(int op, tt a, tt b, tt* out) {
  TRY(const at::Tensor& x = T(a); const at::Tensor& y = T(b); at::Tensor r; switch (op) {
    case 0: r = at::add(x, y); break;
    case 1: r = at::sub(x, y); break;
    case 2: r = at::mul(x, y); break;
    case 3: r = at::div(x, y); break;
    case 4: r = at::matmul(x, y); break;
    case 5: r = at::mm(x, y); break;
    case 6: r = at::mv(x, y); break;
    case 7: r = at::eq(x, y); break;
    case 8: r = at::ne(x, y); break;
    case 9: r = at::lt(x, y); break;
    case 10: r = at::le(x, y); break;
    case 11: r = at::gt(x, y); break;
    case 12: r = at::ge(x, y); break;
    case 13: r = at::maximum(x, y); break;
    case 14: r = at::minimum(x, y); break;
    case 15: r = at::logical_and(x, y); break;
    case 16: r = at::logical_or(x, y); break;
    case 17: r = at::pow(x, y); break;
    default: throw std::runtime_error("unknown binary op " + std::to_string(op));
  } *out = wrap(r))
}

tt_err tt_scalar(int op, tt a, double s, tt* out) {
  TRY(const at::Tensor& x = T(a); at::Tensor r; switch (op) {
    case 0: r = at::add(x, s); break;
    case 1: r = at::mul(x, s); break;
    case 2: r = at::div(x, s); break;
    case 3: r = at::pow(x, s); break;
    case 4: r = at::rsub(x, s); break;
    case 5: r = at::eq(x, s); break;
    case 6: r = at::ne(x, s); break;
    case 7: r = at::lt(x, s); break;
    case 8: r = at::le(x, s); break;
    case 9: r = at::gt(x, s); break;
    case 10: r = at::ge(x, s); break;
    case 11: r = at::pow(at::Scalar(s), x); break;
    default: throw std::runtime_error("unknown scalar op " + std::to_string(op));
  } *out = wrap(r))
}

tt_err tt_dimop(int op, tt a, int64_t dim, int keepdim, tt* out) {
  TRY(const at::Tensor& x = T(a); bool k = keepdim != 0; at::Tensor r; switch (op) {
    case 0: r = x.sum(dim, k); break;
    case 1: r = x.mean(dim, k); break;
    case 2: r = x.amax(dim, k); break;
    case 3: r = x.amin(dim, k); break;
    case 4: r = x.argmax(dim, k); break;
    case 5: r = x.argmin(dim, k); break;
    case 6: r = at::logsumexp(x, dim, k); break;
    case 7: r = at::softmax(x, dim); break;
    case 8: r = at::log_softmax(x, dim); break;
    case 9: r = at::cumsum(x, dim); break;
    default: throw std::runtime_error("unknown dim op " + std::to_string(op));
  } *out = wrap(r))
}

tt_err tt_reshape(tt a, const int64_t* shape, int ndim, int view, tt* out) {
  TRY(*out = wrap(view ? T(a).view(dims(shape, ndim)) : T(a).reshape(dims(shape, ndim))))
}

tt_err tt_expand(tt a, const int64_t* shape, int ndim, tt* out) { TRY(*out = wrap(T(a).expand(dims(shape, ndim)))) }

tt_err tt_permute(tt a, const int64_t* d, int ndim, tt* out) { TRY(*out = wrap(T(a).permute(dims(d, ndim)))) }

tt_err tt_transpose(tt a, int64_t d0, int64_t d1, tt* out) { TRY(*out = wrap(T(a).transpose(d0, d1))) }

tt_err tt_narrow(tt a, int64_t dim, int64_t start, int64_t len, tt* out) {
  TRY(*out = wrap(T(a).narrow(dim, start, len)))
}

static std::vector<at::Tensor> list(tt* ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(n);
  for (int i = 0; i < n; i++) v.push_back(T(ts[i]));
  return v;
}

tt_err tt_cat(tt* ts, int n, int64_t dim, tt* out) { TRY(*out = wrap(at::cat(list(ts, n), dim))) }

tt_err tt_stack(tt* ts, int n, int64_t dim, tt* out) { TRY(*out = wrap(at::stack(list(ts, n), dim))) }

tt_err tt_unsqueeze(tt a, int64_t dim, tt* out) { TRY(*out = wrap(T(a).unsqueeze(dim))) }

tt_err tt_squeeze(tt a, int64_t dim, tt* out) { TRY(*out = wrap(T(a).squeeze(dim))) }

tt_err tt_index_select(tt a, int64_t dim, tt idx, tt* out) { TRY(*out = wrap(at::index_select(T(a), dim, T(idx)))) }

tt_err tt_gather(tt a, int64_t dim, tt idx, tt* out) { TRY(*out = wrap(at::gather(T(a), dim, T(idx)))) }

tt_err tt_masked_fill(tt a, tt mask, double value, tt* out) { TRY(*out = wrap(T(a).masked_fill(T(mask), value))) }

tt_err tt_where(tt cond, tt a, tt b, tt* out) { TRY(*out = wrap(at::where(T(cond), T(a), T(b)))) }

tt_err tt_tri(tt a, int64_t k, int upper, tt* out) { TRY(*out = wrap(upper ? at::triu(T(a), k) : at::tril(T(a), k))) }

tt_err tt_repeat_interleave(tt a, int64_t repeats, int64_t dim, tt* out) {
  TRY(*out = wrap(at::repeat_interleave(T(a), repeats, dim)))
}

tt_err tt_to(tt a, int dtype, int device, tt* out) {
  TRY(*out = wrap(T(a).to(device_of(device), dtype_of(dtype))))
}

tt_err tt_linear(tt x, tt w, tt b, tt* out) {
  // One or two rows run as matrix-vector products: OpenBLAS's GEMM with M=1 costs
  // ~2.5x a GEMV over the same weight, and with M=2 still more than two GEMVs.
  TRY(const at::Tensor& X = T(x); const at::Tensor& W = T(w); at::Tensor r;
      int64_t in = X.dim() >= 1 ? X.size(-1) : 0; int64_t rows = in > 0 ? X.numel() / in : 0;
      if (W.dim() == 2 && rows >= 1 && rows <= 2) {
        auto X2 = X.reshape({rows, in});
        std::vector<at::Tensor> ys;
        for (int64_t i = 0; i < rows; i++) ys.push_back(b ? at::addmv(T(b), W, X2[i]) : at::mv(W, X2[i]));
        r = rows == 1 ? ys[0] : at::stack(ys);
        auto shape = X.sizes().vec();
        shape.back() = W.size(0);
        r = r.reshape(shape);
      } else {
        r = b ? at::linear(X, W, T(b)) : at::linear(X, W);
      } *out = wrap(r))
}

tt_err tt_rms_norm(tt x, tt w, double eps, tt* out) {
  // As transformers' Qwen2RMSNorm: statistics in float32, scale applied in the input dtype.
  TRY(const at::Tensor& X = T(x); auto xf = X.to(upcast(X)); auto var = xf.pow(2).mean(-1, true);
      auto y = (xf * at::rsqrt(var + eps)).to(X.scalar_type()); *out = wrap(T(w) * y))
}

static at::Tensor attention(const at::Tensor& Q, const at::Tensor& K, const at::Tensor& V, tt mask, double scale) {
  // Q [B,NH,T,D], K/V [B,KV,S,D], mask additive and broadcastable to [B,1,T,S].
  int64_t B = Q.size(0), NH = Q.size(1), Tq = Q.size(2), D = Q.size(3), KV = K.size(1), S = K.size(2);
  if (NH % KV != 0) throw std::runtime_error("attention: query heads not a multiple of key/value heads");
  int64_t rep = NH / KV;
#if TORCH_VERSION_MAJOR >= 2
  // Fused kernels, whose scale is always 1/sqrt(D).
  if (Q.is_cuda() && std::abs(scale * std::sqrt(static_cast<double>(D)) - 1) < 1e-9) {
    auto Kr = rep > 1 ? K.repeat_interleave(rep, 1) : K;
    auto Vr = rep > 1 ? V.repeat_interleave(rep, 1) : V;
    c10::optional<at::Tensor> m;
    if (mask) m = T(mask).to(Q.scalar_type());
    return at::scaled_dot_product_attention(Q, Kr, Vr, m);
  }
#endif
  // Grouped form: the rep query heads sharing a key/value head become extra rows,
  // so the cache is never copied rep times. Softmax in float32 as transformers does.
  auto qg = Q.reshape({B, KV, rep * Tq, D});
  auto sc = at::matmul(qg, K.transpose(-1, -2)) * scale;
  if (mask) {
    const at::Tensor& M = T(mask);
    sc = (sc.view({B, KV, rep, Tq, S}) + M.view({M.size(0), 1, 1, Tq, S})).view({B, KV, rep * Tq, S});
  }
  auto p = at::softmax(sc, -1, upcast(Q)).to(Q.scalar_type());
  return at::matmul(p, V).view({B, NH, Tq, D});
}

tt_err tt_attention(tt q, tt k, tt v, tt mask, double scale, tt* out) {
  TRY(*out = wrap(attention(T(q), T(k), T(v), mask, scale)))
}

tt_err tt_cross_entropy(tt logits, tt target, int64_t ignore_index, int reduction, tt* out) {
  TRY(*out = wrap(at::cross_entropy_loss(T(logits), T(target), {}, reduction, ignore_index, 0.0)))
}

tt_err tt_dropout(tt a, double p, int train, tt* out) { TRY(*out = wrap(at::dropout(T(a), p, train != 0))) }

tt_err tt_topk(tt a, int64_t k, int64_t dim, int largest, tt* values, tt* indices) {
  TRY(auto r = at::topk(T(a), k, dim, largest != 0, true); *values = wrap(std::get<0>(r));
      *indices = wrap(std::get<1>(r)))
}

tt_err tt_sort(tt a, int64_t dim, int descending, tt* values, tt* indices) {
  TRY(auto r = at::sort(T(a), c10::optional<bool>(true), dim, descending != 0); *values = wrap(std::get<0>(r));
      *indices = wrap(std::get<1>(r)))
}

tt_err tt_multinomial(tt probs, int64_t n, int replacement, tt* out) {
  TRY(*out = wrap(at::multinomial(T(probs), n, replacement != 0)))
}

tt_err tt_clamp(tt a, double lo, double hi, tt* out) { TRY(*out = wrap(at::clamp(T(a), lo, hi))) }

static at::Tensor empty_hugepages(at::IntArrayRef shape, at::ScalarType dt) {
  // Weights are streamed whole for every decoded token; on 4 KiB pages that is a TLB
  // miss per page (costly under virtualisation). Transparent huge pages are usually
  // "madvise" only, so map 2 MiB-aligned memory and ask for them before first touch.
  const size_t huge = size_t(2) << 20;
  size_t bytes = c10::elementSize(dt);
  for (auto d : shape) bytes *= static_cast<size_t>(d);
  size_t len = (bytes + huge - 1) / huge * huge;
  if (len == 0) len = huge;
  size_t total = len + huge;
  void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::runtime_error("empty_hugepages: mmap of " + std::to_string(total) + " bytes failed");
  void* aligned = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(p) + huge - 1) & ~(uintptr_t(huge) - 1));
  madvise(aligned, len, MADV_HUGEPAGE);
  return at::from_blob(aligned, shape, [p, total](void*) { munmap(p, total); }, at::TensorOptions().dtype(dt));
}

tt_err tt_empty(const int64_t* shape, int ndim, int dtype, int device, int hugepages, tt* out) {
  TRY(if (hugepages && device < 0) *out = wrap(empty_hugepages(dims(shape, ndim), dtype_of(dtype)));
      else *out = wrap(at::empty(dims(shape, ndim), opts(dtype, device))))
}

tt_err tt_data_ptr(tt a, void** out) {
  TRY(const at::Tensor& t = T(a);
      if (!t.is_cpu() || !t.is_contiguous()) throw std::runtime_error("data_ptr: tensor is not a contiguous CPU tensor");
      *out = t.data_ptr())
}

tt_err tt_copy_from(tt dst, const void* data, int dtype, const int64_t* shape, int ndim) {
  TRY(auto src = at::from_blob(const_cast<void*>(data), dims(shape, ndim), opts(dtype, -1)); T(dst).copy_(src))
}

tt_err tt_copy_(tt dst, tt src) { TRY(T(dst).copy_(T(src))) }

tt_err tt_fill_(tt a, double v) { TRY(T(a).fill_(v)) }

tt_err tt_add_(tt a, tt b, double alpha) { TRY(T(a).add_(T(b), alpha)) }

tt_err tt_mul_scalar_(tt a, double s) { TRY(T(a).mul_(s)) }

tt_err tt_requires_grad_(tt a, int on) { TRY(T(a).requires_grad_(on != 0)) }

int tt_requires_grad(tt a) { return T(a).requires_grad() ? 1 : 0; }

tt_err tt_backward(tt a) { TRY(T(a).backward()) }

tt_err tt_grad(tt a, tt* out) {
  TRY(const at::Tensor& g = T(a).grad(); *out = g.defined() ? wrap(g) : nullptr)
}

tt_err tt_zero_grad(tt a) { TRY(T(a).mutable_grad().reset()) }

tt_err tt_detach(tt a, tt* out) { TRY(*out = wrap(T(a).detach())) }

tt_err tt_adamw_step(tt param, tt grad, tt m, tt v, int64_t step, double lr, double beta1, double beta2, double eps,
                     double weight_decay) {
  // torch.optim.AdamW's single-tensor update, step counted from 1.
  TRY(c10::AutoGradMode no_grad(false); at::Tensor& p = T(param); const at::Tensor& g = T(grad);
      if (weight_decay != 0) p.mul_(1 - lr * weight_decay);
      T(m).mul_(beta1).add_(g, 1 - beta1);
      T(v).mul_(beta2).addcmul_(g, g, 1 - beta2);
      double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
      double bc2 = 1 - std::pow(beta2, static_cast<double>(step));
      auto denom = (T(v).sqrt() / std::sqrt(bc2)).add_(eps);
      p.addcdiv_(T(m), denom, -lr / bc1))
}

}  // extern "C"
