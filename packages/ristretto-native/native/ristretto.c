/*
 * ristretto255 (RFC 9496) batch operations on the system libsodium (>= 1.0.18), as a Node-API addon.
 *
 * Every group and scalar operation is libsodium's own (crypto_scalarmult_ristretto255*,
 * crypto_core_ristretto255_*), except `msm` / `msmAsync` / `reencodeMany`, which run the variable-time
 * curve code of msm.c on public inputs only (ADR 0039); this file checks arguments, loops over batches and
 * implements RFC 9380 §5.3.1 expand_message_xmd over libsodium's SHA-512 for RFC 9497 §4.1 HashToGroup.
 *
 * Defensive rules: every argument must be a Uint8Array (offsets: Uint32Array) of an exact length; otherwise a
 * JS TypeError / RangeError is thrown and no libsodium function is called. Domain failures (non-canonical
 * scalar, invalid or identity element, zero scalar) throw an Error with `code` (a string below) and `index`
 * (the batch position). Scalars are checked < L without secret-dependent branches; a failed check ends the
 * call (a malformed secret is a caller bug, not a timing oracle worth hiding).
 *
 * Async variants copy their inputs on the JS thread, run on the libuv thread pool, wipe copied scalars with
 * sodium_memzero and resolve a Promise with a fresh Uint8Array.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msm.h"

#define EB 32 /* element bytes */
#define SB 32 /* scalar bytes */

enum {
  OK = 0,
  E_SCALAR_NONCANONICAL = 1,
  E_POINT_INVALID = 2,
  E_POINT_IDENTITY = 3,
  E_ZERO_SCALAR = 4,
  E_NO_MEMORY = 5,
};
static const char *const CODES[] = {"OK", "SCALAR_NONCANONICAL", "POINT_INVALID", "POINT_IDENTITY", "ZERO_SCALAR",
                                    "NO_MEMORY"};

static const unsigned char EMPTY[1] = {0};

/* L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
static const unsigned char L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                    0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                    0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

/* 1 iff s < L; runs in time independent of s (borrow of s - L, byte by byte). */
static int scalar_canonical(const unsigned char *s) {
  unsigned int borrow = 0;
  for (int i = 0; i < 32; i++) borrow = (((unsigned int)s[i] - L[i] - borrow) >> 8) & 1;
  return (int)borrow;
}

/* k·P with the error precedence of the WASM backend: scalar, then point validity, identity, zero scalar. */
static int mul1(unsigned char *out, const unsigned char *k, const unsigned char *p) {
  if (!scalar_canonical(k)) return E_SCALAR_NONCANONICAL;
  if (crypto_scalarmult_ristretto255(out, k, p) != 0) {
    if (crypto_core_ristretto255_is_valid_point(p) != 1) return E_POINT_INVALID;
    if (sodium_is_zero(p, EB)) return E_POINT_IDENTITY;
    return E_ZERO_SCALAR;
  }
  return OK;
}

static int validate1(const unsigned char *p) {
  if (crypto_core_ristretto255_is_valid_point(p) != 1) return E_POINT_INVALID;
  if (sodium_is_zero(p, EB)) return E_POINT_IDENTITY;
  return OK;
}

