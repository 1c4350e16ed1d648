// Frozen block-quantized linear layers (trainer/quant's int8 and int4 matrices) as autograd operations,
// for LoRA training over a quantized base (QLoRA) and for the dequantizing product on CUDA.
//
// A matrix [out,in] is held as codes, scales [out,ng] (ng groups of in/ng inputs per row, any float dtype)
// and optional zero points [out,ng] (uint8): codes int8 [out,in] are the values q; codes uint8 [out,in/2]
// hold two unsigned 4-bit codes per byte, element 2j in the low nibble. w = (q - zero)·scale.
//
// The matrix is never materialised whole: the forward dequantizes a block of rows at a time into a
// float32 scratch buffer (at most kBlockValues values) and multiplies it; the backward does the same
// again for the input gradient, so autograd keeps only references to the codes, never a dense copy.
// The weights get no gradient (they are frozen); a bias that requires one gets it.
#include "shim.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

at::Tensor& T(tt t) { return *reinterpret_cast<at::Tensor*>(t); }
tt wrap(at::Tensor t) { return reinterpret_cast<tt>(new at::Tensor(std::move(t))); }
// An absent optional tensor. Autograd functions cannot take undefined tensors (it reads every input's
// device), so the absent bias or zero points travel as empty tensors instead.
at::Tensor none() { return at::empty({0}); }
at::Tensor opt(tt t) { return t ? T(t) : none(); }
bool present(const at::Tensor& t) { return t.defined() && t.numel() > 0; }

char* dup(const char* s) {
  size_t n = std::strlen(s);
  char* p = static_cast<char*>(std::malloc(n + 1));
  if (p) std::memcpy(p, s, n + 1);
  return p;
}

// The dtype codes of shim.cc's dtype_of (trainer/torch's DType values).
at::ScalarType dtype_code(int code) {
  switch (code) {
    case 0: return at::kByte;
    case 1: return at::kChar;
    case 5: return at::kHalf;
    case 6: return at::kFloat;
    case 15: return at::kBFloat16;
  }
  throw std::runtime_error("qlinear: unsupported dtype code " + std::to_string(code));
}

// Scratch per dequantized block: 4M float32 values (16 MiB). A decoder matrix of Qwen2.5-0.5B is one
// or two blocks; the tied LM head [151936,896] is 33, instead of a 545 MB float copy.
constexpr int64_t kBlockValues = int64_t(1) << 22;

struct QMatrix {
  at::Tensor codes, scales, zeros;  // zeros empty: no zero point
  int64_t out, in;

  void check() const {
    TORCH_CHECK(scales.dim() == 2 && scales.size(0) == out && scales.size(1) > 0 && in % scales.size(1) == 0,
                "qlinear: scales ", scales.sizes(), " do not fit a [", out, ",", in, "] matrix");
    if (codes.scalar_type() == at::kByte) {
      TORCH_CHECK(codes.dim() == 2 && codes.size(0) == out && codes.size(1) * 2 == in,
                  "qlinear: 4-bit codes ", codes.sizes(), " do not fit a [", out, ",", in, "] matrix");
    } else {
      TORCH_CHECK(codes.scalar_type() == at::kChar && codes.dim() == 2 && codes.size(0) == out && codes.size(1) == in,
                  "qlinear: codes ", codes.sizes(), " ", codes.scalar_type(), " are not int8 [", out, ",", in, "]");
    }
    TORCH_CHECK(!present(zeros) || zeros.sizes() == scales.sizes(), "qlinear: zero points ", zeros.sizes(),
                " do not match scales ", scales.sizes());
  }

  int64_t block_rows() const { return std::max<int64_t>(1, kBlockValues / std::max<int64_t>(1, in)); }

  // Rows [r0, r0+n) dequantized to float32 [n, in]: one float32 buffer, worked on in place.
  at::Tensor rows(int64_t r0, int64_t n) const {
    at::Tensor q;
    if (codes.scalar_type() == at::kByte) {
      auto b = codes.narrow(0, r0, n);
      q = at::empty({n, in / 2, 2}, codes.options().dtype(at::kFloat));
      q.select(2, 0).copy_(at::bitwise_and(b, 15));
      q.select(2, 1).copy_(at::__rshift__(b, 4));
    } else {
      q = codes.narrow(0, r0, n).to(at::kFloat);
    }
    int64_t ng = scales.size(1);
    auto g = q.view({n, ng, in / ng});
    if (present(zeros)) g.sub_(zeros.narrow(0, r0, n).unsqueeze(-1));
    g.mul_(scales.narrow(0, r0, n).unsqueeze(-1));
    return q.view({n, in});
  }

