/* Variable-time ristretto255 multi-scalar multiplication on public inputs (msm.c, ADR 0039). */
#ifndef RELINK_MSM_H
#define RELINK_MSM_H
#include <stddef.h>

enum { MSM_OK = 0, MSM_SCALAR_NONCANONICAL = 1, MSM_POINT_INVALID = 2, MSM_NO_MEMORY = 5 };

/*
 * out = Σ scalars[i]·points[i] (32-byte canonical encodings; the identity is 32 zero bytes). Every scalar
 * must be < L and every point a canonical ristretto255 encoding (the identity and zero scalars allowed).
 * Returns MSM_OK, or a code with *at = the first index that fails (scalar checked before point).
 * VARIABLE TIME in the scalars and points: call it only on values that are public (ADR 0039).
 */
int rist_msm(unsigned char out[32], const unsigned char *scalars, const unsigned char *points, size_t n,
             size_t *at);

/* Decodes (RFC 9496 §4.3.1) and re-encodes (§4.3.2) one element: 0 and out set, or -1 if invalid. */
int rist_reencode(unsigned char out[32], const unsigned char in[32]);

#endif