/* RFC 9380 §5.3.1 expand_message_xmd(SHA-512, msg, DST, 64) then RFC 9496 §4.3.4 one-way map. */
static void hash_to_group1(unsigned char *out, const unsigned char *msg, size_t len, const unsigned char *dst,
                           size_t dst_len) {
  static const unsigned char z_pad[128] = {0};
  unsigned char dst_hash[64];
  if (dst_len > 255) { /* §5.3.3: DST = H("H2C-OVERSIZE-DST-" || DST) */
    crypto_hash_sha512_state h;
    crypto_hash_sha512_init(&h);
    crypto_hash_sha512_update(&h, (const unsigned char *)"H2C-OVERSIZE-DST-", 17);
    crypto_hash_sha512_update(&h, dst, dst_len);
    crypto_hash_sha512_final(&h, dst_hash);
    dst = dst_hash;
    dst_len = 64;
  }
  const unsigned char dst_len_byte = (unsigned char)dst_len;
  const unsigned char lib_str[3] = {0, 64, 0}; /* I2OSP(64, 2) || I2OSP(0, 1) */
  const unsigned char one = 1;
  unsigned char b0[64], b1[64];
  crypto_hash_sha512_state h;
  crypto_hash_sha512_init(&h);
  crypto_hash_sha512_update(&h, z_pad, sizeof z_pad);
  crypto_hash_sha512_update(&h, msg, len);
  crypto_hash_sha512_update(&h, lib_str, 3);
  crypto_hash_sha512_update(&h, dst, dst_len);
  crypto_hash_sha512_update(&h, &dst_len_byte, 1);
  crypto_hash_sha512_final(&h, b0);
  crypto_hash_sha512_init(&h);
  crypto_hash_sha512_update(&h, b0, 64);
  crypto_hash_sha512_update(&h, &one, 1);
  crypto_hash_sha512_update(&h, dst, dst_len);
  crypto_hash_sha512_update(&h, &dst_len_byte, 1);
  crypto_hash_sha512_final(&h, b1); /* ell = 1: uniform_bytes = b_1 */
  crypto_core_ristretto255_from_hash(out, b1);
  sodium_memzero(b0, sizeof b0);
  sodium_memzero(b1, sizeof b1);
}

/* ---- batch kernels (shared by sync and async entry points); return a code and set *at ---- */

enum { OP_MUL_MANY, OP_MUL_EACH, OP_HASH_MANY, OP_VALIDATE_MANY, OP_MUL_SUM, OP_MSM, OP_REENCODE };

typedef struct {
  int op;
  size_t n;
  unsigned char *scalars; /* OP_MUL_MANY: one; OP_MUL_EACH / OP_MUL_SUM: n */
  size_t scalars_len;
  unsigned char *points; /* n elements */
  unsigned char *msgs;   /* OP_HASH_MANY: concatenated messages */
  uint32_t *offsets;     /* n + 1 */
  unsigned char *dst;
  size_t dst_len;
  unsigned char *out;
  size_t out_len;
  int code;
  size_t at;
} job_t;

static void run_job(job_t *j) {
  j->code = OK;
  j->at = 0;
  switch (j->op) {
    case OP_MUL_MANY:
      for (size_t i = 0; i < j->n; i++) {
        int c = mul1(j->out + i * EB, j->scalars, j->points + i * EB);
        if (c != OK) { j->code = c; j->at = i; return; }
      }
      return;
    case OP_MUL_EACH:
      for (size_t i = 0; i < j->n; i++) {
        int c = mul1(j->out + i * EB, j->scalars + i * SB, j->points + i * EB);
        if (c != OK) { j->code = c; j->at = i; return; }
      }
      return;
    case OP_HASH_MANY:
      for (size_t i = 0; i < j->n; i++)
        hash_to_group1(j->out + i * EB, j->msgs + j->offsets[i], j->offsets[i + 1] - j->offsets[i], j->dst,
                       j->dst_len);
      return;
    case OP_VALIDATE_MANY:
      for (size_t i = 0; i < j->n; i++) {
        int c = validate1(j->points + i * EB);
        if (c != OK) { j->code = c; j->at = i; return; }
      }
      return;
    case OP_MUL_SUM: {
      /* Σ k_i·P_i; a term with k_i = 0 or P_i = identity contributes the identity (psi's mulLenient). */
      unsigned char acc[EB] = {0}, term[EB];
      int started = 0;
      for (size_t i = 0; i < j->n; i++) {
        const unsigned char *k = j->scalars + i * SB, *p = j->points + i * EB;
        if (sodium_is_zero(k, SB) || sodium_is_zero(p, EB)) continue;
        int c = mul1(term, k, p);
        if (c != OK) { j->code = c; j->at = i; return; }
        if (!started) {
          memcpy(acc, term, EB);
          started = 1;
        } else if (crypto_core_ristretto255_add(acc, acc, term) != 0) {
          j->code = E_POINT_INVALID;
          j->at = i;
          return;
        }
      }
      memcpy(j->out, acc, EB);
      return;
    }
    case OP_MSM: /* variable time: public scalars and points only (ADR 0039) */
      j->code = rist_msm(j->out, j->scalars, j->points, j->n, &j->at);
      return;
    case OP_REENCODE:
      for (size_t i = 0; i < j->n; i++)
        if (rist_reencode(j->out + i * EB, j->points + i * EB) != 0) {
          j->code = E_POINT_INVALID;
          j->at = i;
          return;
        }
      return;
  }
}

