/*
 * sweep_progress.c - one self-overwriting progress line on stderr (profiles
 * done, rate, time left), only when stderr is a terminal, at most 5 times a
 * second.  Not the report: stdout and --json never see it.
 */
#include "sweep_int.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define REDRAW_NS 200000000ull

void sw_progress_format(size_t done, size_t total, uint64_t elapsed_ns, char *out, size_t cap)
{
    double secs = (double)elapsed_ns / 1e9;
    double rate = secs > 0 ? (double)done / secs : 0;
    if (rate > 0 && done < total)
        snprintf(out, cap, "profiles %zu/%zu, %.1f/s, %.0f s left", done, total, rate,
                 (double)(total - done) / rate + 0.5);
    else
        snprintf(out, cap, "profiles %zu/%zu, %.1f/s", done, total, rate);
}

void sw_progress_start(struct sw_progress *pg, size_t total, bool enabled)
{
    memset(pg, 0, sizeof *pg);
    pthread_mutex_init(&pg->mu, NULL);
    pg->enabled = enabled && isatty(STDERR_FILENO);
    pg->total = total;
    pg->start_ns = pg->last_ns = scl_now_ns();
}

static void draw(struct sw_progress *pg, uint64_t now)
{
    char line[160];
    sw_progress_format(pg->done, pg->total, now - pg->start_ns, line, sizeof line);
    fprintf(stderr, "\r\033[Ksweep: %s", line);
    fflush(stderr);
    pg->last_ns = now;
}

void sw_progress_tick(struct sw_progress *pg)
{
    pthread_mutex_lock(&pg->mu);
    pg->done++;
    if (pg->enabled) {
        uint64_t now = scl_now_ns();
        if (now - pg->last_ns >= REDRAW_NS)
            draw(pg, now);
    }
    pthread_mutex_unlock(&pg->mu);
}

void sw_progress_finish(struct sw_progress *pg)
{
    if (pg->enabled) {
        draw(pg, scl_now_ns());
        fputc('\n', stderr);
    }
    pthread_mutex_destroy(&pg->mu);
}
