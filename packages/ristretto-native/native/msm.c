/*
 * Variable-time multi-scalar multiplication over ristretto255 (ADR 0039).
 *
 * libsodium 1.0.18 exposes ristretto255 only as encode → multiply/add → encode (every call decodes, computes
 * in constant time and re-encodes), and no multi-scalar multiplication, so this file carries its own curve
 * arithmetic (ADR 0016):
 *
 *  - the field GF(2^255 − 19) in five 51-bit limbs with unsigned __int128 products (the representation of
 *    curve25519-donna-c64 and of libsodium's own fe_51);
 *  - the twisted Edwards curve −x² + y² = 1 + d·x²·y² in extended coordinates (X:Y:Z:T), x = X/Z, y = Y/Z,
 *    T = XY/Z, with the unified addition and doubling of Hisil, Wong, Carter and Dawson, "Twisted Edwards
 *    Curves Revisited", ASIACRYPT 2008 (add-2008-hwcd-3, dbl-2008-hwcd; complete for a = −1, d non-square);
 *  - ristretto255 decoding with every check of RFC 9496 §4.3.1 (non-canonical or negative s, non-square,
 *    negative t, y = 0 — the same set libsodium's crypto_core_ristretto255_is_valid_point rejects) and
 *    encoding per RFC 9496 §4.3.2, with SQRT_RATIO_M1 of §4.2;
 *  - for few terms, Straus' interleaved method ("Addition chains of vectors", Amer. Math. Monthly 71, 1964)
 *    with width-5 signed sliding windows (the `slide` recoding of ref10, Bernstein, Duif, Lange, Schwabe and
 *    Yang, "High-speed high-security signatures", CHES 2011); for many terms, Pippenger's bucket method
 *    (N. Pippenger, "On the evaluation of powers and monomials", SIAM J. Comput. 9, 1980; in the form of
 *    D. J. Bernstein, J. Doumen, T. Lange and J.-J. Oosterwijk, "Faster batch forgery identification",
 *    INDOCRYPT 2012, §4) with signed radix-2^c digits, c chosen from n by an operation-count estimate.
 *
 * NOTHING HERE IS CONSTANT TIME: branches and memory accesses depend on the scalars and on the points. The
 * addon calls it only on public data or data that no longer needs secrecy (ADR 0039 lists the call sites and
 * the argument); secret scalars keep going through libsodium.
 */
#include "msm.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef struct {
  uint64_t v[5];
} fe;

#define M51 ((uint64_t)0x7ffffffffffff)

/* RFC 9496 §4.1 constants (limbs generated from the decimal values and checked: SQRT_M1² = −1,
 * INVSQRT_A_MINUS_D² · (−1 − D) = 1). */
static const fe FE_D = {{0x34dca135978a3ULL, 0x1a8283b156ebdULL, 0x5e7a26001c029ULL, 0x739c663a03cbbULL,
                         0x52036cee2b6ffULL}};
static const fe FE_D2 = {{0x69b9426b2f159ULL, 0x35050762add7aULL, 0x3cf44c0038052ULL, 0x6738cc7407977ULL,
                          0x2406d9dc56dffULL}};
static const fe FE_SQRT_M1 = {{0x61b274a0ea0b0ULL, 0xd5a5fc8f189dULL, 0x7ef5e9cbd0c60ULL, 0x78595a6804c9eULL,
                               0x2b8324804fc1dULL}};
static const fe FE_INVSQRT_A_MINUS_D = {{0xfdaa805d40eaULL, 0x2eb482e57d339ULL, 0x7610274bc58ULL,
                                         0x6510b613dc8ffULL, 0x786c8905cfaffULL}};
static const fe FE_ZERO = {{0, 0, 0, 0, 0}};
static const fe FE_ONE = {{1, 0, 0, 0, 0}};

/* ---- field: every operation leaves limbs < 2^51 + 2^15 (carried), so products fit in 128 bits ---- */

