/*
 * sdnotify.h: telling systemd how the daemon is doing (sd_notify(3)).
 *
 * READY=1 once the daemon can serve, STATUS= lines saying what it is doing,
 * WATCHDOG=1 keep-alives, RELOADING=1 and STOPPING=1.  Without
 * $NOTIFY_SOCKET (not started by systemd) every call does nothing.
 *
 * Holds no state besides what systemd put in the environment.  Called from
 * the main thread only.
 */
#ifndef TOCSIN_SDNOTIFY_H
#define TOCSIN_SDNOTIFY_H

#include <stdint.h>

/* READY=1 with a STATUS= line. */
void tocsin_sd_ready(const char *status);

/* STATUS=<printf text>. */
void tocsin_sd_status(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * A long step (rebuilding the state from history) is making progress:
 * STATUS=<printf text>, EXTEND_TIMEOUT_USEC=extend_usec (so the start-up
 * timeout does not stop it) and WATCHDOG=1 (the loop is blocked meanwhile).
 */
void tocsin_sd_progress(uint64_t extend_usec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* RELOADING=1 (a READY=1 follows when done), STOPPING=1. */
void tocsin_sd_reloading(void);
void tocsin_sd_stopping(void);

/*
 * How often to send WATCHDOG=1, in milliseconds: half of $WATCHDOG_USEC
 * (sd_event_set_watchdog(3)'s rule), or 0 when no watchdog is enabled.
 */
int64_t tocsin_sd_watchdog_interval_ms(void);

/* WATCHDOG=1: the caller has checked that the pipeline is healthy. */
void tocsin_sd_watchdog(void);

#endif
