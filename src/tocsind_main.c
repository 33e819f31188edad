/*
 * tocsind_main.c: the daemon's command line.
 *
 *   tocsind [-c FILE]                  run the service (foreground, stderr)
 *   tocsind -t [-c FILE]               check the configuration
 *   tocsind --replay FILE [--scores]   replay JSON lines ("-" for stdin)
 *   tocsind --score-text [--lang L]    score texts, one per line
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tocsin/config.h"
#include "tocsin/daemon.h"
#include "tocsin/replay.h"
#include "tocsin/sentiment.h"

#define DEFAULT_CONFIG "/etc/tocsind/tocsind.conf"

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: tocsind [-c FILE]                 run the service\n"
            "       tocsind -t [-c FILE]              check the configuration\n"
            "       tocsind --replay FILE [--scores] [-c FILE]\n"
            "                                         replay mentions (JSON "
            "lines, - for stdin)\n"
            "       tocsind --score-text [--lang en|fr|auto] [-c FILE]\n"
            "                                         score texts (one per "
            "line)\n"
            "       tocsind -V | -h\n"
            "default FILE: %s\n",
            DEFAULT_CONFIG);
}

static int
check_config(const char *path)
{
    struct tocsin_config *cfg = NULL;
    struct tocsin_errbuf eb = {0};
    tocsin_err e = tocsin_config_load(&cfg, path, &eb);
    if (e == TOCSIN_OK) {
        printf("configuration OK\n");
        tocsin_config_free(cfg);
        return 0;
    }
    fputs(eb.text ? eb.text : "configuration invalid\n", stderr);
    tocsin_errbuf_clear(&eb);
    return 2;
}

static struct tocsin_config *
load_or_report(const char *path)
{
    struct tocsin_config *cfg = NULL;
    struct tocsin_errbuf eb = {0};
    if (tocsin_config_load(&cfg, path, &eb) != TOCSIN_OK) {
        fputs(eb.text ? eb.text : "configuration invalid\n", stderr);
        tocsin_errbuf_clear(&eb);
        return NULL;
    }
    return cfg;
}

static int
replay(const char *path, const char *file, int scores)
{
    struct tocsin_config *cfg = load_or_report(path);
    if (!cfg)
        return 2;
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!in) {
        perror(file);
        tocsin_config_free(cfg);
        return 1;
    }
    struct tocsin_sentiment *scorer = NULL;
    if (tocsin_sentiment_new(&scorer, cfg->sentiment.lexicons) != TOCSIN_OK)
        fprintf(stderr, "tocsind: no sentiment lexicons in %s; texts without "
                        "a sentiment are not scored\n",
                cfg->sentiment.lexicons);
    struct tocsin_replay_result res;
    tocsin_err e = tocsin_replay_run(cfg, in, file, stdout, stderr, scores,
                                     scorer, &res);
    if (in != stdin)
        fclose(in);
    fprintf(stderr,
            "tocsind: replayed %llu lines: %llu mentions, %llu rejected, "
            "%llu alert events\n",
            res.lines, res.mentions, res.rejected, res.events);
    tocsin_sentiment_free(scorer);
    tocsin_config_free(cfg);
    return e == TOCSIN_OK ? 0 : 1;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"test", no_argument, NULL, 't'},
        {"replay", required_argument, NULL, 'r'},
        {"scores", no_argument, NULL, 's'},
        {"score-text", no_argument, NULL, 'S'},
        {"lang", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config = DEFAULT_CONFIG;
    const char *replay_file = NULL;
    const char *lang = "auto";
    int test = 0, scores = 0, score_text = 0, c;
    int config_given = 0;
    while ((c = getopt_long(argc, argv, "c:thV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            config_given = 1;
            break;
        case 't':
            test = 1;
            break;
        case 'r':
            replay_file = optarg;
            break;
        case 's':
            scores = 1;
            break;
        case 'S':
            score_text = 1;
            break;
        case 'l':
            lang = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("tocsind %s\n", TOCSIN_VERSION);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }
    if (test)
        return check_config(config);
    if (replay_file)
        return replay(config, replay_file, scores);
    if (score_text) {
        const char *lexdir = TOCSIN_DATADIR "/lexicons";
        struct tocsin_config *cfg = NULL;
        if (config_given) {
            cfg = load_or_report(config);
            if (!cfg)
                return 2;
            lexdir = cfg->sentiment.lexicons;
        }
        int rc = tocsin_score_text_run(lexdir, tocsin_lang_parse(lang), stdin,
                                       stdout);
        tocsin_config_free(cfg);
        return rc ? 1 : 0;
    }
    return tocsin_daemon_run(config);
}