static inline void fe_carry(fe *h) {
  uint64_t c;
  c = h->v[0] >> 51; h->v[0] &= M51; h->v[1] += c;
  c = h->v[1] >> 51; h->v[1] &= M51; h->v[2] += c;
  c = h->v[2] >> 51; h->v[2] &= M51; h->v[3] += c;
  c = h->v[3] >> 51; h->v[3] &= M51; h->v[4] += c;
  c = h->v[4] >> 51; h->v[4] &= M51; h->v[0] += 19 * c;
}

static inline void fe_add(fe *h, const fe *f, const fe *g) {
  for (int i = 0; i < 5; i++) h->v[i] = f->v[i] + g->v[i];
  fe_carry(h);
}

/* f − g + 4p (limbs of 4p: 4·(2^51 − 19), 4·(2^51 − 1)); g's limbs are < 2^52. */
static inline void fe_sub(fe *h, const fe *f, const fe *g) {
  h->v[0] = f->v[0] + 0x1fffffffffffb4ULL - g->v[0];
  for (int i = 1; i < 5; i++) h->v[i] = f->v[i] + 0x1ffffffffffffcULL - g->v[i];
  fe_carry(h);
}

static inline void fe_neg(fe *h, const fe *f) { fe_sub(h, &FE_ZERO, f); }

static inline void fe_reduce128(fe *h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4) {
  r1 += (uint64_t)(r0 >> 51);
  r2 += (uint64_t)(r1 >> 51);
  r3 += (uint64_t)(r2 >> 51);
  r4 += (uint64_t)(r3 >> 51);
  u128 c = (r4 >> 51) * 19 + ((uint64_t)r0 & M51);
  h->v[0] = (uint64_t)c & M51;
  h->v[1] = ((uint64_t)r1 & M51) + (uint64_t)(c >> 51);
  h->v[2] = (uint64_t)r2 & M51;
  h->v[3] = (uint64_t)r3 & M51;
  h->v[4] = (uint64_t)r4 & M51;
}

static inline void fe_mul(fe *h, const fe *f, const fe *g) {
  const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  const uint64_t g0 = g->v[0], g1 = g->v[1], g2 = g->v[2], g3 = g->v[3], g4 = g->v[4];
  const uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;
  u128 r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 + (u128)f4 * g1_19;
  u128 r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 + (u128)f4 * g2_19;
  u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 + (u128)f4 * g3_19;
  u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 + (u128)f4 * g4_19;
  u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 + (u128)f4 * g0;
  fe_reduce128(h, r0, r1, r2, r3, r4);
}

static inline void fe_sq(fe *h, const fe *f) {
  const uint64_t f0 = f->v[0], f1 = f->v[1], f2 = f->v[2], f3 = f->v[3], f4 = f->v[4];
  const uint64_t f0_2 = 2 * f0, f1_2 = 2 * f1, f3_19 = 19 * f3, f4_19 = 19 * f4;
  u128 r0 = (u128)f0 * f0 + (u128)f1_2 * f4_19 + (u128)(2 * f2) * f3_19;
  u128 r1 = (u128)f0_2 * f1 + (u128)(2 * f2) * f4_19 + (u128)f3 * f3_19;
  u128 r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)(2 * f3) * f4_19;
  u128 r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4 * f4_19;
  u128 r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
  fe_reduce128(h, r0, r1, r2, r3, r4);
}

static void fe_sqn(fe *h, const fe *f, int n) {
  fe_sq(h, f);
  while (--n > 0) fe_sq(h, h);
}

/* Bytes of a 255-bit little-endian string, the top bit ignored (RFC 9496 decodes only after the
 * canonicity check, which rejects a set top bit). */
static void fe_frombytes(fe *h, const unsigned char s[32]) {
  uint64_t w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = 0;
    for (int b = 7; b >= 0; b--) w[i] = (w[i] << 8) | s[8 * i + b];
  }
  h->v[0] = w[0] & M51;
  h->v[1] = ((w[0] >> 51) | (w[1] << 13)) & M51;
  h->v[2] = ((w[1] >> 38) | (w[2] << 26)) & M51;
  h->v[3] = ((w[2] >> 25) | (w[3] << 39)) & M51;
  h->v[4] = (w[3] >> 12) & M51;
}

