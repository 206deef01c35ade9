/* SPDX-License-Identifier: MIT */
/* libjailer's internal header, included once per translation unit whatever
 * the order of our own headers. */
#ifndef JAILERD_JD_INTERNAL_H
#define JAILERD_JD_INTERNAL_H

#include "jailer-internal.h"

#endif
