// Data-parallel collectives on PyTorch's own distributed runtime (c10d): a TCPStore rendezvous and a
// Gloo (CPU) or NCCL (CUDA) process group, one per process. build.sh compiles each backend only where
// its headers exist (-DUSE_C10D_GLOO, -DUSE_C10D_NCCL) and says which; without them these functions
// still exist and return an error naming what is missing, so the API (api.def) never changes.
#include "shim.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(USE_C10D_GLOO) || defined(USE_C10D_NCCL)
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#endif
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace {

char* dist_dup(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

at::Tensor& DT(tt t) { return *reinterpret_cast<at::Tensor*>(t); }

// The process group behind one interface, whatever its concrete type (a ProcessGroup in libtorch 1.x,
// a Backend in 2.x: both have these two methods with these signatures).
struct Group {
  virtual ~Group() = default;
  virtual void allreduce(std::vector<at::Tensor>& ts) = 0;
  virtual void barrier() = 0;
};

#if defined(USE_C10D_GLOO) || defined(USE_C10D_NCCL)
template <class PG>
struct GroupOf : Group {
  c10::intrusive_ptr<PG> pg;
  explicit GroupOf(c10::intrusive_ptr<PG> p) : pg(std::move(p)) {}
  void allreduce(std::vector<at::Tensor>& ts) override {
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    pg->allreduce(ts, o)->wait();
  }
  void barrier() override { pg->barrier(c10d::BarrierOptions())->wait(); }
};
#endif

struct Dist {
#if defined(USE_C10D_GLOO) || defined(USE_C10D_NCCL)
  c10::intrusive_ptr<c10d::Store> store;
#endif
  std::unique_ptr<Group> group;
  int rank = 0, world = 1;
};
Dist* g_dist = nullptr;

Group& group() {
  if (!g_dist) throw std::runtime_error("no process group: call tt_dist_init first");
  return *g_dist->group;
}

const char* compiled_backends() {
#if defined(USE_C10D_GLOO) && defined(USE_C10D_NCCL)
  return "gloo nccl";
#elif defined(USE_C10D_GLOO)
  return "gloo";
#elif defined(USE_C10D_NCCL)
  return "nccl";
#else
  return "";
#endif
}

#ifdef USE_C10D_GLOO
bool is_loopback(const std::string& a) { return a == "localhost" || a.rfind("127.", 0) == 0 || a == "::1"; }
#endif

}  // namespace

#define DTRY(...)                                       \
  try {                                                 \
    __VA_ARGS__;                                        \
    return nullptr;                                     \
  } catch (const c10::Error& e) {                       \
    return dist_dup(e.what_without_backtrace());        \
  } catch (const std::exception& e) {                   \
    return dist_dup(e.what());                          \
  } catch (...) {                                       \
    return dist_dup("unknown C++ exception in c10d");   \
  }

extern "C" {

tt_err tt_dist_backends(char** out) { DTRY(*out = dist_dup(compiled_backends())) }

tt_err tt_dist_init(const char* backend, const char* addr, int port, int rank, int world, const char* agent_prefix, int64_t timeout_ms) {
  DTRY({
    if (g_dist) throw std::runtime_error("a process group already exists in this process");
    if (world < 1 || rank < 0 || rank >= world)
      throw std::runtime_error("rank " + std::to_string(rank) + " outside world size " + std::to_string(world));
    if (port <= 0 || port > 65535) throw std::runtime_error("port " + std::to_string(port) + " outside 1..65535");
    std::string b(backend), host(addr);
    std::string have = compiled_backends();
    if ((" " + have + " ").find(" " + b + " ") == std::string::npos)
      throw std::runtime_error("backend " + b + " is not compiled into this libtorch shim (it has: " +
                               (have.empty() ? std::string("none") : have) +
                               "; build.sh compiles a backend where its headers exist, e.g. gloo needs libgloo-dev)");
#if defined(USE_C10D_GLOO) || defined(USE_C10D_NCCL)
    auto timeout = std::chrono::milliseconds(timeout_ms);
    // Rank 0 hosts the store, unless the launcher's agent already does (torchrun's static rendezvous
    // sets TORCHELASTIC_USE_AGENT_STORE): then every rank is a client and works under agent_prefix,
    // as torch.distributed's env:// rendezvous does.
    bool agent = agent_prefix && *agent_prefix;
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(port);
    so.isServer = rank == 0 && !agent;
    so.numWorkers = static_cast<std::size_t>(world);
    so.waitWorkers = !agent;
    so.timeout = timeout;
    auto d = std::make_unique<Dist>();
    d->store = c10::make_intrusive<c10d::TCPStore>(host, so);
    if (agent) d->store = c10::make_intrusive<c10d::PrefixStore>(agent_prefix, d->store);
    d->rank = rank;
    d->world = world;
#ifdef USE_C10D_GLOO
    if (b == "gloo") {
      auto o = c10d::ProcessGroupGloo::Options::create(timeout);
      // All ranks on this machine: loopback. Else the interface GLOO_SOCKET_IFNAME names (as PyTorch
      // reads it), else the address this host's name resolves to.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname && *ifname)
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      else if (is_loopback(host))
        o->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      else
        o->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      o->threads = 1;
      d->group = std::make_unique<GroupOf<c10d::ProcessGroupGloo>>(
          c10::make_intrusive<c10d::ProcessGroupGloo>(d->store, rank, world, o));
    }
#endif
#ifdef USE_C10D_NCCL
    if (b == "nccl") {
      // Without async error handling a collective whose peer died waits forever on the GPU stream.
      setenv("NCCL_ASYNC_ERROR_HANDLING", "1", 0);
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = timeout;
      d->group = std::make_unique<GroupOf<c10d::ProcessGroupNCCL>>(
          c10::make_intrusive<c10d::ProcessGroupNCCL>(d->store, rank, world, o));
    }
#endif
    g_dist = d.release();
#endif
  })
}

// In place: t becomes the sum of every rank's t.
tt_err tt_dist_allreduce(tt t) {
  DTRY({
    std::vector<at::Tensor> v{DT(t)};
    if (!v[0].is_contiguous()) throw std::runtime_error("allreduce needs a contiguous tensor");
    group().allreduce(v);
  })
}

// Sums the gradients of params[0..n) across ranks, bucket_numel elements at a time (<= 0: one bucket),
// through flat float32 buffers, and writes the sums back. A parameter without a gradient (a rank whose
// share of the batch had no learned token) contributes zeros and receives the sum. extra (may be NULL,
// contiguous float32) rides along in the first bucket, so per-step scalars cost no extra round trip.
tt_err tt_dist_allreduce_grads(tt* params, int n, tt extra, int64_t bucket_numel) {
  DTRY({
    at::NoGradGuard ng;
    std::vector<at::Tensor> grads;
    for (int i = 0; i < n; i++) {
      at::Tensor& p = DT(params[i]);
      if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
      grads.push_back(p.grad());
    }
    bool first = true;
    for (size_t lo = 0; lo < grads.size() || first;) {
      size_t hi = lo;
      int64_t numel = 0;
      while (hi < grads.size() && (hi == lo || bucket_numel <= 0 || numel + grads[hi].numel() <= bucket_numel))
        numel += grads[hi++].numel();
      std::vector<at::Tensor> parts;
      if (first && extra) parts.push_back(DT(extra).reshape({-1}).to(at::kFloat));
      for (size_t i = lo; i < hi; i++) parts.push_back(grads[i].reshape({-1}).to(at::kFloat));
      if (!parts.empty()) {
        std::vector<at::Tensor> flat{at::cat(parts)};
        group().allreduce(flat);
        int64_t off = 0;
        if (first && extra) {
          DT(extra).copy_(flat[0].narrow(0, 0, DT(extra).numel()).view_as(DT(extra)));
          off = DT(extra).numel();
        }
        for (size_t i = lo; i < hi; i++) {
          int64_t k = grads[i].numel();
          grads[i].copy_(flat[0].narrow(0, off, k).view_as(grads[i]));
          off += k;
        }
      }
      first = false;
      lo = hi;
    }
  })
}

tt_err tt_dist_barrier(void) { DTRY(group().barrier()) }

// Drops the group and the store (rank 0's store server closes with it).
tt_err tt_dist_destroy(void) {
  DTRY({
    delete g_dist;
    g_dist = nullptr;
  })
}

}  // extern "C"
