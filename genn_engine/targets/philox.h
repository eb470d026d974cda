// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
// A stream is fixed by (seed, group, element, batch, timestep), so results
// do not depend on thread scheduling and are reproducible from the model seed.
#pragma once
#include <cstdint>
#include <cmath>

struct PhiloxStream {
    uint32_t key[2];
    uint32_t ctr[4];
    uint32_t out[4];
    int idx;

    PhiloxStream(uint64_t seed, uint32_t group, uint32_t element, uint32_t batch, uint64_t timestep) {
        key[0] = (uint32_t)seed;
        key[1] = (uint32_t)(seed >> 32) ^ (group * 0x9E3779B9u);
        ctr[0] = 0;
        ctr[1] = element;
        ctr[2] = batch ^ ((uint32_t)(timestep >> 32) << 16);
        ctr[3] = (uint32_t)timestep;
        idx = 4;
    }

    static inline uint32_t mulhi(uint32_t a, uint32_t b, uint32_t *lo) {
        const uint64_t p = (uint64_t)a * (uint64_t)b;
        *lo = (uint32_t)p;
        return (uint32_t)(p >> 32);
    }

    void refill() {
        uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
        uint32_t k0 = key[0], k1 = key[1];
        for (int r = 0; r < 10; r++) {
            uint32_t lo0, lo1;
            const uint32_t hi0 = mulhi(0xD2511F53u, c0, &lo0);
            const uint32_t hi1 = mulhi(0xCD9E8D57u, c2, &lo1);
            c0 = hi1 ^ c1 ^ k0; c1 = lo1;
            c2 = hi0 ^ c3 ^ k1; c3 = lo0;
            k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
        }
        out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
        ctr[0]++;
        idx = 0;
    }

    inline uint32_t next_u32() {
        if (idx == 4) refill();
        return out[idx++];
    }

    // Uniform on (0, 1]: never 0, so log() is always finite.
    inline float uniform_f() { return ((next_u32() >> 8) + 1u) * (1.0f / 16777216.0f); }
    inline double uniform_d() {
        const uint64_t a = next_u32() >> 5, b = next_u32() >> 6;
        return ((double)(a * 67108864ull + b) + 1.0) * (1.0 / 9007199254740992.0);
    }
    template<typename T> inline T uniform();
    template<typename T> inline T normal() {
        const T u1 = uniform<T>(), u2 = uniform<T>();
        return std::sqrt(T(-2) * std::log(u1)) * std::cos(T(6.283185307179586) * u2);
    }
    template<typename T> inline T exponential() { return -std::log(uniform<T>()); }
};
template<> inline float PhiloxStream::uniform<float>() { return uniform_f(); }
template<> inline double PhiloxStream::uniform<double>() { return uniform_d(); }