  // x·Wᵀ (+ b) for x [..., in], block by block of output rows.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& b) const {
    auto shape = x.sizes().vec();
    shape.back() = out;
    auto x2 = x.reshape({-1, in});
    auto y = at::empty({x2.size(0), out}, x.options());
    for (int64_t r = 0, step = block_rows(); r < out; r += step) {
      int64_t n = std::min(step, out - r);
      auto w = rows(r, n).to(x.scalar_type());
      auto yb = y.narrow(1, r, n);
      if (present(b)) {
        at::addmm_out(yb, b.narrow(0, r, n).to(x.scalar_type()), x2, w.t());
      } else {
        at::mm_out(yb, x2, w.t());
      }
    }
    return y.view(shape);
  }

  // g·W for g [..., out]: the input gradient.
  at::Tensor backward(const at::Tensor& g) const {
    auto shape = g.sizes().vec();
    shape.back() = in;
    auto g2 = g.reshape({-1, out});
    at::Tensor dx;
    for (int64_t r = 0, step = block_rows(); r < out; r += step) {
      int64_t n = std::min(step, out - r);
      auto w = rows(r, n).to(g.scalar_type());
      auto part = g2.narrow(1, r, n);
      if (dx.defined()) {
        dx.addmm_(part, w);
      } else {
        dx = at::mm(part, w);
      }
    }
    return dx.view(shape);
  }
};

struct QLinearFn : public torch::autograd::Function<QLinearFn> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& bias,
                            const at::Tensor& codes, const at::Tensor& scales, const at::Tensor& zeros,
                            int64_t out) {
    QMatrix q{codes, scales, zeros, out, x.size(-1)};
    // References, not copies: the codes stay the model's own memory.
    ctx->saved_data["codes"] = codes;
    ctx->saved_data["scales"] = scales;
    ctx->saved_data["zeros"] = zeros;
    ctx->saved_data["out"] = out;
    ctx->saved_data["in"] = q.in;
    return q.forward(x, bias);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    QMatrix q{ctx->saved_data["codes"].toTensor(), ctx->saved_data["scales"].toTensor(),
              ctx->saved_data["zeros"].toTensor(), ctx->saved_data["out"].toInt(), ctx->saved_data["in"].toInt()};
    const at::Tensor& g = grads[0];
    at::Tensor dx, db;
    if (ctx->needs_input_grad(0)) dx = q.backward(g);
    if (ctx->needs_input_grad(1)) db = g.reshape({-1, q.out}).sum(0);
    return {dx, db, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

#define QTRY(...)                                       \
  try {                                                 \
    tt_get_num_threads(); /* applies the process-wide thread count on this OS thread */ \
    __VA_ARGS__;                                        \
    return nullptr;                                     \
  } catch (const c10::Error& e) {                       \
    return dup(e.what_without_backtrace());             \
  } catch (const std::exception& e) {                   \
    return dup(e.what());                               \
  } catch (...) {                                       \
    return dup("unknown C++ exception in libtorch");    \
  }

extern "C" {

tt_err tt_view_dtype(tt a, int dtype, tt* out) { QTRY(*out = wrap(T(a).view(dtype_code(dtype)))) }

tt_err tt_qdequant(tt codes, tt scales, tt zeros, int64_t out, int64_t in, int dtype, tt* res) {
  QTRY(QMatrix q{T(codes), T(scales), opt(zeros), out, in}; q.check();
       *res = wrap(q.rows(0, out).to(dtype_code(dtype))))
}

tt_err tt_qlinear(tt x, tt bias, tt codes, tt scales, tt zeros, int64_t out, tt* res) {
  QTRY(const at::Tensor& X = T(x); QMatrix{T(codes), T(scales), opt(zeros), out, X.size(-1)}.check();
       *res = wrap(QLinearFn::apply(X, opt(bias), T(codes), T(scales), opt(zeros), out)))
}

}  // extern "C"