/* ---- argument helpers: throw and return 0 on any mismatch ---- */

static int typed(napi_env env, napi_value v, napi_typedarray_type want, const char *name, void **data,
                 size_t *len) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) goto bad;
  napi_typedarray_type t;
  size_t n = 0;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, &n, data, &ab, &off) != napi_ok || t != want) goto bad;
  *len = n;
  if (n > 0 && *data == NULL) goto bad; /* detached */
  return 1;
bad: {
  char msg[96];
  snprintf(msg, sizeof msg, "%s: expected a %s", name, want == napi_uint8_array ? "Uint8Array" : "Uint32Array");
  napi_throw_type_error(env, "ERR_RISTRETTO_ARG", msg);
  return 0;
}
}

static int bytes_exact(napi_env env, napi_value v, const char *name, size_t want, unsigned char **data) {
  size_t n;
  if (!typed(env, v, napi_uint8_array, name, (void **)data, &n)) return 0;
  if (n != want) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: expected %zu bytes, got %zu", name, want, n);
    napi_throw_range_error(env, "ERR_RISTRETTO_ARG", msg);
    return 0;
  }
  return 1;
}

static int bytes_multiple(napi_env env, napi_value v, const char *name, unsigned char **data, size_t *count) {
  size_t n;
  if (!typed(env, v, napi_uint8_array, name, (void **)data, &n)) return 0;
  if (n % 32 != 0) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s: expected a multiple of 32 bytes, got %zu", name, n);
    napi_throw_range_error(env, "ERR_RISTRETTO_ARG", msg);
    return 0;
  }
  *count = n / 32;
  return 1;
}

static int args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc != want) {
    char msg[64];
    snprintf(msg, sizeof msg, "expected %zu arguments, got %zu", want, argc);
    napi_throw_type_error(env, "ERR_RISTRETTO_ARG", msg);
    return 0;
  }
  return 1;
}

static napi_value new_bytes(napi_env env, const unsigned char *src, size_t len) {
  void *data = NULL;
  napi_value ab, out;
  if (napi_create_arraybuffer(env, len, &data, &ab) != napi_ok) return NULL;
  if (len) memcpy(data, src, len);
  if (napi_create_typedarray(env, napi_uint8_array, len, ab, 0, &out) != napi_ok) return NULL;
  return out;
}

static napi_value domain_error(napi_env env, int code, size_t at) {
  napi_value msg, err, c, idx;
  char text[96];
  snprintf(text, sizeof text, "%s at index %zu", CODES[code], at);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  napi_create_string_utf8(env, CODES[code], NAPI_AUTO_LENGTH, &c);
  napi_create_uint32(env, (uint32_t)at, &idx);
  napi_set_named_property(env, err, "code", c);
  napi_set_named_property(env, err, "index", idx);
  return err;
}