/* The canonical encoding (the unique representative in [0, p)); the reduction of libsodium's fe51. */
static void fe_tobytes(unsigned char s[32], const fe *f) {
  fe t = *f;
  fe_carry(&t);
  fe_carry(&t); /* 0 ≤ t < 2^255 + small, limbs carried */
  t.v[0] += 19;
  uint64_t c;
  c = t.v[0] >> 51; t.v[0] &= M51; t.v[1] += c;
  c = t.v[1] >> 51; t.v[1] &= M51; t.v[2] += c;
  c = t.v[2] >> 51; t.v[2] &= M51; t.v[3] += c;
  c = t.v[3] >> 51; t.v[3] &= M51; t.v[4] += c;
  c = t.v[4] >> 51; t.v[4] &= M51; t.v[0] += 19 * c;
  /* t + 19 (mod 2^255, folded); add 2^255 − 19 and drop bit 255: t mod p */
  t.v[0] += 0x8000000000000ULL - 19;
  for (int i = 1; i < 5; i++) t.v[i] += 0x8000000000000ULL - 1;
  c = t.v[0] >> 51; t.v[0] &= M51; t.v[1] += c;
  c = t.v[1] >> 51; t.v[1] &= M51; t.v[2] += c;
  c = t.v[2] >> 51; t.v[2] &= M51; t.v[3] += c;
  c = t.v[3] >> 51; t.v[3] &= M51; t.v[4] += c;
  t.v[4] &= M51;
  const uint64_t w[4] = {t.v[0] | (t.v[1] << 51), (t.v[1] >> 13) | (t.v[2] << 38), (t.v[2] >> 26) | (t.v[3] << 25),
                         (t.v[3] >> 39) | (t.v[4] << 12)};
  for (int i = 0; i < 4; i++)
    for (int b = 0; b < 8; b++) s[8 * i + b] = (unsigned char)(w[i] >> (8 * b));
}

static int fe_is_negative(const fe *f) {
  unsigned char s[32];
  fe_tobytes(s, f);
  return s[0] & 1;
}

static int fe_is_zero(const fe *f) {
  unsigned char s[32];
  fe_tobytes(s, f);
  unsigned char d = 0;
  for (int i = 0; i < 32; i++) d |= s[i];
  return d == 0;
}

static int fe_eq(const fe *f, const fe *g) {
  unsigned char a[32], b[32];
  fe_tobytes(a, f);
  fe_tobytes(b, g);
  return memcmp(a, b, 32) == 0;
}

/* RFC 9496 §4.2 CT_ABS (here with a branch: variable time). */
static void fe_abs(fe *h, const fe *f) {
  if (fe_is_negative(f)) fe_neg(h, f);
  else *h = *f;
}

/* z^((p − 5)/8) = z^(2^252 − 3), the addition chain of ref10's fe_pow22523. */
static void fe_pow22523(fe *out, const fe *z) {
  fe t0, t1, t2;
  fe_sq(&t0, z);           /* 2 */
  fe_sqn(&t1, &t0, 2);     /* 8 */
  fe_mul(&t1, z, &t1);     /* 9 */
  fe_mul(&t0, &t0, &t1);   /* 11 */
  fe_sq(&t0, &t0);         /* 22 */
  fe_mul(&t0, &t1, &t0);   /* 2^5 − 1 */
  fe_sqn(&t1, &t0, 5);
  fe_mul(&t0, &t1, &t0);   /* 2^10 − 1 */
  fe_sqn(&t1, &t0, 10);
  fe_mul(&t1, &t1, &t0);   /* 2^20 − 1 */
  fe_sqn(&t2, &t1, 20);
  fe_mul(&t1, &t2, &t1);   /* 2^40 − 1 */
  fe_sqn(&t1, &t1, 10);
  fe_mul(&t0, &t1, &t0);   /* 2^50 − 1 */
  fe_sqn(&t1, &t0, 50);
  fe_mul(&t1, &t1, &t0);   /* 2^100 − 1 */
  fe_sqn(&t2, &t1, 100);
  fe_mul(&t1, &t2, &t1);   /* 2^200 − 1 */
  fe_sqn(&t1, &t1, 50);
  fe_mul(&t0, &t1, &t0);   /* 2^250 − 1 */
  fe_sqn(&t0, &t0, 2);     /* 2^252 − 4 */
  fe_mul(out, &t0, z);     /* 2^252 − 3 */
}

