/* SPDX-License-Identifier: MIT */
#include "siphash.h"

static uint64_t rotl(uint64_t x, unsigned b)
{
        return (x << b) | (x >> (64 - b));
}

/* Little-endian, whatever the host's order. */
static uint64_t le64(const uint8_t *p, size_t n)
{
        uint64_t v = 0;

        for (size_t i = 0; i < n; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

struct sip {
        uint64_t v0, v1, v2, v3;
};

static void rounds(struct sip *s, unsigned n)
{
        while (n--) {
                s->v0 += s->v1;
                s->v1 = rotl(s->v1, 13) ^ s->v0;
                s->v0 = rotl(s->v0, 32);
                s->v2 += s->v3;
                s->v3 = rotl(s->v3, 16) ^ s->v2;
                s->v0 += s->v3;
                s->v3 = rotl(s->v3, 21) ^ s->v0;
                s->v2 += s->v1;
                s->v1 = rotl(s->v1, 17) ^ s->v2;
                s->v2 = rotl(s->v2, 32);
        }
}

static void compress(struct sip *s, uint64_t m)
{
        s->v3 ^= m;
        rounds(s, 2);
        s->v0 ^= m;
}

uint64_t jd_siphash24(const void *data, size_t len, const uint8_t key[static JD_SIPHASH_KEY_SIZE])
{
        const uint8_t *p = data;
        uint64_t k0 = le64(key, 8), k1 = le64(key + 8, 8);
        struct sip s = {
                .v0 = k0 ^ 0x736f6d6570736575ull,       /* "somepseu" */
                .v1 = k1 ^ 0x646f72616e646f6dull,       /* "dorandom" */
                .v2 = k0 ^ 0x6c7967656e657261ull,       /* "lygenera" */
                .v3 = k1 ^ 0x7465646279746573ull,       /* "tedbytes" */
        };
        size_t full = len - len % 8;

        for (size_t i = 0; i < full; i += 8)
                compress(&s, le64(p + i, 8));
        /* The last block: what is left, and the length's low byte on top. */
        compress(&s, le64(p + full, len % 8) | ((uint64_t) (len & 0xff) << 56));
        s.v2 ^= 0xff;
        rounds(&s, 4);
        return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