/* Parses the arguments of a batch op into a job whose pointers alias JS memory (sync use). */
static int parse_job(napi_env env, napi_callback_info info, int op, job_t *j) {
  napi_value argv[3];
  memset(j, 0, sizeof *j);
  j->op = op;
  switch (op) {
    case OP_MUL_MANY:
      if (!args(env, info, 2, argv) || !bytes_exact(env, argv[0], "scalar", SB, &j->scalars) ||
          !bytes_multiple(env, argv[1], "points", &j->points, &j->n))
        return 0;
      j->scalars_len = SB;
      j->out_len = j->n * EB;
      return 1;
    case OP_MUL_EACH:
    case OP_MUL_SUM:
    case OP_MSM: {
      size_t ns;
      if (!args(env, info, 2, argv) || !bytes_multiple(env, argv[0], "scalars", &j->scalars, &ns) ||
          !bytes_multiple(env, argv[1], "points", &j->points, &j->n))
        return 0;
      if (ns != j->n) {
        napi_throw_range_error(env, "ERR_RISTRETTO_ARG", "scalars and points differ in count");
        return 0;
      }
      j->scalars_len = ns * SB;
      j->out_len = op == OP_MUL_EACH ? j->n * EB : EB;
      return 1;
    }
    case OP_VALIDATE_MANY:
    case OP_REENCODE:
      if (!args(env, info, 1, argv) || !bytes_multiple(env, argv[0], "points", &j->points, &j->n)) return 0;
      j->out_len = op == OP_REENCODE ? j->n * EB : 0;
      return 1;
    case OP_HASH_MANY: {
      size_t mlen, olen;
      if (!args(env, info, 3, argv) ||
          !typed(env, argv[0], napi_uint8_array, "messages", (void **)&j->msgs, &mlen) ||
          !typed(env, argv[1], napi_uint32_array, "offsets", (void **)&j->offsets, &olen) ||
          !typed(env, argv[2], napi_uint8_array, "dst", (void **)&j->dst, &j->dst_len))
        return 0;
      if (olen < 1 || j->offsets[0] != 0 || j->offsets[olen - 1] != mlen) {
        napi_throw_range_error(env, "ERR_RISTRETTO_ARG", "offsets: must start at 0 and end at messages.length");
        return 0;
      }
      for (size_t i = 1; i < olen; i++)
        if (j->offsets[i] < j->offsets[i - 1]) {
          napi_throw_range_error(env, "ERR_RISTRETTO_ARG", "offsets: must not decrease");
          return 0;
        }
      if (j->dst_len == 0) {
        napi_throw_range_error(env, "ERR_RISTRETTO_ARG", "dst: must not be empty");
        return 0;
      }
      if (mlen == 0) j->msgs = (unsigned char *)EMPTY; /* never hash from a NULL pointer */
      j->n = olen - 1;
      j->out_len = j->n * EB;
      return 1;
    }
  }
  return 0;
}

static napi_value finish_sync(napi_env env, job_t *j) {
  unsigned char *out = j->out_len ? malloc(j->out_len) : NULL;
  if (j->out_len && !out) {
    napi_throw_error(env, "NO_MEMORY", "out of memory");
    return NULL;
  }
  j->out = out;
  run_job(j);
  napi_value result = NULL;
  if (j->code != OK) napi_throw(env, domain_error(env, j->code, j->at));
  else if (j->op == OP_VALIDATE_MANY) napi_get_undefined(env, &result);
  else result = new_bytes(env, out, j->out_len);
  if (out) {
    sodium_memzero(out, j->out_len);
    free(out);
  }
  return result;
}

#define SYNC_OP(fn, OP)                                         \
  static napi_value fn(napi_env env, napi_callback_info info) { \
    job_t j;                                                    \
    if (!parse_job(env, info, OP, &j)) return NULL;             \
    return finish_sync(env, &j);                                \
  }
SYNC_OP(mul_many, OP_MUL_MANY)
SYNC_OP(mul_each, OP_MUL_EACH)
SYNC_OP(hash_many, OP_HASH_MANY)
SYNC_OP(validate_many, OP_VALIDATE_MANY)
SYNC_OP(mul_sum, OP_MUL_SUM)
SYNC_OP(msm, OP_MSM)
SYNC_OP(reencode_many, OP_REENCODE)

