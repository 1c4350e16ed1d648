// Package torch is medqa's thin binding to libtorch (ATen) through a small C++ shim:
// a shared library (libmedqa_torch.so, sources in shim/) loaded at run time, so Go
// builds without libtorch and one binary runs against whichever libtorch the shim
// was built for (load.go says where it is looked for).
//
// Lifetime: every *Tensor owns a libtorch handle. Free it with Close, or create it
// in a Scope (every op takes one as its first argument; nil means the caller owns
// the result) and Close the scope; s.Keep(t) lets a result outlive its scope.
// Freeing a handle never breaks autograd. A cleanup frees forgotten tensors when
// the Go garbage collector finds them, but that is a safety net, not a plan.
//
//	s := torch.NewScope()
//	defer s.Close()
//
// Errors: libtorch errors come back from the shim as strings and become *Error.
// Ops panic with *Error so model code reads like math; API boundaries convert the
// panic into an ordinary error with `defer torch.Recover(&err)` or
// `err := torch.Do(func() { ... })`. Errors carry no C++ backtraces.
//
// Threads: grad mode and OpenMP thread teams belong to the OS thread, so the
// goroutine that drives torch should call runtime.LockOSThread (NoGrad does so
// for its duration). Loading the shim sets OMP_WAIT_POLICY=passive, unless it is
// set, before libgomp loads. libtorch uses all cores unless
// SetNumThreads says otherwise.
//
// # The API at a glance
//
//   - Creation: FromSlice[T](s, data, shape...), ToSlice[T](t), FromBytes, Bytes,
//     Zeros, Ones, Full, Arange, Randn, Rand; Empty, EmptyHugePages (2 MiB-page
//     CPU memory for large weights), t.CopyFromBytes(raw, dtype, shape) (one
//     converting copy from safetensors bytes). DTypes Float32, BFloat16, Float16,
//     Float64, Int64, Int32, Int8, Uint8, Bool; devices CPU and CUDA(i);
//     ParseDType and ParseDevice read their command-line names.
//   - Math: Add, Sub, Mul, Div, Matmul, Mm, Mv and scalar variants; Exp, Log, Sqrt,
//     Rsqrt, Silu, …; SumDim, MeanDim, Amax, Argmax, Logsumexp, Softmax,
//     LogSoftmax, Cumsum; View, Reshape, Transpose, Permute, Narrow, Cat, Stack,
//     Unsqueeze, Squeeze, Expand, Contiguous; IndexSelect, Embedding, Gather,
//     MaskedFill, Where, Triu, Tril; To, ToDType; TopK, Sort, Multinomial, Clamp;
//     in place Copy_, Fill_, Add_, MulScalar_.
//   - NN: Linear(s, x, w, b) (a matrix-vector product for a single row), RMSNorm,
//     Attention (grouped-query, additive mask), CrossEntropy(s, logits, target,
//     -100, ReduceMean), Dropout.
//   - Autograd: SetRequiresGrad, Backward, Grad, ZeroGrad (set-to-none on every
//     version), Detach, NoGrad(fn), SetGradEnabled (per OS thread).
//   - Optimizer: NewAdamW(names, params, lr, weightDecay) with Beta1, Beta2 and
//     Eps fields: Step, ZeroGrad, and State / LoadState for exact resume (per
//     parameter: step, exp_avg, exp_avg_sq). ClipGradNorm(params, max) is
//     torch.nn.utils.clip_grad_norm_. RNGState(dev) / SetRNGState(dev, state)
//     let dropout draws resume exactly.
//   - Process: SetNumThreads, NumThreads, ManualSeed, CUDADeviceCount, Version,
//     BLAS (the BLAS libtorch loaded: a test fails on the slow reference BLAS).
//   - Data-parallel collectives on c10d (docs/distributed.md): InitProcessGroup
//     (TCPStore rendezvous, Gloo or NCCL, one group per process, a timeout on
//     everything), AllReduce, AllReduceGrads (flat buckets), Barrier,
//     DestroyProcessGroup; DistBackends lists what the shim was built with.
//
// docs/model.md describes how the shim is built (`make shim`: Debian's libtorch
// by default, LIBTORCH=<path> for another one) and docs/gpu.md the CUDA build.
package torch
