// Host shim for genn_engine's CUDA kernels: compiles the generated CUDA
// source as ordinary C++ and runs every kernel's grid serially, one thread
// after another. Kernels never use __syncthreads, shared memory or warp
// functions, and each thread's work is independent of the others except
// through atomics, so a serial grid computes what the GPU computes (the
// order of atomic additions is the one the CPU target uses).
#pragma once
#define GENN_SHIM 1
#include <cstdint>
#include <cstddef>
#include <cstring>
#include <cmath>
#include <cfloat>
#include <cstdio>
#include <algorithm>
#include <limits>

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline

struct GennDim3 { unsigned x, y, z; };
static GennDim3 threadIdx, blockIdx, blockDim, gridDim;

template<typename T> static inline T atomicAdd(T* address, T value) {
    const T old = *address;
    *address = old + value;
    return old;
}
static inline unsigned atomicOr(unsigned* address, unsigned value) {
    const unsigned old = *address;
    *address = old | value;
    return old;
}