/* RFC 9496 §4.2 SQRT_RATIO_M1(u, v): returns was_square, sets *r to the non-negative root. */
static int sqrt_ratio_m1(fe *r, const fe *u, const fe *v) {
  fe v3, v7, t, check, neg_u, neg_u_i;
  fe_sq(&v3, v);
  fe_mul(&v3, &v3, v);  /* v^3 */
  fe_sq(&v7, &v3);
  fe_mul(&v7, &v7, v);  /* v^7 */
  fe_mul(&t, u, &v7);
  fe_pow22523(&t, &t);  /* (u v^7)^((p−5)/8) */
  fe_mul(r, u, &v3);
  fe_mul(r, r, &t);     /* r = (u v^3) (u v^7)^((p−5)/8) */
  fe_sq(&check, r);
  fe_mul(&check, &check, v);
  fe_neg(&neg_u, u);
  fe_mul(&neg_u_i, &neg_u, &FE_SQRT_M1);
  const int correct = fe_eq(&check, u);
  const int flipped = fe_eq(&check, &neg_u);
  const int flipped_i = fe_eq(&check, &neg_u_i);
  if (flipped || flipped_i) fe_mul(r, r, &FE_SQRT_M1);
  fe_abs(r, r);
  return correct || flipped;
}

/* ---- points ---- */

typedef struct {
  fe X, Y, Z, T;
} ge; /* extended */
typedef struct {
  fe ypx, ymx, z2, t2d;
} ge_cached; /* (Y + X, Y − X, 2Z, 2dT) */
typedef struct {
  fe ypx, ymx, xy2d;
} ge_niels; /* affine (Z = 1): (y + x, y − x, 2dxy) */

static void ge_identity(ge *p) {
  p->X = FE_ZERO;
  p->Y = FE_ONE;
  p->Z = FE_ONE;
  p->T = FE_ZERO;
}

/* RFC 9496 §4.3.1 Decode; 0 on success, −1 on any rejection. Output has Z = 1. */
static int ge_decode(ge *p, const unsigned char in[32]) {
  unsigned char back[32];
  fe s, ss, u1, u2, u2_sqr, v, t, invsqrt, den_x, den_y;
  fe_frombytes(&s, in);
  fe_tobytes(back, &s);
  /* canonical: s < p and the top bit clear (re-encoding differs otherwise); non-negative: s even */
  if (memcmp(back, in, 32) != 0 || (in[0] & 1)) return -1;
  fe_sq(&ss, &s);
  fe_sub(&u1, &FE_ONE, &ss);
  fe_add(&u2, &FE_ONE, &ss);
  fe_sq(&u2_sqr, &u2);
  fe_sq(&t, &u1);
  fe_mul(&t, &FE_D, &t);
  fe_neg(&t, &t);
  fe_sub(&v, &t, &u2_sqr); /* v = −(D u1²) − u2² */
  fe_mul(&t, &v, &u2_sqr);
  const int was_square = sqrt_ratio_m1(&invsqrt, &FE_ONE, &t);
  fe_mul(&den_x, &invsqrt, &u2);
  fe_mul(&den_y, &invsqrt, &den_x);
  fe_mul(&den_y, &den_y, &v);
  fe_add(&t, &s, &s);
  fe_mul(&t, &t, &den_x);
  fe_abs(&p->X, &t);          /* x = |2 s den_x| */
  fe_mul(&p->Y, &u1, &den_y); /* y = u1 den_y */
  p->Z = FE_ONE;
  fe_mul(&p->T, &p->X, &p->Y);
  if (!was_square || fe_is_negative(&p->T) || fe_is_zero(&p->Y)) return -1;
  return 0;
}

