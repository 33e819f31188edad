# mkdata.awk: benchmark mentions, fast and deterministic (tests/bench/run).
#
#   LC_ALL=C awk -f mkdata.awk -v n=N -v topics=T -v kind=K -v out=O \
#       -v start=MS -v span=MS [-v stream=KEY]
#
# Mention i goes to topic "bench-%06d" % (i % T), at start + span * i / N
# (event time in order), with a sentiment (so the scorer never runs).
#   kind=full     id, ts, topic, source, lang, author, followers, text
#                 (~110-150 ASCII chars), url, sentiment: like tocsin-feed
#   kind=bare     ts, topic, sentiment only (no evidence to keep)
#   kind=text200  ts, topic, sentiment and a 200-character text
#   out=jsonl     one JSON object per line (tocsind --replay)
#   out=resp-json XADD STREAM * json <object>, as RESP (redis-cli --pipe)
#   out=resp-flat XADD STREAM * <field> <value> ..., as RESP
# All bytes are ASCII, so length() counts bytes with any awk.
function arg(s) {
    return "$" length(s) "\r\n" s "\r\n"
}
function q(s) {
    return "\"" s "\""
}
BEGIN {
    split("twitter reddit news youtube mastodon", sources, " ")
    t[0] = "Three hours on hold with %s support and still no refund, this is getting ridiculous honestly"
    t[1] = "Loved the new %s update, the app finally works on my old phone #happy"
    t[2] = "Anyone else seeing %s down again this morning? nothing loads since 7am"
    t[3] = "%s announced new prices for next year, details in the thread below"
    t[4] = "Shoutout to the %s team at the airport desk, super helpful and fast today"
    t[5] = "Not impressed by the %s ad campaign, feels lazy and a bit tone deaf tbh"
    t[6] = "%s customer service replied within 5 minutes, problem solved, thanks!"
    t[7] = "Is it just me or did %s quietly change the terms again? read the fine print"
    sent[0] = -0.72; sent[1] = 0.64; sent[2] = -0.45; sent[3] = 0.0
    sent[4] = 0.81; sent[5] = -0.38; sent[6] = 0.57; sent[7] = -0.12
    pad = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do "
    pad = pad pad pad pad
    for (i = 0; i < n; i++) {
        topic = sprintf("bench-%06d", i % topics)
        ts = sprintf("%.0f", start + int(span * i / n))
        k = i % 8
        if (kind == "full") {
            src = sources[1 + i % 5]
            nf = 10
            name[1] = "id";        val[1] = "bench:" i
            name[2] = "ts";        val[2] = ts
            name[3] = "topic";     val[3] = topic
            name[4] = "source";    val[4] = src
            name[5] = "lang";      val[5] = "en"
            name[6] = "author";    val[6] = "user" (i * 7919) % 100003
            name[7] = "followers"; val[7] = (i * 104729) % 250000
            name[8] = "text";      val[8] = sprintf(t[k], topic)
            name[9] = "url"
            val[9] = "https://" src ".example/user" (i * 7919) % 100003 \
                "/status/" i
            name[10] = "sentiment"; val[10] = sent[k]
            str[1] = str[3] = str[4] = str[5] = str[6] = str[8] = str[9] = 1
            str[2] = str[7] = str[10] = 0
        } else {
            nf = 3
            name[1] = "ts";        val[1] = ts;    str[1] = 0
            name[2] = "topic";     val[2] = topic; str[2] = 1
            name[3] = "sentiment"; val[3] = sent[k]; str[3] = 0
            if (kind == "text200") {
                nf = 4
                s = sprintf(t[k], topic) " #" i " " pad
                name[4] = "text"; val[4] = substr(s, 1, 200); str[4] = 1
            }
        }
        if (out == "resp-flat") {
            line = "*" (3 + 2 * nf) "\r\n" arg("XADD") arg(stream) arg("*")
            for (f = 1; f <= nf; f++)
                line = line arg(name[f]) arg(val[f])
            printf "%s", line
            continue
        }
        obj = "{"
        for (f = 1; f <= nf; f++)
            obj = obj (f > 1 ? "," : "") q(name[f]) ":" \
                (str[f] ? q(val[f]) : val[f])
        obj = obj "}"
        if (out == "jsonl")
            print obj
        else
            printf "*5\r\n%s%s%s%s%s", arg("XADD"), arg(stream), arg("*"),
                arg("json"), arg(obj)
    }
}
