// The integer products (int8 and int4 weights × int8 activations), compiled
// twice: by avx2.c with QK_VNNI 0 (maddubs + madd) and by vnni.c with QK_VNNI 1
// (AVX512-VNNI's dpbusd on 256-bit registers). Both give every 32-bit lane the
// same integer — the sum of the products of the same four bytes — and add the
// lanes in the same order, so the two versions return identical floats; VNNI
// only needs fewer instructions per block (and has 32 vector registers, so its
// prefill tiles are 4×4 instead of 4×2).
//
// The including file defines QK_VNNI, QK_SFX (the name suffix) and QK_TARGET.

#define QK_CAT2(a, b) a##_##b
#define QK_CAT(a, b) QK_CAT2(a, b)
#define QK_FN(name) QK_CAT(name, QK_SFX)
#define QK_TGT __attribute__((target(QK_TARGET)))
#define QK_TILE QK_TGT static inline __attribute__((always_inline))
#define QK_MAXB 512  // blocks per row the int4 tile's stack buffers hold (K <= 16384)
#if QK_VNNI
#define QK_NR 4  // output rows per prefill tile
#else
#define QK_NR 2
#endif

QK_TILE float QK_FN(hsum)(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ---- int8 weights × int8 activations ----
//
// AVX2: the sign of w moves onto x so that maddubs (unsigned × signed)
// applies; codes are in [-127,127], so a pair sum (at most 2·127·127) fits
// int16. VNNI: dpbusd takes w+128 (w XOR 0x80, in [1,255]) as the unsigned
// operand and starts each lane from −128·(the lane's four x), which the tile
// computes once per x row and block: the lane ends at Σ w·x exactly.

// q8_tile computes the MR×NR outputs of x rows m.. and weight rows n..;
// MR and NR are constants at each call, so the loops unroll into registers.
QK_TILE void QK_FN(q8_tile)(const int MR, const int NR, const int8_t* w, const float* scale, int64_t N, int64_t K,
                            const qk_act* a, const float* bias, float* y, int64_t m, int64_t n) {
  const int64_t nb = a->nb, full = K / QK_BLOCK, ldx = nb * QK_BLOCK;
  __m256 acc[4][4];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
  const int8_t* wr[4];
  for (int j = 0; j < NR; j++) wr[j] = w + (n + j) * K;
#if QK_VNNI
  const __m256i bias128 = _mm256_set1_epi8((char)0x80);
#endif
  for (int64_t b = 0; b < full; b++) {
    __m256i wv[4], aw[4];
    for (int j = 0; j < NR; j++) {
      wv[j] = _mm256_loadu_si256((const __m256i*)(wr[j] + b * QK_BLOCK));
#if QK_VNNI
      aw[j] = _mm256_xor_si256(wv[j], bias128);
#else
      aw[j] = _mm256_sign_epi8(wv[j], wv[j]);
#endif
    }
    for (int i = 0; i < MR; i++) {
      __m256i xv = _mm256_loadu_si256((const __m256i*)(a->q + (m + i) * ldx + b * QK_BLOCK));
      __m256 d = _mm256_broadcast_ss(a->d + (m + i) * nb + b);
#if QK_VNNI
      __m256i start = _mm256_sub_epi32(_mm256_setzero_si256(),
                                       _mm256_dpbusd_epi32(_mm256_setzero_si256(), bias128, xv));
      for (int j = 0; j < NR; j++)
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_dpbusd_epi32(start, aw[j], xv)), d, acc[i][j]);
#else
      for (int j = 0; j < NR; j++) {
        __m256i p = _mm256_maddubs_epi16(aw[j], _mm256_sign_epi8(xv, wv[j]));
        p = _mm256_madd_epi16(p, _mm256_set1_epi16(1));
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, acc[i][j]);
      }
#endif
    }
  }
  for (int i = 0; i < MR; i++) {
    for (int j = 0; j < NR; j++) {
      float t = QK_FN(hsum)(acc[i][j]);
      if (full < nb) {  // partial last block
        int32_t s = 0;
        const int8_t* xq = a->q + (m + i) * ldx;
        for (int64_t k = full * QK_BLOCK; k < K; k++) s += (int32_t)wr[j][k] * xq[k];
        t += (float)s * a->d[(m + i) * nb + full];
      }
      y[(m + i) * N + n + j] = t * scale[n + j] + (bias ? bias[n + j] : 0);
    }
  }
}

// The row drivers walk output rows QK_NR at a time and, for each group, every
// 4-row tile of x, then the 2 or 3 rows left over: each weight row is read
// from memory once whatever M is (batched decoding of 2–3 sequences too).
// A single x row takes 1×4 tiles instead, four weight streams at a time.
// TILES expands the tile calls for a group of `nr` (≤ QK_NR) output rows.
#define QK_TILES(tile, nr, ...)                                             \
  do {                                                                      \
    for (int64_t m = 0; m < full; m += 4) tile(4, nr, __VA_ARGS__, m, n);   \
    if (rem == 3) tile(3, nr, __VA_ARGS__, full, n);                        \
    if (rem == 2) tile(2, nr, __VA_ARGS__, full, n);                        \
  } while (0)

