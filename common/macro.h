/* SPDX-License-Identifier: MIT */
/*
 * The cleanup helpers and attribute macros of the tree: libjailer, the CLI,
 * jailerd, jailer-supervisor and jailerctl all write
 *
 *     _cleanup_free_ char *path = NULL;
 *     _cleanup_close_ int fd = -1;
 *     return TAKE_FD(fd);          (ownership handed out explicitly)
 *
 * This is not part of libjailer's API (jailer.h is, and nothing else): it is
 * not installed, and a program outside the tree does not include it.  The
 * programs in the tree may, as they may include their own headers.
 */
#ifndef JAILER_MACRO_H
#define JAILER_MACRO_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void freep(void *p) { free(*(void **) p); }
static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}
#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define TAKE_FD(fd) ({ int _fd_ = (fd); (fd) = -1; _fd_; })
#define TAKE_PTR(p) ({ __typeof__(p) _p_ = (p); (p) = NULL; _p_; })
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

#endif
