/*
 * sdnotify.c: sd_notify(3) messages for systemd (see sdnotify.h).
 *
 * Thin wrapper over libsystemd's sd_notify(); owns nothing.  Main thread.
 */
#include "tocsin/sdnotify.h"

#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

void
tocsin_sd_ready(const char *status)
{
    sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void
tocsin_sd_status(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s", buf);
}

void
tocsin_sd_progress(uint64_t extend_usec, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sd_notifyf(0, "STATUS=%s\nEXTEND_TIMEOUT_USEC=%llu\nWATCHDOG=1", buf,
               (unsigned long long)extend_usec);
}

void
tocsin_sd_reloading(void)
{
    sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void
tocsin_sd_stopping(void)
{
    sd_notify(0, "STOPPING=1\nSTATUS=stopping: committing the batch in hand");
}

int64_t
tocsin_sd_watchdog_interval_ms(void)
{
    uint64_t usec = 0;
    /* Checks $WATCHDOG_PID too; leaves the environment alone. */
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
        return 0;
    int64_t ms = (int64_t)(usec / 2000);
    return ms > 0 ? ms : 1;
}

void
tocsin_sd_watchdog(void)
{
    sd_notify(0, "WATCHDOG=1");
}