/* RFC 9496 §4.3.2 Encode. */
static void ge_encode(unsigned char out[32], const ge *p) {
  fe u1, u2, t, invsqrt, den1, den2, z_inv, ix, iy, enchanted, x, y, den_inv;
  fe_add(&u1, &p->Z, &p->Y);
  fe_sub(&t, &p->Z, &p->Y);
  fe_mul(&u1, &u1, &t); /* (Z + Y)(Z − Y) */
  fe_mul(&u2, &p->X, &p->Y);
  fe_sq(&t, &u2);
  fe_mul(&t, &t, &u1);
  (void)sqrt_ratio_m1(&invsqrt, &FE_ONE, &t);
  fe_mul(&den1, &invsqrt, &u1);
  fe_mul(&den2, &invsqrt, &u2);
  fe_mul(&z_inv, &den1, &den2);
  fe_mul(&z_inv, &z_inv, &p->T);
  fe_mul(&ix, &p->X, &FE_SQRT_M1);
  fe_mul(&iy, &p->Y, &FE_SQRT_M1);
  fe_mul(&enchanted, &den1, &FE_INVSQRT_A_MINUS_D);
  fe_mul(&t, &p->T, &z_inv);
  if (fe_is_negative(&t)) { /* rotate */
    x = iy;
    y = ix;
    den_inv = enchanted;
  } else {
    x = p->X;
    y = p->Y;
    den_inv = den2;
  }
  fe_mul(&t, &x, &z_inv);
  if (fe_is_negative(&t)) fe_neg(&y, &y);
  fe_sub(&t, &p->Z, &y);
  fe_mul(&t, &den_inv, &t);
  fe_abs(&t, &t);
  fe_tobytes(out, &t);
}

/* dbl-2008-hwcd with a = −1: A = X², B = Y², C = 2Z², E = (X + Y)² − A − B, G = B − A, F = G − C,
 * H = −A − B; X3 = EF, Y3 = GH, T3 = EH, Z3 = FG. */
static void ge_dbl(ge *r, const ge *p) {
  fe a, b, c, e, g, f, h, t;
  fe_sq(&a, &p->X);
  fe_sq(&b, &p->Y);
  fe_sq(&c, &p->Z);
  fe_add(&c, &c, &c);
  fe_add(&t, &p->X, &p->Y);
  fe_sq(&t, &t);
  fe_add(&h, &a, &b);
  fe_sub(&e, &t, &h);
  fe_sub(&g, &b, &a);
  fe_sub(&f, &g, &c);
  fe_neg(&h, &h);
  fe_mul(&r->X, &e, &f);
  fe_mul(&r->Y, &g, &h);
  fe_mul(&r->T, &e, &h);
  fe_mul(&r->Z, &f, &g);
}

static void ge_to_cached(ge_cached *c, const ge *p) {
  fe_add(&c->ypx, &p->Y, &p->X);
  fe_sub(&c->ymx, &p->Y, &p->X);
  fe_add(&c->z2, &p->Z, &p->Z);
  fe_mul(&c->t2d, &p->T, &FE_D2);
}

/* add-2008-hwcd-3 (a = −1, k = 2d): r = p ± q, given q's (Y + X, Y − X, 2dT) and D = 2·Z_p·Z_q. */
static inline void ge_add_core(ge *r, const ge *p, const fe *q_ypx, const fe *q_ymx, const fe *q_t2d,
                               const fe *d, int sub) {
  fe a, b, c, e, f, g, h, t;
  fe_sub(&t, &p->Y, &p->X);
  fe_mul(&a, &t, sub ? q_ypx : q_ymx);
  fe_add(&t, &p->Y, &p->X);
  fe_mul(&b, &t, sub ? q_ymx : q_ypx);
  fe_mul(&c, &p->T, q_t2d);
  fe_sub(&e, &b, &a);
  fe_add(&h, &b, &a);
  if (sub) {
    fe_add(&f, d, &c);
    fe_sub(&g, d, &c);
  } else {
    fe_sub(&f, d, &c);
    fe_add(&g, d, &c);
  }
  fe_mul(&r->X, &e, &f);
  fe_mul(&r->Y, &g, &h);
  fe_mul(&r->T, &e, &h);
  fe_mul(&r->Z, &f, &g);
}