/* ---- async: copies of the inputs, work on the libuv pool, Promise ---- */

typedef struct {
  job_t j;
  napi_async_work work;
  napi_deferred deferred;
} async_t;

static void async_free(async_t *a) {
  if (a->j.scalars) { sodium_memzero(a->j.scalars, a->j.scalars_len); free(a->j.scalars); }
  free(a->j.points);
  free(a->j.msgs);
  free(a->j.offsets);
  free(a->j.dst);
  if (a->j.out) { sodium_memzero(a->j.out, a->j.out_len); free(a->j.out); }
  free(a);
}

static void async_execute(napi_env env, void *data) {
  (void)env;
  run_job(&((async_t *)data)->j);
}

static void async_complete(napi_env env, napi_status status, void *data) {
  async_t *a = data;
  if (status != napi_ok) {
    napi_value msg, err;
    napi_create_string_utf8(env, "async work cancelled", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, a->deferred, err);
  } else if (a->j.code != OK) {
    napi_reject_deferred(env, a->deferred, domain_error(env, a->j.code, a->j.at));
  } else {
    napi_value r = NULL;
    if (a->j.op == OP_VALIDATE_MANY) napi_get_undefined(env, &r);
    else r = new_bytes(env, a->j.out, a->j.out_len);
    if (r) {
      napi_resolve_deferred(env, a->deferred, r);
    } else { /* never leave the Promise pending */
      napi_value msg, err;
      napi_create_string_utf8(env, "could not allocate the result", NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, NULL, msg, &err);
      napi_reject_deferred(env, a->deferred, err);
    }
  }
  napi_delete_async_work(env, a->work);
  async_free(a);
}

static void *dup(const void *src, size_t len) {
  void *p = malloc(len ? len : 1);
  if (p && len) memcpy(p, src, len);
  return p;
}

static napi_value start_async(napi_env env, napi_callback_info info, int op) {
  job_t view;
  if (!parse_job(env, info, op, &view)) return NULL;
  async_t *a = calloc(1, sizeof *a);
  if (!a) { napi_throw_error(env, "NO_MEMORY", "out of memory"); return NULL; }
  a->j = view;
  a->j.scalars = view.scalars ? dup(view.scalars, view.scalars_len) : NULL;
  a->j.points = view.points ? dup(view.points, view.n * EB) : NULL;
  a->j.msgs = view.msgs ? dup(view.msgs, view.offsets[view.n]) : NULL;
  a->j.offsets = view.offsets ? dup(view.offsets, (view.n + 1) * sizeof(uint32_t)) : NULL;
  a->j.dst = view.dst ? dup(view.dst, view.dst_len) : NULL;
  a->j.out = malloc(view.out_len ? view.out_len : 1);
  if ((view.scalars && !a->j.scalars) || (view.points && !a->j.points) || (view.msgs && !a->j.msgs) ||
      (view.offsets && !a->j.offsets) || (view.dst && !a->j.dst) || !a->j.out) {
    async_free(a);
    napi_throw_error(env, "NO_MEMORY", "out of memory");
    return NULL;
  }
  napi_value promise, name;
  if (napi_create_promise(env, &a->deferred, &promise) != napi_ok) { async_free(a); return NULL; }
  napi_create_string_utf8(env, "ristretto255", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, async_execute, async_complete, a, &a->work) != napi_ok ||
      napi_queue_async_work(env, a->work) != napi_ok) {
    napi_value msg, err;
    napi_create_string_utf8(env, "could not queue async work", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, a->deferred, err);
    async_free(a);
  }
  return promise;
}

#define ASYNC_OP(fn, OP) \
  static napi_value fn(napi_env env, napi_callback_info info) { return start_async(env, info, OP); }
ASYNC_OP(mul_many_async, OP_MUL_MANY)
ASYNC_OP(mul_each_async, OP_MUL_EACH)
ASYNC_OP(hash_many_async, OP_HASH_MANY)
ASYNC_OP(validate_many_async, OP_VALIDATE_MANY)
ASYNC_OP(msm_async, OP_MSM)

