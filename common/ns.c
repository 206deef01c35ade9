/* SPDX-License-Identifier: MIT */
#include "jailer-internal.h"
