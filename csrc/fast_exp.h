/* fast_exp.h: e^x in arithmetic only, so that loops of it vectorise (libm's expf is one call
 * per element: most of the time of a softmax row or an LSTM step's gates). */
#ifndef DL_FAST_EXP_H
#define DL_FAST_EXP_H

#include <stdint.h>
#include <string.h>

/* e^x to about 2 ulp: x = n ln2 + r, |r| <= ln2/2, e^r by its degree-7 Taylor polynomial, 2^n
 * put in the exponent bits. Below -87.3 (where e^x leaves the normal floats) it returns 0,
 * above 88 e^88 (< FLT_MAX); NaN stays NaN. */
static inline __attribute__((always_inline)) float dl_fast_exp(float x)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float xc = x > -87.3f ? x : -87.3f; /* NaN too: n below stays a small integer */
    xc = xc < 88.0f ? xc : 88.0f;
    const float n = (xc * 1.44269504f + shifter) - shifter;
    const float r = (xc - n * 0.693145752f) - n * 1.42860677e-6f; /* ln2 split in hi + lo */
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return x < -87.3f ? 0.0f : p * scale + (x - x); /* x - x: 0, or NaN for NaN */
}

#endif