/* r = p ± q with q cached (full addition). */
static void ge_add_cached(ge *r, const ge *p, const ge_cached *q, int sub) {
  fe d;
  fe_mul(&d, &p->Z, &q->z2);
  ge_add_core(r, p, &q->ypx, &q->ymx, &q->t2d, &d, sub);
}

/* Mixed addition with an affine point (Z2 = 1, so D = 2·Z_p): 7 multiplications. */
static void ge_add_niels(ge *r, const ge *p, const ge_niels *q, int sub) {
  fe d;
  fe_add(&d, &p->Z, &p->Z);
  ge_add_core(r, p, &q->ypx, &q->ymx, &q->xy2d, &d, sub);
}

static void ge_add(ge *r, const ge *p, const ge *q) {
  ge_cached c;
  ge_to_cached(&c, q);
  ge_add_cached(r, p, &c, 0);
}

/* ---- scalars ---- */

/* L little-endian. */
static const unsigned char ORDER[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                        0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                        0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

static int below_order(const unsigned char *s) {
  for (int i = 31; i >= 0; i--) {
    if (s[i] < ORDER[i]) return 1;
    if (s[i] > ORDER[i]) return 0;
  }
  return 0;
}

/* (L − 1)/2 little-endian: a scalar above it is used as −(L − k) (see rist_msm). */
static int above_half_order(const unsigned char *s) {
  /* compare 2k with L − 1 byte by byte from the top: 2k > L − 1 ⟺ k > (L − 1)/2 */
  unsigned char two_k[33];
  unsigned carry = 0;
  for (int i = 0; i < 32; i++) {
    const unsigned v = 2u * s[i] + carry;
    two_k[i] = (unsigned char)v;
    carry = v >> 8;
  }
  two_k[32] = (unsigned char)carry;
  if (two_k[32]) return 1;
  unsigned char lm1[32];
  memcpy(lm1, ORDER, 32);
  lm1[0] -= 1; /* L is odd: no borrow */
  for (int i = 31; i >= 0; i--) {
    if (two_k[i] > lm1[i]) return 1;
    if (two_k[i] < lm1[i]) return 0;
  }
  return 0;
}

/* out = L − k for 0 < k < L. */
static void order_minus(unsigned char out[32], const unsigned char *k) {
  int borrow = 0;
  for (int i = 0; i < 32; i++) {
    const int v = (int)ORDER[i] - (int)k[i] - borrow;
    out[i] = (unsigned char)v;
    borrow = v < 0;
  }
}

static int is_zero32(const unsigned char *s) {
  unsigned char d = 0;
  for (int i = 0; i < 32; i++) d |= s[i];
  return d == 0;
}

/* c bits of s at bit position pos (bits beyond 255 are 0); c ≤ 16. */
static unsigned bits_at(const unsigned char *s, unsigned pos, unsigned c) {
  uint32_t w = 0;
  const unsigned byte = pos >> 3;
  for (unsigned i = 0; i < 4 && byte + i < 32; i++) w |= (uint32_t)s[byte + i] << (8 * i);
  return (w >> (pos & 7)) & ((1u << c) - 1);
}

/* ref10's `slide`: width-5 signed sliding-window digits in {0, ±1, ±3, …, ±15}; s < 2^253. */
static void slide(signed char r[256], const unsigned char *s) {
  for (int i = 0; i < 256; i++) r[i] = (signed char)(1 & (s[i >> 3] >> (i & 7)));
  for (int i = 0; i < 256; i++) {
    if (!r[i]) continue;
    for (int b = 1; b <= 6 && i + b < 256; b++) {
      if (!r[i + b]) continue;
      if (r[i] + (r[i + b] << b) <= 15) {
        r[i] = (signed char)(r[i] + (r[i + b] << b));
        r[i + b] = 0;
      } else if (r[i] - (r[i + b] << b) >= -15) {
        r[i] = (signed char)(r[i] - (r[i + b] << b));
        for (int k = i + b; k < 256; k++) {
          if (!r[k]) {
            r[k] = 1;
            break;
          }
          r[k] = 0;
        }
      } else {
        break;
      }
    }
  }
}

/* ---- the two algorithms; both return 0 or MSM_NO_MEMORY ---- */

static int straus(ge *acc, const unsigned char *scalars, const ge *pts, size_t n) {
  ge_cached *tbl = malloc(n * 8 * sizeof *tbl);
  signed char *naf = malloc(n * 256);
  if (!tbl || !naf) {
    free(tbl);
    free(naf);
    return MSM_NO_MEMORY;
  }
  int top = -1;
  for (size_t i = 0; i < n; i++) {
    slide(naf + i * 256, scalars + i * 32);
    for (int b = 255; b > top; b--)
      if (naf[i * 256 + b]) {
        top = b;
        break;
      }
    ge p2, q;
    ge_cached *t = tbl + i * 8; /* t[k] = (2k + 1)·P */
    ge_to_cached(&t[0], &pts[i]);
    ge_dbl(&p2, &pts[i]);
    q = pts[i];
    for (int k = 1; k < 8; k++) {
      ge r;
      ge_add(&r, &q, &p2);
      q = r;
      ge_to_cached(&t[k], &q);
    }
  }
  ge_identity(acc);
  for (int b = top; b >= 0; b--) {
    ge r;
    ge_dbl(&r, acc);
    *acc = r;
    for (size_t i = 0; i < n; i++) {
      const int d = naf[i * 256 + b];
      if (d > 0) ge_add_cached(&r, acc, &tbl[i * 8 + d / 2], 0);
      else if (d < 0) ge_add_cached(&r, acc, &tbl[i * 8 + (-d) / 2], 1);
      else continue;
      *acc = r;
    }
  }
  sodium_memzero(naf, n * 256);
  free(tbl);
  free(naf);
  return MSM_OK;
}

/* Windows of c bits covering 254 bits, so that the top signed digit never carries (s < 2^253). */
static unsigned windows_for(unsigned c) { return (254 + c - 1) / c; }

/* Field multiplications, roughly: mixed additions (7) per term and window, the bucket sum (2 full additions
 * of 9 per bucket and window) and c doublings per window. */
static double pippenger_cost(size_t n, unsigned c) {
  return (double)windows_for(c) * (7.0 * (double)n + 18.0 * (double)(1u << (c - 1)) + 8.0 * c);
}

static double straus_cost(size_t n) { return 8.0 * 254 + (double)n * (7 * 9 + 8.0 * 254 / 6); }

static int pippenger(ge *acc, const unsigned char *scalars, const ge *pts, size_t n, unsigned c) {
  const unsigned W = windows_for(c), B = 1u << (c - 1);
  ge_niels *np = malloc(n * sizeof *np);
  int16_t *dig = malloc(n * W * sizeof *dig);
  ge *bucket = malloc(B * sizeof *bucket);
  unsigned char *used = malloc(B);
  if (!np || !dig || !bucket || !used) {
    free(np);
    free(dig);
    free(bucket);
    free(used);
    return MSM_NO_MEMORY;
  }
  for (size_t i = 0; i < n; i++) {
    fe_add(&np[i].ypx, &pts[i].Y, &pts[i].X); /* decoded points have Z = 1 */
    fe_sub(&np[i].ymx, &pts[i].Y, &pts[i].X);
    fe_mul(&np[i].xy2d, &pts[i].T, &FE_D2);
    /* signed radix-2^c digits in (−2^(c−1), 2^(c−1)] */
    unsigned carry = 0;
    for (unsigned w = 0; w < W; w++) {
      int v = (int)(bits_at(scalars + i * 32, w * c, c) + carry);
      carry = v > (int)B;
      if (carry) v -= (int)(1u << c);
      dig[i * W + w] = (int16_t)v;
    }
  }
  ge_identity(acc);
  for (unsigned w = W; w-- > 0;) {
    for (unsigned k = 0; k < c && w + 1 < W; k++) {
      ge r;
      ge_dbl(&r, acc);
      *acc = r;
    }
    memset(used, 0, B);
    for (size_t i = 0; i < n; i++) {
      const int d = dig[i * W + w];
      if (d == 0) continue;
      const unsigned k = (unsigned)(d > 0 ? d : -d) - 1;
      if (!used[k]) {
        ge_identity(&bucket[k]);
        used[k] = 1;
      }
      ge r;
      ge_add_niels(&r, &bucket[k], &np[i], d < 0);
      bucket[k] = r;
    }
    /* Σ_k (k + 1)·bucket[k] as running sums from the top */
    ge running, part;
    int have_running = 0, have_part = 0;
    for (unsigned k = B; k-- > 0;) {
      ge r;
      if (used[k]) {
        if (have_running) {
          ge_add(&r, &running, &bucket[k]);
          running = r;
        } else {
          running = bucket[k];
          have_running = 1;
        }
      }
      if (!have_running) continue;
      if (have_part) {
        ge_add(&r, &part, &running);
        part = r;
      } else {
        part = running;
        have_part = 1;
      }
    }
    if (have_part) {
      ge r;
      ge_add(&r, acc, &part);
      *acc = r;
    }
  }
  sodium_memzero(dig, n * W * sizeof *dig);
  free(np);
  free(dig);
  free(bucket);
  free(used);
  return MSM_OK;
}

int rist_msm(unsigned char out[32], const unsigned char *scalars, const unsigned char *points, size_t n,
             size_t *at) {
  *at = 0;
  ge *pts = malloc((n ? n : 1) * sizeof *pts);
  unsigned char *ks = malloc(n ? n * 32 : 1);
  if (!pts || !ks) {
    free(pts);
    free(ks);
    return MSM_NO_MEMORY;
  }
  size_t m = 0; /* terms left after dropping zero scalars and identity points */
  int code = MSM_OK;
  for (size_t i = 0; i < n; i++) {
    const unsigned char *k = scalars + i * 32;
    if (!below_order(k)) {
      code = MSM_SCALAR_NONCANONICAL;
      *at = i;
      break;
    }
    if (ge_decode(&pts[m], points + i * 32) != 0) {
      code = MSM_POINT_INVALID;
      *at = i;
      break;
    }
    if (is_zero32(k) || is_zero32(points + i * 32)) continue;
    /* k·P = (L − k)·(−P): keep every scalar ≤ (L − 1)/2, so that small negative weights (a Lagrange
     * coefficient −1 is L − 1) cost as few doublings as small positive ones. */
    if (above_half_order(k)) {
      order_minus(ks + m * 32, k);
      fe_neg(&pts[m].X, &pts[m].X);
      fe_neg(&pts[m].T, &pts[m].T);
    } else {
      memcpy(ks + m * 32, k, 32);
    }
    m++;
  }
  if (code == MSM_OK) {
    ge acc;
    unsigned best = 0;
    double cost = straus_cost(m);
    for (unsigned c = 2; c <= 16; c++) {
      const double pc = pippenger_cost(m, c);
      if (pc < cost) {
        cost = pc;
        best = c;
      }
    }
    if (m == 0) ge_identity(&acc);
    else code = best ? pippenger(&acc, ks, pts, m, best) : straus(&acc, ks, pts, m);
    if (code == MSM_OK) ge_encode(out, &acc);
  }
  sodium_memzero(ks, n ? n * 32 : 1);
  free(ks);
  free(pts);
  return code;
}

int rist_reencode(unsigned char out[32], const unsigned char in[32]) {
  ge p;
  if (ge_decode(&p, in) != 0) return -1;
  ge_encode(out, &p);
  return 0;
}
