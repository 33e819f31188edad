/*
 * daemon.h: tocsind's long-running service: config, signals, the ingest
 * loop on the main thread, and the delivery thread.
 *
 * The current configuration is the one global: a const snapshot loaded
 * whole and validated, swapped only on the main thread at a loop boundary
 * after SIGHUP.  Signal handlers only set flags.
 */
#ifndef TOCSIN_DAEMON_H
#define TOCSIN_DAEMON_H

/* Run until SIGTERM/SIGINT; returns the process exit status (0 on a clean
 * stop, 2 for a bad config, 1 for other fatal errors). */
int tocsin_daemon_run(const char *config_path);

#endif