/* ---- single operations ---- */

static napi_value mul_base(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  unsigned char *k, out[EB];
  if (!args(env, info, 1, argv) || !bytes_exact(env, argv[0], "scalar", SB, &k)) return NULL;
  if (!scalar_canonical(k)) { napi_throw(env, domain_error(env, E_SCALAR_NONCANONICAL, 0)); return NULL; }
  if (crypto_scalarmult_ristretto255_base(out, k) != 0) {
    napi_throw(env, domain_error(env, E_ZERO_SCALAR, 0));
    return NULL;
  }
  return new_bytes(env, out, EB);
}

static napi_value add(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  unsigned char *p, *q, out[EB];
  if (!args(env, info, 2, argv) || !bytes_exact(env, argv[0], "a", EB, &p) || !bytes_exact(env, argv[1], "b", EB, &q))
    return NULL;
  if (crypto_core_ristretto255_add(out, p, q) != 0) {
    const size_t at = crypto_core_ristretto255_is_valid_point(p) == 1 || sodium_is_zero(p, EB) ? 1 : 0;
    napi_throw(env, domain_error(env, E_POINT_INVALID, at));
    return NULL;
  }
  return new_bytes(env, out, EB);
}

static napi_value scalar2(napi_env env, napi_callback_info info,
                          void (*fn)(unsigned char *, const unsigned char *, const unsigned char *)) {
  napi_value argv[2];
  unsigned char *x, *y, out[SB];
  if (!args(env, info, 2, argv) || !bytes_exact(env, argv[0], "a", SB, &x) || !bytes_exact(env, argv[1], "b", SB, &y))
    return NULL;
  if (!scalar_canonical(x)) { napi_throw(env, domain_error(env, E_SCALAR_NONCANONICAL, 0)); return NULL; }
  if (!scalar_canonical(y)) { napi_throw(env, domain_error(env, E_SCALAR_NONCANONICAL, 1)); return NULL; }
  fn(out, x, y);
  napi_value r = new_bytes(env, out, SB);
  sodium_memzero(out, SB);
  return r;
}
static napi_value scalar_mul(napi_env env, napi_callback_info info) {
  return scalar2(env, info, crypto_core_ristretto255_scalar_mul);
}
static napi_value scalar_add(napi_env env, napi_callback_info info) {
  return scalar2(env, info, crypto_core_ristretto255_scalar_add);
}
static napi_value scalar_sub(napi_env env, napi_callback_info info) {
  return scalar2(env, info, crypto_core_ristretto255_scalar_sub);
}

static napi_value scalar_invert(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  unsigned char *x, out[SB];
  if (!args(env, info, 1, argv) || !bytes_exact(env, argv[0], "scalar", SB, &x)) return NULL;
  if (!scalar_canonical(x)) { napi_throw(env, domain_error(env, E_SCALAR_NONCANONICAL, 0)); return NULL; }
  if (crypto_core_ristretto255_scalar_invert(out, x) != 0) {
    napi_throw(env, domain_error(env, E_ZERO_SCALAR, 0));
    return NULL;
  }
  napi_value r = new_bytes(env, out, SB);
  sodium_memzero(out, SB);
  return r;
}

static napi_value scalar_reduce(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  unsigned char *x, out[SB];
  if (!args(env, info, 1, argv) || !bytes_exact(env, argv[0], "wide", 64, &x)) return NULL;
  crypto_core_ristretto255_scalar_reduce(out, x);
  napi_value r = new_bytes(env, out, SB);
  sodium_memzero(out, SB);
  return r;
}

/* RFC 9496 §4.3.4 one-way map of 64 uniform bytes (exposed for the RFC 9496 A.3 vectors). */
static napi_value from_uniform_bytes(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  unsigned char *h, out[EB];
  if (!args(env, info, 1, argv) || !bytes_exact(env, argv[0], "uniform", 64, &h)) return NULL;
  crypto_core_ristretto255_from_hash(out, h);
  return new_bytes(env, out, EB);
}

