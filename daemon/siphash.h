/* SPDX-License-Identifier: MIT */
/*
 * SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash of short
 * strings.  Without the key, nobody can tell which inputs collide, so a
 * client cannot choose names that all land in one bucket of a table keyed
 * by them.
 */
#ifndef JAILERD_SIPHASH_H
#define JAILERD_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define JD_SIPHASH_KEY_SIZE 16

uint64_t jd_siphash24(const void *data, size_t len, const uint8_t key[static JD_SIPHASH_KEY_SIZE]);

#endif
