/* SPDX-License-Identifier: MIT */
#include "state.h"

#include <json-c/json.h>
#include <string.h>

#include "fsutil.h"
#include "jailer.h"
#include "macro.h"

static const char *const phase_names[] = {
        [JD_PHASE_STARTING] = "starting",
        [JD_PHASE_RUNNING] = "running",
        [JD_PHASE_PREPARED] = "prepared",
};

void jd_state_done(jd_state *s)
{
        free(s->cgroup_path);
        free(s->jail_dir);
        *s = (jd_state) { 0 };
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
        json_object_object_add(o, k, json_object_new_uint64(v));
}

int jd_state_write(int dirfd, const jd_state *s)
{
        json_object *o;
        const char *txt;
        size_t len;
        int r;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "jail", json_object_new_string(s->id));
        json_object_object_add(o, "phase", json_object_new_string(phase_names[s->phase]));
        add_u64(o, "supervisor_pid", (uint64_t) s->supervisor_pid);
        add_u64(o, "supervisor_starttime", s->supervisor_starttime);
        add_u64(o, "pid", (uint64_t) s->jail_pid);
        if (s->cgroup_path)
                json_object_object_add(o, "cgroup", json_object_new_string(s->cgroup_path));
        add_u64(o, "uid", (uint64_t) s->owner_uid);
        add_u64(o, "owner_pid", (uint64_t) s->owner_pid);
        add_u64(o, "created_at_us", s->created_at_us);
        add_u64(o, "started_at_us", s->started_at_us);
        if (s->jail_dir)
                json_object_object_add(o, "jail_dir", json_object_new_string(s->jail_dir));
        json_object_object_add(o, "own_stdio", json_object_new_boolean(s->own_stdio));

        txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!txt) {
                json_object_put(o);
                return -ENOMEM;
        }
        r = jd_write_atomic_at(dirfd, JD_STATE_FILE, txt, len, 0600);
        json_object_put(o);
        return r;
}

static int get_u64(json_object *o, const char *k, uint64_t *v)
{
        json_object *m;

        if (!json_object_object_get_ex(o, k, &m) || !json_object_is_type(m, json_type_int))
                return -EBADMSG;
        *v = json_object_get_uint64(m);
        return 0;
}

static int get_str(json_object *o, const char *k, char **v)
{
        json_object *m;

        if (!json_object_object_get_ex(o, k, &m) || json_object_is_type(m, json_type_null)) {
                *v = NULL;
                return 0;
        }
        if (!json_object_is_type(m, json_type_string))
                return -EBADMSG;
        *v = strdup(json_object_get_string(m));
        return *v ? 0 : -ENOMEM;
}

int jd_state_read(int dirfd, jd_state *s)
{
        _cleanup_free_ char *buf = NULL;
        json_object *o, *m;
        uint64_t v;
        int r;

        *s = (jd_state) { 0 };
        r = jd_read_file_at(dirfd, JD_STATE_FILE, 64 * 1024, &buf, NULL);
        if (r < 0)
                return r;
        o = json_tokener_parse(buf);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return -EBADMSG;
        }

        r = -EBADMSG;
        if (!json_object_object_get_ex(o, "jail", &m) || !json_object_is_type(m, json_type_string) ||
            strlen(json_object_get_string(m)) > JAILER_ID_MAX)
                goto out;
        strcpy(s->id, json_object_get_string(m));
        if (!json_object_object_get_ex(o, "phase", &m) || !json_object_is_type(m, json_type_string))
                goto out;
        for (s->phase = 0; s->phase < ELEMENTSOF(phase_names); s->phase++)
                if (strcmp(json_object_get_string(m), phase_names[s->phase]) == 0)
                        break;
        if (s->phase >= ELEMENTSOF(phase_names))
                goto out;

        if (get_u64(o, "supervisor_pid", &v) < 0 || v == 0 || v > INT32_MAX)
                goto out;
        s->supervisor_pid = (pid_t) v;
        if (get_u64(o, "supervisor_starttime", &s->supervisor_starttime) < 0)
                goto out;
        if (get_u64(o, "pid", &v) < 0 || v > INT32_MAX)
                goto out;
        s->jail_pid = (pid_t) v;
        if (get_u64(o, "uid", &v) < 0 || v > UINT32_MAX)
                goto out;
        s->owner_uid = (uid_t) v;
        if (get_u64(o, "owner_pid", &v) == 0 && v <= INT32_MAX)
                s->owner_pid = (pid_t) v;
        (void) get_u64(o, "created_at_us", &s->created_at_us);
        (void) get_u64(o, "started_at_us", &s->started_at_us);
        if (get_str(o, "cgroup", &s->cgroup_path) < 0 || get_str(o, "jail_dir", &s->jail_dir) < 0)
                goto out;
        if (json_object_object_get_ex(o, "own_stdio", &m))
                s->own_stdio = json_object_get_boolean(m);
        r = 0;
out:
        json_object_put(o);
        if (r < 0)
                jd_state_done(s);
        return r;
}

bool jd_state_supervisor_alive(const jd_state *s)
{
        uint64_t st;

        if (s->supervisor_pid <= 0)
                return false;
        if (jd_proc_starttime(s->supervisor_pid, &st) < 0)
                return false;
        return st == s->supervisor_starttime;
}

void jd_record_done(jd_record *r)
{
        free(r->lost);
        *r = (jd_record) { 0 };
}

int jd_record_write(int dirfd, const jd_record *r)
{
        json_object *o = json_object_new_object();
        const char *txt;
        size_t len;
        int ret;

        if (!o)
                return -ENOMEM;
        add_u64(o, "started_seq", r->started_seq);
        add_u64(o, "exited_seq", r->exited_seq);
        add_u64(o, "exited_at_us", r->exited_at_us);
        if (r->lost)
                json_object_object_add(o, "lost", json_object_new_string(r->lost));
        txt = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        ret = txt ? jd_write_atomic_at(dirfd, JD_RECORD_FILE, txt, len, 0600) : -ENOMEM;
        json_object_put(o);
        return ret;
}

int jd_record_read(int dirfd, jd_record *r)
{
        _cleanup_free_ char *buf = NULL;
        json_object *o;
        int ret;

        *r = (jd_record) { 0 };
        ret = jd_read_file_at(dirfd, JD_RECORD_FILE, 64 * 1024, &buf, NULL);
        if (ret < 0)
                return ret;
        o = json_tokener_parse(buf);
        ret = 0;
        if (!o || !json_object_is_type(o, json_type_object) || get_u64(o, "started_seq", &r->started_seq) < 0 ||
            get_u64(o, "exited_seq", &r->exited_seq) < 0 || get_u64(o, "exited_at_us", &r->exited_at_us) < 0 ||
            get_str(o, "lost", &r->lost) < 0) {
                jd_record_done(r);
                ret = -EBADMSG;
        }
        json_object_put(o);
        return ret;
}