/*
 * Inverses of n scalars with one libsodium inversion (Montgomery's trick: prefix products, invert the last,
 * walk back), all with libsodium's scalar_mul / scalar_invert. No branch on the values: a zero (or a
 * non-canonical) scalar anywhere is found by a full pass first and reported with its index.
 */
static napi_value scalar_invert_many(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  unsigned char *xs;
  size_t n;
  if (!args(env, info, 1, argv) || !bytes_multiple(env, argv[0], "scalars", &xs, &n)) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (!scalar_canonical(xs + i * SB)) { napi_throw(env, domain_error(env, E_SCALAR_NONCANONICAL, i)); return NULL; }
    if (sodium_is_zero(xs + i * SB, SB)) { napi_throw(env, domain_error(env, E_ZERO_SCALAR, i)); return NULL; }
  }
  unsigned char *prefix = malloc(n ? n * SB : 1), *out = malloc(n ? n * SB : 1);
  if (!prefix || !out) {
    free(prefix);
    free(out);
    napi_throw_error(env, "NO_MEMORY", "out of memory");
    return NULL;
  }
  unsigned char acc[SB], inv[SB], t[SB];
  if (n > 0) {
    memcpy(prefix, xs, SB); /* prefix_i = x_0 … x_i */
    for (size_t i = 1; i < n; i++) crypto_core_ristretto255_scalar_mul(prefix + i * SB, prefix + (i - 1) * SB, xs + i * SB);
    crypto_core_ristretto255_scalar_invert(acc, prefix + (n - 1) * SB); /* (x_0 … x_{n-1})^-1, non-zero */
    for (size_t i = n - 1; i > 0; i--) {
      crypto_core_ristretto255_scalar_mul(inv, acc, prefix + (i - 1) * SB); /* x_i^-1 */
      memcpy(out + i * SB, inv, SB);
      crypto_core_ristretto255_scalar_mul(t, acc, xs + i * SB); /* (x_0 … x_{i-1})^-1 */
      memcpy(acc, t, SB);
    }
    memcpy(out, acc, SB);
  }
  napi_value r = new_bytes(env, out, n * SB);
  sodium_memzero(prefix, n * SB);
  sodium_memzero(out, n * SB);
  sodium_memzero(acc, SB);
  sodium_memzero(inv, SB);
  sodium_memzero(t, SB);
  free(prefix);
  free(out);
  return r;
}

NAPI_MODULE_INIT() {
  if (sodium_init() < 0) {
    napi_throw_error(env, "ERR_RISTRETTO_INIT", "sodium_init failed");
    return NULL;
  }
  const napi_property_descriptor props[] = {
      {"mulMany", NULL, mul_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mulEach", NULL, mul_each, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mulSum", NULL, mul_sum, NULL, NULL, NULL, napi_enumerable, NULL},
      {"msm", NULL, msm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"msmAsync", NULL, msm_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reencodeMany", NULL, reencode_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hashToGroupMany", NULL, hash_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"validateMany", NULL, validate_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mulManyAsync", NULL, mul_many_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mulEachAsync", NULL, mul_each_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hashToGroupManyAsync", NULL, hash_many_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"validateManyAsync", NULL, validate_many_async, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fromUniformBytes", NULL, from_uniform_bytes, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mulBase", NULL, mul_base, NULL, NULL, NULL, napi_enumerable, NULL},
      {"add", NULL, add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scalarMul", NULL, scalar_mul, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scalarAdd", NULL, scalar_add, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scalarSub", NULL, scalar_sub, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scalarInvertMany", NULL, scalar_invert_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scalarInvert", NULL, scalar_invert, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scalarReduce", NULL, scalar_reduce, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value version;
  napi_create_string_utf8(env, sodium_version_string(), NAPI_AUTO_LENGTH, &version);
  napi_set_named_property(env, exports, "sodiumVersion", version);
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