// QK_ROWS is the body of a row driver for a tile with the arguments given.
#define QK_ROWS(tile, ...)                                                  \
  do {                                                                      \
    const int64_t M = a->M, full = M / 4 * 4, rem = M - full;               \
    if (M > 1) {                                                            \
      for (int64_t n = n0; n < n1; n += QK_NR) {                            \
        switch (n1 - n >= QK_NR ? QK_NR : n1 - n) {                         \
          case 4: QK_TILES(tile, 4, __VA_ARGS__); break;                    \
          case 3: QK_TILES(tile, 3, __VA_ARGS__); break;                    \
          case 2: QK_TILES(tile, 2, __VA_ARGS__); break;                    \
          default: QK_TILES(tile, 1, __VA_ARGS__); break;                   \
        }                                                                   \
      }                                                                     \
    }                                                                       \
    if (rem == 1) {                                                         \
      int64_t n = n0;                                                       \
      for (; n + 4 <= n1; n += 4) tile(1, 4, __VA_ARGS__, full, n);         \
      for (; n < n1; n++) tile(1, 1, __VA_ARGS__, full, n);                 \
    }                                                                       \
  } while (0)

QK_TGT void QK_FN(qk_q8_rows)(const int8_t* w, const float* scale, int64_t N, int64_t K, const qk_act* a,
                              const float* bias, float* y, int64_t n0, int64_t n1) {
  QK_ROWS(QK_FN(q8_tile), w, scale, N, K, a, bias, y);
}

// ---- int4 weights × int8 activations ----

// q4_tile: an int4 block is 16 bytes; its low nibbles are the even elements
// and its high nibbles the odd ones, which is the order qk_quantize(evenodd)
// gives x, so the unpacked codes (unsigned, 0..15) are the unsigned operand of
// maddubs or dpbusd directly. The zero point comes out of the sum:
// Σ(q-z)·x = Σq·x - z·Σx. The tile first turns its rows' float16 scales into
// float32 (8 at a time), so the block loop has no scalar conversions.
QK_TILE void QK_FN(q4_tile)(const int MR, const int NR, const uint8_t* w, const uint16_t* scale,
                            const uint8_t* zero, int64_t group, int64_t N, int64_t K, const qk_act* a,
                            const float* bias, float* y, int64_t m, int64_t n) {
  const int64_t nb = a->nb, ng = K / group, per = group / QK_BLOCK, ldx = nb * QK_BLOCK;
  const __m256i lo4 = _mm256_set1_epi8(15);
  float sc[4][QK_MAXB], sz[4][QK_MAXB];  // per block: scale, scale·zero
  for (int j = 0; j < NR; j++) {
    const uint16_t* sr = scale + (n + j) * ng;
    const uint8_t* zr = zero + (n + j) * ng;
    int64_t g = 0;
    for (; per == 1 && g + 8 <= ng; g += 8) {
      __m256 s8 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(sr + g)));
      __m256 z8 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)(zr + g))));
      _mm256_storeu_ps(sc[j] + g, s8);
      _mm256_storeu_ps(sz[j] + g, _mm256_mul_ps(s8, z8));
    }
    for (int64_t b = g * per; b < nb; b++) {
      float f = _cvtsh_ss(sr[b / per]);
      sc[j][b] = f, sz[j][b] = f * (float)zr[b / per];
    }
  }
  __m256 acc[4][4];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) acc[i][j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; b++) {
    __m256i wv[4];
    __m256 sv[4];
    for (int j = 0; j < NR; j++) {
      __m128i raw = _mm_loadu_si128((const __m128i*)(w + (n + j) * K / 2 + b * 16));
      wv[j] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), lo4);
      sv[j] = _mm256_broadcast_ss(&sc[j][b]);
    }
    for (int i = 0; i < MR; i++) {
      __m256i xv = _mm256_loadu_si256((const __m256i*)(a->q + (m + i) * ldx + b * QK_BLOCK));
      __m256 d = _mm256_broadcast_ss(a->d + (m + i) * nb + b);
      for (int j = 0; j < NR; j++) {
#if QK_VNNI
        __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wv[j], xv);
#else
        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(wv[j], xv), _mm256_set1_epi16(1));
#endif
        acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(sv[j], d), acc[i][j]);
      }
    }
  }
  for (int i = 0; i < MR; i++) {
    const float* s = a->s + (m + i) * nb;
    for (int j = 0; j < NR; j++) {
      __m256 c = _mm256_setzero_ps();
      int64_t b = 0;
      for (; b + 8 <= nb; b += 8) c = _mm256_fmadd_ps(_mm256_loadu_ps(sz[j] + b), _mm256_loadu_ps(s + b), c);
      float corr = QK_FN(hsum)(c);
      for (; b < nb; b++) corr += sz[j][b] * s[b];
      y[(m + i) * N + n + j] = QK_FN(hsum)(acc[i][j]) - corr + (bias ? bias[n + j] : 0);
    }
  }
}

QK_TGT void QK_FN(qk_q4_rows)(const uint8_t* w, const uint16_t* scale, const uint8_t* zero, int64_t group,
                              int64_t N, int64_t K, const qk_act* a, const float* bias, float* y, int64_t n0,
                              int64_t n1) {
  if (a->nb > QK_MAXB) {  // wider than the tile's scale buffers
    qk_q4_rows_generic(w, scale, zero, group, N, K, a, bias, y, n0, n1);
    return;
  }
  QK_ROWS(QK_FN(q4_tile), w, scale, zero, group, N, K, a, bias, y);
}
